//! # `POST webservice.php` `operation=delete&id=11x42`
//! Soft delete: the record disappears, its id is never reused, and sync
//! reports it (§3.3, §5.3).
use rusqlite::TransactionBehavior;
use serde_json::{json, Value};

use super::records::{now_pair, resolve, write_module, Target};
use super::Ctx;
use crate::auth::access::Action;
use crate::error::WsError;
use crate::store::{access, auth_tables, records, rows, users};

/// delete's parameters: the record's `id` and the caller.
pub type Params = super::records::OneRecord;

/// `{"status":"successful"}`; a second delete is denied like any unknown id.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let access = &p.caller.access;
    let target = ctx
        .store
        .read(|conn| resolve(conn, &ctx.registry, access, p.id.as_deref(), Action::Delete))?;
    match target {
        Target::Record(module, id) => {
            let (now, now_text) = now_pair();
            let user = p.caller.user_id();
            write_module(ctx, module, move |tx, _, module| {
                records::delete_in(tx, module, id, user, now, &now_text).map_err(WsError::from)
            })?;
        }
        Target::Row(module, id) => {
            if module.own_sequence && id == p.caller.user_id() {
                return Err(WsError::AccessDenied(
                    "Permission to delete is denied".into(),
                ));
            }
            let mut conn = ctx.store.conn()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            rows::delete(&tx, module, id)?;
            if users::is_user_module(module) {
                auth_tables::delete_user_sessions(&tx, id)?;
            }
            // A group's records go to the admin deleting it, so that none is
            // left with an owner nobody reaches; its members are forgotten.
            if module.name == users::GROUPS {
                let (now, now_text) = now_pair();
                access::retire_group(&tx, id, p.caller.user_id(), (now, &now_text))?;
            }
            tx.commit()?;
        }
    }
    Ok(json!({"status": "successful"}))
}
