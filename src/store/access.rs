//! Roles, profiles, groups and sharing: the tables behind the permission
//! service (`auth::access`), their defaults (`fixtures/seed/access.json`),
//! and what the `stripes roles|groups|profiles|sharing` commands change.
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Deserialize;

use super::tables::table;
use super::users::{GROUPS, USERS};
use crate::auth::access::{Access, FieldAccess, ModuleRights, Sharing};
use crate::registry::Registry;

/// `fixtures/seed/access.json`.
#[derive(Deserialize)]
struct Defaults {
    roles: Vec<RoleSeed>,
    profiles: Vec<ProfileSeed>,
    groups: Vec<GroupSeed>,
    sharing: HashMap<String, String>,
}

#[derive(Deserialize)]
struct RoleSeed {
    id: String,
    name: String,
    parent: Option<String>,
    profiles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileSeed {
    id: i64,
    name: String,
    description: String,
    view_all: bool,
    edit_all: bool,
    #[serde(flatten)]
    rights: ModuleRights,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupSeed {
    id: i64,
    roles: Vec<String>,
    roles_and_subordinates: Vec<String>,
    users: Vec<i64>,
}

/// Loads vtiger's default roles, profiles, group members and sharing into
/// a database that has none (a new one, or one from before access control).
pub fn install_defaults(conn: &Connection) -> Result<(), String> {
    let has_roles: i64 = conn
        .query_row("SELECT COUNT(*) FROM roles", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if has_roles > 0 {
        return Ok(());
    }
    let d: Defaults = serde_json::from_str(crate::embedded::ACCESS_FILE)
        .map_err(|e| format!("fixtures/seed/access.json: {e}"))?;
    let run = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<(), String> {
        conn.execute(sql, p).map(|_| ()).map_err(|e| e.to_string())
    };
    for p in &d.profiles {
        run(
            "INSERT INTO profiles (profileid, profilename, description, view_all, edit_all, can_view, can_create, can_edit, can_delete)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[&p.id, &p.name, &p.description, &p.view_all, &p.edit_all, &p.rights.view, &p.rights.create, &p.rights.edit, &p.rights.delete],
        )?;
    }
    let mut paths: HashMap<&str, String> = HashMap::new();
    for r in &d.roles {
        let path = match &r.parent {
            Some(parent) => format!(
                "{}::{}",
                paths
                    .get(parent.as_str())
                    .ok_or_else(|| format!("role {} comes before its parent", r.id))?,
                r.id
            ),
            None => r.id.clone(),
        };
        run(
            "INSERT INTO roles (roleid, rolename, parentrole) VALUES (?1, ?2, ?3)",
            &[&r.id, &r.name, &path],
        )?;
        paths.insert(&r.id, path);
        for name in &r.profiles {
            let id = d
                .profiles
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| format!("role {} names unknown profile {name}", r.id))?
                .id;
            run(
                "INSERT INTO role_profiles (roleid, profileid) VALUES (?1, ?2)",
                &[&r.id, &id],
            )?;
        }
    }
    for g in &d.groups {
        for (roles, subordinates) in [(&g.roles, false), (&g.roles_and_subordinates, true)] {
            for role in roles {
                run(
                    "INSERT INTO group_roles (group_id, roleid, subordinates) VALUES (?1, ?2, ?3)",
                    &[&g.id, role, &subordinates],
                )?;
            }
        }
        for user in &g.users {
            run(
                "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
                &[&g.id, user],
            )?;
        }
    }
    for (module, level) in &d.sharing {
        let level = Sharing::parse(level)
            .ok_or_else(|| format!("sharing of {module}: unknown level {level}"))?;
        run(
            "INSERT INTO sharing (module, access) VALUES (?1, ?2)",
            &[module, &level.name()],
        )?;
    }
    Ok(())
}

/// Four 0/1 columns from `first` on: view, create, edit, delete.
fn rights_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<ModuleRights> {
    Ok(ModuleRights {
        view: r.get(first)?,
        create: r.get(first + 1)?,
        edit: r.get(first + 2)?,
        delete: r.get(first + 3)?,
    })
}

fn users_table(registry: &Registry) -> String {
    table(
        registry
            .module(USERS)
            .expect("the registry always has Users"),
    )
}

/// A user's role path (`H1::H2::H5`), if their role exists.
fn role_path(
    conn: &Connection,
    registry: &Registry,
    user: i64,
) -> rusqlite::Result<Option<String>> {
    super::cached_row(
        conn,
        &format!(
            "SELECT r.parentrole FROM {} u JOIN roles r ON r.roleid = u.roleid WHERE u._id = ?1",
            users_table(registry)
        ),
        [user],
        |r| r.get(0),
    )
    .optional()
}

/// The groups `user` belongs to: as a member, through their role, or
/// through a role above theirs given "with subordinates".
pub fn groups_of(conn: &Connection, registry: &Registry, user: i64) -> rusqlite::Result<Vec<i64>> {
    let path = role_path(conn, registry, user)?.unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT group_id FROM group_members WHERE user_id = ?1
         UNION
         SELECT gr.group_id FROM group_roles gr JOIN roles r ON r.roleid = gr.roleid
          WHERE ?2 <> '' AND (r.parentrole = ?2 OR (gr.subordinates = 1 AND ?2 LIKE r.parentrole || '::%'))
         ORDER BY 1",
    )?;
    let rows = stmt.query_map(params![user, path], |r| r.get(0))?;
    rows.collect()
}

/// The live users of any of `groups`, however they belong to them (one
/// statement, whatever the number of groups).
pub fn members_of(
    conn: &Connection,
    registry: &Registry,
    groups: &[i64],
) -> rusqlite::Result<Vec<i64>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; groups.len()].join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT u._id FROM {} u LEFT JOIN roles r ON r.roleid = u.roleid
          WHERE u._deleted = 0 AND (
            u._id IN (SELECT user_id FROM group_members WHERE group_id IN ({marks}))
            OR EXISTS (SELECT 1 FROM group_roles gr JOIN roles g ON g.roleid = gr.roleid
                        WHERE gr.group_id IN ({marks}) AND (g.parentrole = r.parentrole
                          OR (gr.subordinates = 1 AND r.parentrole LIKE g.parentrole || '::%'))))
          ORDER BY u._id",
        users_table(registry)
    ))?;
    let rows = stmt.query_map(params_from_iter(groups.iter().chain(groups.iter())), |r| {
        r.get(0)
    })?;
    rows.collect()
}

