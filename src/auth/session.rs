//! Sessions: opaque random names, idle and absolute expiry (spec §2.3; both
//! expiries answer INVALID_SESSIONID, which is what vtiger clients handle).
use rand::RngCore;
use rusqlite::Connection;

use super::{now, Caller};
use crate::error::WsError;
use crate::registry::Registry;
use crate::store::{access, auth_tables, Store};

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Seconds without a request before a session dies.
    pub idle_secs: i64,
    /// Seconds after login when a session dies regardless.
    pub max_secs: i64,
}

/// How stale a session's stored last-seen time may get before a request
/// refreshes it: a sixtieth of the idle limit, 1 to 60 seconds. Each refresh
/// is a write, and a write makes every pooled connection reload its page
/// cache, a ~19 ms stall in the middle of a sync walk (BENCHMARKS.md). A
/// session may so expire up to that much early, never late.
fn touch_every(policy: SessionPolicy) -> i64 {
    (policy.idle_secs / 60).clamp(1, 60)
}

/// A new session name: 128 random bits as 32 lowercase hex characters.
pub fn new_session_name() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a session for `user_id` and returns its name.
pub fn open(conn: &Connection, policy: SessionPolicy, user_id: i64) -> rusqlite::Result<String> {
    let t = now();
    auth_tables::purge_sessions(conn, t - policy.idle_secs, t - policy.max_secs)?;
    let name = new_session_name();
    auth_tables::insert_session(conn, &name, user_id, t)?;
    Ok(name)
}

/// The caller behind session `name`, if the session is alive and its user
/// still active. Dead sessions are removed. The activity is recorded at most
/// every [`touch_every`], after the answer if need be: a lost last-seen time
/// only makes a session expire sooner, never later.
pub fn resume(
    store: &Store,
    registry: &Registry,
    policy: SessionPolicy,
    name: &str,
) -> Result<Option<Caller>, WsError> {
    // The session, its user and (for non-admins) their rights: one snapshot.
    let found = store.read(|conn| -> Result<_, WsError> {
        let version = access::rights_version(conn)?;
        let Some((row, user)) = store.sessions().by_session(conn, registry, name, version)? else {
            return Ok(None);
        };
        let access = super::rights_as_of(store, conn, registry, &user, version)?;
        Ok(Some((row, user, access)))
    })?;
    let Some((row, user, access)) = found else {
        return Ok(None);
    };
    let t = now();
    let expired = t - row.last_seen > policy.idle_secs || t - row.created_at > policy.max_secs;
    if expired || !user.active {
        // Removed after the answer: the session is refused either way, and
        // a removal lost with a full queue is left to the next login's purge.
        store.sessions().forget(name);
        let name = name.to_string();
        store.write_detached(move |c| auth_tables::delete_session(c, &name));
        return Ok(None);
    }
    if t - row.last_seen >= touch_every(policy) {
        store.sessions().seen(name, t);
        let name = name.to_string();
        store.write_detached(move |c| auth_tables::touch_session(c, &name, t));
    }
    Ok(Some(Caller::new(registry, user, access, name.to_string())))
}

/// Ends session `name`.
pub fn close(conn: &Connection, name: &str) -> rusqlite::Result<()> {
    auth_tables::delete_session(conn, name)
}
