//! # `GET webservice.php?operation=relatedtypes&elementType=Accounts`
//! A module's related lists (§3.3): the related modules in list order, and
//! each list by its label.
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{Ctx, OpCall};
use crate::auth::access::Access;
use crate::error::WsError;

/// relatedtypes' parameters.
pub struct Params {
    element_type: String,
    access: Arc<Access>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            element_type: call.param("elementType").unwrap_or_default().to_string(),
            access: call.caller()?.access.clone(),
        })
    }
}

/// `{"types":[…],"information":{label:{name,label,isEntity}}}`: the lists
/// whose module the caller may use (vtiger leaves out inaccessible ones).
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let module = ctx
        .registry
        .module(&p.element_type)
        .ok_or_else(|| WsError::denied_for_name(&p.element_type))?;
    if !p.access.lists(module) {
        return Err(WsError::denied());
    }
    let usable: Vec<_> = module
        .relations
        .iter()
        .filter(|r| {
            ctx.registry
                .module(&r.module)
                .is_some_and(|m| p.access.lists(m))
        })
        .collect();
    let types: Vec<&str> = usable.iter().map(|r| r.module.as_str()).collect();
    let mut information = Map::new();
    for r in usable {
        information.insert(
            r.label.clone(),
            json!({"name": r.module, "label": r.label, "isEntity": "1"}),
        );
    }
    // PHP's json_encode writes an empty array as `[]`, never `{}`.
    let information = if information.is_empty() {
        json!([])
    } else {
        Value::Object(information)
    };
    Ok(json!({"types": types, "information": information}))
}
