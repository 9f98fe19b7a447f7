//! upsert's searches (issue 11): live records whose fields equal given
//! values, ignoring case, directly or through records pointing at them.
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};

use super::tables::{table, unconverted};
use crate::registry::ModuleDef;

/// A condition: one of `columns` (of table alias `alias`) equals one of
/// `values`, ignoring case.
fn any_equal(alias: &str, columns: &[&str], values: &[String], params: &mut Vec<Sql>) -> String {
    let list = vec!["lower(?)"; values.len()].join(", ");
    let condition = columns
        .iter()
        .map(|c| format!("lower({alias}.\"{c}\") IN ({list})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    for _ in columns {
        params.extend(values.iter().cloned().map(Sql::Text));
    }
    format!("({condition})")
}

fn live(module: &ModuleDef, entity: &str) -> String {
    match unconverted(module) {
        Some(c) => format!("{entity}.deleted = 0 AND {c}"),
        None => format!("{entity}.deleted = 0"),
    }
}

/// Live records of `module` with their owners where one of `columns`
/// equals one of `values`.
pub fn by_columns(
    conn: &Connection,
    module: &ModuleDef,
    columns: &[&str],
    values: &[String],
) -> rusqlite::Result<Vec<(i64, i64)>> {
    if columns.is_empty() || values.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = Vec::new();
    let condition = any_equal("m", columns, values, &mut params);
    let sql = format!(
        "SELECT c.crmid, c.smownerid FROM {} m JOIN crmentity c ON c.crmid = m._id
         WHERE {} AND {condition} ORDER BY c.crmid",
        table(module),
        live(module, "c"),
    );
    ids_and_owners(conn, &sql, params)
}

/// Live records of `module` with their owners that a live record of
/// `other` points at through its field `reference`, where one of that
/// record's `columns` equals one of `values`.
pub fn through(
    conn: &Connection,
    module: &ModuleDef,
    other: &ModuleDef,
    reference: &str,
    columns: &[&str],
    values: &[String],
) -> rusqlite::Result<Vec<(i64, i64)>> {
    if columns.is_empty() || values.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = Vec::new();
    let condition = any_equal("o", columns, values, &mut params);
    params.push(Sql::Text(module.name.clone()));
    let sql = format!(
        "SELECT DISTINCT c.crmid, c.smownerid
         FROM {} o JOIN crmentity oc ON oc.crmid = o._id
         JOIN crmentity c ON c.crmid = CAST(o.\"{reference}\" AS INTEGER)
         JOIN {} m ON m._id = c.crmid
         WHERE {} AND {condition} AND c.setype = ? AND {}
         ORDER BY c.crmid",
        table(other),
        table(module),
        live(other, "oc").replace("m.", "o."),
        live(module, "c"),
    );
    ids_and_owners(conn, &sql, params)
}

/// The (record id, owner) pairs `sql` selects.
fn ids_and_owners(
    conn: &Connection,
    sql: &str,
    params: Vec<Sql>,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