/// The live users in roles below the role path `path`.
fn users_below(conn: &Connection, registry: &Registry, path: &str) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT u._id FROM {} u JOIN roles r ON r.roleid = u.roleid
          WHERE u._deleted = 0 AND r.parentrole LIKE ?1 || '::%'",
        users_table(registry)
    ))?;
    let rows = stmt.query_map([path], |r| r.get(0))?;
    rows.collect()
}

/// The tables besides users that a non-admin caller's rights are worked
/// out from (see [`rights_of`]); a change to any counts the rights
/// version up.
pub const RIGHTS_TABLES: &[&str] = &[
    "roles",
    "profiles",
    "role_profiles",
    "profile_modules",
    "profile_fields",
    "group_roles",
    "group_members",
    "sharing",
];

/// A trigger `name` counting the rights version up after `event`
/// (`UPDATE OF roleid ON users`).
pub fn rights_trigger(name: &str, event: &str) -> String {
    format!(
        "CREATE TRIGGER IF NOT EXISTS {name} AFTER {event}
         BEGIN UPDATE rights_version SET version = version + 1; END;"
    )
}

/// The users table's triggers on the rights version (the table is the
/// Users module's, made with the module tables): who is below whom and who
/// shares a group are part of the rights, a user's sign-in columns are
/// what a kept session answers with (`users::SessionCache`), and which
/// users are live is what an answer shows of a record's owner (`owners`).
pub fn users_rights_triggers(users_table: &str) -> [String; 4] {
    [
        rights_trigger("users_rights_i", &format!("INSERT ON {users_table}")),
        rights_trigger("users_rights_d", &format!("DELETE ON {users_table}")),
        rights_trigger(
            "users_rights_u",
            &format!("UPDATE OF roleid, _deleted ON {users_table}"),
        ),
        // A trigger of its own, not a wider users_rights_u: IF NOT EXISTS
        // would leave an existing database with the narrower one.
        rights_trigger(
            "users_sign_in_u",
            &format!(
                "UPDATE OF user_name, accesskey, status, is_admin, date_format ON {users_table}"
            ),
        ),
    ]
}

