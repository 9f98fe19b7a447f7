//! # `POST webservice.php` `operation=delete&id=11x42`
//! Soft delete: the record disappears, its id is never reused, and sync
//! reports it (§3.3, §5.3).
use serde_json::{json, Value};

use super::records::{now_pair, resolve};
use super::{Ctx, OpCall};
use crate::auth::Caller;
use crate::error::WsError;
use crate::store::records;

/// delete's parameters.
pub struct Params {
    id: Option<String>,
    caller: Caller,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            id: call.param("id").map(str::to_string),
            caller: call.caller()?.clone(),
        })
    }
}

/// `{"status":"successful"}`; a second delete is denied like any unknown id.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let mut conn = ctx.store.conn()?;
    let (module, id) = resolve(&conn, &ctx.registry, p.id.as_deref(), &p.caller)?;
    let (now, now_text) = now_pair();
    records::delete(&mut conn, module, id, p.caller.user_id, now, &now_text)?;
    Ok(json!({"status": "successful"}))
}
