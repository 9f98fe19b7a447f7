//! Users: lookup for authentication, the login profile, and the admin CLI.
use rand::distributions::{Alphanumeric, DistString};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::HashMap;

use super::tables::{insert_own_row, sql_text, table};
use crate::registry::Registry;

/// The Users module's name in the registry.
pub const USERS: &str = "Users";

/// What authentication needs to know of a user.
#[derive(Debug, Clone)]
pub struct UserAuth {
    /// Object id (`19x<id>`).
    pub id: i64,
    /// Login name.
    pub user_name: String,
    /// The webservice access key; empty when undefined.
    pub access_key: String,
    /// `status` is `Active`.
    pub active: bool,
    /// `is_admin` is `on`.
    pub is_admin: bool,
    /// The user's date format preference (describe's date `format`).
    pub date_format: String,
}

pub(super) const AUTH_COLUMNS: &str = "_id, user_name, COALESCE(accesskey, ''), COALESCE(status, ''), COALESCE(is_admin, ''), COALESCE(date_format, '')";

/// The Users module, which every registry has (its loader checks).
fn users_module(registry: &Registry) -> &crate::registry::ModuleDef {
    registry
        .module(USERS)
        .expect("the registry always has Users")
}

pub(super) fn users_table(registry: &Registry) -> String {
    table(users_module(registry))
}

pub(super) fn auth_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserAuth> {
    Ok(UserAuth {
        id: r.get(0)?,
        user_name: r.get(1)?,
        access_key: r.get(2)?,
        active: r.get::<_, String>(3)? == "Active",
        is_admin: r.get::<_, String>(4)? == "on",
        date_format: r.get(5)?,
    })
}

/// The live (not deleted) user called `name`.
pub fn find_by_name(
    conn: &Connection,
    registry: &Registry,
    name: &str,
) -> rusqlite::Result<Option<UserAuth>> {
    super::cached_row(
        conn,
        &format!(
            "SELECT {AUTH_COLUMNS} FROM {} WHERE user_name = ?1 AND _deleted = 0",
            users_table(registry)
        ),
        params![name],
        auth_row,
    )
    .optional()
}

/// The session stored under `token` with its user, when the session exists
/// and its user is not deleted: one statement on every request's path.
pub fn by_session(
    conn: &Connection,
    registry: &Registry,
    token: &str,
) -> rusqlite::Result<Option<(super::auth_tables::SessionRow, UserAuth)>> {
    let users = users_module(registry);
    // Built once: every call with a session runs it.
    let sql = users.sql.session.get_or_init(|| {
        format!(
            "SELECT {AUTH_COLUMNS}, s.user_id, s.created_at, s.last_seen
             FROM sessions s JOIN {} u ON u._id = s.user_id AND u._deleted = 0
             WHERE s.token = ?1",
            table(users)
        )
    });
    super::cached_row(
        conn,
        sql,
        params![super::auth_tables::stored_key(token)],
        |r| {
            let session = super::auth_tables::SessionRow {
                user_id: r.get(6)?,
                created_at: r.get(7)?,
                last_seen: r.get(8)?,
            };
            Ok((session, auth_row(r)?))
        },
    )
    .optional()
}

/// How many sessions [`SessionCache`] keeps; past it, it starts afresh (a
/// script that logs in for every call leaves a session a call behind).
const KEPT_SESSIONS: usize = 4096;

/// Live sessions with their users, each kept with the rights version it was
/// read at: the version counts up whenever a session ends or a user's
/// sign-in columns change (triggers; whoever wrote), so a session kept at
/// the current version is what [`by_session`] would read. Reading the
/// version instead of the session and its user saved ~9k of a retrieve's
/// ~131k instructions (callgrind, BENCHMARKS.md).
#[derive(Default)]
pub struct SessionCache(std::sync::Mutex<HashMap<String, KeptSession>>);

#[derive(Clone)]
struct KeptSession {
    version: i64,
    session: super::auth_tables::SessionRow,
    /// Shared with every caller made from it: a copy of its strings for
    /// each request was four mallocs and frees (callgrind).
    user: std::sync::Arc<UserAuth>,
}

