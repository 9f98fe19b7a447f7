//! What create, retrieve, update, revise and delete share: resolving ids in
//! vtiger's order of checks and reading `element` (spec §3.3). The record's
//! wire shape is in `wire.rs`, the value checks that are ours in `values.rs`.
pub mod external;
pub mod files;
pub mod inventory;
mod values;
mod wire;
mod wire_record;

use rusqlite::Connection;
use serde_json::{Map, Value};

pub use wire::{
    encode_loaded, encode_records, encode_selected, row_to_wire, wire_loaded, wire_record,
    wire_selected, PageWriter,
};
pub use wire_record::{FieldNames, RecordSink, WireRecord};

use super::{Ctx, OpCall};
use crate::auth::access::{Access, Action, FieldAccess};
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{FieldDef, FieldType, ModuleDef, Registry, WsId};
use crate::store::records::{self, RecordWrite};
use crate::store::rows;
use crate::store::tables::{has_column, keying, Keying};
use crate::store::users::{GROUPS, USERS};
use values::{boolean, check_value};
use wire::reference_prefix;

/// The parameters of an operation on one record named by `id`: retrieve,
/// delete.
pub struct OneRecord {
    pub(in crate::ops) id: Option<String>,
    pub(in crate::ops) caller: Caller,
}

impl OneRecord {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(OneRecord {
            id: call.param("id").map(str::to_string),
            caller: call.caller()?.clone(),
        })
    }

    /// The call for record `id` (batches).
    pub fn new(id: &str, caller: Caller) -> Self {
        OneRecord {
            id: Some(id.to_string()),
            caller,
        }
    }
}

/// Runs `work` on `module`'s records as one write of the group commit (in
/// a savepoint of its own: an error undoes only it), with the registry and
/// the module found again on the writer, whose job owns what it uses.
pub fn write_module<T: Send + 'static>(
    ctx: &Ctx,
    module: &ModuleDef,
    work: impl FnOnce(&Connection, &Registry, &ModuleDef) -> Result<T, WsError> + Send + 'static,
) -> Result<T, WsError> {
    let (registry, name) = (ctx.registry.clone(), module.name.clone());
    ctx.store.write(move |tx| {
        let module = registry.module(&name).ok_or(WsError::InternalServerError)?;
        work(tx, &registry, module)
    })
}

/// "… denied for id": an id whose prefix names no module.
pub fn denied_for_id() -> WsError {
    WsError::AccessDenied("Permission to perform the operation is denied for id".into())
}

/// What an id names once resolved.
pub enum Target<'r> {
    /// A live entity record.
    Record(&'r ModuleDef, i64),
    /// A user or an actor row (own id sequence).
    Row(&'r ModuleDef, i64),
}

/// The module a webservice id's prefix names (`11x42` → Accounts), if any.
pub fn module_of_id<'r>(registry: &'r Registry, id: &str) -> Option<&'r ModuleDef> {
    WsId::parse(id).and_then(|ws| registry.module_by_prefix(ws.prefix))
}

/// Resolves a record id for `action` in vtiger's order of checks (§3.3):
/// unknown prefix → denied for id; missing or deleted record → denied (not
/// RECORD_NOT_FOUND, shared/golden seq 79); a module the caller may not
/// list → denied; no read access → "Permission to write is denied" (sic,
/// vtiger's Retrieve.php); a record of another module → INVALID_ID_ATTRIBUTE;
/// no right on this record → "Permission to read given object is denied",
/// whatever the action (vtiger's text). A missing actor row is
/// RECORD_NOT_FOUND "Record not found"; users and actors are written by
/// admins only.
pub fn resolve<'r>(
    conn: &Connection,
    registry: &'r Registry,
    access: &Access,
    id: Option<&str>,
    action: Action,
) -> Result<Target<'r>, WsError> {
    let ws = id.and_then(WsId::parse).ok_or_else(denied_for_id)?;
    let module = registry
        .module_by_prefix(ws.prefix)
        .ok_or_else(denied_for_id)?;
    match keying(module) {
        Keying::Shared => {
            let (setype, owner) =
                records::live_entry(conn, ws.object)?.ok_or_else(WsError::denied)?;
            let real = registry.module(&setype).ok_or_else(WsError::denied)?;
            check_record(access, module, real, owner, action)?;
            Ok(Target::Record(module, ws.object))
        }
        keyed => {
            if !rows::exists(conn, module, ws.object)? {
                return Err(match keyed {
                    Keying::Own => WsError::RecordNotFound("Record not found".into()),
                    _ => WsError::denied(),
                });
            }
            if !access.may(module, action) {
                return Err(WsError::AccessDenied(
                    "Permission to write is denied".into(),
                ));
            }
            Ok(Target::Row(module, ws.object))
        }
    }
}

