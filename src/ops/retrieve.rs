//! # `GET webservice.php?operation=retrieve&id=11x42`
//! One record, every value a string, with `id` and `label` (§3.3, §5.1);
//! inventory records with their `LineItems`, as vtiger's inventory handler
//! answers (retrieve_inventory is the same call).
use serde_json::Value;

use super::records::{inventory, resolve_any, row_to_wire, wire_record, Target};
use super::{Ctx, OpCall};
use crate::error::WsError;

/// retrieve's parameters.
pub struct Params {
    id: Option<String>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        call.caller()?;
        Ok(Params {
            id: call.param("id").map(str::to_string),
        })
    }
}

/// The record.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let conn = ctx.store.conn()?;
    match resolve_any(&conn, &ctx.registry, p.id.as_deref())? {
        Target::Record(module, id) => {
            let record = wire_record(&conn, &ctx.registry, module, id)?;
            inventory::with_lines(&conn, &ctx.registry, module, id, record)
        }
        Target::Row(module, id) => row_to_wire(&conn, &ctx.registry, module, id),
    }
}
