//! # `POST webservice.php` `operation=login&username=…&accessKey=…`
//! Checks `accessKey == md5(token + userAccessKey)` and opens a session (§2.2).
use serde_json::{Map, Value};

use super::{Ctx, OpCall};
use crate::auth::{challenge, now, session};
use crate::error::WsError;
use crate::registry::WsId;
use crate::store::{auth_tables, users};
use crate::{API_VERSION, VTIGER_VERSION};

/// login's parameters.
pub struct Params {
    username: String,
    access_key: String,
    peer: String,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Self {
        Params {
            username: call.param("username").unwrap_or("").to_string(),
            access_key: call.param("accessKey").unwrap_or("").to_string(),
            peer: call.raw.peer(),
        }
    }
}

/// The user profile, `sessionName`, `userId`, `version`, `vtigerVersion`.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let t = now();
    if ctx.throttle.is_locked(&p.username, &p.peer, t) {
        tracing::warn!(user = %p.username, addr = %p.peer, "login refused: too many failures");
        return Err(WsError::InvalidUserCredentials);
    }
    let conn = ctx.store.conn()?;
    // The checks in vtiger's order (§2.2): token, key defined, digest, status.
    let user = users::find_by_name(&conn, &ctx.registry, &p.username)?;
    let tokens = match &user {
        Some(u) => auth_tables::live_challenges(&conn, u.id, t)?,
        None => Vec::new(),
    };
    let Some(user) = user.filter(|_| !tokens.is_empty()) else {
        return Err(WsError::InvalidAuthToken);
    };
    if user.access_key.is_empty() {
        return Err(WsError::AccessKeyUndefined);
    }
    // Every live token is tried, each compared in constant time.
    let matched = tokens.iter().fold(false, |found, token| {
        let expected = challenge::expected_digest(token, &user.access_key);
        found | challenge::constant_time_eq(expected.as_bytes(), p.access_key.as_bytes())
    });
    if !matched {
        ctx.throttle.record_failure(&p.username, &p.peer, t);
        tracing::warn!(user = %p.username, addr = %p.peer, "login failed: wrong digest");
        return Err(WsError::InvalidUserCredentials);
    }
    if !user.active {
        tracing::warn!(user = %p.username, "login failed: inactive user");
        return Err(WsError::InvalidUserCredentials);
    }
    let (policy, user_id) = (ctx.sessions, user.id);
    // Through the group commit: logins in a burst share one fsync.
    let session_name = ctx
        .store
        .write(move |tx| session::open(tx, policy, user_id))?;
    let mut result: Map<String, Value> = users::login_profile(&conn, &ctx.registry, user.id)?;
    let prefix = ctx
        .registry
        .module(users::USERS)
        .expect("the registry always has Users")
        .id_prefix;
    result.insert("sessionName".into(), session_name.into());
    result.insert("userId".into(), WsId::new(prefix, user.id).to_wire().into());
    result.insert("version".into(), API_VERSION.into());
    result.insert("vtigerVersion".into(), VTIGER_VERSION.into());
    Ok(Value::Object(result))
}
