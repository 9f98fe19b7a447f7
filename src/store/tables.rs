//! Module tables, derived from the registry: one table per module, one column
//! per stored field. Adding a field to a schema file and restarting adds its
//! column; nothing is ever dropped, so no data is lost.
use std::collections::HashSet;
use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension};

use crate::registry::{FieldDef, FieldType, ModuleDef, Registry};

/// A module's SQL texts, each built on first use and kept with the module's
/// definition: formatting them anew for every call was a few thousand
/// instructions a request (callgrind), and servers in one process may load
/// different schemas, so they cannot be process-wide.
#[derive(Debug, Clone, Default)]
pub struct ModuleSql {
    /// Its records' SELECT (`records`).
    pub(crate) load: OnceLock<super::records::LoadSql>,
    /// Whether a row lives (`rows::exists`).
    pub(crate) exists: OnceLock<String>,
    /// A session and its user, for the Users module (`users::by_session`).
    pub(crate) session: OnceLock<String>,
    /// Whether a user is live and Active, for the Users module
    /// (`users::is_active`).
    pub(crate) active: OnceLock<String>,
    /// Which owner module id `?1` is a live row of, for the Users module
    /// (`owners::prefix`).
    pub(crate) owner_prefix: OnceLock<String>,
    /// Its table's name, quoted ([`table`]).
    table: OnceLock<String>,
    /// What joins a query's page of ids to its record view
    /// ([`page_to_view`]).
    page_to_view: OnceLock<String>,
    /// Its record view's name, quoted ([`view_ref`]).
    view: OnceLock<String>,
}

/// A column value as the text the wire shows; NULL is `None`.
pub fn sql_text(v: rusqlite::types::Value) -> Option<String> {
    use rusqlite::types::Value as Sql;
    match v {
        Sql::Null => None,
        Sql::Integer(i) => Some(i.to_string()),
        Sql::Real(f) => Some(f.to_string()),
        Sql::Text(t) => Some(t),
        Sql::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// The column flagging a converted record of a `convertible` module.
pub const CONVERTED: &str = "_converted";

/// The SQL condition, over the module table as `m`, that keeps `module`'s
/// converted records out of sight; `None` for modules that never convert.
pub fn unconverted(module: &ModuleDef) -> Option<String> {
    module.convertible.then(|| format!("m.{CONVERTED} = 0"))
}

/// How a module's rows are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keying {
    /// Entity records: the id is a `crmentity.crmid`.
    Shared,
    /// Users: an own sequence plus a soft-delete flag.
    OwnWithDelete,
    /// Actors: an own sequence.
    Own,
}

/// How `module`'s rows are keyed.
pub fn keying(module: &ModuleDef) -> Keying {
    match (module.is_entity, module.own_sequence) {
        (true, false) => Keying::Shared,
        (true, true) => Keying::OwnWithDelete,
        (false, _) => Keying::Own,
    }
}

/// The quoted table name of a module.
pub fn table(module: &ModuleDef) -> String {
    format!("\"m_{}\"", module.name)
}

/// [`table`], made once a module: a query names it every time.
pub fn table_ref(module: &ModuleDef) -> &str {
    module.sql.table.get_or_init(|| table(module))
}

/// The end of a query's statement that joins its page of ids, subquery
/// `p` with column `page_id`, to the module's record view `v`; CROSS JOIN
/// keeps the page the outer loop, so rows come in its order.
pub fn page_to_view(module: &ModuleDef) -> &str {
    module
        .sql
        .page_to_view
        .get_or_init(|| format!(") p CROSS JOIN {} v ON v.k0 = p.page_id", view(module)))
}

/// [`view`], made once a module: a query names it every time.
pub fn view_ref(module: &ModuleDef) -> &str {
    module.sql.view.get_or_init(|| view(module))
}

/// The view an entity module's live records are read through
/// (`records::view_sql`), quoted.
pub fn view(module: &ModuleDef) -> String {
    format!("\"{}\"", view_name(module))
}

fn view_name(module: &ModuleDef) -> String {
    format!("v_{}", module.name)
}

/// Makes each entity module's record view, anew only when the schema
/// changed it: each DDL statement makes every connection parse the whole
/// schema again.
fn sync_record_views(tx: &Connection, registry: &Registry) -> rusqlite::Result<()> {
    let shared = registry
        .modules()
        .iter()
        .filter(|m| keying(m) == Keying::Shared);
    for module in shared {
        let wanted = super::records::view_sql(module);
        let stored: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?1",
                [view_name(module)],
                |r| r.get(0),
            )
            .optional()?;
        if stored.as_deref() != Some(wanted.as_str()) {
            tx.execute_batch(&format!("DROP VIEW IF EXISTS {}", view(module)))?;
            tx.execute_batch(&wanted)?;
        }
    }
    Ok(())
}

