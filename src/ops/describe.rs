//! # `GET webservice.php?operation=describe&elementType=…`
//! A module's fields and the caller's rights on it (§6.1, §6.2).
use serde_json::Value;

use super::{Ctx, OpCall};
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{ModuleDef, Rights};

/// describe's parameters.
pub struct Params {
    element_type: String,
    caller: Caller,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            element_type: call.param("elementType").unwrap_or("").to_string(),
            caller: call.caller()?.clone(),
        })
    }
}

/// The DescribeResult; an unknown name (names are case-sensitive) is denied
/// with the name in the message, as vtiger does (shared/golden seq 42-44).
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let module = ctx.registry.module(&p.element_type).ok_or_else(|| {
        WsError::AccessDenied(format!(
            "Permission to perform the operation is denied for name : {}",
            p.element_type
        ))
    })?;
    Ok(module.describe(rights(module, &p.caller), &p.caller.date_format))
}

/// Everyone may read every module; only admins may write actors and users
/// (§4.1). Profiles and sharing refine this for entity modules later.
fn rights(module: &ModuleDef, caller: &Caller) -> Rights {
    let write = caller.is_admin || (module.is_entity && !module.own_sequence);
    Rights {
        create: write,
        update: write,
        delete: write,
        retrieve: true,
    }
}
