//! The permission service: what one caller may see and do, decided in one
//! place for every operation (spec §3.3, §4.3, §6.1, §8.3, §9). The rights
//! are loaded once a request by `store::access::rights_of`; the decisions
//! here are pure.
//!
//! vtiger's model, kept as data: a user's role gives profiles (module
//! actions, field visibility, "view all"/"edit all"), the role tree lets a
//! user act on records of users in subordinate roles, groups let members
//! act on the group's records, and each module's organisation-wide sharing
//! opens records to everyone else.
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::registry::{FieldDef, ModuleDef};
use crate::store::tables::{keying, Keying};

/// What one does to a module or a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read (vtiger's DetailView).
    View,
    /// Create (CreateView / Save).
    Create,
    /// Change (EditView).
    Edit,
    /// Delete.
    Delete,
}

/// The scopes a credential may carry (OAuth2's `scope`, an API token's
/// read-only flag): what kinds of action it allows at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    /// Read records and metadata.
    pub read: bool,
    /// Create and change records and links.
    pub write: bool,
    /// Delete records.
    pub delete: bool,
}

impl Scopes {
    /// Every scope.
    pub const ALL: Scopes = Scopes {
        read: true,
        write: true,
        delete: true,
    };
    /// Reading only.
    pub const READ_ONLY: Scopes = Scopes {
        read: true,
        write: false,
        delete: false,
    };

    /// Parses `read write delete` (space- or comma-separated); `None` for an
    /// unknown word.
    pub fn parse(text: &str) -> Option<Scopes> {
        let mut scopes = Scopes {
            read: false,
            write: false,
            delete: false,
        };
        for word in text.split([' ', ',']).filter(|w| !w.is_empty()) {
            match word {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                "delete" => scopes.delete = true,
                _ => return None,
            }
        }
        Some(scopes)
    }

    /// The canonical text: the scopes held, space-separated, in a fixed order.
    pub fn text(self) -> String {
        [
            (self.read, "read"),
            (self.write, "write"),
            (self.delete, "delete"),
        ]
        .iter()
        .filter(|(held, _)| *held)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Whether a scope named as in `schema/operations.json` is held.
    pub fn holds(self, scope: &str) -> bool {
        match scope {
            "read" => self.read,
            "write" => self.write,
            "delete" => self.delete,
            _ => false,
        }
    }

    /// Whether these scopes allow `action`.
    pub fn allow(self, action: Action) -> bool {
        match action {
            Action::View => self.read,
            Action::Create | Action::Edit => self.write,
            Action::Delete => self.delete,
        }
    }

    /// What both allow.
    pub fn intersect(self, other: Scopes) -> Scopes {
        Scopes {
            read: self.read && other.read,
            write: self.write && other.write,
            delete: self.delete && other.delete,
        }
    }
}

/// What a credential narrower than its user allows: an API token's scopes
/// and module allow-list, an OAuth2 token's scopes. It only ever takes away
/// from the user's own rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The kinds of action allowed.
    pub scopes: Scopes,
    /// The modules reachable; `None`: every module.
    pub modules: Option<HashSet<String>>,
}

impl Limit {
    /// Whether the credential reaches `module` (by its own name or, for
    /// Events, the module governing it).
    fn reaches(&self, module: &ModuleDef) -> bool {
        self.modules.as_ref().is_none_or(|allowed| {
            allowed.contains(&module.name)
                || module
                    .access_as
                    .as_ref()
                    .is_some_and(|m| allowed.contains(m))
        })
    }

    /// Whether the credential allows `action` on `module`.
    pub fn allows(&self, module: &ModuleDef, action: Action) -> bool {
        self.reaches(module) && self.scopes.allow(action)
    }
}

/// A profile's module actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModuleRights {
    /// May read.
    pub view: bool,
    /// May create.
    pub create: bool,
    /// May change.
    pub edit: bool,
    /// May delete.
    pub delete: bool,
}

impl ModuleRights {
    /// Every action.
    pub const ALL: ModuleRights = ModuleRights {
        view: true,
        create: true,
        edit: true,
        delete: true,
    };

