//! Whose a record's owner id is: a live user's or a group's, which decides
//! the prefix its `assigned_user_id` shows (`19x1`, `20x3`).
//!
//! Worked out inside the record's statement, two correlated `EXISTS`
//! subqueries a row cost ~4.1k of a one-record query's ~75k instructions
//! (callgrind), and a hundred times that a page. A read that holds a
//! snapshot ([`super::Store::read`]) looks it up instead in the sets of
//! live users and groups of that snapshot's rights version: users and
//! groups count it up whenever one is added, deleted or retired, so one
//! version has one set of owners. Reads without one (the writer's, inside
//! a transaction that may yet roll back) ask the database.
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::rows::live_condition;
use super::tables::table_ref;
use super::users::{GROUPS, OWNER_MODULES, USERS};
use crate::registry::Registry;

/// The owners of one rights version.
#[derive(Debug)]
struct Owners {
    /// Which [`OwnerCache`] read them.
    cache: u64,
    version: i64,
    /// Live users' ids, ascending, and their module's id prefix.
    users: (Vec<i64>, Option<u32>),
    /// Groups' ids, ascending, and their module's id prefix.
    groups: (Vec<i64>, Option<u32>),
}

impl Owners {
    fn read(
        conn: &Connection,
        registry: &Registry,
        cache: u64,
        version: i64,
    ) -> rusqlite::Result<Owners> {
        Ok(Owners {
            cache,
            version,
            users: live_ids(conn, registry, USERS)?,
            groups: live_ids(conn, registry, GROUPS)?,
        })
    }

    /// Whether these are `cache`'s owners as of `version`.
    fn are(&self, cache: &OwnerCache, version: i64) -> bool {
        self.cache == cache.id && self.version == version
    }

    fn prefix_of(&self, id: i64) -> Option<u32> {
        [&self.users, &self.groups]
            .into_iter()
            .find(|(ids, _)| ids.binary_search(&id).is_ok())
            .and_then(|(_, prefix)| *prefix)
    }
}

/// A store's owners, kept for the newest rights version read.
#[derive(Debug)]
pub struct OwnerCache {
    /// Tells this store's owners from another's in a thread's copy
    /// ([`LAST`]): two stores in one process may share version numbers.
    id: u64,
    newest: Mutex<Option<Arc<Owners>>>,
}

impl Default for OwnerCache {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        OwnerCache {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            newest: Mutex::new(None),
        }
    }
}

thread_local! {
    /// The owners this thread used last: a page asks for a hundred owners,
    /// and the cache's lock is shared by every worker.
    static LAST: RefCell<Option<Arc<Owners>>> = const { RefCell::new(None) };
}

impl OwnerCache {
    /// The prefix of owner `id` as of `version`, the rights version of
    /// `conn`'s snapshot.
    fn prefix_as_of(
        &self,
        conn: &Connection,
        registry: &Registry,
        version: i64,
        id: i64,
    ) -> rusqlite::Result<Option<u32>> {
        // Looked up in place: a row of a page is a borrow, not a clone.
        let kept = LAST.with(|l| match l.borrow().as_ref() {
            Some(last) if last.are(self, version) => Some(last.prefix_of(id)),
            _ => None,
        });
        match kept {
            Some(prefix) => Ok(prefix),
            None => Ok(self.as_of(conn, registry, version)?.prefix_of(id)),
        }
    }

