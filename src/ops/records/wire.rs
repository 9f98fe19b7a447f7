//! Records on the wire (spec §5.1): every value a string, fields in module
//! order, then `id`, then `label`.
use rusqlite::Connection;
use serde_json::{Map, Value};

use super::wire_record::{FieldNames, RecordSink, WireRecord};

use crate::auth::access::Access;
use crate::error::WsError;
use crate::http::envelope::JsonRecords;
use crate::registry::{FieldDef, FieldType, Lookup, ModuleDef, Registry, SystemField, WsId};
use crate::store::records::{self, StoredRecord};
use crate::store::tables::{keying, Keying};
use crate::store::users::USERS;
use crate::store::{owners, rows};

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
    let ws = WsId::new(module.id_prefix, id).to_wire();
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
    for f in module.record_fields() {
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

/// The webservice id of object `id` among `targets`, probing them in order
/// for a live record (spec §5.1); `None` when it dangles.
pub(super) fn reference_prefix(
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
            Keying::OwnWithDelete | Keying::Own => rows::exists(conn, m, id)?,
        };
        if found {
            return Ok(Some(WsId::new(m.id_prefix, id).to_wire()));
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

/// Writes what [`decimal`] makes of `0`.
fn write_zero(text: &mut String, scale: usize) {
    text.push('0');
    if scale > 0 {
        text.push('.');
        text.extend(std::iter::repeat_n('0', scale));
    }
}

/// Whether [`decimal`] would change `text`.
fn needs_padding(text: &str, scale: usize) -> bool {
    text.split_once('.').map_or(0, |(_, frac)| frac.len()) < scale
}

/// User `id`'s webservice id (the Users prefix `users`) as the next
/// field; empty for none (0).
fn push_user(out: &mut impl RecordSink, users: u32, id: i64) {
    match id {
        0 => out.push_field(""),
        id => out.push_ws_id(WsId::new(users, id)),
    }
}

/// A record on the wire (§5.1): every value a string, fields in module
/// order, then `id`, then `label` when asked for and not empty.
pub fn to_wire(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    mut rec: StoredRecord,
    with_label: bool,
) -> Result<WireRecord, WsError> {
    // Built on the stored text: a value shown as stored stays where the
    // load put it.
    let mut out = WireRecord::over_text(module.record_field_names(), rec.values.take_text());
    write_wire(conn, registry, module, rec, with_label, &mut out)?;
    Ok(out)
}

/// Puts record `rec` on the wire (§5.1) into `out`, which holds the
/// record's text (`rec.values.take_text()`): its fields in module order,
/// then `id`, then `label` when asked for and not empty.
fn write_wire(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    mut rec: StoredRecord,
    with_label: bool,
    out: &mut impl RecordSink,
) -> Result<(), WsError> {
    // Found once a record, not once a field that names a user.
    let users = registry.module(USERS).expect("Users").id_prefix;
    for (f, column) in module.record_fields().zip(records::record_columns(module)) {
        match (f.system, f.kind) {
            // The stored text is the record's: these are where the load put
            // them.
            (Some(SystemField::Createdtime), _) => out.push_span(rec.created_time),
            (Some(SystemField::Modifiedtime), _) => out.push_span(rec.modified_time),
            (Some(SystemField::Modifiedby), _) => push_user(out, users, rec.modified_by),
            (Some(SystemField::Creator), _) => push_user(out, users, rec.creator),
            (Some(SystemField::Source), _) => out.push_span(rec.source),
            (None, FieldType::Owner) => match owners::prefix(conn, registry, rec.owner)? {
                Some(prefix) => out.push_ws_id(WsId::new(prefix, rec.owner)),
                None => out.push_field(""),
            },
            (None, kind) => {
                let stored = column.and_then(|c| rec.values.take(c));
                match (kind, stored) {
                    (FieldType::Reference, stored) => {
                        let id = stored.and_then(|s| out.text_at(s).parse::<i64>().ok());
                        let target = match id {
                            Some(id) => reference_prefix(
                                conn,
                                registry,
                                f.refers_to.as_deref().unwrap_or_default(),
                                id,
                            )?,
                            None => None,
                        };
                        out.push_field(target.as_deref().unwrap_or_default());
                    }
                    (FieldType::Boolean | FieldType::Integer, None) => out.push_field("0"),
                    (FieldType::Double | FieldType::Decimal | FieldType::Currency, stored) => {
                        let scale = f.scale.unwrap_or(8);
                        match stored {
                            Some(s) if !needs_padding(out.text_at(s), scale) => out.push_span(s),
                            Some(s) => {
                                let text = decimal(out.text_at(s), scale);
                                out.push_field(&text);
                            }
                            // An empty amount (most of them): its zeros
                            // written in place, no text formatted apart.
                            None => out.push_field_with(|text| write_zero(text, scale)),
                        }
                    }
                    (_, Some(s)) => out.push_span(s),
                    (_, None) => out.push_field(""),
                }
            }
        }
    }
    out.push_id(WsId::new(module.id_prefix, rec.id));
    // Only for modules with a file or image field, and only with files (§5.1).
    if module.has_file_fields() {
        let ids = crate::store::attachments::ids_of(conn, rec.id)?;
        if !ids.is_empty() {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            out.push_tail("imageattachmentids", ids.join(",").into());
        }
    }
    let label = out.text_at(rec.label);
    if with_label && !label.is_empty() {
        let label = label.to_string();
        out.push_tail("label", label.into());
    }
    Ok(())
}

/// Leaves the `hidden` fields out of `record`.
fn strip_hidden(hidden: &[&FieldDef], record: &mut WireRecord) {
    for f in hidden {
        record.hide(&f.name);
    }
}

/// Loads and formats a record just written or resolved, as `access` may
/// see it: the fields its profile hides are left out.
pub fn wire_record(
    conn: &Connection,
    registry: &Registry,
    access: &Access,
    module: &ModuleDef,
    id: i64,
) -> Result<WireRecord, WsError> {
    let rec = records::load(conn, module, id)?.ok_or_else(WsError::denied)?;
    wire_loaded(conn, registry, access, module, rec)
}

/// A record [`wire_record`] loaded, or a caller did with
/// `records::load`.
pub fn wire_loaded(
    conn: &Connection,
    registry: &Registry,
    access: &Access,
    module: &ModuleDef,
    rec: StoredRecord,
) -> Result<WireRecord, WsError> {
    let (id, has_external_ids) = (rec.id, rec.has_external_ids);
    let mut record = to_wire(conn, registry, module, rec, true)?;
    strip_hidden(&access.hidden_fields(module), &mut record);
    if has_external_ids != Some(false) {
        super::external::attach(conn, id, &mut record)?;
    }
    Ok(record)
}

/// How many ids [`encode_records`] loads with one statement: a token
/// page's most, so the statements it prepares are the token feed's.
const LOAD_CHUNK: usize = 100;

/// Records of one module written onto a page's list as JSON (no `label`),
/// without the fields `access` may not see: the module's names and that
/// mask worked out once a page, not once a record.
pub struct PageWriter<'m> {
    module: &'m ModuleDef,
    names: std::sync::Arc<FieldNames>,
    hidden: Vec<bool>,
    /// `id` after every field (a query's rows, spec §8.3), not in field
    /// order (a sync page's).
    id_last: bool,
}

impl<'m> PageWriter<'m> {
    /// For `module`'s records as `access` may see them.
    pub fn new(module: &'m ModuleDef, access: &Access) -> Self {
        let names = module.record_field_names();
        let hidden = hidden_mask(&names, access, module);
        PageWriter {
            module,
            names,
            hidden,
            id_last: false,
        }
    }

    /// The same writer putting `id` after every field.
    fn with_id_last(self) -> Self {
        PageWriter {
            id_last: true,
            ..self
        }
    }

    /// The module written for.
    pub fn module(&self) -> &'m ModuleDef {
        self.module
    }

    /// Appends `rec` to `list`, written as it is formatted.
    pub fn write(
        &self,
        conn: &Connection,
        registry: &Registry,
        mut rec: StoredRecord,
        list: &mut JsonRecords,
    ) -> Result<(), WsError> {
        let text = rec.values.take_text();
        let mut out = list.record(&self.names, &self.hidden, text, self.id_last);
        write_wire(conn, registry, self.module, rec, false, &mut out)?;
        out.finish();
        Ok(())
    }
}

