//! What create, retrieve, update, revise and delete share: resolving ids in
//! vtiger's order of checks, reading `element`, and the record's wire shape
//! (spec §3.3, §5).
use rusqlite::Connection;
use serde_json::{Map, Value};

use super::OpCall;
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{FieldDef, FieldType, ModuleDef, Registry, SystemField, WsId};
use crate::store::records::{self, RecordWrite, StoredRecord};
use crate::store::rows;
use crate::store::tables::{has_column, keying, table, Keying};
use crate::store::users::{GROUPS, USERS};

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

/// Resolves a record id the way vtiger's retrieve does: unknown prefix →
/// denied for id; missing or deleted record → denied (not RECORD_NOT_FOUND,
/// shared/golden seq 79); a record of another module → INVALID_ID_ATTRIBUTE;
/// a missing actor row → RECORD_NOT_FOUND "Record not found".
pub fn resolve_any<'r>(
    conn: &Connection,
    registry: &'r Registry,
    id: Option<&str>,
) -> Result<Target<'r>, WsError> {
    let ws = id.and_then(WsId::parse).ok_or_else(denied_for_id)?;
    let module = registry
        .module_by_prefix(ws.prefix)
        .ok_or_else(denied_for_id)?;
    match keying(module) {
        Keying::Shared => {
            let setype = records::live_setype(conn, ws.object)?.ok_or_else(WsError::denied)?;
            if setype != module.name {
                return Err(WsError::InvalidIdAttribute);
            }
            Ok(Target::Record(module, ws.object))
        }
        Keying::OwnWithDelete => {
            rows::load(conn, module, ws.object)?.ok_or_else(WsError::denied)?;
            Ok(Target::Row(module, ws.object))
        }
        Keying::Own => {
            rows::load(conn, module, ws.object)?
                .ok_or_else(|| WsError::RecordNotFound("Record not found".into()))?;
            Ok(Target::Row(module, ws.object))
        }
    }
}

/// Resolves an id for a write: users and actors only for admins (§4.1).
pub fn resolve_for_write<'r>(
    conn: &Connection,
    registry: &'r Registry,
    id: Option<&str>,
    caller: &Caller,
) -> Result<Target<'r>, WsError> {
    match resolve_any(conn, registry, id)? {
        Target::Row(..) if !caller.is_admin => Err(WsError::AccessDenied(
            "Permission to write is denied".into(),
        )),
        target => Ok(target),
    }
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

/// A user or actor row on the wire. Users: fields in order (never passwords
/// or access keys), then `id`, no `label` (shared/golden seq 76). Actors:
/// the table row as vtiger returns it, its id column included (seq 77-78).
pub fn row_to_wire(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    id: i64,
) -> Result<Value, WsError> {
    let row = rows::load(conn, module, id)?.ok_or_else(WsError::denied)?;
    let ws = WsId::new(module.id_prefix, id).to_string();
    let mut out = Map::new();
    match module.id_column.as_deref() {
        Some("id") => {
            out.insert("id".into(), ws.clone().into());
        }
        Some(column) => {
            out.insert(column.into(), id.to_string().into());
        }
        None => {}
    }
    for f in module.fields.iter().filter(|f| f.record && !f.is_id()) {
        let stored = row.get(&f.name).cloned().flatten();
        let value = match (f.kind, stored) {
            (FieldType::Reference, Some(s)) => match s.parse::<i64>() {
                Ok(target) => reference_prefix(
                    conn,
                    registry,
                    f.refers_to.as_deref().unwrap_or_default(),
                    target,
                )?
                .unwrap_or(s),
                Err(_) => s,
            },
            (_, stored) => stored.unwrap_or_default(),
        };
        out.insert(f.name.clone(), value.into());
    }
    out.entry("id").or_insert_with(|| ws.into());
    Ok(Value::Object(out))
}

/// A module that records can be written to through create.
pub fn writable_module<'r>(
    registry: &'r Registry,
    name: Option<&str>,
    caller: &Caller,
) -> Result<&'r ModuleDef, WsError> {
    let module = name
        .and_then(|n| registry.module(n))
        .ok_or_else(WsError::denied)?;
    match keying(module) {
        Keying::Shared => Ok(module),
        _ if !caller.is_admin => Err(WsError::AccessDenied(
            "Permission to write is denied".into(),
        )),
        _ => Ok(module),
    }
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

