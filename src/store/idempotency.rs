//! Answers kept for idempotent retries (issue 11): a key is reserved before
//! its request writes, and holds the answer once it has one.
use rusqlite::{params, Connection, OptionalExtension};

/// How long a key and its answer are kept (24 hours).
pub const KEEP_SECS: i64 = 86_400;

/// What a key already holds.
pub struct Prior {
    /// The fingerprint of the request that reserved it.
    pub fingerprint: String,
    /// Its answer (JSON); `None` while it runs, or if it never finished.
    pub answer: Option<String>,
}

/// Reserves `key` for `user_id`'s request `fingerprint`, or returns what
/// holds it. Keys older than [`KEEP_SECS`] are forgotten first.
pub fn reserve(
    conn: &Connection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> rusqlite::Result<Option<Prior>> {
    conn.prepare_cached("DELETE FROM idempotency WHERE created_at < ?1")?
        .execute(params![now - KEEP_SECS])?;
    let prior = conn
        .prepare_cached(
            "SELECT fingerprint, answer FROM idempotency WHERE user_id = ?1 AND key = ?2",
        )?
        .query_row(params![user_id, key], |r| {
            Ok(Prior {
                fingerprint: r.get(0)?,
                answer: r.get(1)?,
            })
        })
        .optional()?;
    if prior.is_none() {
        conn.prepare_cached(
            "INSERT INTO idempotency (user_id, key, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![user_id, key, fingerprint, now])?;
    }
    Ok(prior)
}

/// Keeps `answer` for the reserved `key`.
pub fn keep(conn: &Connection, user_id: i64, key: &str, answer: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE idempotency SET answer = ?3 WHERE user_id = ?1 AND key = ?2")?
        .execute(params![user_id, key, answer])?;
    Ok(())
}

/// Frees the reserved `key` (its request failed and wrote nothing).
pub fn release(conn: &Connection, user_id: i64, key: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM idempotency WHERE user_id = ?1 AND key = ?2")?
        .execute(params![user_id, key])?;
    Ok(())
}
