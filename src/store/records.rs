//! Records of entity modules: the shared `crmentity` row (id sequence,
//! owner, times, soft delete, label) plus one row in the module's table.
//! Every write commits together with its change-log row.
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use super::tables::{stored_columns, table, unconverted};
use crate::registry::{FieldType, ModuleDef, SystemField};

/// A stored record, as raw column values.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// The object id (crmid).
    pub id: i64,
    /// The owner (user or group id).
    pub owner: i64,
    /// The user who created it.
    pub creator: i64,
    /// The user who changed it last.
    pub modified_by: i64,
    /// `YYYY-MM-DD HH:MM:SS`, UTC; in the text of `values`, like the
    /// three after it: a `String` each was four allocations and frees a
    /// record (callgrind).
    pub created_time: Span,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub modified_time: Span,
    /// Where it was created (`WEBSERVICE`).
    pub source: Span,
    /// The record label.
    pub label: Span,
    /// Whether the record has external ids; `None` when not asked (a page).
    pub has_external_ids: Option<bool>,
    /// The module table's columns (NULL as `None`).
    pub values: Columns,
}

/// Column values by field name. Hashed with foldhash, not the default
/// SipHash: field names are not attacker-chosen keys.
pub type Values = HashMap<String, Option<String>, foldhash::fast::FixedState>;

/// Where a value lies in a record's text: its byte range. `u32`: SQLite
/// holds no value past 1 GB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The value in `text`, the text the span was made for.
    pub fn of(self, text: &str) -> &str {
        &text[self.start as usize..self.end as usize]
    }

    /// Appends `value` to `text` and says where it went.
    pub fn append(text: &mut String, value: &str) -> Span {
        Span::written(text, |t| t.push_str(value))
    }

    /// Lets `write` append to `text` and says where what it wrote went.
    pub fn written(text: &mut String, write: impl FnOnce(&mut String)) -> Span {
        let start = text.len() as u32;
        write(text);
        Span {
            start,
            end: text.len() as u32,
        }
    }
}

/// A loaded record's module-table columns, in field order, with the names
/// shared by every record its module loads. A map keyed by a copy of each
/// name cost a retrieve ~25k of its ~200k instructions to fill and empty
/// again (callgrind); the answer walks the fields in this same order, so it
/// takes each value by position. The values lie in one string: a `String`
/// a column was an allocation and a free each, ~36 of each a retrieve.
#[derive(Debug, Clone)]
pub struct Columns {
    names: Arc<[String]>,
    /// Every value, one after another.
    text: String,
    /// Each column's value in `text`; `None` for NULL (or taken).
    spans: Vec<Option<Span>>,
}

impl Columns {
    /// No values yet for columns `names`, room for `bytes` of them.
    fn with_capacity(names: Arc<[String]>, bytes: usize) -> Self {
        Columns {
            spans: Vec::with_capacity(names.len()),
            names,
            text: String::with_capacity(bytes),
        }
    }

    /// Appends a value that is not one of the columns (`StoredRecord`'s
    /// times, source and label) and says where it went.
    fn append(&mut self, text: &str) -> Span {
        Span::append(&mut self.text, text)
    }