    /// Whether `action` is allowed.
    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::View => self.view,
            Action::Create => self.create,
            Action::Edit => self.edit,
            Action::Delete => self.delete,
        }
    }

    /// What either allows (a user with several profiles has the union).
    pub fn union(self, other: ModuleRights) -> ModuleRights {
        ModuleRights {
            view: self.view || other.view,
            create: self.create || other.create,
            edit: self.edit || other.edit,
            delete: self.delete || other.delete,
        }
    }
}

/// A field as a profile shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldAccess {
    /// Absent from describe, retrieve, query and sync.
    Hidden,
    /// Shown, never written.
    ReadOnly,
    /// Shown and written.
    Writable,
}

/// Organisation-wide sharing of a module: what users get on records they
/// neither own nor reach through their role or groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Nothing.
    Private,
    /// Read.
    PublicReadOnly,
    /// Read and change.
    PublicReadWrite,
    /// Read, change and delete.
    PublicReadWriteDelete,
}

impl Sharing {
    /// Every level, in vtiger's order of openness.
    pub const ALL: [Sharing; 4] = [
        Sharing::Private,
        Sharing::PublicReadOnly,
        Sharing::PublicReadWrite,
        Sharing::PublicReadWriteDelete,
    ];

    /// vtiger's name, as the CLI and `fixtures/seed/access.json` write it.
    pub fn name(self) -> &'static str {
        match self {
            Sharing::Private => "Private",
            Sharing::PublicReadOnly => "Public Read Only",
            Sharing::PublicReadWrite => "Public Read/Write",
            Sharing::PublicReadWriteDelete => "Public Read/Write/Delete",
        }
    }

    /// Reads a name, ignoring case, blanks, `/`, `-` and `_`, so that
    /// `public-read-write` and `Public Read/Write` are one level.
    pub fn parse(text: &str) -> Option<Sharing> {
        let squash = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let wanted = squash(text);
        Sharing::ALL
            .into_iter()
            .find(|s| squash(s.name()) == wanted)
    }

    /// Whether the level opens `action` to everyone.
    fn opens(self, action: Action) -> bool {
        match action {
            Action::View => self != Sharing::Private,
            Action::Edit => matches!(
                self,
                Sharing::PublicReadWrite | Sharing::PublicReadWriteDelete
            ),
            Action::Delete => self == Sharing::PublicReadWriteDelete,
            Action::Create => false,
        }
    }
}

/// One caller's rights. Admins get [`Access::admin`], which allows all.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The caller's user id.
    pub user_id: i64,
    /// Administrator: every check passes.
    pub is_admin: bool,
    /// A profile's "view all": every record readable.
    pub view_all: bool,
    /// A profile's "edit all": every record writable and deletable.
    pub edit_all: bool,
    /// Module actions by module name, the union over the caller's profiles.
    pub modules: HashMap<String, ModuleRights>,
    /// Actions for modules a profile does not list.
    pub default_rights: ModuleRights,
    /// Field access by (module, field) where some profile restricts it.
    pub fields: HashMap<(String, String), FieldAccess>,
    /// Sharing by module; a module not listed is Public Read/Write/Delete.
    pub sharing: HashMap<String, Sharing>,
    /// Users in roles below the caller's.
    pub subordinates: HashSet<i64>,
    /// Groups the caller belongs to (directly or through a role).
    pub groups: HashSet<i64>,
    /// Users who share a group with the caller.
    pub group_mates: HashSet<i64>,
    /// The credential's narrowing, when the request came with an API or
    /// OAuth2 token instead of a session.
    pub limit: Option<Limit>,
}

impl Access {
    /// An administrator's rights: everything.
    pub fn admin(user_id: i64) -> Access {
        Access {
            user_id,
            is_admin: true,
            view_all: true,
            edit_all: true,
            default_rights: ModuleRights::ALL,
            ..Access::default()
        }
    }

    /// The module whose profile and sharing settings govern `module`:
    /// Events are Calendar's (vtiger's getTabName).
    fn governing(module: &ModuleDef) -> &str {
        module.access_as.as_deref().unwrap_or(&module.name)
    }