/// vtiger's checks, in its order, on a live record of module `real` owned
/// by `owner`, named by an id with `module`'s prefix.
fn check_record(
    access: &Access,
    module: &ModuleDef,
    real: &ModuleDef,
    owner: i64,
    action: Action,
) -> Result<(), WsError> {
    if !access.lists(real) {
        return Err(WsError::denied());
    }
    if action == Action::View && !access.may(real, Action::View) {
        return Err(WsError::AccessDenied(
            "Permission to write is denied".into(),
        ));
    }
    if real.name != module.name {
        return Err(WsError::InvalidIdAttribute);
    }
    // The module-wide delete right has its own text (spec §3.3).
    if action == Action::Delete && !access.may(module, Action::Delete) {
        return Err(WsError::AccessDenied(
            "Permission to delete is denied".into(),
        ));
    }
    if !access.on_record(module, owner, action) {
        return Err(denied_object());
    }
    Ok(())
}

/// The record `id` names, loaded, when it is a live record of the module
/// its prefix names and the caller may `action` it: one statement where
/// [`resolve`] and then a load take two (~4.7k of a retrieve's
/// instructions). `None` when the id names anything else: [`resolve`] then
/// tells what, with the error vtiger gives.
pub fn load_checked<'r>(
    conn: &Connection,
    registry: &'r Registry,
    access: &Access,
    id: Option<&str>,
    action: Action,
) -> Result<Option<(&'r ModuleDef, records::StoredRecord)>, WsError> {
    let Some(ws) = id.and_then(WsId::parse) else {
        return Ok(None);
    };
    let Some(module) = registry.module_by_prefix(ws.prefix) else {
        return Ok(None);
    };
    if keying(module) != Keying::Shared {
        return Ok(None);
    }
    let Some(rec) = records::load(conn, module, ws.object)? else {
        return Ok(None);
    };
    check_record(access, module, module, rec.owner, action)?;
    Ok(Some((module, rec)))
}

/// "Permission to read given object is denied": vtiger's one text for a
/// record the caller may not read, change or delete.
pub fn denied_object() -> WsError {
    WsError::AccessDenied("Permission to read given object is denied".into())
}

/// Fills the fields a new user or actor row is not given with the schema's
/// defaults (vtiger's column defaults: a user's theme, a currency's flags).
pub fn with_defaults(module: &ModuleDef, element: &Map<String, Value>) -> Map<String, Value> {
    let mut out = element.clone();
    for f in &module.fields {
        if let Some(d) = f
            .default
            .as_ref()
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
        {
            out.entry(f.name.clone())
                .or_insert_with(|| Value::String(d.to_string()));
        }
    }
    out
}

/// The module a create writes to, checked as vtiger's Create.php does: a
/// module the caller may not list → denied; no create right → "Permission
/// to write is denied" (users and actors: admins only).
pub fn writable_module<'r>(
    registry: &'r Registry,
    name: Option<&str>,
    access: &Access,
) -> Result<&'r ModuleDef, WsError> {
    let module = listed_module(registry, name, access)?;
    if !access.may(module, Action::Create) {
        return Err(WsError::AccessDenied(
            "Permission to write is denied".into(),
        ));
    }
    Ok(module)
}

/// The module `name`, when the caller may list it; denied otherwise (an
/// unknown name included, as vtiger answers).
pub fn listed_module<'r>(
    registry: &'r Registry,
    name: Option<&str>,
    access: &Access,
) -> Result<&'r ModuleDef, WsError> {
    name.and_then(|n| registry.module(n))
        .filter(|m| access.lists(m))
        .ok_or_else(WsError::denied)
}

/// `element` as an object; anything else is an empty one (vtiger then
/// reports the first missing mandatory field, shared/golden seq 52).
/// Bytes that are not UTF-8 are refused rather than stored mangled.
pub fn element_object(call: &OpCall) -> Result<Map<String, Value>, WsError> {
    if call.params.is_invalid_utf8("element") {
        return Err(WsError::InvalidFieldValue(
            "Invalid value specified for element: not valid UTF-8".into(),
        ));
    }
    Ok(match call.encoded("element") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    })
}

/// A client value as text: strings as sent, numbers and booleans as PHP
/// would print them, lists (multipicklists) joined with ` |##| `.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(as_text)
                .collect::<Vec<_>>()
                .join(" |##| "),
        ),
        Value::Object(_) => None,
    }
}

