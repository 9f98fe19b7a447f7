//! Rows of own-keyed tables: users and actors (Groups, Currency, …).
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use super::tables::{keying, sql_text, stored_columns, table, Keying};
use crate::registry::ModuleDef;

/// The condition that keeps deleted rows out, for tables that have them.
pub(super) fn live_condition(module: &ModuleDef) -> &'static str {
    if keying(module) == Keying::OwnWithDelete {
        " AND _deleted = 0"
    } else {
        ""
    }
}

/// SQL that is true when `module` has a live row whose id is `id_sql`.
pub fn exists_sql(module: &ModuleDef, id_sql: &str) -> String {
    match keying(module) {
        Keying::Shared => format!(
            "EXISTS (SELECT 1 FROM crmentity WHERE crmid = {id_sql} AND deleted = 0 AND setype = '{}')",
            module.name
        ),
        _ => format!(
            "EXISTS (SELECT 1 FROM {} WHERE _id = {id_sql}{})",
            table(module),
            live_condition(module)
        ),
    }
}

/// Whether `module` has a live row `id`.
pub fn exists(conn: &Connection, module: &ModuleDef, id: i64) -> rusqlite::Result<bool> {
    // Built once a module: a retrieve checks its owner and references here.
    let sql = module.sql.exists.get_or_init(|| {
        format!(
            "SELECT 1 FROM {} WHERE _id = ?1{}",
            table(module),
            live_condition(module)
        )
    });
    Ok(super::cached_row(conn, sql, [id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Row `id` of `module` as text by field name, or `None` when there is no
/// such (live) row.
pub fn load(
    conn: &Connection,
    module: &ModuleDef,
    id: i64,
) -> rusqlite::Result<Option<HashMap<String, Option<String>>>> {
    let columns = stored_columns(module);
    let select = if columns.is_empty() {
        "_id".to_string()
    } else {
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let live = live_condition(module);
    super::cached_row(
        conn,
        &format!(
            "SELECT {select} FROM {} WHERE _id = ?1{live}",
            table(module)
        ),
        [id],
        |r| {
            let mut row = HashMap::new();
            for (i, c) in columns.iter().enumerate() {
                let v = sql_text(r.get(i)?);
                row.insert(c.to_string(), v);
            }
            Ok(row)
        },
    )
    .optional()
}

/// Inserts a row with the given values (`id` when the module's sequence is
/// shared elsewhere, as users' and groups' is) and returns its id.
pub fn insert(
    conn: &Connection,
    module: &ModuleDef,
    id: Option<i64>,
    values: &[(String, Option<String>)],
) -> rusqlite::Result<i64> {
    // The text is built in one buffer and the values bound by reference:
    // a string a column and a copy of every value were ~5k instructions a
    // create on the writer thread (callgrind).
    let mut sql = format!("INSERT INTO {} (_id", table(module));
    for (field, _) in values {
        sql.push_str(", \"");
        sql.push_str(field);
        sql.push('"');
    }
    sql.push_str(") VALUES (?");
    sql.push_str(&", ?".repeat(values.len()));
    sql.push(')');
    let args = std::iter::once(&id as &dyn rusqlite::ToSql)
        .chain(values.iter().map(|(_, v)| v as &dyn rusqlite::ToSql));
    // Prepared once per module and set of columns (the writer's cache).
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(args))?;
    Ok(conn.last_insert_rowid())
}

/// Sets the given columns of row `id`.
pub fn update(
    conn: &Connection,
    module: &ModuleDef,
    id: i64,
    values: &[(String, Option<String>)],
) -> rusqlite::Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    // One buffer, values by reference (see `insert`).
    let mut sql = format!("UPDATE {} SET ", table(module));
    for (at, (field, _)) in values.iter().enumerate() {
        if at > 0 {
            sql.push_str(", ");
        }
        sql.push('"');
        sql.push_str(field);
        sql.push_str("\" = ?");
    }
    sql.push_str(" WHERE _id = ?");
    let args = values
        .iter()
        .map(|(_, v)| v as &dyn rusqlite::ToSql)
        .chain(std::iter::once(&id as &dyn rusqlite::ToSql));
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(args))?;
    Ok(())
}

/// Deletes row `id`: users are flagged deleted and lose their sessions;
/// actor rows are removed.
pub fn delete(conn: &Connection, module: &ModuleDef, id: i64) -> rusqlite::Result<()> {
    if keying(module) == Keying::OwnWithDelete {
        conn.execute(
            &format!("UPDATE {} SET _deleted = 1 WHERE _id = ?1", table(module)),
            [id],
        )?;
        conn.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    } else {
        conn.execute(
            &format!("DELETE FROM {} WHERE _id = ?1", table(module)),
            [id],
        )?;
    }
    Ok(())
}
