//! Uploaded files, each tied to the record (and field) it was sent with.
use rusqlite::{params, Connection, OptionalExtension};

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The record it belongs to.
    pub crmid: i64,
    /// The file field it was sent for.
    pub field: String,
    /// The client's file name.
    pub filename: String,
    /// Its content type.
    pub filetype: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Stores a file for record `crmid` inside the caller's transaction.
pub fn insert(
    tx: &Connection,
    crmid: i64,
    field: &str,
    filename: &str,
    filetype: &str,
    data: &[u8],
    now: i64,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO attachments (crmid, field, filename, filetype, data, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![crmid, field, filename, filetype, data, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The ids of `crmid`'s files, oldest first.
pub fn ids_of(conn: &Connection, crmid: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM attachments WHERE crmid = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![crmid], |r| r.get(0))?;
    rows.collect()
}

/// File `id`, if its record is live.
pub fn load_live(conn: &Connection, id: i64) -> rusqlite::Result<Option<Attachment>> {
    super::cached_row(
        conn,
        "SELECT a.crmid, a.field, a.filename, a.filetype, a.data FROM attachments a
         JOIN crmentity c ON c.crmid = a.crmid WHERE a.id = ?1 AND c.deleted = 0",
        params![id],
        |r| {
            Ok(Attachment {
                crmid: r.get(0)?,
                field: r.get(1)?,
                filename: r.get(2)?,
                filetype: r.get(3)?,
                data: r.get(4)?,
            })
        },
    )
    .optional()
}
