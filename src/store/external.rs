//! External ids (our addition, issue 11): any number of `{system: id}`
//! pairs a record carries for the other systems that know it (an ERP's
//! customer number, a shop's id), one id a system a record, each unique
//! among a module's records.
use rusqlite::{params, Connection, OptionalExtension};

/// Record `crmid`'s pairs, ordered by system.
pub fn of(conn: &Connection, crmid: i64) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT system, external_id FROM external_ids WHERE crmid = ?1 ORDER BY system",
    )?;
    let rows = stmt.query_map(params![crmid], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The live record of `module` known to `system` as `external_id`.
pub fn find(
    conn: &Connection,
    module: &str,
    system: &str,
    external_id: &str,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT e.crmid FROM external_ids e JOIN crmentity c ON c.crmid = e.crmid AND c.deleted = 0
         WHERE e.setype = ?1 AND e.system = ?2 AND e.external_id = ?3",
    )?
    .query_row(params![module, system, external_id], |r| r.get(0))
    .optional()
}

/// Gives record `crmid` of `module` the id `external_id` in `system`
/// (replacing its former one there), or, with `None`, none there.
pub fn set(
    conn: &Connection,
    module: &str,
    crmid: i64,
    system: &str,
    external_id: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM external_ids WHERE crmid = ?1 AND system = ?2",
        params![crmid, system],
    )?;
    if let Some(external_id) = external_id {
        // A deleted record's claim on the id lapses with it.
        conn.execute(
            "INSERT OR REPLACE INTO external_ids (setype, system, external_id, crmid)
             VALUES (?1, ?2, ?3, ?4)",
            params![module, system, external_id, crmid],
        )?;
    }
    Ok(())
}

/// Forgets every external id of record `crmid` (it was deleted).
pub fn forget(conn: &Connection, crmid: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM external_ids WHERE crmid = ?1", params![crmid])?;
    Ok(())
}