/// Whether a field has a column in its module's table. The id, system fields
/// and the owner of shared-key records live in `crmentity` instead.
pub fn has_column(module: &ModuleDef, field: &FieldDef) -> bool {
    !field.is_id()
        && !(keying(module) == Keying::Shared
            && (field.system.is_some() || field.kind == FieldType::Owner))
}

/// The names of `module`'s table columns, in field order.
pub fn stored_columns(module: &ModuleDef) -> Vec<&str> {
    module
        .fields
        .iter()
        .filter(|f| has_column(module, f))
        .map(|f| f.name.as_str())
        .collect()
}

fn column_type(field: &FieldDef) -> &'static str {
    match field.kind {
        FieldType::Integer => "INTEGER",
        _ => "TEXT",
    }
}

/// Fields worth an index: what VTQL filters and joins on most.
fn indexed(module: &ModuleDef, field: &FieldDef) -> bool {
    module.label_fields.contains(&field.name)
        || matches!(field.kind, FieldType::Reference | FieldType::Email)
}

/// Creates missing module tables, columns and indexes, in one transaction.
pub fn sync_module_tables(conn: &mut Connection, registry: &Registry) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for module in registry.modules() {
        let table = table(module);
        let key = match keying(module) {
            Keying::Shared => "_id INTEGER PRIMARY KEY REFERENCES crmentity(crmid)",
            Keying::OwnWithDelete => {
                "_id INTEGER PRIMARY KEY AUTOINCREMENT, _deleted INTEGER NOT NULL DEFAULT 0"
            }
            Keying::Own => "_id INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        tx.execute_batch(&format!("CREATE TABLE IF NOT EXISTS {table} ({key})"))?;
        let existing: HashSet<String> = {
            let mut stmt = tx.prepare(&format!("PRAGMA table_info({table})"))?;
            let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
            names.collect::<Result<_, _>>()?
        };
        if module.convertible && !existing.contains(CONVERTED) {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {CONVERTED} INTEGER NOT NULL DEFAULT 0"
            ))?;
        }
        for field in module.fields.iter().filter(|f| has_column(module, f)) {
            if !existing.contains(&field.name) {
                tx.execute_batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN \"{}\" {}",
                    field.name,
                    column_type(field)
                ))?;
            }
            if indexed(module, field) {
                tx.execute_batch(&format!(
                    "CREATE INDEX IF NOT EXISTS \"m_{m}__{f}\" ON {table} (\"{f}\")",
                    m = module.name,
                    f = field.name
                ))?;
            }
        }
        let triggers = match module.name.as_str() {
            super::users::USERS => super::access::users_rights_triggers(&table).to_vec(),
            super::users::GROUPS => super::access::groups_rights_triggers(&table).to_vec(),
            _ => Vec::new(),
        };
        for trigger in triggers {
            tx.execute_batch(&trigger)?;
        }
    }
    // After every table: the views read the owners' tables too.
    sync_record_views(&tx, registry)?;
    tx.commit()
}

/// Inserts one row into an own-keyed table (Users, actors) from wire
/// values; keys that are not columns of the module are skipped.
pub fn insert_own_row(
    conn: &Connection,
    module: &ModuleDef,
    id: Option<i64>,
    values: &serde_json::Map<String, serde_json::Value>,
) -> rusqlite::Result<i64> {
    let columns: Vec<(String, Option<String>)> = module
        .fields
        .iter()
        .filter(|f| has_column(module, f))
        .filter_map(|f| {
            let v = values.get(&f.name)?;
            let text = match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            };
            Some((f.name.clone(), text))
        })
        .collect();
    super::rows::insert(conn, module, id, &columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_on_an_unchanged_schema_changes_no_table_or_view() {
        let (_dir, store, registry) = crate::store::open_for_test();
        let mut conn = store.conn().unwrap();
        let version = |c: &Connection| -> i64 {
            c.query_row("PRAGMA schema_version", [], |r| r.get(0))
                .unwrap()
        };
        let views: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'view'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(views > 0, "no record views were made");
        let before = version(&conn);
        sync_module_tables(&mut conn, &registry).unwrap();
        assert_eq!(version(&conn), before, "the schema was rewritten");
    }
}
