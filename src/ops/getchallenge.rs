//! # `GET webservice.php?operation=getchallenge&username=…`
//! Issues the token a client hashes with its access key to log in (§2.1).
use serde_json::{json, Value};

use super::{Ctx, OpCall};
use crate::auth::{challenge, now};
use crate::error::WsError;
use crate::store::{auth_tables, users};

/// getchallenge's parameters.
pub struct Params {
    username: Option<String>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Self {
        Params {
            username: call.param("username").map(str::to_string),
        }
    }
}

/// `{token, serverTime, expireTime}`; one live token per user.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let username = p
        .username
        .ok_or_else(|| WsError::AccessDenied("No username given".into()))?;
    let conn = ctx.store.conn()?;
    // Inactive users still get a token; login checks the status (vtiger does).
    let user = users::find_by_name(&conn, &ctx.registry, &username)?
        .ok_or_else(|| WsError::AccessDenied("username does not exists".into()))?;
    let server_time = now();
    let expire_time = server_time + challenge::TOKEN_LIFETIME_SECS;
    let token = challenge::new_token();
    let (user_id, stored) = (user.id, token.clone());
    // Through the group commit: logins in a burst share one fsync.
    ctx.store.write(move |tx| {
        auth_tables::put_challenge(tx, user_id, &stored, expire_time, server_time)
    })?;
    Ok(json!({"token": token, "serverTime": server_time, "expireTime": expire_time}))
}
