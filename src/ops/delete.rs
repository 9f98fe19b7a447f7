//! # `POST webservice.php` `operation=delete&id=11x42`
//! Soft delete: the record disappears, its id is never reused, and sync
//! reports it (§3.3, §5.3).
use serde_json::{json, Value};

use super::records::{now_pair, resolve_for_write, Target};
use super::{Ctx, OpCall};
use crate::auth::Caller;
use crate::error::WsError;
use crate::store::{records, rows};

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
    match resolve_for_write(&conn, &ctx.registry, p.id.as_deref(), &p.caller)? {
        Target::Record(module, id) => {
            let (now, now_text) = now_pair();
            records::delete(&mut conn, module, id, p.caller.user_id, now, &now_text)?;
        }
        Target::Row(module, id) => {
            if module.own_sequence && id == p.caller.user_id {
                return Err(WsError::AccessDenied(
                    "Permission to delete is denied".into(),
                ));
            }
            let tx = conn.transaction()?;
            rows::delete(&tx, module, id)?;
            tx.commit()?;
        }
    }
    Ok(json!({"status": "successful"}))
}