    /// The owners as of `version`, kept as this thread's last.
    fn as_of(
        &self,
        conn: &Connection,
        registry: &Registry,
        version: i64,
    ) -> rusqlite::Result<Arc<Owners>> {
        let newest = self.lock().clone().filter(|o| o.are(self, version));
        let owners = match newest {
            Some(owners) => owners,
            None => {
                let read = Arc::new(Owners::read(conn, registry, self.id, version)?);
                let mut newest = self.lock();
                // An older snapshot's owners never replace newer ones.
                if newest.as_ref().is_none_or(|n| n.version < version) {
                    *newest = Some(Arc::clone(&read));
                }
                read
            }
        };
        LAST.with(|l| *l.borrow_mut() = Some(Arc::clone(&owners)));
        Ok(owners)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Owners>>> {
        self.newest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The ids of `module`'s live rows, ascending, and its id prefix.
fn live_ids(
    conn: &Connection,
    registry: &Registry,
    module: &str,
) -> rusqlite::Result<(Vec<i64>, Option<u32>)> {
    let Some(module) = registry.module(module) else {
        return Ok((Vec::new(), None));
    };
    let sql = format!(
        "SELECT _id FROM {} WHERE 1{} ORDER BY _id",
        table_ref(module),
        live_condition(module)
    );
    let mut stmt = conn.prepare(&sql)?;
    let ids = stmt.query_map([], |r| r.get(0))?;
    Ok((
        ids.collect::<rusqlite::Result<_>>()?,
        Some(module.id_prefix),
    ))
}

/// The id prefix of the module owner `id` is a live row of (Users or
/// Groups), as `conn` sees it; `None` when neither.
pub fn prefix(conn: &Connection, registry: &Registry, id: i64) -> rusqlite::Result<Option<u32>> {
    match super::held_version::owners_of(conn) {
        Some((version, cache)) => cache.prefix_as_of(conn, registry, version, id),
        None => super::cached_row(conn, prefix_sql(registry), [id], |r| r.get(0)),
    }
}

/// [`owner_prefix_sql`], made once and kept with the Users module's SQL.
fn prefix_sql(registry: &Registry) -> &str {
    match registry.module(USERS) {
        Some(users) => users
            .sql
            .owner_prefix
            .get_or_init(|| owner_prefix_sql(registry)),
        None => "SELECT NULL",
    }
}

/// The statement answering the prefix of owner `?1`.
fn owner_prefix_sql(registry: &Registry) -> String {
    let arms: String = OWNER_MODULES
        .iter()
        .filter_map(|name| registry.module(name))
        .map(|m| {
            format!(
                " WHEN {} THEN {}",
                super::rows::exists_sql(m, "?1"),
                m.id_prefix
            )
        })
        .collect();
    format!("SELECT CASE{arms} END")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefix of each of `ids` through a read's snapshot (the owners
    /// kept for its rights version) and asked of the database.
    fn both_ways(
        store: &super::super::Store,
        registry: &Registry,
        ids: &[i64],
    ) -> (Vec<Option<u32>>, Vec<Option<u32>>) {
        let held = store
            .read(|c| {
                ids.iter()
                    .map(|id| Ok(prefix(c, registry, *id)?))
                    .collect::<Result<Vec<_>, crate::error::WsError>>()
            })
            .unwrap();
        let conn = store.conn().unwrap();
        let asked = ids
            .iter()
            .map(|id| prefix(&conn, registry, *id).unwrap())
            .collect();
        (held, asked)
    }

    #[test]
    fn a_snapshot_knows_users_and_groups_as_the_database_does_as_they_change() {
        let (_dir, store, registry) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        conn.execute(
            "INSERT INTO m_Users (_id, user_name, _deleted) VALUES (40, 'gone', 1)",
            [],
        )
        .unwrap();
        // The admin, a shipped group, a deleted user, no one.
        let ids = [1, 2, 40, 41];
        let before = vec![Some(19), Some(20), None, None];
        assert_eq!(both_ways(&store, &registry, &ids), (before.clone(), before));
        // A group made after the owners were first kept, then a user
        // deleted.
        conn.execute(
            "INSERT INTO m_Groups (_id, groupname) VALUES (41, 'late')",
            [],
        )
        .unwrap();
        let made = vec![Some(19), Some(20), None, Some(20)];
        assert_eq!(both_ways(&store, &registry, &ids), (made.clone(), made));
        conn.execute("UPDATE m_Users SET _deleted = 1 WHERE _id = 1", [])
            .unwrap();
        let after = vec![None, Some(20), None, Some(20)];
        assert_eq!(both_ways(&store, &registry, &ids), (after.clone(), after));
        conn.execute("DELETE FROM m_Groups WHERE _id = 41", [])
            .unwrap();
        let gone = vec![None, Some(20), None, None];
        assert_eq!(both_ways(&store, &registry, &ids), (gone.clone(), gone));
    }
}
