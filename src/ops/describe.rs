//! # `GET webservice.php?operation=describe&elementType=…`
//! A module's fields and the caller's rights on it (§6.1, §6.2).
use serde_json::Value;

use super::{Ctx, OpCall};
use crate::auth::access::{Action, FieldAccess};
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{FieldDef, Rights};

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
/// with the name in the message, as vtiger does (shared/golden seq 42-44); a
/// module the caller may not list is denied plainly (vtiger's
/// DescribeObject.php). Flags and fields are the caller's (§6.1).
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let module = ctx
        .registry
        .module(&p.element_type)
        .ok_or_else(|| WsError::denied_for_name(&p.element_type))?;
    let access = &p.caller.access;
    if !access.lists(module) {
        return Err(WsError::denied());
    }
    let rights = Rights {
        create: access.may(module, Action::Create),
        update: access.may(module, Action::Edit),
        delete: access.may(module, Action::Delete),
        retrieve: access.may(module, Action::View),
    };
    let shown = |f: &FieldDef| match access.field(module, f) {
        FieldAccess::Hidden => None,
        FieldAccess::ReadOnly => Some(false),
        FieldAccess::Writable => Some(true),
    };
    Ok(module.describe(rights, p.caller.date_format(), &shown))
}
