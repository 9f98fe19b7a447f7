//! # `GET webservice.php?operation=listtypes[&fieldTypeList=["email"]]`
//! The modules the caller may use, with labels (§4.3, §6.3).
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{Ctx, OpCall};
use crate::auth::access::{Access, FieldAccess};
use crate::error::WsError;

/// listtypes' parameters.
pub struct Params {
    /// Lower-cased field types to filter on; empty means no filter.
    field_types: Vec<String>,
    access: Arc<Access>,
}

impl Params {
    /// Reads them from the call. A fieldTypeList that is not a JSON array of
    /// strings filters nothing, as PHP's `empty()` would have it.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        let access = call.caller()?.access.clone();
        let field_types = match call.encoded("fieldTypeList") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Params {
            field_types,
            access,
        })
    }
}

/// `{types, information}`: the modules the caller may use (§4.3), entity
/// modules in id order, then actors. With a filter, only entity modules
/// having a field of a listed type that the caller sees (vtiger matches
/// through the uitype table, so actors never appear).
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let registry = &ctx.registry;
    let chosen = registry.modules().iter().filter(|m| {
        if !p.access.lists(m) {
            return false;
        }
        if p.field_types.is_empty() {
            return true;
        }
        m.is_entity
            && m.fields.iter().any(|f| {
                f.describe
                    && p.access.field(m, f) != FieldAccess::Hidden
                    && f.listtypes_filter
                    && registry.is_uitype_mapped(f.kind)
                    && p.field_types.iter().any(|t| t == f.kind.as_str())
            })
    });
    let mut types = Vec::new();
    let mut information = Map::new();
    for m in chosen {
        types.push(json!(m.name));
        information.insert(
            m.name.clone(),
            json!({"isEntity": m.is_entity, "label": m.list_label, "singular": m.singular}),
        );
    }
    Ok(json!({"types": types, "information": information}))
}
