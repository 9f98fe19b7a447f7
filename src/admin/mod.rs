//! The administration commands (`stripes users|roles|groups|profiles|
//! sharing|tokens|oauth …`): parsed by the `stripes` binary, run on the
//! database directly or, while a server holds it, by that server (see
//! [`remote`]).
pub mod remote;

use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::auth::access::{FieldAccess, Scopes, Sharing};
use crate::registry::Registry;
use crate::store::{self, access};

/// A line of a command's report: writing to a `String` cannot fail.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// The administration commands. Serialisable: a server holding the
/// database runs them for the `stripes` command (see [`remote`]).
#[derive(Subcommand, Serialize, Deserialize)]
pub enum Command {
    /// Manage users and their access keys; works while the server runs.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The role tree (a user acts on the records of users in roles below).
    Roles {
        #[command(subcommand)]
        command: RolesCommand,
    },
    /// Groups and their members (users, roles, roles with subordinates).
    Groups {
        #[command(subcommand)]
        command: GroupsCommand,
    },
    /// Profiles: what a role's users may do per module and see per field.
    Profiles {
        #[command(subcommand)]
        command: ProfilesCommand,
    },
    /// Organisation-wide sharing per module.
    Sharing {
        #[command(subcommand)]
        command: SharingCommand,
    },
    /// API tokens: credentials for scripts, sent instead of a session.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// OAuth2 clients allowed to use POST /oauth/token.
    Oauth {
        #[command(subcommand)]
        command: OauthCommand,
    },
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum TokensCommand {
    /// Make a token for a user and print it (shown only now).
    Create {
        /// The user it acts as (login name).
        user: String,
        /// A name to recognise it by in the list.
        #[arg(long, default_value = "")]
        label: String,
        /// How long it works: e.g. 90d, 12h, 30m, 3600s (default: until revoked).
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<i64>,
        /// Allow reading only.
        #[arg(long)]
        read_only: bool,
        /// Reach only this module (repeat for several; default: all).
        #[arg(long = "module")]
        modules: Vec<String>,
    },
    /// List tokens (never the tokens themselves).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its id (from the list).
    Revoke {
        /// The token's id.
        id: i64,
    },
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum OauthCommand {
    /// Register a client and print its id and secret (shown only now).
    AddClient {
        /// A name for it.
        name: String,
        /// The scopes it may ask for: read, write, delete (comma-separated).
        #[arg(long, default_value = "read,write,delete")]
        scopes: String,
    },
    /// List clients.
    ListClients,
    /// Remove a client and revoke every token issued to it.
    RemoveClient {
        /// The client id.
        client_id: String,
    },
}

/// `90d`, `12h`, `30m`, `45s` or plain seconds, in seconds.
fn parse_duration(text: &str) -> Result<i64, String> {
    let (digits, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{text}: expected a number and s, m, h or d"))?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text}: the unit must be s, m, h or d")),
    };
    n.checked_mul(unit)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text}: must be positive"))
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum RolesCommand {
    /// List roles in tree order with their profiles.
    List,
    /// Add a role under another.
    Add {
        /// Its name.
        name: String,
        /// The role above it (name or id, e.g. "Sales Manager" or H4).
        #[arg(long)]
        parent: String,
        /// Profiles its users get (repeat for several).
        #[arg(long = "profile", default_value = "Sales Profile")]
        profiles: Vec<String>,
    },
    /// Remove a role no user holds and no role sits under.
    Remove {
        /// Name or id.
        name: String,
    },
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum GroupsCommand {
    /// List groups with their members.
    List,
    /// Add a group.
    Add {
        /// Its name.
        name: String,
        /// Its description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Add a member: --user NAME, --role ROLE or --role-and-subordinates ROLE.
    AddMember(MemberArgs),
    /// Remove a member given as for add-member.
    RemoveMember(MemberArgs),
}

#[derive(clap::Args, Serialize, Deserialize)]
#[command(group(clap::ArgGroup::new("member").required(true).args(["user", "role", "role_and_subordinates"])))]
pub struct MemberArgs {
    /// The group's name.
    group: String,
    /// A user, by login name.
    #[arg(long)]
    user: Option<String>,
    /// Every user of a role.
    #[arg(long)]
    role: Option<String>,
    /// Every user of a role and of the roles below it.
    #[arg(long)]
    role_and_subordinates: Option<String>,
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum ProfilesCommand {
    /// List profiles with the modules and fields they restrict.
    List,
    /// Allow or deny module actions: e.g. `set "Sales Profile" Leads --delete no`.
    Set {
        /// Profile name.
        profile: String,
        /// Module name.
        module: String,
        /// May read records (and see the module in listtypes).
        #[arg(long)]
        view: Option<YesNo>,
        /// May create records.
        #[arg(long)]
        create: Option<YesNo>,
        /// May change records.
        #[arg(long)]
        edit: Option<YesNo>,
        /// May delete records.
        #[arg(long)]
        delete: Option<YesNo>,
    },
    /// Show a field, hide it or make it read-only for a profile.
    Field {
        /// Profile name.
        profile: String,
        /// Module name.
        module: String,
        /// Field name.
        field: String,
        /// hidden, read-only or visible.
        access: FieldSetting,
    },
}

#[derive(Clone, Copy, clap::ValueEnum, Serialize, Deserialize)]
pub enum YesNo {
    Yes,
    No,
}

#[derive(Clone, Copy, clap::ValueEnum, Serialize, Deserialize)]
pub enum FieldSetting {
    Hidden,
    ReadOnly,
    Visible,
}

#[derive(Subcommand, Serialize, Deserialize)]
pub enum SharingCommand {
    /// Each module's sharing (modules not listed: Public Read/Write/Delete).
    List,
    /// Set a module's sharing: Private, "Public Read Only",
    /// "Public Read/Write" or "Public Read/Write/Delete".
    Set {
        /// Module name.
        module: String,
        /// The level.
        level: String,
    },
}
#[derive(Subcommand, Serialize, Deserialize)]
pub enum UsersCommand {
    /// Create a user and print its access key.
    Add {
        /// Login name.
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Primary email.
        #[arg(long)]
        email: Option<String>,
        /// First name.
        #[arg(long)]
        first_name: Option<String>,
        /// Last name (defaults to the login name).
        #[arg(long)]
        last_name: Option<String>,
        /// Role (name or id; default: CEO for admins, Sales Person otherwise).
        #[arg(long)]
        role: Option<String>,
    },
    /// List users.
    List,
    /// Give a user another role.
    SetRole {
        /// Login name.
        name: String,
        /// Role name or id.
        role: String,
    },
    /// Stop a user from logging in and end their sessions.
    Deactivate {
        /// Login name.
        name: String,
    },
    /// Let a deactivated user log in again.
    Activate {
        /// Login name.
        name: String,
    },
    /// Give a user a new access key and print it.
    RotateKey {
        /// Login name.
        name: String,
    },
}

fn users(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: UsersCommand,
    out: &mut String,
) -> Result<(), String> {
    match command {
        UsersCommand::Add {
            name,
            admin,
            email,
            first_name,
            last_name,
            role,
        } => {
            let key = store::users::generate_access_key();
            let role = match role {
                Some(r) => Some(access::find_role(conn, &r)?),
                None => None,
            };
            let new = store::users::NewUser {
                user_name: name,
                is_admin: admin,
                email,
                first_name,
                last_name,
                role,
            };
            let id = store::users::add_user(conn, registry, &new, &key)?;
            say!(
                out,
                "created user {} (19x{id}); access key: {key}",
                new.user_name
            );
        }
        UsersCommand::List => {
            for u in store::users::list_users(conn, registry).map_err(|e| e.to_string())? {
                let role = if u.is_admin { "admin" } else { "user" };
                say!(
                    out,
                    "{}\t{}\t{role}\t{}\t{}\t{}",
                    u.ws_id,
                    u.user_name,
                    u.status,
                    u.email,
                    u.role
                );
            }
        }
        UsersCommand::RotateKey { name } => {
            let key = store::users::generate_access_key();
            if !store::users::set_access_key(conn, registry, &name, &key)
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no user called {name}"));
            }
            say!(out, "new access key for {name}: {key}");
        }
        UsersCommand::SetRole { name, role } => {
            access::set_user_role(conn, registry, &name, &role)?;
            say!(out, "{name} now has role {role}");
        }
        UsersCommand::Deactivate { name } => {
            set_status(conn, registry, &name, "Inactive")?;
            say!(out, "{name} is inactive; their sessions are ended");
        }
        UsersCommand::Activate { name } => {
            set_status(conn, registry, &name, "Active")?;
            say!(out, "{name} is active");
        }
    }
    Ok(())
}

/// Runs an administration command on an open database, its report
/// appended to `out` (what it wrote stays there when it fails).
pub fn administer(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: Command,
    out: &mut String,
) -> Result<(), String> {
    match command {
        Command::Users { command } => users(conn, registry, command, out),
        Command::Roles { command } => roles(conn, registry, command, out),
        Command::Groups { command } => groups(conn, registry, command, out),
        Command::Profiles { command } => profiles(conn, registry, command, out),
        Command::Sharing { command } => sharing(conn, registry, command, out),
        Command::Tokens { command } => api_tokens(conn, registry, command, out),
        Command::Oauth { command } => oauth(conn, command, out),
    }
}

/// Sets a user's status; an inactive user's sessions end at once.
fn set_status(
    conn: &rusqlite::Connection,
    registry: &Registry,
    name: &str,
    status: &str,
) -> Result<(), String> {
    let user = store::users::find_by_name(conn, registry, name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user called {name}"))?;
    store::users::set_status(conn, registry, name, status).map_err(|e| e.to_string())?;
    if status != "Active" {
        store::auth_tables::delete_user_sessions(conn, user.id).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn roles(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: RolesCommand,
    out: &mut String,
) -> Result<(), String> {
    match command {
        RolesCommand::List => {
            for r in access::list_roles(conn).map_err(|e| e.to_string())? {
                let depth = r.path.matches("::").count();
                say!(
                    out,
                    "{}{}\t{}\t{}",
                    "  ".repeat(depth),
                    r.id,
                    r.name,
                    r.profiles.join(", ")
                );
            }
        }
        RolesCommand::Add {
            name,
            parent,
            profiles,
        } => {
            let id = access::add_role(conn, &name, &parent, &profiles)?;
            say!(out, "created role {name} ({id})");
        }
        RolesCommand::Remove { name } => {
            access::remove_role(conn, registry, &name)?;
            say!(out, "removed role {name}");
        }
    }
    Ok(())
}

fn groups(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: GroupsCommand,
    out: &mut String,
) -> Result<(), String> {
    let member = |m: MemberArgs| -> (String, access::Member) {
        let member = match (m.user, m.role, m.role_and_subordinates) {
            (Some(u), _, _) => access::Member::User(u),
            (_, Some(r), _) => access::Member::Role(r),
            (_, _, Some(r)) => access::Member::RoleAndSubordinates(r),
            // clap requires exactly one of the three.
            _ => unreachable!("clap requires a member"),
        };
        (m.group, member)
    };
    match command {
        GroupsCommand::List => {
            for g in access::list_groups(conn, registry).map_err(|e| e.to_string())? {
                say!(
                    out,
                    "20x{}\t{}\tusers: {}\troles: {}\troles and subordinates: {}",
                    g.id,
                    g.name,
                    g.users.join(", "),
                    g.roles.join(", "),
                    g.roles_and_subordinates.join(", ")
                );
            }
        }
        GroupsCommand::Add { name, description } => {
            if access::find_group(conn, registry, &name).is_ok() {
                return Err(format!("a group called {name} already exists"));
            }
            let id = store::users::add_group(conn, registry, &name, &description)
                .map_err(|e| e.to_string())?;
            say!(out, "created group {name} (20x{id})");
        }
        GroupsCommand::AddMember(m) => {
            let (group, who) = member(m);
            access::change_member(conn, registry, &group, &who, true)?;
            say!(out, "added to {group}");
        }
        GroupsCommand::RemoveMember(m) => {
            let (group, who) = member(m);
            access::change_member(conn, registry, &group, &who, false)?;
            say!(out, "removed from {group}");
        }
    }
    Ok(())
}

fn profiles(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: ProfilesCommand,
    out: &mut String,
) -> Result<(), String> {
    let yes = |b: bool| if b { "yes" } else { "no" };
    match command {
        ProfilesCommand::List => {
            for p in access::list_profiles(conn).map_err(|e| e.to_string())? {
                let r = p.defaults;
                say!(
                    out,
                    "{}\tview all: {}\tedit all: {}\tview {} create {} edit {} delete {}",
                    p.name,
                    yes(p.view_all),
                    yes(p.edit_all),
                    yes(r.view),
                    yes(r.create),
                    yes(r.edit),
                    yes(r.delete)
                );
                for (m, r) in p.modules {
                    say!(
                        out,
                        "  {m}\tview {} create {} edit {} delete {}",
                        yes(r.view),
                        yes(r.create),
                        yes(r.edit),
                        yes(r.delete)
                    );
                }
                for (m, f, hidden, read_only) in p.fields {
                    let how = if hidden {
                        "hidden"
                    } else if read_only {
                        "read-only"
                    } else {
                        "visible"
                    };
                    say!(out, "  {m}.{f}\t{how}");
                }
            }
        }
        ProfilesCommand::Set {
            profile,
            module,
            view,
            create,
            edit,
            delete,
        } => {
            let m = entity_module(registry, &module)?;
            let mut rights = access::profile_module(conn, &profile, &m.name)?;
            let set = |slot: &mut bool, v: Option<YesNo>| {
                if let Some(v) = v {
                    *slot = matches!(v, YesNo::Yes);
                }
            };
            set(&mut rights.view, view);
            set(&mut rights.create, create);
            set(&mut rights.edit, edit);
            set(&mut rights.delete, delete);
            access::set_profile_module(conn, &profile, &m.name, rights)?;
            say!(
                out,
                "{profile} in {}: view {} create {} edit {} delete {}",
                m.name,
                yes(rights.view),
                yes(rights.create),
                yes(rights.edit),
                yes(rights.delete)
            );
        }
        ProfilesCommand::Field {
            profile,
            module,
            field,
            access: setting,
        } => {
            let m = entity_module(registry, &module)?;
            let f = m
                .field(&field)
                .filter(|f| !f.is_id())
                .ok_or_else(|| format!("{} has no field {field}", m.name))?;
            let setting = match setting {
                FieldSetting::Hidden => FieldAccess::Hidden,
                FieldSetting::ReadOnly => FieldAccess::ReadOnly,
                FieldSetting::Visible => FieldAccess::Writable,
            };
            // vtiger's profile editor locks mandatory fields visible and
            // writable: a create could not be completed without them.
            if f.mandatory.is_true() && setting != FieldAccess::Writable {
                return Err(format!(
                    "{}.{field} is mandatory: it stays visible and writable",
                    m.name
                ));
            }
            access::set_profile_field(conn, &profile, &m.name, &field, setting)?;
            say!(out, "{profile}: {}.{field} is now {:?}", m.name, setting);
        }
    }
    Ok(())
}

/// The entity module of the shared sequence whose settings govern `name`
/// (profiles and sharing govern those; users and actors are admin-only).
/// Events are governed by Calendar's, as in vtiger.
fn entity_module<'r>(
    registry: &'r Registry,
    name: &str,
) -> Result<&'r crate::registry::ModuleDef, String> {
    let m = registry
        .module(name)
        .filter(|m| m.is_entity && !m.own_sequence)
        .ok_or_else(|| format!("{name} is not an entity module"))?;
    match &m.access_as {
        Some(governing) => entity_module(registry, governing),
        None => Ok(m),
    }
}

fn sharing(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: SharingCommand,
    out: &mut String,
) -> Result<(), String> {
    match command {
        SharingCommand::List => {
            for (module, level) in access::sharing_levels(conn).map_err(|e| e.to_string())? {
                say!(out, "{module}\t{}", level.name());
            }
        }
        SharingCommand::Set { module, level } => {
            let m = entity_module(registry, &module)?;
            let level = Sharing::parse(&level).ok_or_else(|| {
                format!("unknown sharing level {level}: use Private, \"Public Read Only\", \"Public Read/Write\" or \"Public Read/Write/Delete\"")
            })?;
            access::set_sharing(conn, &m.name, level).map_err(|e| e.to_string())?;
            say!(out, "{}: {}", m.name, level.name());
        }
    }
    Ok(())
}

fn api_tokens(
    conn: &rusqlite::Connection,
    registry: &Registry,
    command: TokensCommand,
    out: &mut String,
) -> Result<(), String> {
    let user_id = |name: &str| -> Result<i64, String> {
        store::users::find_by_name(conn, registry, name)
            .map_err(|e| e.to_string())?
            .map(|u| u.id)
            .ok_or_else(|| format!("no user called {name}"))
    };
    match command {
        TokensCommand::Create {
            user,
            label,
            expires_in,
            read_only,
            modules,
        } => {
            let mut names = Vec::new();
            for m in &modules {
                let module = registry
                    .module(m)
                    .ok_or_else(|| format!("{m} is not a module"))?;
                names.push(module.name.clone());
            }
            let now = crate::auth::now();
            let scopes = match read_only {
                true => Scopes::READ_ONLY,
                false => Scopes::ALL,
            };
            let new = store::tokens::NewToken {
                user_id: user_id(&user)?,
                kind: store::tokens::Kind::Api,
                label: &label,
                scopes,
                modules: (!names.is_empty()).then_some(names.as_slice()),
                client_id: None,
                expires_at: expires_in.map(|s| now + s),
            };
            let (id, token) = store::tokens::insert(conn, &new, now).map_err(|e| e.to_string())?;
            say!(out, "token {id} for {user}: {token}");
        }
        TokensCommand::List { user } => {
            let user = user.as_deref().map(user_id).transpose()?;
            for t in store::tokens::list(conn, registry, user).map_err(|e| e.to_string())? {
                let expires = t
                    .expires_at
                    .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
                    .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "never".into());
                let state = if t.revoked { "revoked" } else { "live" };
                let modules = if t.modules.is_empty() {
                    "all modules"
                } else {
                    &t.modules
                };
                say!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{modules}\texpires {expires}\t{state}",
                    t.id,
                    t.user_name,
                    t.kind,
                    t.label,
                    t.scopes
                );
            }
        }
        TokensCommand::Revoke { id } => {
            if !store::tokens::revoke(conn, id).map_err(|e| e.to_string())? {
                return Err(format!("no token {id}"));
            }
            say!(out, "token {id} revoked");
        }
    }
    Ok(())
}

fn oauth(
    conn: &rusqlite::Connection,
    command: OauthCommand,
    out: &mut String,
) -> Result<(), String> {
    match command {
        OauthCommand::AddClient { name, scopes } => {
            let scopes = Scopes::parse(&scopes)
                .filter(|s| s.read || s.write || s.delete)
                .ok_or_else(|| format!("{scopes}: scopes are read, write and delete"))?;
            let (id, secret) = store::tokens::add_client(conn, &name, scopes, crate::auth::now())
                .map_err(|e| e.to_string())?;
            say!(out, "client {name}: client_id {id} client_secret {secret}");
        }
        OauthCommand::ListClients => {
            for c in store::tokens::clients(conn).map_err(|e| e.to_string())? {
                say!(out, "{}\t{}\t{}", c.client_id, c.name, c.scopes.text());
            }
        }
        OauthCommand::RemoveClient { client_id } => {
            if !store::tokens::remove_client(conn, &client_id).map_err(|e| e.to_string())? {
                return Err(format!("no client {client_id}"));
            }
            say!(out, "client {client_id} removed; its tokens are revoked");
        }
    }
    Ok(())
}