/// The groups table's triggers on the rights version: which ids are groups
/// is part of what an answer shows of a record's owner (`owners`).
pub fn groups_rights_triggers(groups_table: &str) -> [String; 2] {
    [
        rights_trigger("groups_rights_i", &format!("INSERT ON {groups_table}")),
        rights_trigger("groups_rights_d", &format!("DELETE ON {groups_table}")),
    ]
}

/// The rights version: it changes whenever anything a caller's rights are
/// worked out from changes.
pub fn rights_version(conn: &Connection) -> rusqlite::Result<i64> {
    match super::held_rights_version(conn) {
        Some(version) => Ok(version),
        None => super::cached_row(conn, super::RIGHTS_VERSION_SQL, [], |r| r.get(0)),
    }
}

/// Non-admin callers' rights, each kept with the rights version it was
/// worked out at: working them out took eight statements and was two
/// thirds of a non-admin retrieve (the load bench).
#[derive(Default)]
pub struct RightsCache(std::sync::Mutex<HashMap<i64, (i64, Arc<Access>)>>);

impl RightsCache {
    /// `user`'s rights as of `conn`'s snapshot.
    pub fn rights_of(
        &self,
        conn: &Connection,
        registry: &Registry,
        user: i64,
    ) -> rusqlite::Result<Arc<Access>> {
        self.rights_as_of(conn, registry, user, rights_version(conn)?)
    }

