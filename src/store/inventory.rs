//! Line items of inventory records (Quotes, SalesOrder, PurchaseOrder,
//! Invoice), kept in their actor module's table by `parent_id`.
use rusqlite::{params, Connection};

use super::tables::table;
use crate::registry::ModuleDef;

/// Replaces the line items of `parent` with `lines` (column values each),
/// numbered from 1 in order.
pub fn replace_lines(
    tx: &Connection,
    lines_module: &ModuleDef,
    parent: i64,
    lines: &[Vec<(String, Option<String>)>],
) -> rusqlite::Result<()> {
    tx.execute(
        &format!("DELETE FROM {} WHERE parent_id = ?1", table(lines_module)),
        params![parent.to_string()],
    )?;
    for (n, line) in lines.iter().enumerate() {
        let mut values = line.clone();
        values.push(("parent_id".into(), Some(parent.to_string())));
        values.push(("sequence_no".into(), Some((n + 1).to_string())));
        super::rows::insert(tx, lines_module, None, &values)?;
    }
    Ok(())
}

/// The ids of `parent`'s line items, in order.
pub fn line_ids(
    conn: &Connection,
    lines_module: &ModuleDef,
    parent: i64,
) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT _id FROM {} WHERE parent_id = ?1 ORDER BY CAST(sequence_no AS INTEGER), _id",
        table(lines_module)
    ))?;
    let rows = stmt.query_map(params![parent.to_string()], |r| r.get(0))?;
    rows.collect()
}