    /// The text at `span`, one this record's text holds; empty once the
    /// text is taken ([`Columns::take_text`]).
    pub fn text_at(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    /// The next column's value as SQLite holds it (the text `sql_text`
    /// would make of it).
    fn push_sql(&mut self, value: rusqlite::types::ValueRef<'_>) {
        use rusqlite::types::ValueRef as Sql;
        use std::fmt::Write;
        let text = &mut self.text;
        let span = match value {
            Sql::Null => None,
            Sql::Integer(i) => Some(Span::append(text, itoa::Buffer::new().format(i))),
            Sql::Real(f) => Some(Span::written(text, |t| {
                let _ = write!(t, "{f}");
            })),
            // Checked first as it is: `from_utf8_lossy` walks even valid
            // text chunk by chunk (~140 instructions a value, callgrind).
            Sql::Text(b) | Sql::Blob(b) => Some(match std::str::from_utf8(b) {
                Ok(valid) => Span::append(text, valid),
                Err(_) => Span::append(text, &String::from_utf8_lossy(b)),
            }),
        };
        self.spans.push(span);
    }

    /// Column `i`'s place in the text, taken out (the column reads as NULL
    /// after); `None` past the last column too.
    pub fn take(&mut self, i: usize) -> Option<Span> {
        self.spans.get_mut(i)?.take()
    }

    /// Moves the text out, every span still pointing into it: a record's
    /// answer is built on its stored text (`to_wire`), copying no value
    /// it shows unchanged.
    pub fn take_text(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    /// Sets column `name` (no-op when the module has no such column).
    pub fn set(&mut self, name: &str, value: Option<String>) {
        if let Some(i) = self.position(name) {
            self.spans[i] = value.map(|v| Span::append(&mut self.text, &v));
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Field values looked up by name: what a label, a derived field or an
/// inventory total is computed from, before or after the row exists.
pub trait FieldValues {
    /// Field `name`'s value, `None` for NULL or absent.
    fn value(&self, name: &str) -> Option<&str>;
}

impl FieldValues for Values {
    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.as_deref())
    }
}

impl FieldValues for Columns {
    fn value(&self, name: &str) -> Option<&str> {
        Some(self.spans[self.position(name)?]?.of(&self.text))
    }
}

/// The module a live record belongs to, by object id.
pub fn live_setype(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    super::cached_row(
        conn,
        "SELECT setype FROM crmentity WHERE crmid = ?1 AND deleted = 0",
        params![id],
        |r| r.get(0),
    )
    .optional()
}

/// The module and owner of a live record, by object id.
pub fn live_entry(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, i64)>> {
    super::cached_row(
        conn,
        "SELECT setype, smownerid FROM crmentity WHERE crmid = ?1 AND deleted = 0",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The SELECT that loads records of `module`: the eight `crmentity`
/// columns, then the module table's (and, for one record, whether it has
/// external ids).
#[derive(Debug, Clone)]
pub struct LoadSql {
    /// The module table's columns, in field order.
    columns: Arc<[String]>,
    /// For each of the module's record fields, in order, its column's
    /// position in `columns`, if it has one ([`record_columns`]).
    record_columns: Box<[Option<usize>]>,
    /// Without its condition on ids.
    select: String,
    /// One record, id `?1`, and whether it has external ids.
    by_id: String,
    /// One record of a page, id `?1`: a page shows no external ids.
    one_of_page: String,
}

/// The view a module's live records are read through (`tables::view`):
/// the id and seven `crmentity` columns, then the module table's, named
/// `k0`… by position (a field may share a
/// `crmentity` column's name). The id is the module table's (`k0`, equal
/// to `crmentity`'s): a query's page ordered by it walks that table or one
/// of its indexes in order, where ordering by `crmentity`'s needed a sort.
/// Its text is the long part of every record SELECT, and rusqlite's
/// statement cache hashes and copies a statement's whole text at each use:
/// behind the view the statements are short (callgrind: the cache was ~6k
/// instructions of a retrieve's ~108k with the 1.5 kB text). Whose the
/// owner is the answer looks up (`owners`).
pub fn view_sql(module: &ModuleDef) -> String {
    let columns = stored_columns(module);
    let extra: String = columns.iter().map(|c| format!(", m.\"{c}\"")).collect();
    let names: Vec<String> = (0..FIRST_COLUMN + columns.len())
        .map(|i| format!("k{i}"))
        .collect();
    let unconverted = unconverted(module)
        .map(|c| format!(" AND {c}"))
        .unwrap_or_default();
    // `+` keeps SQLite from reading the whole module through the setype
    // index when a page's 100 ids come as an IN list.
    format!(
        "CREATE VIEW {} ({}) AS SELECT m._id, c.smownerid, c.smcreatorid, c.modifiedby, c.createdtime, c.modifiedtime, c.source, c.label{extra}
         FROM crmentity c JOIN {} m ON m._id = c.crmid
         WHERE +c.deleted = 0 AND +c.setype = '{}'{unconverted}",
        super::tables::view(module),
        names.join(", "),
        table(module),
        module.name.replace('\'', "''"),
    )
}

/// The position in a record view's row (`k0`…) of its first module-table
/// column; before it are the id and seven of `crmentity`'s.
pub const FIRST_COLUMN: usize = 8;

/// Where module-table column `name` is among `module`'s columns (the view's
/// column `k` [`FIRST_COLUMN`] + it).
pub fn column_position(module: &ModuleDef, name: &str) -> Option<usize> {
    load_sql(module).columns.iter().position(|c| c == name)
}

/// `module`'s [`LoadSql`], built on first use and kept with the module's
/// definition (servers in one process may load different schemas): a
/// retrieve used to rebuild its text, and lock a process-wide cache to find
/// it, every time (callgrind: ~7k instructions of ~180k).
fn load_sql(module: &ModuleDef) -> &LoadSql {
    module.sql.load.get_or_init(|| {
        let columns: Arc<[String]> = stored_columns(module)
            .into_iter()
            .map(str::to_string)
            .collect();
        let view = super::tables::view(module);
        let record_columns = module
            .record_fields()
            .map(|f| columns.iter().position(|c| *c == f.name))
            .collect();
        // One record also says whether it has external ids, so that a
        // retrieve of one without (most) runs no statement for them.
        LoadSql {
            columns,
            record_columns,
            select: format!("SELECT * FROM {view} WHERE k0"),
            one_of_page: format!("SELECT * FROM {view} WHERE k0 = ?1"),
            by_id: format!(
                "SELECT *, EXISTS (SELECT 1 FROM external_ids x WHERE x.crmid = k0) FROM {view} WHERE k0 = ?1"
            ),
        }
    })
}

/// For each of `module`'s record fields, in order, the position among a
/// loaded record's columns ([`Columns::take`]) of the one it is stored in;
/// `None` for a field without (a system field, the owner). Worked out once
/// a module: the answer found each by name, ~35 instructions a field.
pub fn record_columns(module: &ModuleDef) -> &[Option<usize>] {
    &load_sql(module).record_columns
}

fn stored_record(r: &rusqlite::Row<'_>, columns: &Arc<[String]>) -> rusqlite::Result<StoredRecord> {
    // Sized up front: collecting through `Result` grew the vector five
    // times, and past 1 KiB a growth takes the malloc arena's lock, which
    // the two HTTP workers queued on: half the server's futex calls under a
    // retrieve load (28.9k → 14.2k for 20,000 retrieves, perf). The text's
    // room also holds what the answer adds to it (times, ids: `to_wire`).
    let mut values = Columns::with_capacity(Arc::clone(columns), 24 * columns.len() + 128);
    for i in 0..columns.len() {
        values.push_sql(r.get_ref(FIRST_COLUMN + i)?);
    }
    // Only the one-record statement has the column; a page does not ask.
    let external_ids = FIRST_COLUMN + columns.len();
    let has_external_ids = match r.as_ref().column_count() > external_ids {
        true => Some(r.get(external_ids)?),
        false => None,
    };
    let mut text_column = |i: usize| -> rusqlite::Result<Span> {
        let value = r.get_ref(i)?;
        match value.as_str() {
            Ok(text) => Ok(values.append(text)),
            // What `r.get::<_, String>(i)` answers for a value not text.
            Err(_) => Err(rusqlite::Error::InvalidColumnType(
                i,
                r.as_ref().column_name(i).unwrap_or_default().to_string(),
                value.data_type(),
            )),
        }
    };
    let (created_time, modified_time) = (text_column(4)?, text_column(5)?);
    let (source, label) = (text_column(6)?, text_column(7)?);
    Ok(StoredRecord {
        id: r.get(0)?,
        owner: r.get(1)?,
        creator: r.get(2)?,
        modified_by: r.get(3)?,
        created_time,
        modified_time,
        source,
        label,
        has_external_ids,
        values,
    })
}

/// Loads live record `id` of `module`.
pub fn load(
    conn: &Connection,
    module: &ModuleDef,
    id: i64,
) -> rusqlite::Result<Option<StoredRecord>> {
    load_one(conn, module, |sql| &sql.by_id, id)
}

/// Live record `id` of `module` through `statement`, one of its one-id
/// statements.
fn load_one(
    conn: &Connection,
    module: &ModuleDef,
    statement: fn(&LoadSql) -> &String,
    id: i64,
) -> rusqlite::Result<Option<StoredRecord>> {
    let sql = load_sql(module);
    super::cached_row(conn, statement(sql), params![id], |r| {
        stored_record(r, &sql.columns)
    })
    .optional()
}

/// Loads the live records of `module` among `ids` (a sync page) with
/// one statement, in no particular order.
pub fn load_many(
    conn: &Connection,
    module: &ModuleDef,
    ids: &[i64],
) -> rusqlite::Result<Vec<StoredRecord>> {
    match ids {
        [] => return Ok(Vec::new()),
        // One id (a page of one change): a statement whose text is
        // built once, not an IN list formatted each time, and without the
        // retrieve's probe for external ids.
        [id] => {
            let found = load_one(conn, module, |sql| &sql.one_of_page, *id)?;
            return Ok(found.into_iter().collect());
        }
        _ => {}
    }
    let sql = format!(
        "{} IN ({})",
        load_sql(module).select,
        vec!["?"; ids.len()].join(", ")
    );
    load_selected(conn, module, &sql, rusqlite::params_from_iter(ids))
}

/// The records of `module` that `sql` selects as its record view's
/// columns, in the statement's order (a query's page: `translate::plan`;
/// a list of ids: [`load_many`]).
pub fn load_selected(
    conn: &Connection,
    module: &ModuleDef,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<StoredRecord>> {
    let columns = &load_sql(module).columns;
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| stored_record(r, columns))?;
    rows.collect()
}

/// What a write stores: module-table values by field name (`None` = NULL)
/// and the owner.
#[derive(Debug, Clone, Default)]
pub struct RecordWrite {
    /// Column values to set.
    pub values: Vec<(String, Option<String>)>,
    /// The owner's user or group id.
    pub owner: Option<i64>,
}

fn next_auto_number(
    conn: &Connection,
    module: &ModuleDef,
) -> rusqlite::Result<Option<(String, String)>> {
    let Some(an) = &module.auto_number else {
        return Ok(None);
    };
    // A read, then a plain write: every caller holds the write lock (the
    // writer's BEGIN IMMEDIATE), so nothing comes between them. One upsert
    // with RETURNING did the same in ~21k instructions of a create's ~180k
    // on the writer thread (callgrind), twice the time of these two.
    let stored: Option<i64> = conn
        .prepare_cached("SELECT next FROM auto_numbers WHERE module = ?1")?
        .query_row(params![module.name], |r| r.get(0))
        .optional()?;
    let n = stored.unwrap_or(1);
    let advance = match stored {
        Some(_) => "UPDATE auto_numbers SET next = ?2 WHERE module = ?1",
        None => "INSERT INTO auto_numbers (module, next) VALUES (?1, ?2)",
    };
    conn.prepare_cached(advance)?
        .execute(params![module.name, n + 1])?;
    Ok(Some((an.field.clone(), format!("{}{n}", an.prefix))))
}

pub(super) fn log_change(
    conn: &Connection,
    id: i64,
    module: &ModuleDef,
    action: &str,
    owner: i64,
    now: i64,
) -> rusqlite::Result<()> {
    log_setype_change(conn, id, &module.name, action, owner, now)
}

/// Record `?1`'s changes logged for owner `?2` (`+owner`: on the owner
/// index SQLite would read every change of the owner).
const DROP_SUPERSEDED_CHANGES: &str =
    "DELETE FROM changelog WHERE crmid = ?1 AND +owner = ?2 AND relcrmid IS NULL";

/// A change-log row for record `id` of module `setype`.
fn log_setype_change(
    conn: &Connection,
    id: i64,
    setype: &str,
    action: &str,
    owner: i64,
    now: i64,
) -> rusqlite::Result<()> {
    // The record's earlier changes logged for the same owner are superseded
    // in every feed that shows them (a feed covering that owner shows this
    // one, and sync lists a record once, at its latest change), so they go.
    // Left in, a sync page had to read past them: after 5,000 creates that
    // were then revised and updated, one page read 10,100 rows for its 100
    // and took 3.3× the first page (the load bench's walk). It also keeps
    // the log at about one row a record and owner instead of one a write.
    // A token stays valid: every change after it is still after it. A
    // record just created has none (ids are never reused): no statement.
    if action != "create" {
        conn.prepare_cached(DROP_SUPERSEDED_CHANGES)?
            .execute(params![id, owner])?;
    }
    conn.prepare_cached(concat!(
        "INSERT INTO changelog (crmid, setype, action, owner, changed_at)
         VALUES (?1, ?2, ?3, ?4, ",
        super::changes::logged_at!("?5"),
        ")"
    ))?
    .execute(params![id, setype, action, owner, now])?;
    Ok(())
}

/// Creates a record inside the caller's transaction (one for the record,
/// its lines and files) and returns its id.
pub fn insert_in(
    tx: &Connection,
    module: &ModuleDef,
    w: &RecordWrite,
    user: i64,
    now: i64,
    now_text: &str,
) -> rusqlite::Result<i64> {
    let owner = w.owner.unwrap_or(user);
    let source = if module
        .fields
        .iter()
        .any(|f| f.system == Some(SystemField::Source))
    {
        "WEBSERVICE"
    } else {
        ""
    };
    let mut values = w.values.clone();
    if let Some((field, number)) = next_auto_number(tx, module)? {
        values.retain(|(f, _)| *f != field);
        values.push((field, Some(number)));
    }
    let mut known: Values = values.iter().cloned().collect();
    let derived = derived_values(module, &known);
    values.retain(|(f, _)| !derived.iter().any(|(d, _)| d == f));
    known.extend(derived.iter().cloned());
    values.extend(derived);
    // The label is known before the row exists: one insert, no update after.
    let label = compute_label(module, &known);
    tx.prepare_cached(
        "INSERT INTO crmentity (setype, smownerid, smcreatorid, modifiedby, createdtime, modifiedtime, source, label)
         VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6)",
    )?
    .execute(params![module.name, owner, user, now_text, source, label])?;
    let id = tx.last_insert_rowid();
    super::rows::insert(tx, module, Some(id), &values)?;
    log_change(tx, id, module, "create", owner, now)?;
    Ok(id)
}

/// Changes a record inside the caller's transaction: the given columns, the
/// owner when given, `modifiedby`/`modifiedtime`, and the label. `now` is
/// the time as Unix seconds and as stored text.
pub fn update_in(
    tx: &Connection,
    module: &ModuleDef,
    id: i64,
    w: &RecordWrite,
    user: i64,
    (now, now_text): (i64, &str),
) -> rusqlite::Result<()> {
    super::rows::update(tx, module, id, &w.values)?;
    let mut stored = load(tx, module, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let derived = derived_values(module, &stored.values);
    super::rows::update(tx, module, id, &derived)?;
    for (name, value) in derived {
        stored.values.set(&name, value);
    }
    let label = compute_label(module, &stored.values);
    let owner = w.owner.unwrap_or(stored.owner);
    let owner_moved = owner != stored.owner;
    let mut stmt = tx.prepare_cached(entity_update_sql(owner_moved))?;
    // Each statement binds the leading ones it numbers.
    let args: [&dyn rusqlite::ToSql; 5] = [&user, &now_text, &id, &label, &owner];
    let numbered = stmt.parameter_count();
    stmt.execute(rusqlite::params_from_iter(&args[..numbered]))?;
    if owner_moved {
        // The old owner's feed must hear that the record left it.
        log_change(tx, id, module, "reassign", stored.owner, now)?;
    }
    log_change(tx, id, module, "update", owner, now)
}

/// The `crmentity` UPDATE of a write: `modifiedby` ?1, `modifiedtime` ?2
/// and `label` ?4 of record ?3, and the owner ?5 only when it changes.
/// SQLite updates an index when the SET names one of its columns, whatever
/// the value, and most writes (a revise of one field) keep the owner: left
/// out, `crmentity_owner` is not touched. The label is in no index (see
/// `migrate::V14`), so setting it unchanged costs nothing.
fn entity_update_sql(owner_moved: bool) -> &'static str {
    if owner_moved {
        "UPDATE crmentity SET modifiedby = ?1, modifiedtime = ?2, label = ?4, smownerid = ?5
         WHERE crmid = ?3"
    } else {
        "UPDATE crmentity SET modifiedby = ?1, modifiedtime = ?2, label = ?4 WHERE crmid = ?3"
    }
}

/// Gives every record of owner `from` to `to` (a group being deleted), as
/// changes by `user`: both owners' feeds hear of each live one.
pub fn reassign_all(
    tx: &Connection,
    from: i64,
    to: i64,
    user: i64,
    now: i64,
    now_text: &str,
) -> rusqlite::Result<()> {
    let moved: Vec<(i64, String)> = {
        let mut stmt =
            tx.prepare("SELECT crmid, setype FROM crmentity WHERE smownerid = ?1 AND deleted = 0")?;
        let rows = stmt.query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    tx.execute(
        "UPDATE crmentity SET smownerid = ?2 WHERE smownerid = ?1 AND deleted = 1",
        params![from, to],
    )?;
    for (id, setype) in moved {
        tx.execute(
            "UPDATE crmentity SET smownerid = ?2, modifiedby = ?3, modifiedtime = ?4 WHERE crmid = ?1",
            params![id, to, user, now_text],
        )?;
        log_setype_change(tx, id, &setype, "reassign", from, now)?;
        log_setype_change(tx, id, &setype, "update", to, now)?;
    }
    Ok(())
}

/// Soft-deletes a record inside the caller's transaction: it disappears
/// from every answer, its id is never reused, and the change log reports it.
pub fn delete_in(
    tx: &Connection,
    module: &ModuleDef,
    id: i64,
    user: i64,
    now: i64,
    now_text: &str,
) -> rusqlite::Result<()> {
    let owner: i64 = tx.query_row(
        "SELECT smownerid FROM crmentity WHERE crmid = ?1",
        params![id],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE crmentity SET deleted = 1, modifiedby = ?1, modifiedtime = ?2 WHERE crmid = ?3",
        params![user, now_text, id],
    )?;
    // Its external ids are free for another record at once.
    super::external::forget(tx, id)?;
    log_change(tx, id, module, "delete", owner, now)
}

/// The label: the label fields' values joined by a space (vtiger's entity name).
pub fn compute_label(module: &ModuleDef, values: &impl FieldValues) -> String {
    module
        .label_fields
        .iter()
        .filter_map(|f| values.value(f))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `kind` is shown as a number (NULL shows as zero, as vtiger's
/// numeric columns default to 0).
pub fn is_numeric(kind: FieldType) -> bool {
    matches!(
        kind,
        FieldType::Integer | FieldType::Double | FieldType::Decimal | FieldType::Currency
    )
}

/// Values of derived fields (`percentOf`) from the record's other values,
/// computed exactly in decimal: no float ever touches a stored amount.
pub fn derived_values(
    module: &ModuleDef,
    values: &impl FieldValues,
) -> Vec<(String, Option<String>)> {
    module
        .fields
        .iter()
        .filter_map(|f| {
            let [a, b] = f.percent_of.as_ref()?;
            let value = |name: &str| values.value(name).and_then(parse_decimal).unwrap_or((0, 0));
            Some((f.name.clone(), Some(percent(value(a), value(b)))))
        })
        .collect()
}

/// A decimal as (digits without the point, number of decimals).
fn parse_decimal(text: &str) -> Option<(i128, u32)> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = format!("{int}{frac}");
    Some((digits.parse().ok()?, u32::try_from(frac.len()).ok()?))
}

/// `a × b / 100`, exact, written with at least 8 decimals.
fn percent((a, sa): (i128, u32), (b, sb): (i128, u32)) -> String {
    let Some(product) = a.checked_mul(b) else {
        return String::new();
    };
    let scale = (sa + sb + 2) as usize;
    let negative = product < 0;
    let digits = format!("{:0>width$}", product.unsigned_abs(), width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let frac = frac.trim_end_matches('0');
    let frac = format!("{frac:0<8}");
    format!("{}{int}.{frac}", if negative { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(pairs: &[(&str, Option<&str>)]) -> Columns {
        let names = pairs.iter().map(|(n, _)| n.to_string()).collect();
        let mut c = Columns::with_capacity(names, 0);
        for (_, v) in pairs {
            c.push_sql(match v {
                Some(v) => rusqlite::types::ValueRef::Text(v.as_bytes()),
                None => rusqlite::types::ValueRef::Null,
            });
        }
        c
    }

    #[test]
    fn columns_are_taken_by_position_once() {
        let mut c = columns(&[("a", Some("1")), ("b", None), ("c", Some("3"))]);
        let taken = |c: &mut Columns, i| {
            let span = c.take(i)?;
            Some(span.of(&c.text).to_string())
        };
        assert_eq!(taken(&mut c, 0).as_deref(), Some("1"));
        assert_eq!(taken(&mut c, 2).as_deref(), Some("3"));
        assert_eq!(taken(&mut c, 2), None, "taken once");
        assert_eq!(c.take(1), None, "NULL");
        assert_eq!(c.take(3), None, "past the last column");
        // Taken values are gone; set reaches existing columns only.
        assert_eq!(c.value("a"), None);
        c.set("b", Some("2".into()));
        c.set("nowhere", Some("x".into()));
        assert_eq!(c.value("b"), Some("2"));
        assert_eq!(c.value("nowhere"), None);
    }

    #[test]
    fn stored_values_read_as_the_text_sql_text_makes_of_them() {
        use rusqlite::types::{Value, ValueRef};
        let names: Arc<[String]> = ["i", "r", "n", "t", "b"].map(String::from).into();
        let sql = [
            Value::Integer(-42),
            Value::Real(1.5),
            Value::Null,
            Value::Text("Müller".into()),
            Value::Blob(vec![b'a', 0xff]),
        ];
        let mut c = Columns::with_capacity(Arc::clone(&names), 0);
        for v in &sql {
            c.push_sql(ValueRef::from(v));
        }
        for (name, v) in names.iter().zip(sql) {
            let sql_text = crate::store::tables::sql_text(v);
            assert_eq!(c.value(name), sql_text.as_deref(), "{name}");
        }
        assert_eq!(c.value("b"), Some("a\u{fffd}"));
        c.set("n", Some("now".into()));
        assert_eq!((c.value("n"), c.value("t")), (Some("now"), Some("Müller")));
    }

    #[test]
    fn a_page_of_records_is_read_by_id_never_through_the_module_index() {
        let (_dir, store, registry) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let module = registry.module("Accounts").unwrap();
        let sql = format!(
            "EXPLAIN QUERY PLAN {} IN ({})",
            load_sql(module).select,
            vec!["?"; 100].join(", ")
        );
        let steps: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map(rusqlite::params_from_iter(1..=100), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            steps[0].contains("c USING INTEGER PRIMARY KEY"),
            "{steps:?}"
        );
    }

    #[test]
    fn auto_numbers_count_up_from_one_or_from_where_the_module_stopped() {
        let (_dir, store, registry) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let accounts = registry.module("Accounts").unwrap();
        let contacts = registry.module("Contacts").unwrap();
        let prefix = |m: &ModuleDef| m.auto_number.as_ref().unwrap().prefix.clone();
        conn.execute_batch(
            "DELETE FROM auto_numbers WHERE module = 'Accounts';
             INSERT OR REPLACE INTO auto_numbers (module, next) VALUES ('Contacts', 41);",
        )
        .unwrap();
        let next = |m: &ModuleDef| next_auto_number(&conn, m).unwrap().unwrap().1;
        let handed: Vec<String> = vec![
            next(accounts),
            next(accounts),
            next(contacts),
            next(accounts),
            next(contacts),
        ];
        let (a, c) = (prefix(accounts), prefix(contacts));
        assert_eq!(
            handed,
            [
                format!("{a}1"),
                format!("{a}2"),
                format!("{c}41"),
                format!("{a}3"),
                format!("{c}42")
            ]
        );
        let stored: i64 = conn
            .query_row(
                "SELECT next FROM auto_numbers WHERE module = 'Accounts'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, 4, "the next number is kept for the next create");
    }

    #[test]
    fn a_change_replaces_the_records_earlier_changes_for_the_same_owner_only() {
        let (_dir, store, _) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let log = |id, action, owner| log_setype_change(&conn, id, "Accounts", action, owner, 0);
        log(500, "create", 1).unwrap();
        log(501, "create", 1).unwrap();
        log(500, "update", 1).unwrap();
        // Moved from owner 1 to owner 2: owner 1's feed keeps hearing it left.
        log(500, "reassign", 1).unwrap();
        log(500, "update", 2).unwrap();
        log(500, "update", 2).unwrap();
        let rows: Vec<(i64, String, i64)> = conn
            .prepare("SELECT crmid, action, owner FROM changelog WHERE crmid >= 500 ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (501, "create".to_string(), 1),
                (500, "reassign".to_string(), 1),
                (500, "update".to_string(), 2),
            ]
        );
        let plan: String = conn
            .query_row(
                &format!("EXPLAIN QUERY PLAN {DROP_SUPERSEDED_CHANGES}"),
                params![1, 2],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("changelog_record"), "{plan}");
    }

    #[test]
    fn a_change_logged_after_the_clock_was_set_back_keeps_the_logs_latest_time() {
        let (_dir, store, _) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let before: i64 = conn
            .query_row("SELECT COUNT(*) FROM changelog", [], |r| r.get(0))
            .unwrap();
        for (id, now) in [
            (600, 2_000_000_000),
            (601, 1_999_999_000),
            (602, 2_000_000_500),
        ] {
            log_setype_change(&conn, id, "Accounts", "create", 1, now).unwrap();
        }
        let times: Vec<i64> = conn
            .prepare("SELECT changed_at FROM changelog ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .skip(before as usize)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(times, [2_000_000_000, 2_000_000_000, 2_000_000_500]);
    }

    #[test]
    fn percent_is_exact() {
        assert_eq!(
            percent(
                parse_decimal("99999.50").unwrap(),
                parse_decimal("10").unwrap()
            ),
            "9999.95000000"
        );
        assert_eq!(
            percent(
                parse_decimal("100000").unwrap(),
                parse_decimal("10.000").unwrap()
            ),
            "10000.00000000"
        );
        assert_eq!(
            percent(parse_decimal("0.01").unwrap(), parse_decimal("1").unwrap()),
            "0.00010000"
        );
        assert_eq!(
            percent(parse_decimal("-50").unwrap(), parse_decimal("50").unwrap()),
            "-25.00000000"
        );
        assert_eq!(
            percent(
                parse_decimal("1.123456789").unwrap(),
                parse_decimal("33.333").unwrap()
            ),
            "0.37448185147737"
        );
    }
}