    /// `user`'s rights at `version`, the rights version of `conn`'s
    /// snapshot (read once for the session and the rights of a request).
    pub fn rights_as_of(
        &self,
        conn: &Connection,
        registry: &Registry,
        user: i64,
        version: i64,
    ) -> rusqlite::Result<Arc<Access>> {
        let kept = self.lock().get(&user).cloned();
        if let Some((_, access)) = kept.filter(|(at, _)| *at == version) {
            return Ok(access);
        }
        let access = Arc::new(rights_of(conn, registry, user)?);
        self.lock().insert(user, (version, Arc::clone(&access)));
        Ok(access)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (i64, Arc<Access>)>> {
        // Entries are whole or absent: a panic elsewhere leaves them usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A non-admin user's rights, merged over the profiles of their role.
pub fn rights_of(conn: &Connection, registry: &Registry, user: i64) -> rusqlite::Result<Access> {
    let mut access = Access {
        user_id: user,
        ..Access::default()
    };
    let Some(path) = role_path(conn, registry, user)? else {
        return Ok(access);
    };
    let role = path.rsplit("::").next().unwrap_or_default().to_string();
    // Every statement here runs for each request of a non-admin caller:
    // all through the connection's statement cache.
    let profiles: Vec<(i64, bool, bool, ModuleRights)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT p.profileid, p.view_all, p.edit_all, p.can_view, p.can_create, p.can_edit, p.can_delete
               FROM role_profiles rp JOIN profiles p ON p.profileid = rp.profileid
              WHERE rp.roleid = ?1",
        )?;
        let rows = stmt.query_map([&role], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, rights_at(r, 3)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let ids: Vec<i64> = profiles.iter().map(|p| p.0).collect();
    let defaults: HashMap<i64, ModuleRights> = profiles.iter().map(|p| (p.0, p.3)).collect();
    for (_, view_all, edit_all, rights) in &profiles {
        access.view_all |= view_all;
        access.edit_all |= edit_all;
        access.default_rights = access.default_rights.union(*rights);
    }
    if !ids.is_empty() {
        let marks = vec!["?"; ids.len()].join(", ");
        // Module rows: a module a profile lists takes its row; others
        // their profile's defaults.
        let mut per_module: HashMap<String, HashMap<i64, ModuleRights>> = HashMap::new();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT profileid, module, can_view, can_create, can_edit, can_delete
               FROM profile_modules WHERE profileid IN ({marks})"
        ))?;
        let rows = stmt.query_map(params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                rights_at(r, 2)?,
            ))
        })?;
        for row in rows {
            let (profile, module, rights) = row?;
            per_module
                .entry(module)
                .or_default()
                .insert(profile, rights);
        }
        for (module, rows) in per_module {
            let merged = ids.iter().fold(ModuleRights::default(), |acc, p| {
                acc.union(rows.get(p).copied().unwrap_or(defaults[p]))
            });
            access.modules.insert(module, merged);
        }
        // Field rows: the most open of the profiles' settings wins.
        let mut per_field: HashMap<(String, String), HashMap<i64, FieldAccess>> = HashMap::new();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT profileid, module, field, visible, read_only
               FROM profile_fields WHERE profileid IN ({marks})"
        ))?;
        let rows = stmt.query_map(params_from_iter(ids.iter()), |r| {
            let visible: bool = r.get(3)?;
            let read_only: bool = r.get(4)?;
            let access = match (visible, read_only) {
                (false, _) => FieldAccess::Hidden,
                (true, true) => FieldAccess::ReadOnly,
                (true, false) => FieldAccess::Writable,
            };
            Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?), access))
        })?;
        for row in rows {
            let (profile, key, field) = row?;
            per_field.entry(key).or_default().insert(profile, field);
        }
        let rank = |a: FieldAccess| match a {
            FieldAccess::Hidden => 0,
            FieldAccess::ReadOnly => 1,
            FieldAccess::Writable => 2,
        };
        for (key, rows) in per_field {
            let best = ids
                .iter()
                .map(|p| rows.get(p).copied().unwrap_or(FieldAccess::Writable))
                .max_by_key(|a| rank(*a))
                .unwrap_or(FieldAccess::Writable);
            if best != FieldAccess::Writable {
                access.fields.insert(key, best);
            }
        }
    }
    access.sharing = sharing_levels(conn)?.into_iter().collect();
    access.subordinates = users_below(conn, registry, &path)?.into_iter().collect();
    let groups = groups_of(conn, registry, user)?;
    access.group_mates = members_of(conn, registry, &groups)?.into_iter().collect();
    access.groups = groups.into_iter().collect();
    Ok(access)
}

/// Every module's sharing level that is set.
pub fn sharing_levels(conn: &Connection) -> rusqlite::Result<Vec<(String, Sharing)>> {
    let mut stmt = conn.prepare_cached("SELECT module, access FROM sharing ORDER BY module")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (module, level) = row?;
        if let Some(level) = Sharing::parse(&level) {
            out.push((module, level));
        }
    }
    Ok(out)
}

/// Sets a module's sharing level.
pub fn set_sharing(conn: &Connection, module: &str, level: Sharing) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sharing (module, access) VALUES (?1, ?2)
         ON CONFLICT (module) DO UPDATE SET access = excluded.access",
        params![module, level.name()],
    )?;
    Ok(())
}

/// One role, for `stripes roles list`.
#[derive(Debug, Clone)]
pub struct RoleSummary {
    /// `H5`.
    pub id: String,
    /// `Sales Person`.
    pub name: String,
    /// `H1::H2::H3::H4::H5`.
    pub path: String,
    /// Its profiles' names.
    pub profiles: Vec<String>,
}

/// Every role, in tree order.
pub fn list_roles(conn: &Connection) -> rusqlite::Result<Vec<RoleSummary>> {
    let mut stmt = conn.prepare(
        "SELECT r.roleid, r.rolename, r.parentrole,
                COALESCE((SELECT group_concat(p.profilename, ', ') FROM role_profiles rp
                           JOIN profiles p ON p.profileid = rp.profileid WHERE rp.roleid = r.roleid), '')
           FROM roles r ORDER BY r.parentrole",
    )?;
    let rows = stmt.query_map([], |r| {
        let profiles: String = r.get(3)?;
        Ok(RoleSummary {
            id: r.get(0)?,
            name: r.get(1)?,
            path: r.get(2)?,
            profiles: profiles
                .split(", ")
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        })
    })?;
    rows.collect()
}

