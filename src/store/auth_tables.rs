//! Sessions and login challenges. They live in SQLite so that a restart does
//! not log every client out.
use rusqlite::{params, Connection};

/// Most live challenge tokens kept for one user; the oldest go first.
pub const LIVE_TOKENS_PER_USER: i64 = 16;

/// Adds a challenge token for `user_id`, dropping its expired ones and all
/// but the newest [`LIVE_TOKENS_PER_USER`]. vtiger keeps one token a user,
/// so clients sharing a user that ask for challenges at once fail each
/// other's logins; here each token stays good until it expires.
pub fn put_challenge(
    conn: &Connection,
    user_id: i64,
    token: &str,
    expire_time: i64,
    now: i64,
) -> rusqlite::Result<()> {
    // Cached statements, and only the rows past the newest 16 collected
    // (not the 16 kept, tokens and all, into a temporary table): the old
    // statements, parsed every time, were ~200k instructions a getchallenge
    // on the writer thread (callgrind).
    conn.prepare_cached(
        "INSERT OR REPLACE INTO challenges (user_id, token, expire_time) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![user_id, token, expire_time])?;
    conn.prepare_cached(
        "DELETE FROM challenges WHERE user_id = ?1 AND (expire_time < ?2 OR rowid IN
           (SELECT rowid FROM challenges WHERE user_id = ?1
            ORDER BY expire_time DESC, rowid DESC LIMIT -1 OFFSET ?3))",
    )?
    .execute(params![user_id, now, LIVE_TOKENS_PER_USER])?;
    Ok(())
}

/// User `user_id`'s challenge tokens still valid at `now`, newest first.
pub fn live_challenges(conn: &Connection, user_id: i64, now: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT token FROM challenges WHERE user_id = ?1 AND expire_time >= ?2
         ORDER BY expire_time DESC, rowid DESC",
    )?;
    let rows = stmt.query_map(params![user_id, now], |r| r.get(0))?;
    rows.collect()
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

/// What the sessions table keeps of a session name: its md5, so that a copy
/// of the database does not hand out live sessions (the name is 128 random
/// bits, so its digest cannot be reversed).
pub(super) fn stored_key(token: &str) -> String {
    crate::auth::challenge::md5_hex(token)
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
        params![stored_key(token), user_id, now],
    )?;
    Ok(())
}

/// Records activity on a session.
pub fn touch_session(conn: &Connection, token: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE token = ?1")?
        .execute(params![stored_key(token), now])?;
    Ok(())
}

/// Removes a session (logout, expiry).
pub fn delete_session(conn: &Connection, token: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token = ?1",
        params![stored_key(token)],
    )?;
    Ok(())
}

/// Ends every session of user `user_id` (deactivated or deleted).
pub fn delete_user_sessions(conn: &Connection, user_id: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", params![user_id])
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