    /// Whether the credential (if narrower than the user) allows `action`
    /// on `module`.
    fn credential_allows(&self, module: &ModuleDef, action: Action) -> bool {
        self.limit.as_ref().is_none_or(|l| l.allows(module, action))
    }

    /// Module actions for `module`.
    pub fn module_rights(&self, module: &ModuleDef) -> ModuleRights {
        let rights = match self.is_admin {
            true => ModuleRights::ALL,
            false => self
                .modules
                .get(Self::governing(module))
                .copied()
                .unwrap_or(self.default_rights),
        };
        let allowed = |action| self.credential_allows(module, action);
        ModuleRights {
            view: rights.view && allowed(Action::View),
            create: rights.create && allowed(Action::Create),
            edit: rights.edit && allowed(Action::Edit),
            delete: rights.delete && allowed(Action::Delete),
        }
    }

    /// Whether `module` is in the caller's listtypes (§4.3): entity modules
    /// the profiles let them read; Users and actors for everyone (unless a
    /// credential's allow-list leaves them out).
    pub fn lists(&self, module: &ModuleDef) -> bool {
        if !self.credential_allows(module, Action::View) {
            return false;
        }
        self.is_admin || keying(module) != Keying::Shared || self.module_rights(module).view
    }

    /// Whether the caller may do `action` in `module` at all. Users and
    /// actors are written by admins only (§4.1).
    pub fn may(&self, module: &ModuleDef, action: Action) -> bool {
        if !self.credential_allows(module, action) {
            return false;
        }
        if self.is_admin {
            return true;
        }
        if keying(module) != Keying::Shared {
            return action == Action::View;
        }
        self.module_rights(module).allows(action)
    }

    /// The module's sharing level.
    pub fn sharing(&self, module: &ModuleDef) -> Sharing {
        self.sharing
            .get(Self::governing(module))
            .copied()
            .unwrap_or(Sharing::PublicReadWriteDelete)
    }

    /// Whether the caller reaches a record owned by `owner` through
    /// ownership, the role tree or a group.
    fn reaches(&self, owner: i64) -> bool {
        owner == self.user_id || self.subordinates.contains(&owner) || self.groups.contains(&owner)
    }

    /// Whether the caller may do `action` on a record of `module` owned by
    /// `owner` (vtiger's isPermitted for one record). The module-level
    /// permission is part of it.
    pub fn on_record(&self, module: &ModuleDef, owner: i64, action: Action) -> bool {
        if !self.credential_allows(module, action) {
            return false;
        }
        if self.is_admin {
            return true;
        }
        if !self.may(module, action) {
            return false;
        }
        let global = match action {
            Action::View => self.view_all || self.edit_all,
            _ => self.edit_all,
        };
        global || self.reaches(owner) || self.sharing(module).opens(action)
    }

    /// Owners whose records the caller may read in `module`; `None` when
    /// every record is readable. Queries filter rows with it in SQL.
    pub fn readable_owners(&self, module: &ModuleDef) -> Option<Vec<i64>> {
        if !self.credential_allows(module, Action::View) {
            return Some(Vec::new());
        }
        if self.is_admin
            || self.view_all
            || self.edit_all
            || keying(module) != Keying::Shared
            || self.sharing(module).opens(Action::View)
        {
            return None;
        }
        let mut owners: Vec<i64> = std::iter::once(self.user_id)
            .chain(self.subordinates.iter().copied())
            .chain(self.groups.iter().copied())
            .collect();
        owners.sort_unstable();
        owners.dedup();
        Some(owners)
    }

    /// Whether the caller may give a record of `module` to `owner` (vtiger's
    /// hasAssignPrivilege): admins anyone; others themselves, users of
    /// subordinate roles and users sharing a group; groups they belong to.
    /// In a module shared publicly for writing, any active user or group.
    pub fn may_assign(&self, module: &ModuleDef, owner: i64, is_group: bool) -> bool {
        if self.is_admin || self.edit_all || self.sharing(module).opens(Action::Edit) {
            return true;
        }
        if is_group {
            self.groups.contains(&owner)
        } else {
            owner == self.user_id
                || self.subordinates.contains(&owner)
                || self.group_mates.contains(&owner)
        }
    }

