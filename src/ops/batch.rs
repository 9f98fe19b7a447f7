//! # `POST webservice.php` `operation=batch_create&elementType=Accounts&element=[{…},{…}][&atomic=true]`
//! Our addition (issue 11): batch_create, batch_update, batch_revise and
//! batch_delete (POST) and batch_retrieve (GET) take `element` as a JSON
//! array of at most 100 items (records; for delete and retrieve, ids or
//! `{"id": …}`) and answer one `{success, result|error}` an item, in order,
//! each exactly what the single operation would answer. The writes run as
//! one serialized write: one commit for the whole batch, each item in a
//! savepoint of its own, so a failed item leaves nothing behind. With
//! `atomic=true` any failure undoes every item: BATCH_ROLLED_BACK, with
//! each item's outcome in `error.items`. Batches take records of entity
//! modules (users and actors are written one at a time).
use serde_json::{Map, Value};

use super::records::{denied_for_id, module_of_id, Mandatory};
use super::{create, delete, retrieve, update, Answer, Ctx, OpCall};
use crate::auth::Caller;
use crate::error::WsError;
use crate::http::envelope;
use crate::registry::Registry;
use crate::store::tables::{keying, Keying};

/// The most items a batch takes.
pub const MAX_ITEMS: usize = 100;

/// Which single operation each item runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// batch_create.
    Create,
    /// batch_update.
    Update,
    /// batch_revise.
    Revise,
    /// batch_delete.
    Delete,
    /// batch_retrieve.
    Retrieve,
}

/// A batch's parameters.
pub struct Params {
    kind: Kind,
    element_type: Option<String>,
    items: Vec<Value>,
    atomic: bool,
    caller: Caller,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(kind: Kind, call: &OpCall) -> Result<Self, WsError> {
        let caller = call.caller()?.clone();
        let items = match call.encoded("element") {
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_ITEMS => items,
            _ => {
                return Err(WsError::InvalidFieldValue(format!(
                    "Invalid value specified for element: a JSON array of 1 to {MAX_ITEMS} items"
                )))
            }
        };
        Ok(Params {
            kind,
            element_type: call.param("elementType").map(str::to_string),
            items,
            atomic: call
                .param("atomic")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
            caller,
        })
    }
}

/// One outcome an item, in order.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    if p.kind == Kind::Retrieve {
        let outcomes = p
            .items
            .iter()
            .map(|item| retrieve_item(ctx, &p.caller, item))
            .collect();
        return Ok(Value::Array(outcome_values(outcomes)));
    }
    let ctx = ctx.clone();
    ctx.store.clone().serialized(move || {
        let outcomes: Vec<Result<Value, WsError>> = p
            .items
            .into_iter()
            .map(|item| {
                ctx.store.savepoint(|| {
                    write_item(&ctx, p.kind, p.element_type.as_deref(), &p.caller, item)
                })
            })
            .collect();
        let first_failure = outcomes.iter().position(Result::is_err);
        match (p.atomic, first_failure) {
            (true, Some(at)) => Err(rolled_back(at, outcomes)),
            _ => Ok(Value::Array(outcome_values(outcomes))),
        }
    })
}

fn outcome_values(outcomes: Vec<Result<Value, WsError>>) -> Vec<Value> {
    outcomes
        .into_iter()
        .map(|o| match o {
            Ok(v) => envelope::ok(v),
            Err(e) => envelope::err(&e),
        })
        .collect()
}

/// An atomic batch's failure: what failed first, and every item's outcome
/// with the successes marked as undone.
fn rolled_back(at: usize, outcomes: Vec<Result<Value, WsError>>) -> WsError {
    let first = outcomes[at]
        .as_ref()
        .err()
        .map(WsError::to_string)
        .unwrap_or_default();
    let undone = WsError::OperationNotSupported(
        "Rolled back: another item of this atomic batch failed".into(),
    );
    let items = outcomes
        .into_iter()
        .map(|o| match o {
            Ok(_) => envelope::err(&undone),
            Err(e) => envelope::err(&e),
        })
        .collect();
    WsError::BatchRolledBack {
        message: format!("Item {at} failed ({first}); nothing was written"),
        items,
    }
}

/// An item's record id: the item itself or its `id`.
fn item_id(item: &Value) -> Option<&str> {
    match item {
        Value::String(id) => Some(id),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Refuses ids of users and actors, whose writes take a connection of
/// their own (see `Store::serialized`).
fn entity_id<'a>(registry: &Registry, id: Option<&'a str>) -> Result<&'a str, WsError> {
    let id = id.ok_or_else(denied_for_id)?;
    let module = module_of_id(registry, id).ok_or_else(denied_for_id)?;
    entity_module(registry, &module.name)?;
    Ok(id)
}

fn entity_module(registry: &Registry, name: &str) -> Result<(), WsError> {
    match registry.module(name).map(keying) {
        Some(Keying::Shared) | None => Ok(()),
        Some(_) => Err(WsError::OperationNotSupported(format!(
            "Batches take records of entity modules; write {name} one at a time"
        ))),
    }
}

fn write_item(
    ctx: &Ctx,
    kind: Kind,
    element_type: Option<&str>,
    caller: &Caller,
    item: Value,
) -> Result<Value, WsError> {
    let caller = caller.clone();
    match kind {
        Kind::Create => {
            let mut element = as_object(item)?;
            // An item may name its own type; the parameter is the default.
            let own_type = element.remove("elementType");
            let module = own_type
                .as_ref()
                .and_then(Value::as_str)
                .or(element_type)
                .unwrap_or_default()
                .to_string();
            entity_module(&ctx.registry, &module)?;
            create::run(ctx, create::Params::new(&module, element, caller)).map(Answer::into_value)
        }
        Kind::Update | Kind::Revise => {
            entity_id(&ctx.registry, item_id(&item))?;
            let mandatory = match kind {
                Kind::Update => Mandatory::All,
                _ => Mandatory::Present,
            };
            update::apply(
                ctx,
                update::Params::new(as_object(item)?, caller),
                mandatory,
            )
            .map(Answer::into_value)
        }
        Kind::Delete => {
            let id = entity_id(&ctx.registry, item_id(&item))?;
            delete::run(ctx, delete::Params::new(id, caller))
        }
        Kind::Retrieve => Err(WsError::InternalServerError),
    }
}

fn as_object(item: Value) -> Result<Map<String, Value>, WsError> {
    match item {
        Value::Object(o) => Ok(o),
        _ => Err(WsError::InvalidFieldValue(
            "Invalid value specified for element: each item must be a JSON object".into(),
        )),
    }
}

fn retrieve_item(ctx: &Ctx, caller: &Caller, item: &Value) -> Result<Value, WsError> {
    let id = item_id(item).ok_or_else(denied_for_id)?;
    retrieve::value(ctx, retrieve::Params::new(id, caller.clone()))
}