impl SessionCache {
    /// [`by_session`] as of `version`, the rights version of `conn`'s
    /// snapshot.
    pub fn by_session(
        &self,
        conn: &Connection,
        registry: &Registry,
        token: &str,
        version: i64,
    ) -> rusqlite::Result<Option<(super::auth_tables::SessionRow, std::sync::Arc<UserAuth>)>> {
        let kept = self.lock().get(token).cloned();
        if let Some(kept) = kept.filter(|k| k.version == version) {
            return Ok(Some((kept.session, kept.user)));
        }
        let found = by_session(conn, registry, token)?.map(|(s, u)| (s, std::sync::Arc::new(u)));
        let mut kept = self.lock();
        match &found {
            Some((session, user)) => {
                if kept.len() >= KEPT_SESSIONS {
                    kept.clear();
                }
                let session = *session;
                let user = std::sync::Arc::clone(user);
                kept.insert(
                    token.to_string(),
                    KeptSession {
                        version,
                        session,
                        user,
                    },
                );
            }
            None => {
                kept.remove(token);
            }
        }
        Ok(found)
    }

    /// Notes that session `token`'s last-seen time is now `at` (its stored
    /// one is being updated to it).
    pub fn seen(&self, token: &str, at: i64) {
        if let Some(kept) = self.lock().get_mut(token) {
            kept.session.last_seen = kept.session.last_seen.max(at);
        }
    }

    /// Forgets session `token` (it is being removed).
    pub fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeptSession>> {
        // Entries are whole or absent: a panic elsewhere leaves them usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The user-profile keys of the 7.x login result, in vtiger's order, as
/// (result key, Users field) pairs (spec §2.2, shared/golden seq 13).
const PROFILE_KEYS: &[(&str, &str)] = &[
    ("username", "user_name"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email1"),
    ("time_zone", "time_zone"),
    ("hour_format", "hour_format"),
    ("date_format", "date_format"),
    ("is_admin", "is_admin"),
    ("call_duration", "callduration"),
    ("other_event_duration", "othereventduration"),
];

/// The login result's profile part for user `id`, every value a string.
pub fn login_profile(
    conn: &Connection,
    registry: &Registry,
    id: i64,
) -> rusqlite::Result<Map<String, Value>> {
    let columns: Vec<String> = PROFILE_KEYS
        .iter()
        .map(|(_, f)| format!("COALESCE(\"{f}\", '')"))
        .collect();
    conn.query_row(
        &format!(
            "SELECT {} FROM {} WHERE _id = ?1",
            columns.join(", "),
            users_table(registry)
        ),
        params![id],
        |r| {
            let mut out = Map::new();
            for (i, (key, _)) in PROFILE_KEYS.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i)?;
                out.insert(
                    key.to_string(),
                    Value::String(sql_text(v).unwrap_or_default()),
                );
            }
            Ok(out)
        },
    )
}

/// A 16-character access key, vtiger's alphabet and length.
pub fn generate_access_key() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

/// A user to create from the command line.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login name.
    pub user_name: String,
    /// Administrator.
    pub is_admin: bool,
    /// Primary email.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name (vtiger requires one; defaults to the user name).
    pub last_name: Option<String>,
    /// Role id; by default CEO (H2) for admins, Sales Person (H5) otherwise.
    pub role: Option<String>,
}

/// Creates a user with the schema's defaults and a new access key; returns
/// its id and key. Fails when the name is taken.
pub fn add_user(
    conn: &Connection,
    registry: &Registry,
    user: &NewUser,
    key: &str,
) -> Result<i64, String> {
    if find_by_name(conn, registry, &user.user_name)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("a user called {} already exists", user.user_name));
    }
    let module = users_module(registry);
    let mut values = Map::new();
    for field in &module.fields {
        if let Some(d) = field
            .default
            .as_ref()
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
        {
            values.insert(field.name.clone(), Value::String(d.to_string()));
        }
    }
    let mut set = |k: &str, v: &str| {
        values.insert(k.to_string(), Value::String(v.to_string()));
    };
    set("user_name", &user.user_name);
    set("is_admin", if user.is_admin { "on" } else { "off" });
    set("status", "Active");
    // vtiger's default roles: H2 is the CEO role the admin has, H5 a sales person.
    let default_role = if user.is_admin { "H2" } else { "H5" };
    set("roleid", user.role.as_deref().unwrap_or(default_role));
    set("email1", user.email.as_deref().unwrap_or(""));
    set("first_name", user.first_name.as_deref().unwrap_or(""));
    set(
        "last_name",
        user.last_name.as_deref().unwrap_or(&user.user_name),
    );
    set("currency_id", "1");
    set("date_format", "yyyy-mm-dd");
    set("time_zone", "UTC");
    set("accesskey", key);
    let id = next_owner_id(conn, registry).map_err(|e| e.to_string())?;
    insert_own_row(conn, module, Some(id), &values).map_err(|e| e.to_string())
}

