//! Sessions and login challenges. They live in SQLite so that a restart does
//! not log every client out.
use rusqlite::{params, Connection, OptionalExtension};

/// Replaces user `user_id`'s challenge (vtiger keeps one live token a user).
pub fn put_challenge(
    conn: &Connection,
    user_id: i64,
    token: &str,
    expire_time: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO challenges (user_id, token, expire_time) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, expire_time = excluded.expire_time",
        params![user_id, token, expire_time],
    )?;
    Ok(())
}

/// User `user_id`'s challenge token if it is still valid at `now`.
pub fn live_challenge(
    conn: &Connection,
    user_id: i64,
    now: i64,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT token FROM challenges WHERE user_id = ?1 AND expire_time >= ?2",
        params![user_id, now],
        |r| r.get(0),
    )
    .optional()
}

/// A stored session.
#[derive(Debug, Clone, Copy)]
pub struct SessionRow {
    /// The user it authenticates.
    pub user_id: i64,
    /// Unix time of login.
    pub created_at: i64,
    /// Unix time of the last request.
    pub last_seen: i64,
}

/// Stores a new session.
pub fn insert_session(
    conn: &Connection,
    token: &str,
    user_id: i64,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (token, user_id, created_at, last_seen) VALUES (?1, ?2, ?3, ?3)",
        params![token, user_id, now],
    )?;
    Ok(())
}

/// The session called `token`, if stored.
pub fn get_session(conn: &Connection, token: &str) -> rusqlite::Result<Option<SessionRow>> {
    conn.query_row(
        "SELECT user_id, created_at, last_seen FROM sessions WHERE token = ?1",
        params![token],
        |r| {
            Ok(SessionRow {
                user_id: r.get(0)?,
                created_at: r.get(1)?,
                last_seen: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Records activity on a session.
pub fn touch_session(conn: &Connection, token: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET last_seen = ?2 WHERE token = ?1",
        params![token, now],
    )?;
    Ok(())
}

/// Removes a session (logout, expiry).
pub fn delete_session(conn: &Connection, token: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM sessions WHERE token = ?1", params![token])?;
    Ok(())
}

/// Removes every session idle since before `idle_before` or created before
/// `created_before`, so the table does not grow without end.
pub fn purge_sessions(
    conn: &Connection,
    idle_before: i64,
    created_before: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
        params![idle_before, created_before],
    )
}
