//! Lead conversion's writes: the converted flag, the account found by
//! name, and moving what pointed at the lead to what it became. Each runs
//! inside convertlead's one transaction.
use rusqlite::{params, Connection, OptionalExtension};

use super::records::log_change;
use super::tables::{keying, table, Keying, CONVERTED};
use crate::registry::{FieldType, ModuleDef, Registry};

/// Whether live record `id` of a convertible `module` was converted;
/// `None` when it is missing or deleted.
pub fn converted(conn: &Connection, module: &ModuleDef, id: i64) -> rusqlite::Result<Option<bool>> {
    conn.query_row(
        &format!(
            "SELECT m.{CONVERTED} FROM crmentity c JOIN {} m ON m._id = c.crmid
             WHERE c.crmid = ?1 AND c.deleted = 0 AND c.setype = ?2",
            table(module)
        ),
        params![id, module.name],
        |r| r.get::<_, i64>(0).map(|v| v != 0),
    )
    .optional()
}

/// The first live record of `module` whose `field` is exactly `value`.
pub fn find_by_value(
    conn: &Connection,
    module: &ModuleDef,
    field: &str,
    value: &str,
) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        &format!(
            "SELECT m._id FROM {} m JOIN crmentity c ON c.crmid = m._id
             WHERE c.deleted = 0 AND m.\"{field}\" = ?1 ORDER BY m._id LIMIT 1",
            table(module)
        ),
        params![value],
        |r| r.get(0),
    )
    .optional()
}

/// Marks a record converted inside the caller's transaction: it leaves
/// retrieve and query, and sync reports it deleted.
pub fn mark_converted(
    tx: &Connection,
    module: &ModuleDef,
    id: i64,
    user: i64,
    now: i64,
    now_text: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "UPDATE {} SET {CONVERTED} = 1 WHERE _id = ?1",
            table(module)
        ),
        params![id],
    )?;
    touch(tx, module, id, "convert", user, now, now_text)
}

/// Records that `id` changed without a field of its own changing.
fn touch(
    tx: &Connection,
    module: &ModuleDef,
    id: i64,
    action: &str,
    user: i64,
    now: i64,
    now_text: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE crmentity SET modifiedby = ?1, modifiedtime = ?2 WHERE crmid = ?3",
        params![user, now_text, id],
    )?;
    let owner: i64 = tx.query_row(
        "SELECT smownerid FROM crmentity WHERE crmid = ?1",
        params![id],
        |r| r.get(0),
    )?;
    log_change(tx, id, module, action, owner, now)
}

/// Moves what points at record `from` to the records of `targets` (in
/// order of preference) inside the caller's transaction: stored links to the
/// first, and each reference field that may hold `from` (a task's
/// `parent_id`) to the first target it accepts. Each record changed is logged.
pub fn transfer_related(
    tx: &Connection,
    registry: &Registry,
    (source, from): (&ModuleDef, i64),
    targets: &[(&ModuleDef, i64)],
    user: i64,
    (now, now_text): (i64, &str),
) -> rusqlite::Result<()> {
    let Some(&(_, first)) = targets.first() else {
        return Ok(());
    };
    tx.execute(
        "UPDATE OR IGNORE links SET crmid = ?2 WHERE crmid = ?1",
        params![from, first],
    )?;
    tx.execute(
        "UPDATE OR IGNORE links SET relcrmid = ?2 WHERE relcrmid = ?1",
        params![from, first],
    )?;
    tx.execute(
        "DELETE FROM links WHERE crmid = ?1 OR relcrmid = ?1",
        params![from],
    )?;
    for module in registry
        .modules()
        .iter()
        .filter(|m| keying(m) == Keying::Shared)
    {
        for f in &module.fields {
            let accepted = f.refers_to.as_deref().unwrap_or_default();
            if f.kind != FieldType::Reference || !accepted.contains(&source.name) {
                continue;
            }
            let Some(&(_, to)) = targets.iter().find(|(t, _)| accepted.contains(&t.name)) else {
                continue;
            };
            let moved: Vec<i64> = {
                let mut stmt = tx.prepare(&format!(
                    "UPDATE {} SET \"{}\" = ?2 WHERE \"{1}\" = ?1 RETURNING _id",
                    table(module),
                    f.name
                ))?;
                let rows =
                    stmt.query_map(params![from.to_string(), to.to_string()], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for id in moved {
                touch(tx, module, id, "update", user, now, now_text)?;
            }
        }
    }
    Ok(())
}