/// Whether `module` is Users.
pub fn is_user_module(module: &crate::registry::ModuleDef) -> bool {
    module.name == USERS
}

/// Whether user `id` is live and Active. One column, its text built once:
/// every create and update checks its owner here, and reading the whole
/// sign-in row was ~11k of a create's instructions (callgrind).
pub fn is_active(conn: &Connection, registry: &Registry, id: i64) -> rusqlite::Result<bool> {
    let users = users_module(registry);
    let sql = users.sql.active.get_or_init(|| {
        format!(
            "SELECT 1 FROM {} WHERE _id = ?1 AND _deleted = 0 AND status = 'Active'",
            table(users)
        )
    });
    Ok(super::cached_row(conn, sql, params![id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Sets user `name`'s status (`Active` or `Inactive`); false when there is
/// no such user.
pub fn set_status(
    conn: &Connection,
    registry: &Registry,
    name: &str,
    status: &str,
) -> rusqlite::Result<bool> {
    set_by_name(conn, registry, name, "status", status)
}

/// Sets `column` of live user `name`; false when there is no such user.
fn set_by_name(
    conn: &Connection,
    registry: &Registry,
    name: &str,
    column: &str,
    value: &str,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        &format!(
            "UPDATE {} SET \"{column}\" = ?1 WHERE user_name = ?2 AND _deleted = 0",
            users_table(registry)
        ),
        params![value, name],
    )?;
    Ok(n > 0)
}

/// The Groups module's name in the registry.
pub const GROUPS: &str = "Groups";

/// The modules whose rows own records, in the order an owner id is looked
/// up in (they share one id sequence, so it is found in one at most).
pub const OWNER_MODULES: [&str; 2] = [USERS, GROUPS];

/// Whether records can be owned by rows of `module` (users and groups).
pub fn is_owner_module(module: &crate::registry::ModuleDef) -> bool {
    OWNER_MODULES.contains(&module.name.as_str())
}

/// The next id for a user or group. They share one sequence, as in vtiger
/// (vtiger_users_seq), so a record's owner id names exactly one of them.
pub fn next_owner_id(conn: &Connection, registry: &Registry) -> rusqlite::Result<i64> {
    let users = users_table(registry);
    let groups = table(
        registry
            .module(GROUPS)
            .expect("the registry always has Groups"),
    );
    conn.query_row(
        &format!("SELECT MAX(m) + 1 FROM (SELECT COALESCE(MAX(_id), 0) AS m FROM {users} UNION ALL SELECT COALESCE(MAX(_id), 0) FROM {groups})"),
        [],
        |r| r.get(0),
    )
}

/// Creates a group; returns its id (from the users' sequence).
pub fn add_group(
    conn: &Connection,
    registry: &Registry,
    name: &str,
    description: &str,
) -> rusqlite::Result<i64> {
    let module = registry
        .module(GROUPS)
        .expect("the registry always has Groups");
    let mut values = Map::new();
    values.insert("groupname".into(), Value::String(name.into()));
    values.insert("description".into(), Value::String(description.into()));
    let id = next_owner_id(conn, registry)?;
    insert_own_row(conn, module, Some(id), &values)
}

/// One line of `stripes users list`.
#[derive(Debug, Clone)]
pub struct UserSummary {
    /// Webservice id.
    pub ws_id: String,
    /// Login name.
    pub user_name: String,
    /// Administrator.
    pub is_admin: bool,
    /// Active or Inactive.
    pub status: String,
    /// Primary email.
    pub email: String,
    /// Role id.
    pub role: String,
}

/// Every live user, by id.
pub fn list_users(conn: &Connection, registry: &Registry) -> rusqlite::Result<Vec<UserSummary>> {
    let prefix = users_module(registry).id_prefix;
    let mut stmt = conn.prepare(&format!(
        "SELECT _id, user_name, COALESCE(is_admin, ''), COALESCE(status, ''), COALESCE(email1, ''), COALESCE(roleid, '') FROM {} WHERE _deleted = 0 ORDER BY _id",
        users_table(registry)
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(UserSummary {
            ws_id: format!("{prefix}x{}", r.get::<_, i64>(0)?),
            user_name: r.get(1)?,
            is_admin: r.get::<_, String>(2)? == "on",
            status: r.get(3)?,
            email: r.get(4)?,
            role: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Gives user `name` a new access key; false when there is no such user.
pub fn set_access_key(
    conn: &Connection,
    registry: &Registry,
    name: &str,
    key: &str,
) -> rusqlite::Result<bool> {
    set_by_name(conn, registry, name, "accesskey", key)
}