/// Fields a client may set: not the id, not server-set, not auto-numbered.
fn client_settable(module: &ModuleDef, f: &FieldDef) -> bool {
    !f.is_id()
        && f.editable.is_true()
        && f.system.is_none()
        && module
            .auto_number
            .as_ref()
            .is_none_or(|a| a.field != f.name)
        && (has_column(module, f) || f.kind == FieldType::Owner)
}

/// Whether a mandatory check applies to `f`.
fn is_mandatory(module: &ModuleDef, f: &FieldDef) -> bool {
    f.mandatory.is_true() && client_settable(module, f)
}

/// How mandatory fields are checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mandatory {
    /// create and update: every mandatory field must have a value.
    All,
    /// revise: only mandatory fields present in the element.
    Present,
}

/// Who writes and how: the caller's rights, and whether this is a create
/// (vtiger words one message differently for create and update).
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    /// The caller's rights.
    pub access: &'a Access,
    /// A create, rather than an update or revise.
    pub creating: bool,
}

/// `element[name]`. A small element (a create of a few fields, a revise)
/// is scanned: hashing the name of every field of the module to look it up
/// (SipHash, ~240 instructions each, ~47 a create of Accounts) was ~11k
/// instructions of a create's ~180k on the writer thread (callgrind).
fn element_field<'e>(element: &'e Map<String, Value>, name: &str) -> Option<&'e Value> {
    const SCANNED_UP_TO: usize = 8;
    if element.len() <= SCANNED_UP_TO {
        element.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    } else {
        element.get(name)
    }
}

/// Checks `element` in vtiger's order (references, then mandatory fields,
/// then the owner) and turns it into a write. Unknown keys, read-only keys
/// and fields the caller's profile hides or makes read-only are ignored:
/// clients send whole retrieved records back.
pub fn read_element(
    conn: &Connection,
    registry: &Registry,
    writer: Writer,
    module: &ModuleDef,
    element: &Map<String, Value>,
    mandatory: Mandatory,
) -> Result<RecordWrite, WsError> {
    let mut values: Vec<(&FieldDef, Option<String>)> = Vec::new();
    let settable = |f: &&FieldDef| {
        client_settable(module, f) && writer.access.field(module, f) == FieldAccess::Writable
    };
    for f in module.fields.iter().filter(settable) {
        let Some(raw) = element_field(element, &f.name) else {
            continue;
        };
        let text = as_text(raw);
        // A reference with no target modules holds a raw value (Users.roleid
        // is a role id like H5, uitype 98).
        if f.kind == FieldType::Reference && !f.refers_to.as_deref().unwrap_or_default().is_empty()
        {
            // vtiger drops empty references from the element.
            let Some(text) = text.filter(|t| !t.is_empty()) else {
                continue;
            };
            check_reference(conn, registry, writer, f, &text)?;
            values.push((f, Some(text)));
        } else {
            values.push((f, text));
        }
    }
    for f in module.fields.iter().filter(|f| is_mandatory(module, f)) {
        let given = values
            .iter()
            .find(|(v, _)| v.name == f.name)
            .and_then(|(_, t)| t.as_deref());
        let missing = match mandatory {
            Mandatory::All => given.is_none_or(str::is_empty),
            Mandatory::Present => element.contains_key(&f.name) && given.is_none_or(str::is_empty),
        };
        if missing {
            return Err(WsError::MandatoryFieldsMissing(format!(
                "{} does not have a value",
                f.name
            )));
        }
    }
    for (f, text) in &values {
        if let Some(text) = text {
            check_value(f, text)?;
        }
    }
    let mut write = RecordWrite::default();
    for (f, text) in values {
        match f.kind {
            FieldType::Owner => {
                let text = text.unwrap_or_default();
                let (owner, is_group) = check_owner(conn, registry, &text)?;
                if !writer.access.may_assign(module, owner, is_group) {
                    return Err(cannot_assign());
                }
                write.owner = Some(owner);
            }
            FieldType::Reference if f.refers_to.as_deref().unwrap_or_default().is_empty() => {
                write.values.push((f.name.clone(), text));
            }
            FieldType::Reference => {
                let id = text
                    .as_deref()
                    .and_then(|t| WsId::parse(t).map(|w| w.object).or_else(|| t.parse().ok()));
                write
                    .values
                    .push((f.name.clone(), id.map(|i| i.to_string())));
            }
            FieldType::Boolean => {
                let truth = boolean(text.as_deref()) == "1";
                let stored = match &f.boolean_values {
                    Some([yes, no]) => {
                        if truth {
                            yes.clone()
                        } else {
                            no.clone()
                        }
                    }
                    None => {
                        if truth {
                            "1".into()
                        } else {
                            "0".into()
                        }
                    }
                };
                write.values.push((f.name.clone(), Some(stored)));
            }
            // Passwords are never stored: Stripes logs in with access keys only.
            FieldType::Password => {}
            _ => write.values.push((
                f.name.clone(),
                text.filter(|t| !(t.is_empty() && records::is_numeric(f.kind))),
            )),
        }
    }
    Ok(write)
}