/// Records `ids` of `module` (every one live), as `access` may see them,
/// appended to `list` as JSON as they are read, in the order of `ids`. For
/// vtiger's sync window, which holds every change of its last second:
/// after a bulk import thousands. Made into [`WireRecord`]s first, a window
/// of 3,850 records was held as loaded, as records and as JSON (peak RSS
/// 37 MiB against 31 MiB written as read, from 14 MiB before the request),
/// loaded with one statement of 3,850 parameters (SQLite refuses more than
/// 32,766), prepared for that window size alone. A hundred ids at a time,
/// each record written as it is read.
pub fn encode_records(
    conn: &Connection,
    registry: &Registry,
    access: &Access,
    module: &ModuleDef,
    ids: &[i64],
    list: &mut JsonRecords,
) -> Result<(), WsError> {
    let writer = PageWriter::new(module, access);
    for chunk in ids.chunks(LOAD_CHUNK) {
        // Ids from the store, not a client's choosing.
        let mut loaded: Lookup<i64, StoredRecord> = records::load_many(conn, module, chunk)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        for id in chunk {
            if let Some(rec) = loaded.remove(id) {
                writer.write(conn, registry, rec, list)?;
            }
        }
    }
    Ok(())
}

/// The records of `module` that `sql` selects whole (a query's page, see
/// `records::load_selected`), in its order, as `access` may see them.
pub fn wire_selected(
    conn: &Connection,
    registry: &Registry,
    access: &Access,
    module: &ModuleDef,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<WireRecord>, WsError> {
    let loaded = records::load_selected(conn, module, sql, params)?;
    // Worked out once a page, not once a record.
    let hidden = access.hidden_fields(module);
    loaded
        .into_iter()
        .map(|rec| page_record(conn, registry, module, &hidden, rec, false))
        .collect()
}

/// The records of `module` that `sql` selects whole, as
/// [`wire_selected`] makes them, written as a JSON list as they are read;
/// `id` comes last in each (a query's rows, spec §8.3).
pub fn encode_selected(
    conn: &Connection,
    registry: &Registry,
    access: &Access,
    module: &ModuleDef,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<String, WsError> {
    let loaded = records::load_selected(conn, module, sql, params)?;
    let writer = PageWriter::new(module, access).with_id_last();
    let mut list = JsonRecords::list();
    for rec in loaded {
        writer.write(conn, registry, rec, &mut list)?;
    }
    Ok(list.finish())
}

/// Record `rec` as [`wire_loaded`] makes it, written as JSON as it is
/// formatted (a retrieve's answer).
pub fn encode_loaded(
    conn: &Connection,
    registry: &Registry,
    access: &Access,
    module: &ModuleDef,
    mut rec: StoredRecord,
) -> Result<String, WsError> {
    let (id, has_external_ids) = (rec.id, rec.has_external_ids);
    let names = module.record_field_names();
    let hidden = hidden_mask(&names, access, module);
    let mut encoded = JsonRecords::single();
    let mut out = encoded.record(&names, &hidden, rec.values.take_text(), false);
    write_wire(conn, registry, module, rec, true, &mut out)?;
    if has_external_ids != Some(false) {
        super::external::attach(conn, id, &mut out)?;
    }
    out.finish();
    Ok(encoded.finish())
}

/// Which of `names` (a module's record fields) `access` may not see, one
/// flag a name; empty when it sees them all (no allocation for admins).
fn hidden_mask(names: &FieldNames, access: &Access, module: &ModuleDef) -> Vec<bool> {
    let hidden = access.hidden_fields(module);
    if hidden.is_empty() {
        return Vec::new();
    }
    names
        .names()
        .iter()
        .map(|n| hidden.iter().any(|f| f.name == *n))
        .collect()
}

/// One record of a page on the wire, without its `hidden` fields.
fn page_record(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    hidden: &[&FieldDef],
    rec: StoredRecord,
    with_label: bool,
) -> Result<WireRecord, WsError> {
    let mut record = to_wire(conn, registry, module, rec, with_label)?;
    strip_hidden(hidden, &mut record);
    Ok(record)
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
    fn an_empty_amount_is_written_as_decimal_writes_zero() {
        for scale in 0..=10 {
            let mut text = String::from("before");
            write_zero(&mut text, scale);
            assert_eq!(
                text,
                format!("before{}", decimal("0", scale)),
                "scale {scale}"
            );
        }
    }
}