/// Checks `element` in vtiger's order (references, then mandatory fields,
/// then the owner) and turns it into a write. Unknown and read-only keys
/// are ignored: clients send whole retrieved records back.
pub fn read_element(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    element: &Map<String, Value>,
    mandatory: Mandatory,
) -> Result<RecordWrite, WsError> {
    let mut values: Vec<(&FieldDef, Option<String>)> = Vec::new();
    for f in module.fields.iter().filter(|f| client_settable(module, f)) {
        let Some(raw) = element.get(&f.name) else {
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
            check_reference(conn, registry, f, &text)?;
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
                write.owner = Some(check_owner(conn, registry, &text)?);
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

/// Checks vtiger does not make but a careful server must: a value that
/// would be stored mangled (vtiger turns `12abc` into 12, `2026-13-45` into
/// a zero date) or not fit is refused with the field named, nothing saved.
fn check_value(f: &FieldDef, text: &str) -> Result<(), WsError> {
    let invalid = |what: &str| {
        WsError::InvalidFieldValue(format!("Invalid value specified for {}: {what}", f.name))
    };
    let limit = f.max_length.unwrap_or(match f.kind {
        FieldType::Text | FieldType::Multipicklist => 65_535,
        _ => 255,
    });
    if text.chars().count() > limit {
        return Err(invalid(&format!("longer than {limit} characters")));
    }
    if text.is_empty() {
        return Ok(());
    }
    let t = text.trim();
    let ok = match f.kind {
        FieldType::Integer => t.parse::<i64>().is_ok(),
        FieldType::Double | FieldType::Decimal | FieldType::Currency => is_decimal(t),
        FieldType::Boolean => ["0", "1", "true", "false", "on", "off", "yes", "no"]
            .contains(&t.to_ascii_lowercase().as_str()),
        FieldType::Date => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok(),
        FieldType::Datetime => ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .any(|fmt| chrono::NaiveDateTime::parse_from_str(t, fmt).is_ok()),
        FieldType::Time => ["%H:%M:%S", "%H:%M"]
            .iter()
            .any(|fmt| chrono::NaiveTime::parse_from_str(t, fmt).is_ok()),
        FieldType::Email => is_email(t),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(match f.kind {
            FieldType::Integer => "expected a whole number",
            FieldType::Double | FieldType::Decimal | FieldType::Currency => {
                "expected a decimal number like 1500.25"
            }
            FieldType::Boolean => "expected 0 or 1",
            FieldType::Date => "expected a date as yyyy-mm-dd",
            FieldType::Datetime => "expected a date and time as yyyy-mm-dd hh:mm:ss",
            FieldType::Time => "expected a time as hh:mm:ss",
            _ => "expected an email address",
        }))
    }
}

fn is_decimal(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.len() <= 17
        && frac.len() <= 8
        && (int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
}

fn is_email(t: &str) -> bool {
    match t.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !t.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn boolean(text: Option<&str>) -> &'static str {
    match text.map(|t| t.trim().to_ascii_lowercase()) {
        Some(t) if ["1", "true", "on", "yes"].contains(&t.as_str()) => "1",
        _ => "0",
    }
}

/// A reference must name a module the field refers to (§3.3 create step 3).
fn check_reference(
    conn: &Connection,
    registry: &Registry,
    f: &FieldDef,
    text: &str,
) -> Result<(), WsError> {
    let targets = f.refers_to.as_deref().unwrap_or_default();
    match WsId::parse(text) {
        Some(ws) => {
            let module = registry
                .module_by_prefix(ws.prefix)
                .ok_or_else(denied_for_id)?;
            if !targets.contains(&module.name) {
                return Err(WsError::ReferenceInvalid(format!(
                    "Invalid reference specified for {}",
                    f.name
                )));
            }
            Ok(())
        }
        // A plain object id skips vtiger's type check; we still require it
        // to name a live record of a module the field refers to.
        None => {
            let ok = text
                .parse::<i64>()
                .ok()
                .map(|id| reference_prefix(conn, registry, targets, id))
                .transpose()?
                .flatten()
                .is_some();
            if ok {
                Ok(())
            } else {
                Err(WsError::ReferenceInvalid(format!(
                    "Invalid reference specified for {}",
                    f.name
                )))
            }
        }
    }
}

/// An owner must be a live, active user or a group.
fn check_owner(conn: &Connection, registry: &Registry, text: &str) -> Result<i64, WsError> {
    let cannot = || WsError::AccessDenied("Cannot assign record to the given user".into());
    let (prefix, id) = match WsId::parse(text) {
        Some(ws) => (Some(ws.prefix), ws.object),
        None => (None, text.parse().map_err(|_| cannot())?),
    };
    let users = registry.module(USERS).expect("Users");
    let groups = registry.module(GROUPS).expect("Groups");
    let is_user = prefix.is_none_or(|p| p == users.id_prefix)
        && conn
            .query_row(
                &format!(
                    "SELECT 1 FROM {} WHERE _id = ?1 AND _deleted = 0 AND status = 'Active'",
                    table(users)
                ),
                [id],
                |_| Ok(()),
            )
            .is_ok();
    let is_group = prefix.is_none_or(|p| p == groups.id_prefix)
        && conn
            .query_row(
                &format!("SELECT 1 FROM {} WHERE _id = ?1", table(groups)),
                [id],
                |_| Ok(()),
            )
            .is_ok();
    if is_user || is_group {
        Ok(id)
    } else {
        Err(cannot())
    }
}

/// The webservice id of object `id` among `targets`, probing them in order
/// for a live record (spec §5.1); `None` when it dangles.
fn reference_prefix(
    conn: &Connection,
    registry: &Registry,
    targets: &[String],
    id: i64,
) -> Result<Option<String>, WsError> {
    for target in targets {
        let Some(m) = registry.module(target) else {
            continue;
        };
        let found = match keying(m) {
            Keying::Shared => records::live_setype(conn, id)?.is_some_and(|s| s == m.name),
            Keying::OwnWithDelete => conn
                .query_row(
                    &format!("SELECT 1 FROM {} WHERE _id = ?1 AND _deleted = 0", table(m)),
                    [id],
                    |_| Ok(()),
                )
                .is_ok(),
            Keying::Own => conn
                .query_row(
                    &format!("SELECT 1 FROM {} WHERE _id = ?1", table(m)),
                    [id],
                    |_| Ok(()),
                )
                .is_ok(),
        };
        if found {
            return Ok(Some(WsId::new(m.id_prefix, id).to_string()));
        }
    }
    Ok(None)
}

/// Shows `text` with `scale` decimals, never dropping a digit it has.
fn decimal(text: &str, scale: usize) -> String {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() >= scale {
        return text.to_string();
    }
    format!("{int}.{frac:0<scale$}")
}

fn user_ws(registry: &Registry, id: i64) -> String {
    if id == 0 {
        return String::new();
    }
    WsId::new(registry.module(USERS).expect("Users").id_prefix, id).to_string()
}

/// A record on the wire (§5.1): every value a string, fields in module
/// order, then `id`, then `label` when asked for and not empty.
pub fn to_wire(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    rec: &StoredRecord,
    with_label: bool,
) -> Result<Value, WsError> {
    let mut out = Map::new();
    for f in module.fields.iter().filter(|f| f.record && !f.is_id()) {
        let value = match (f.system, f.kind) {
            (Some(SystemField::Createdtime), _) => rec.created_time.clone(),
            (Some(SystemField::Modifiedtime), _) => rec.modified_time.clone(),
            (Some(SystemField::Modifiedby), _) => user_ws(registry, rec.modified_by),
            (Some(SystemField::Creator), _) => user_ws(registry, rec.creator),
            (Some(SystemField::Source), _) => rec.source.clone(),
            (None, FieldType::Owner) => owner_ws(conn, registry, rec.owner)?,
            (None, kind) => {
                let stored = rec.values.get(&f.name).cloned().flatten();
                match kind {
                    FieldType::Reference => {
                        let id = stored.and_then(|s| s.parse::<i64>().ok());
                        match id {
                            Some(id) => reference_prefix(
                                conn,
                                registry,
                                f.refers_to.as_deref().unwrap_or_default(),
                                id,
                            )?
                            .unwrap_or_default(),
                            None => String::new(),
                        }
                    }
                    FieldType::Boolean => stored.unwrap_or_else(|| "0".into()),
                    FieldType::Integer => stored.unwrap_or_else(|| "0".into()),
                    FieldType::Double | FieldType::Decimal | FieldType::Currency => {
                        decimal(&stored.unwrap_or_else(|| "0".into()), f.scale.unwrap_or(8))
                    }
                    _ => stored.unwrap_or_default(),
                }
            }
        };
        out.insert(f.name.clone(), Value::String(value));
    }
    out.insert(
        "id".into(),
        WsId::new(module.id_prefix, rec.id).to_string().into(),
    );
    if with_label && !rec.label.is_empty() {
        out.insert("label".into(), rec.label.clone().into());
    }
    Ok(Value::Object(out))
}

fn owner_ws(conn: &Connection, registry: &Registry, id: i64) -> Result<String, WsError> {
    let targets = [USERS.to_string(), GROUPS.to_string()];
    Ok(reference_prefix(conn, registry, &targets, id)?.unwrap_or_default())
}

/// The current time as (unix seconds, `YYYY-MM-DD HH:MM:SS` UTC).
pub fn now_pair() -> (i64, String) {
    let now = chrono::Utc::now();
    (now.timestamp(), now.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Loads and formats a record just written or resolved.
pub fn wire_record(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    id: i64,
) -> Result<Value, WsError> {
    let rec = records::load(conn, module, id)?.ok_or_else(WsError::denied)?;
    to_wire(conn, registry, module, &rec, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_padded_never_rounded() {
        assert_eq!(decimal("1500", 8), "1500.00000000");
        assert_eq!(decimal("99999.50", 8), "99999.50000000");
        assert_eq!(decimal("10", 3), "10.000");
        assert_eq!(decimal("1.123456789", 8), "1.123456789");
    }

    #[test]
    fn decimal_and_email_shapes() {
        for good in [
            "0",
            "-1",
            "1500.25",
            "99999.50",
            "12345678901234567.12345678",
        ] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1,5",
            "1e5",
            "abc",
            "1.123456789",
            "123456789012345678",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
        assert!(is_email("a.b@example.com"));
        for bad in [
            "not-an-email",
            "a@b",
            "@b.com",
            "a b@c.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