/// The id of the role called or numbered `name_or_id`.
pub fn find_role(conn: &Connection, name_or_id: &str) -> Result<String, String> {
    conn.query_row(
        "SELECT roleid FROM roles WHERE roleid = ?1 OR rolename = ?1 ORDER BY roleid = ?1 DESC LIMIT 1",
        [name_or_id],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| e.to_string())?
    .ok_or_else(|| format!("no role called {name_or_id}"))
}

fn find_profile(conn: &Connection, name: &str) -> Result<i64, String> {
    conn.query_row(
        "SELECT profileid FROM profiles WHERE profilename = ?1 OR CAST(profileid AS TEXT) = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| e.to_string())?
    .ok_or_else(|| format!("no profile called {name}"))
}

/// Adds a role under `parent` using `profiles`; returns its id (`H<n>`).
pub fn add_role(
    conn: &Connection,
    name: &str,
    parent: &str,
    profiles: &[String],
) -> Result<String, String> {
    if find_role(conn, name).is_ok() {
        return Err(format!("a role called {name} already exists"));
    }
    let parent = find_role(conn, parent)?;
    let parent_path: String = conn
        .query_row(
            "SELECT parentrole FROM roles WHERE roleid = ?1",
            [&parent],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let profile_ids = profiles
        .iter()
        .map(|p| find_profile(conn, p))
        .collect::<Result<Vec<_>, _>>()?;
    let next: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(CAST(substr(roleid, 2) AS INTEGER)), 0) + 1 FROM roles",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let id = format!("H{next}");
    conn.execute(
        "INSERT INTO roles (roleid, rolename, parentrole) VALUES (?1, ?2, ?3)",
        params![id, name, format!("{parent_path}::{id}")],
    )
    .map_err(|e| e.to_string())?;
    for p in profile_ids {
        conn.execute(
            "INSERT OR IGNORE INTO role_profiles (roleid, profileid) VALUES (?1, ?2)",
            params![id, p],
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(id)
}

/// Removes a role no user holds and no role sits under.
pub fn remove_role(conn: &Connection, registry: &Registry, name: &str) -> Result<(), String> {
    let id = find_role(conn, name)?;
    let users: i64 = conn
        .query_row(
            &format!(
                "SELECT COUNT(*) FROM {} WHERE roleid = ?1 AND _deleted = 0",
                users_table(registry)
            ),
            [&id],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if users > 0 {
        return Err(format!(
            "{users} user(s) hold role {name}; give them another role first"
        ));
    }
    let children: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM roles WHERE parentrole LIKE (SELECT parentrole FROM roles WHERE roleid = ?1) || '::%'",
            [&id],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if children > 0 {
        return Err(format!("role {name} has roles under it; remove them first"));
    }
    for sql in [
        "DELETE FROM role_profiles WHERE roleid = ?1",
        "DELETE FROM group_roles WHERE roleid = ?1",
        "DELETE FROM roles WHERE roleid = ?1",
    ] {
        conn.execute(sql, [&id]).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Gives user `user_name` role `role`.
pub fn set_user_role(
    conn: &Connection,
    registry: &Registry,
    user_name: &str,
    role: &str,
) -> Result<(), String> {
    let role = find_role(conn, role)?;
    let n = conn
        .execute(
            &format!(
                "UPDATE {} SET roleid = ?1 WHERE user_name = ?2 AND _deleted = 0",
                users_table(registry)
            ),
            params![role, user_name],
        )
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err(format!("no user called {user_name}"));
    }
    Ok(())
}

/// One profile, for `stripes profiles list`.
#[derive(Debug, Clone)]
pub struct ProfileSummary {
    /// Its name.
    pub name: String,
    /// View all / edit all.
    pub view_all: bool,
    /// Edit all.
    pub edit_all: bool,
    /// Rights of modules it does not list.
    pub defaults: ModuleRights,
    /// Modules it lists, with their rights.
    pub modules: Vec<(String, ModuleRights)>,
    /// Fields it restricts: (module, field, hidden?, read-only?).
    pub fields: Vec<(String, String, bool, bool)>,
}

/// Every profile with its settings.
pub fn list_profiles(conn: &Connection) -> rusqlite::Result<Vec<ProfileSummary>> {
    let mut stmt = conn.prepare(
        "SELECT profileid, profilename, view_all, edit_all, can_view, can_create, can_edit, can_delete
           FROM profiles ORDER BY profileid",
    )?;
    let rows: Vec<(i64, ProfileSummary)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                ProfileSummary {
                    name: r.get(1)?,
                    view_all: r.get(2)?,
                    edit_all: r.get(3)?,
                    defaults: rights_at(r, 4)?,
                    modules: Vec::new(),
                    fields: Vec::new(),
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (id, mut p) in rows {
        let mut stmt = conn.prepare(
            "SELECT module, can_view, can_create, can_edit, can_delete FROM profile_modules
              WHERE profileid = ?1 ORDER BY module",
        )?;
        p.modules = stmt
            .query_map([id], |r| Ok((r.get(0)?, rights_at(r, 1)?)))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT module, field, visible, read_only FROM profile_fields
              WHERE profileid = ?1 ORDER BY module, field",
        )?;
        p.fields = stmt
            .query_map([id], |r| {
                Ok((r.get(0)?, r.get(1)?, !r.get::<_, bool>(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        out.push(p);
    }
    Ok(out)
}

/// Sets what `profile` allows in `module`.
pub fn set_profile_module(
    conn: &Connection,
    profile: &str,
    module: &str,
    rights: ModuleRights,
) -> Result<(), String> {
    let id = find_profile(conn, profile)?;
    conn.execute(
        "INSERT INTO profile_modules (profileid, module, can_view, can_create, can_edit, can_delete)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (profileid, module) DO UPDATE SET can_view = excluded.can_view,
           can_create = excluded.can_create, can_edit = excluded.can_edit, can_delete = excluded.can_delete",
        params![id, module, rights.view, rights.create, rights.edit, rights.delete],
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// The rights `profile` gives in `module` now.
pub fn profile_module(
    conn: &Connection,
    profile: &str,
    module: &str,
) -> Result<ModuleRights, String> {
    let id = find_profile(conn, profile)?;
    conn.query_row(
        "SELECT COALESCE(m.can_view, p.can_view), COALESCE(m.can_create, p.can_create),
                COALESCE(m.can_edit, p.can_edit), COALESCE(m.can_delete, p.can_delete)
           FROM profiles p LEFT JOIN profile_modules m ON m.profileid = p.profileid AND m.module = ?2
          WHERE p.profileid = ?1",
        params![id, module],
        |r| rights_at(r, 0),
    )
    .map_err(|e| e.to_string())
}

/// Sets how `profile` shows a field.
pub fn set_profile_field(
    conn: &Connection,
    profile: &str,
    module: &str,
    field: &str,
    access: FieldAccess,
) -> Result<(), String> {
    let id = find_profile(conn, profile)?;
    let result = match access {
        FieldAccess::Writable => conn.execute(
            "DELETE FROM profile_fields WHERE profileid = ?1 AND module = ?2 AND field = ?3",
            params![id, module, field],
        ),
        _ => conn.execute(
            "INSERT INTO profile_fields (profileid, module, field, visible, read_only) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (profileid, module, field) DO UPDATE SET visible = excluded.visible, read_only = excluded.read_only",
            params![
                id,
                module,
                field,
                access != FieldAccess::Hidden,
                access == FieldAccess::ReadOnly
            ],
        ),
    };
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// One group, for `stripes groups list`.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    /// Its owner id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Users named as members.
    pub users: Vec<String>,
    /// Roles whose users are members.
    pub roles: Vec<String>,
    /// Roles whose users and subordinates' users are members.
    pub roles_and_subordinates: Vec<String>,
}

/// Every group with its members.
pub fn list_groups(conn: &Connection, registry: &Registry) -> rusqlite::Result<Vec<GroupSummary>> {
    let groups = table(
        registry
            .module(GROUPS)
            .expect("the registry always has Groups"),
    );
    let mut stmt = conn.prepare(&format!(
        "SELECT _id, COALESCE(groupname, '') FROM {groups} ORDER BY _id"
    ))?;
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (id, name) in rows {
        let strings = |sql: &str| -> rusqlite::Result<Vec<String>> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            rows.collect()
        };
        out.push(GroupSummary {
            id,
            name,
            users: strings(&format!(
                "SELECT u.user_name FROM group_members g JOIN {} u ON u._id = g.user_id
                  WHERE g.group_id = ?1 ORDER BY u.user_name",
                users_table(registry)
            ))?,
            roles: strings(
                "SELECT r.rolename FROM group_roles g JOIN roles r ON r.roleid = g.roleid
                  WHERE g.group_id = ?1 AND g.subordinates = 0 ORDER BY r.parentrole",
            )?,
            roles_and_subordinates: strings(
                "SELECT r.rolename FROM group_roles g JOIN roles r ON r.roleid = g.roleid
                  WHERE g.group_id = ?1 AND g.subordinates = 1 ORDER BY r.parentrole",
            )?,
        });
    }
    Ok(out)
}

/// The id of the group called `name`.
pub fn find_group(conn: &Connection, registry: &Registry, name: &str) -> Result<i64, String> {
    let groups = table(
        registry
            .module(GROUPS)
            .expect("the registry always has Groups"),
    );
    conn.query_row(
        &format!("SELECT _id FROM {groups} WHERE groupname = ?1"),
        [name],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| e.to_string())?
    .ok_or_else(|| format!("no group called {name}"))
}

/// A group member as the CLI names it.
#[derive(Debug, Clone)]
pub enum Member {
    /// A user, by login name.
    User(String),
    /// The users of a role.
    Role(String),
    /// The users of a role and of every role under it.
    RoleAndSubordinates(String),
}

/// Adds (`add`) or removes a member of group `group`.
pub fn change_member(
    conn: &Connection,
    registry: &Registry,
    group: &str,
    member: &Member,
    add: bool,
) -> Result<(), String> {
    let group = find_group(conn, registry, group)?;
    let (sql_add, sql_remove, key): (&str, &str, rusqlite::types::Value) = match member {
        Member::User(name) => {
            let user = super::users::find_by_name(conn, registry, name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user called {name}"))?;
            (
                "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
                "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
                user.id.into(),
            )
        }
        Member::Role(role) => (
            "INSERT OR IGNORE INTO group_roles (group_id, roleid, subordinates) VALUES (?1, ?2, 0)",
            "DELETE FROM group_roles WHERE group_id = ?1 AND roleid = ?2 AND subordinates = 0",
            find_role(conn, role)?.into(),
        ),
        Member::RoleAndSubordinates(role) => (
            "INSERT OR IGNORE INTO group_roles (group_id, roleid, subordinates) VALUES (?1, ?2, 1)",
            "DELETE FROM group_roles WHERE group_id = ?1 AND roleid = ?2 AND subordinates = 1",
            find_role(conn, role)?.into(),
        ),
    };
    conn.execute(if add { sql_add } else { sql_remove }, params![group, key])
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Forgets a deleted group's members and gives its records to `heir` (the
/// admin deleting it), so that no record is left with an owner nobody can
/// reach; sync feeds hear of each.
pub fn retire_group(
    conn: &Connection,
    group: i64,
    heir: i64,
    (now, now_text): (i64, &str),
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM group_members WHERE group_id = ?1", [group])?;
    conn.execute("DELETE FROM group_roles WHERE group_id = ?1", [group])?;
    super::records::reassign_all(conn, group, heir, heir, now, now_text)
}
