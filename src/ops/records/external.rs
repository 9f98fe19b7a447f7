//! `external_ids` in an element and on the wire (our addition, issue 11):
//! `{"erp": "C-1001", "shop": "77"}`. Only a write that sends the key
//! changes them, and only the systems it names (`null` removes one), so a
//! vtiger client's whole-record update never loses what a connector set.
use rusqlite::Connection;
use serde_json::{Map, Value};

use super::RecordSink;
use crate::error::WsError;
use crate::registry::{ModuleDef, WsId};
use crate::store::external;

/// The element key.
pub const KEY: &str = "external_ids";
const MAX_SYSTEM: usize = 64;
const MAX_ID: usize = 255;

/// Changes an element asks for: `(system, Some(id))` sets, `None` removes.
pub type Changes = Vec<(String, Option<String>)>;

fn invalid(detail: &str) -> WsError {
    WsError::InvalidFieldValue(format!("Invalid value specified for {KEY}: {detail}"))
}

/// The element's external ids: an object of system names to ids (strings
/// or numbers; `null` removes). Empty when the key is absent.
pub fn read(element: &Map<String, Value>) -> Result<Changes, WsError> {
    let Some(given) = element.get(KEY) else {
        return Ok(Vec::new());
    };
    let Value::Object(pairs) = given else {
        return Err(invalid("expected an object of system names to ids"));
    };
    let mut changes = Vec::new();
    for (system, id) in pairs {
        let system = system.trim();
        if system.is_empty() || system.chars().count() > MAX_SYSTEM {
            return Err(invalid("a system name has 1 to 64 characters"));
        }
        let id = match id {
            Value::Null => None,
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                return Err(invalid(&format!(
                    "the id for {system} must be a non-empty string"
                )))
            }
        };
        if id.as_ref().is_some_and(|id| id.chars().count() > MAX_ID) {
            return Err(invalid(&format!(
                "the id for {system} is longer than 255 characters"
            )));
        }
        changes.push((system.to_string(), id));
    }
    Ok(changes)
}

/// Refuses external ids on users and actors (they are kept for entity
/// records only).
pub fn check_module(module: &ModuleDef, changes: &Changes) -> Result<(), WsError> {
    match changes.is_empty()
        || crate::store::tables::keying(module) == crate::store::tables::Keying::Shared
    {
        true => Ok(()),
        false => Err(invalid(&format!(
            "{} records do not keep external ids",
            module.name
        ))),
    }
}

/// Applies `changes` to record `id` inside the write's transaction. An id
/// another live record of the module holds is refused, naming that record.
pub fn save(
    conn: &Connection,
    module: &ModuleDef,
    id: i64,
    changes: &Changes,
) -> Result<(), WsError> {
    for (system, external_id) in changes {
        if let Some(external_id) = external_id {
            let holder = external::find(conn, &module.name, system, external_id)?;
            if let Some(other) = holder.filter(|other| *other != id) {
                return Err(WsError::InvalidFieldValue(format!(
                    "Invalid value specified for {KEY}: {system} id {external_id} belongs to {}",
                    WsId::new(module.id_prefix, other)
                )));
            }
        }
        external::set(conn, &module.name, id, system, external_id.as_deref())?;
    }
    Ok(())
}

/// Adds `external_ids` to a record on the wire when it has any (records
/// without keep vtiger's exact shape).
pub fn attach(conn: &Connection, id: i64, record: &mut impl RecordSink) -> Result<(), WsError> {
    let pairs = external::of(conn, id)?;
    if !pairs.is_empty() {
        let ids: Map<String, Value> = pairs
            .into_iter()
            .map(|(s, e)| (s, Value::String(e)))
            .collect();
        record.push_tail(KEY, Value::Object(ids));
    }
    Ok(())
}
