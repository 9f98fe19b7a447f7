//! # `GET webservice.php?operation=relatedtypes&elementType=Accounts`
//! A module's related lists (§3.3): the related modules in list order, and
//! each list by its label.
use serde_json::{json, Map, Value};

use super::{Ctx, OpCall};
use crate::error::WsError;

/// relatedtypes' parameters.
pub struct Params {
    element_type: String,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        call.caller()?;
        Ok(Params {
            element_type: call.param("elementType").unwrap_or_default().to_string(),
        })
    }
}

/// `{"types":[…],"information":{label:{name,label,isEntity}}}`.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let module = ctx.registry.module(&p.element_type).ok_or_else(|| {
        WsError::AccessDenied(format!(
            "Permission to perform the operation is denied for name : {}",
            p.element_type
        ))
    })?;
    let types: Vec<&str> = module.relations.iter().map(|r| r.module.as_str()).collect();
    let mut information = Map::new();
    for r in &module.relations {
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