    /// How field `field` of `module` shows to the caller.
    pub fn field(&self, module: &ModuleDef, field: &FieldDef) -> FieldAccess {
        if self.is_admin {
            return FieldAccess::Writable;
        }
        self.fields
            .get(&(Self::governing(module).to_string(), field.name.clone()))
            .copied()
            .unwrap_or(FieldAccess::Writable)
    }

    /// Whether the caller sees field `name` of `module` (`id` always).
    pub fn sees(&self, module: &ModuleDef, name: &str) -> bool {
        if self.is_admin || self.fields.is_empty() {
            return true;
        }
        module
            .fields
            .iter()
            .find(|f| f.name == name)
            .is_none_or(|f| self.field(module, f) != FieldAccess::Hidden)
    }

    /// The fields of `module` the caller may not see: records on the wire
    /// leave them out.
    pub fn hidden_fields<'m>(&self, module: &'m ModuleDef) -> Vec<&'m FieldDef> {
        if self.is_admin || self.fields.is_empty() {
            return Vec::new();
        }
        module
            .fields
            .iter()
            .filter(|f| self.field(module, f) == FieldAccess::Hidden)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_names_parse_loosely_and_round_trip() {
        for s in Sharing::ALL {
            assert_eq!(Sharing::parse(s.name()), Some(s));
        }
        assert_eq!(
            Sharing::parse("public-read-write"),
            Some(Sharing::PublicReadWrite)
        );
        assert_eq!(Sharing::parse("private"), Some(Sharing::Private));
        assert_eq!(Sharing::parse("Public"), None);
    }

    #[test]
    fn each_sharing_level_opens_exactly_its_actions() {
        use Action::*;
        let opened = |s: Sharing| [View, Edit, Delete, Create].map(|a| s.opens(a));
        assert_eq!(opened(Sharing::Private), [false, false, false, false]);
        assert_eq!(opened(Sharing::PublicReadOnly), [true, false, false, false]);
        assert_eq!(opened(Sharing::PublicReadWrite), [true, true, false, false]);
        assert_eq!(
            opened(Sharing::PublicReadWriteDelete),
            [true, true, true, false]
        );
    }

    #[test]
    fn scopes_parse_either_separator_and_print_in_a_fixed_order() {
        assert_eq!(
            Scopes::parse("delete,read"),
            Some(Scopes {
                read: true,
                write: false,
                delete: true
            })
        );
        assert_eq!(
            Scopes::parse("write read").map(Scopes::text).as_deref(),
            Some("read write")
        );
        assert_eq!(Scopes::parse("admin"), None);
        assert_eq!(Scopes::READ_ONLY.intersect(Scopes::ALL), Scopes::READ_ONLY);
    }

    fn module(json: &str) -> ModuleDef {
        let m: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut base = serde_json::json!({
            "name": "Accounts", "idPrefix": 11, "isEntity": true, "label": "Accounts",
            "listLabel": "Accounts", "singular": "Account", "labelFields": [], "fields": []
        });
        for (k, v) in m.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn a_credential_limit_narrows_even_an_admin() {
        let accounts = module("{}");
        let events = module(r#"{"name": "Events", "idPrefix": 18, "accessAs": "Calendar"}"#);
        let mut access = Access::admin(1);
        access.limit = Some(Limit {
            scopes: Scopes::READ_ONLY,
            modules: Some(["Accounts".to_string(), "Calendar".to_string()].into()),
        });
        assert!(access.may(&accounts, Action::View));
        assert!(!access.may(&accounts, Action::Edit));
        assert!(!access.on_record(&accounts, 1, Action::Delete));
        assert!(access.lists(&events), "Events follow Calendar's entry");
        let contacts = module(r#"{"name": "Contacts", "idPrefix": 12}"#);
        assert!(!access.lists(&contacts));
        assert_eq!(access.readable_owners(&contacts), Some(Vec::new()));
        assert_eq!(
            access.module_rights(&accounts),
            ModuleRights {
                view: true,
                create: false,
                edit: false,
                delete: false
            }
        );
    }
}
