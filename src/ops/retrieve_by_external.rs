//! # `GET webservice.php?operation=retrieve_by_external&elementType=Accounts&system=erp&externalId=C-1001`
//! Our addition (issue 11), as Obzvonilka's `find_by_external`: the record
//! another system knows by its own id, answered as retrieve answers it.
use serde_json::Value;

use super::records::{inventory, listed_module, resolve, wire_record, Target, WireRecord};
use super::{Ctx, OpCall};
use crate::auth::access::Action;
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::WsId;
use crate::store;

/// retrieve_by_external's parameters.
pub struct Params {
    element_type: Option<String>,
    system: String,
    external_id: String,
    caller: Caller,
}

impl Params {
    /// Reads them from the call; `system` and `externalId` are required.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        let required = |name: &str| {
            call.param(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    WsError::MandatoryFieldsMissing(format!("{name} does not have a value"))
                })
        };
        Ok(Params {
            element_type: call.param("elementType").map(str::to_string),
            system: required("system")?,
            external_id: required("externalId")?,
            caller: call.caller()?.clone(),
        })
    }
}

/// The record, with its `external_ids`.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let access = &p.caller.access;
    let module = listed_module(&ctx.registry, p.element_type.as_deref(), access)?;
    ctx.store.read(|conn| {
        let found = store::external::find(conn, &module.name, &p.system, &p.external_id)?;
        let id = found.ok_or_else(|| {
            WsError::RecordNotFound(format!(
                "No {} record has {} id {}",
                module.name, p.system, p.external_id
            ))
        })?;
        let ws_id = WsId::new(module.id_prefix, id).to_wire();
        // The same checks as retrieve of that id.
        match resolve(conn, &ctx.registry, access, Some(&ws_id), Action::View)? {
            Target::Record(module, id) => {
                let record = wire_record(conn, &ctx.registry, access, module, id)?;
                inventory::with_lines(conn, &ctx.registry, module, id, record)
                    .map(WireRecord::into_value)
            }
            Target::Row(..) => Err(WsError::denied()),
        }
    })
}