/// A reference must name a module the field refers to (§3.3 create step
/// 3), and one the caller may list.
fn check_reference(
    conn: &Connection,
    registry: &Registry,
    writer: Writer,
    f: &FieldDef,
    text: &str,
) -> Result<(), WsError> {
    let targets = f.refers_to.as_deref().unwrap_or_default();
    let invalid =
        || WsError::ReferenceInvalid(format!("Invalid reference specified for {}", f.name));
    let module = match WsId::parse(text) {
        Some(ws) => {
            let module = registry
                .module_by_prefix(ws.prefix)
                .ok_or_else(denied_for_id)?;
            if !targets.contains(&module.name) {
                return Err(invalid());
            }
            module
        }
        // A plain object id skips vtiger's type check; we still require it
        // to name a live record of a module the field refers to.
        None => {
            let prefix = text
                .parse::<i64>()
                .ok()
                .map(|id| reference_prefix(conn, registry, targets, id))
                .transpose()?
                .flatten()
                .and_then(|ws| WsId::parse(&ws))
                .ok_or_else(invalid)?;
            registry
                .module_by_prefix(prefix.prefix)
                .ok_or_else(invalid)?
        }
    };
    if !writer.access.lists(module) {
        // No space before the name on create, one on update (vtiger's texts).
        let gap = if writer.creating { "" } else { " " };
        return Err(WsError::AccessDenied(format!(
            "Permission to access reference type is denied{gap}{}",
            module.name
        )));
    }
    Ok(())
}

fn cannot_assign() -> WsError {
    WsError::AccessDenied("Cannot assign record to the given user".into())
}

/// An owner must be a live, active user or a group: its id, and whether it
/// is a group.
fn check_owner(conn: &Connection, registry: &Registry, text: &str) -> Result<(i64, bool), WsError> {
    let cannot = cannot_assign;
    let (prefix, id) = match WsId::parse(text) {
        Some(ws) => (Some(ws.prefix), ws.object),
        None => (None, text.parse().map_err(|_| cannot())?),
    };
    let users = registry.module(USERS).expect("Users");
    let groups = registry.module(GROUPS).expect("Groups");
    // Cached statements (ANDs short-circuit, so `?` inside is fine): an
    // unprepared pair cost ~19k instructions a create (callgrind).
    let is_user = prefix.is_none_or(|p| p == users.id_prefix)
        && crate::store::users::is_active(conn, registry, id)?;
    let is_group = prefix.is_none_or(|p| p == groups.id_prefix) && rows::exists(conn, groups, id)?;
    if is_user || is_group {
        Ok((id, !is_user))
    } else {
        Err(cannot())
    }
}

/// The current time as (unix seconds, `YYYY-MM-DD HH:MM:SS` UTC). The text
/// is formatted once a second a thread: chrono's strftime parses its format
/// at every call, ~1 % of the writer thread's samples under creates (perf).
pub fn now_pair() -> (i64, String) {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const {
            std::cell::RefCell::new((0, String::new()))
        };
    }
    let now = chrono::Utc::now();
    let seconds = now.timestamp();
    LAST.with_borrow_mut(|(at, text)| {
        if *at != seconds || text.is_empty() {
            *at = seconds;
            *text = now.format("%Y-%m-%d %H:%M:%S").to_string();
        }
        (seconds, text.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::{element_field, now_pair};
    use serde_json::{json, Map, Value};

    #[test]
    fn an_element_field_is_found_alike_in_small_and_large_elements() {
        for size in [1, 8, 9, 60] {
            let element: Map<String, Value> =
                (0..size).map(|i| (format!("f{i}"), json!(i))).collect();
            for i in 0..size {
                assert_eq!(element_field(&element, &format!("f{i}")), Some(&json!(i)));
            }
            assert_eq!(element_field(&element, "f"), None, "{size} fields");
            assert_eq!(element_field(&element, &format!("f{size}")), None);
        }
    }

    #[test]
    fn the_time_text_always_names_the_second_it_comes_with() {
        // Across at least one change of second: the kept text moves with it.
        let started = std::time::Instant::now();
        let mut seconds_seen = std::collections::HashSet::new();
        while started.elapsed() < std::time::Duration::from_millis(1_100) {
            let (seconds, text) = now_pair();
            let expected = chrono::DateTime::from_timestamp(seconds, 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(text, expected);
            seconds_seen.insert(seconds);
        }
        assert!(seconds_seen.len() >= 2, "the test never crossed a second");
    }
}
