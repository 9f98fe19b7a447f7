//! Schema versions with `PRAGMA user_version`, applied in one transaction.
//! Module tables are not versioned here: `tables.rs` derives them from the
//! registry on every start.
use rusqlite::Connection;

/// The newest schema this binary knows.
pub const SCHEMA_VERSION: i64 = 14;

/// Brings the database to [`SCHEMA_VERSION`]. Returns whether it was new.
/// A database written by a newer binary is refused, never "repaired".
pub fn migrate(conn: &mut Connection) -> Result<bool, String> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "it was written by a newer Stripes (schema version {version}; this binary knows up to {SCHEMA_VERSION}); upgrade Stripes to open it"
        ));
    }
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    if version < 1 {
        tx.execute_batch(V1).map_err(|e| e.to_string())?;
    }
    if version < 2 {
        tx.execute_batch(V2).map_err(|e| e.to_string())?;
    }
    if version < 3 {
        tx.execute_batch(V3).map_err(|e| e.to_string())?;
    }
    if version < 4 {
        tx.execute_batch(V4).map_err(|e| e.to_string())?;
    }
    if version < 5 {
        tx.execute_batch(V5).map_err(|e| e.to_string())?;
    }
    if version < 6 {
        tx.execute_batch(V6).map_err(|e| e.to_string())?;
    }
    if version < 7 {
        tx.execute_batch(V7).map_err(|e| e.to_string())?;
    }
    if version < 8 {
        tx.execute_batch(V8).map_err(|e| e.to_string())?;
        super::access::install_defaults(&tx)?;
    }
    if version < 9 {
        tx.execute_batch(V9).map_err(|e| e.to_string())?;
    }
    if version < 10 {
        tx.execute_batch(&v10()).map_err(|e| e.to_string())?;
    }
    if version < 11 {
        tx.execute_batch(&v11()).map_err(|e| e.to_string())?;
    }
    if version < 12 {
        tx.execute_batch(V12).map_err(|e| e.to_string())?;
    }
    if version < 13 {
        tx.execute_batch(V13).map_err(|e| e.to_string())?;
    }
    if version < 14 {
        tx.execute_batch(V14).map_err(|e| e.to_string())?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(version == 0)
}

/// Version 10: a rights version, counted up by triggers on every table a
/// non-admin caller's rights are worked out from, so that the server keeps
/// those rights between requests and knows when they went stale, whoever
/// wrote (this server, or the command line in another process). The users
/// table's triggers come with the module tables (`tables`).
fn v10() -> String {
    let mut sql = String::from(
        "CREATE TABLE rights_version (version INTEGER NOT NULL);
         INSERT INTO rights_version (version) VALUES (0);",
    );
    for table in super::access::RIGHTS_TABLES {
        for (event, name) in [("INSERT", "i"), ("UPDATE", "u"), ("DELETE", "d")] {
            sql.push_str(&super::access::rights_trigger(
                &format!("{table}_rights_{name}"),
                &format!("{event} ON {table}"),
            ));
        }
    }
    sql
}

/// Version 11: a session's end (or a change to it other than its
/// last-seen time) counts the rights version up too, so that the server can
/// keep sessions between requests (`users::SessionCache`) and know when one
/// went stale: by logout, expiry, a login's purge, or the command line
/// deactivating its user in another process. The last-seen time the server
/// keeps itself; counting it would throw away every kept right each time.
fn v11() -> String {
    use super::access::rights_trigger;
    rights_trigger("sessions_rights_d", "DELETE ON sessions")
        + &rights_trigger(
            "sessions_rights_u",
            "UPDATE OF token, user_id, created_at ON sessions",
        )
}

/// Version 12: a module's live records in id order, index alone (its
/// entries end with the crmid): `select * from Accounts limit 45000, 100;`
/// skips its 45,000 rows in the index instead of joining each to its
/// module row (`vtql::translate`). An update leaves it be (neither column
/// changes); a create adds one entry.
const V12: &str = "
CREATE INDEX crmentity_module_live ON crmentity (setype, deleted);
";

/// Version 13: what vtiger's sync window reads, as ranges. The window's
/// statements (`changes`) ask for `setype IN (…) AND modifiedtime > ?`,
/// which `crmentity_module_modified (setype, deleted, modifiedtime)` could
/// only serve by its `setype` (a sync reports deleted records too): each
/// page read every record of the module (2.0-3.2 s a page over all modules at
/// 1M records, BENCHMARKS.md). Its place takes one keyed by module and time,
/// with the owner in it for a user's window. And the change log's
/// `changed_at` never goes back in `seq` order (a clock set back would make
/// it), so that the first change after a time is found through
/// `changelog_time` instead of by reading the log from its start
/// (`changes::seq_before_time`); new entries keep it so (`records`,
/// `relations`). The new index is built before the old one goes (built
/// into the dropped index's free pages in the same transaction, it failed
/// with "database or disk is full" on the bench's 1M-record database; the
/// cause was the statement journal's spill, since mended: see
/// `store::SUB_JOURNAL_IN_MEMORY`).
const V13: &str = "
CREATE INDEX crmentity_module_changed ON crmentity (setype, modifiedtime, smownerid);
DROP INDEX crmentity_module_modified;
UPDATE changelog SET changed_at = r.latest
  FROM (SELECT seq, MAX(changed_at) OVER (ORDER BY seq) AS latest FROM changelog) AS r
  WHERE changelog.seq = r.seq AND changelog.changed_at < r.latest;
";

/// Version 14: `crmentity_label (setype, label)` goes. No statement reads
/// through it (a record's label is read with its row, never searched: VTQL
/// has no `label` field, and upsert's searches compare the module's own
/// columns), yet every create wrote an entry into it and every rename moved
/// one, at the place the name decides: 35 MB of the bench's 484 MB
/// database at 1M records, and ~7k of a create's ~270k instructions
/// (callgrind, BENCHMARKS.md). `IF EXISTS`: a database whose owner dropped
/// it by hand still opens.
const V14: &str = "
DROP INDEX IF EXISTS crmentity_label;
";

/// Version 1: the shared record table (vtiger's crmentity, one id sequence
/// for every entity module, never reused thanks to AUTOINCREMENT), the
/// change log that sync reads, sessions, challenges and auto-numbers.
const V1: &str = "
CREATE TABLE crmentity (
    crmid        INTEGER PRIMARY KEY AUTOINCREMENT,
    setype       TEXT    NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    smownerid    INTEGER NOT NULL DEFAULT 0,
    smcreatorid  INTEGER NOT NULL DEFAULT 0,
    modifiedby   INTEGER NOT NULL DEFAULT 0,
    createdtime  TEXT    NOT NULL,
    modifiedtime TEXT    NOT NULL,
    source       TEXT    NOT NULL DEFAULT '',
    label        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX crmentity_module_modified ON crmentity (setype, deleted, modifiedtime);
CREATE INDEX crmentity_owner_modified ON crmentity (smownerid, modifiedtime);
CREATE INDEX crmentity_label ON crmentity (setype, label);

CREATE TABLE changelog (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    crmid      INTEGER NOT NULL,
    setype     TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    owner      INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX changelog_record ON changelog (crmid);

CREATE TABLE auto_numbers (
    module TEXT PRIMARY KEY,
    next   INTEGER NOT NULL
);

CREATE TABLE sessions (
    token      TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE challenges (
    user_id     INTEGER PRIMARY KEY,
    token       TEXT    NOT NULL,
    expire_time INTEGER NOT NULL
);
";

/// Version 2: indexes VTQL filters use. Queries drive from the module
/// table, so the setype-led index cannot serve `modifiedtime`; an owner
/// index keyed by owner alone keeps each owner's records in id order, so an
/// owner's page is read in order and stops at its LIMIT.
const V2: &str = "
CREATE INDEX crmentity_modified ON crmentity (modifiedtime);
DROP INDEX crmentity_owner_modified;
CREATE INDEX crmentity_owner ON crmentity (smownerid);
";

/// Version 3: what sync reads. The change log by owner in commit order (a
/// user's feed) and by time (where a vtiger-style window ends), and group
/// membership (a `userandgroup` feed covers the user's groups).
const V3: &str = "
CREATE INDEX changelog_owner_seq ON changelog (owner, seq);
CREATE INDEX changelog_time ON changelog (changed_at);
CREATE TABLE group_members (
    group_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
";

/// Version 4: links between records that no reference field holds
/// (vtiger's crmentityrel): an account's products, a campaign's contacts.
const V4: &str = "
CREATE TABLE links (
    crmid     INTEGER NOT NULL,
    relcrmid  INTEGER NOT NULL,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (crmid, relcrmid)
);
CREATE INDEX links_related ON links (relcrmid);
";

/// Version 5: link changes in the change log, so the syncToken feed reports
/// them in commit order with the record changes (`relcrmid` is the other
/// record; NULL for a record's own change).
const V5: &str = "
ALTER TABLE changelog ADD COLUMN relcrmid INTEGER;
";

/// Version 6: uploaded files (a document's file, a contact's picture), kept
/// in the database itself so that one file holds everything.
const V6: &str = "
CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    crmid      INTEGER NOT NULL,
    field      TEXT    NOT NULL,
    filename   TEXT    NOT NULL,
    filetype   TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_record ON attachments (crmid);
";

/// Version 7: several live challenge tokens a user, so that clients sharing
/// a user can log in at the same moment (tokens live five minutes; the old
/// table's are simply dropped), and sessions kept by the md5 of their name
/// (sessions stored by name are dropped: their clients log in again).
const V7: &str = "
DELETE FROM sessions;
DROP TABLE challenges;
CREATE TABLE challenges (
    user_id     INTEGER NOT NULL,
    token       TEXT    NOT NULL,
    expire_time INTEGER NOT NULL,
    PRIMARY KEY (user_id, token)
);
";

/// Version 9: what integrations need beyond vtiger (issue 11): API and
/// OAuth2 tokens (stored by their md5, as sessions are), OAuth2 clients,
/// external ids of records, and the answers kept for idempotent retries.
const V9: &str = "
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    label      TEXT    NOT NULL DEFAULT '',
    scopes     TEXT    NOT NULL,
    modules    TEXT    NOT NULL DEFAULT '',
    client_id  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE TABLE oauth_clients (
    client_id   TEXT    PRIMARY KEY,
    secret_hash TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    scopes      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE external_ids (
    setype      TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    crmid       INTEGER NOT NULL,
    PRIMARY KEY (setype, system, external_id)
);
CREATE INDEX external_ids_record ON external_ids (crmid);
CREATE TABLE idempotency (
    user_id      INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    answer       TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
";

/// Version 8: access control (vtiger's role tree, profiles, group members
/// by role, organisation-wide sharing), filled with vtiger's defaults from
/// `fixtures/seed/access.json`. Booleans are 0/1.
const V8: &str = "
CREATE TABLE roles (
    roleid     TEXT PRIMARY KEY,
    rolename   TEXT NOT NULL UNIQUE,
    parentrole TEXT NOT NULL UNIQUE
);
CREATE TABLE profiles (
    profileid   INTEGER PRIMARY KEY,
    profilename TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    view_all    INTEGER NOT NULL DEFAULT 0,
    edit_all    INTEGER NOT NULL DEFAULT 0,
    can_view    INTEGER NOT NULL DEFAULT 1,
    can_create  INTEGER NOT NULL DEFAULT 1,
    can_edit    INTEGER NOT NULL DEFAULT 1,
    can_delete  INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE role_profiles (
    roleid    TEXT    NOT NULL,
    profileid INTEGER NOT NULL,
    PRIMARY KEY (roleid, profileid)
);
CREATE TABLE profile_modules (
    profileid  INTEGER NOT NULL,
    module     TEXT    NOT NULL,
    can_view   INTEGER NOT NULL,
    can_create INTEGER NOT NULL,
    can_edit   INTEGER NOT NULL,
    can_delete INTEGER NOT NULL,
    PRIMARY KEY (profileid, module)
);
CREATE TABLE profile_fields (
    profileid INTEGER NOT NULL,
    module    TEXT    NOT NULL,
    field     TEXT    NOT NULL,
    visible   INTEGER NOT NULL,
    read_only INTEGER NOT NULL,
    PRIMARY KEY (profileid, module, field)
);
CREATE TABLE group_roles (
    group_id     INTEGER NOT NULL,
    roleid       TEXT    NOT NULL,
    subordinates INTEGER NOT NULL,
    PRIMARY KEY (group_id, roleid, subordinates)
);
CREATE TABLE sharing (
    module TEXT PRIMARY KEY,
    access TEXT NOT NULL
);
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_binary_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.contains("newer Stripes"), "{err}");
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert!(migrate(&mut conn).unwrap());
        assert!(!migrate(&mut conn).unwrap());
    }

    #[test]
    fn a_version_10_database_counts_session_ends_but_not_last_seen_times() {
        let mut conn = Connection::open_in_memory().unwrap();
        for v in [V1, V2, V3, V4, V5, V6, V7, V8, V9] {
            conn.execute_batch(v).unwrap();
        }
        conn.execute_batch(&v10()).unwrap();
        conn.pragma_update(None, "user_version", 10).unwrap();
        assert!(!migrate(&mut conn).unwrap());
        let version = |c: &Connection| -> i64 {
            c.query_row("SELECT version FROM rights_version", [], |r| r.get(0))
                .unwrap()
        };
        conn.execute(
            "INSERT INTO sessions (token, user_id, created_at, last_seen) VALUES ('t', 1, 0, 0)",
            [],
        )
        .unwrap();
        let before = version(&conn);
        conn.execute("UPDATE sessions SET last_seen = 5", [])
            .unwrap();
        assert_eq!(
            version(&conn),
            before,
            "a last-seen time is the server's own"
        );
        conn.execute("UPDATE sessions SET created_at = 1", [])
            .unwrap();
        assert_eq!(version(&conn), before + 1);
        conn.execute("DELETE FROM sessions", []).unwrap();
        assert_eq!(version(&conn), before + 2);
    }

    #[test]
    fn a_version_1_database_gains_the_query_and_paging_indexes_and_loses_unused_ones() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        assert!(!migrate(&mut conn).unwrap());
        let indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'crmentity'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let has = |name: &str| indexes.iter().any(|i| i == name);
        for name in [
            "crmentity_owner",
            "crmentity_modified",
            "crmentity_module_live",
            "crmentity_module_changed",
        ] {
            assert!(has(name), "{name}: {indexes:?}");
        }
        for gone in [
            "crmentity_owner_modified",
            "crmentity_module_modified",
            "crmentity_label",
        ] {
            assert!(!has(gone), "{gone}: {indexes:?}");
        }
    }

    #[test]
    fn a_version_12_change_log_never_goes_back_in_time_after_migrating() {
        let mut conn = Connection::open_in_memory().unwrap();
        for v in [V1, V2, V3, V4, V5, V6, V7, V8, V9, &v10(), &v11(), V12] {
            conn.execute_batch(v).unwrap();
        }
        conn.pragma_update(None, "user_version", 12).unwrap();
        // A clock set back between the second and third change.
        for (crmid, at) in [(1, 100), (2, 200), (3, 150), (4, 160), (5, 300)] {
            conn.execute(
                "INSERT INTO changelog (crmid, setype, action, owner, changed_at)
                 VALUES (?1, 'Accounts', 'create', 1, ?2)",
                [crmid, at],
            )
            .unwrap();
        }
        assert!(!migrate(&mut conn).unwrap());
        let times: Vec<i64> = conn
            .prepare("SELECT changed_at FROM changelog ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(times, [100, 200, 200, 200, 300]);
    }

    #[test]
    fn a_version_7_database_gains_vtigers_default_roles_and_sharing() {
        let mut conn = Connection::open_in_memory().unwrap();
        for v in [V1, V2, V3, V4, V5, V6, V7] {
            conn.execute_batch(v).unwrap();
        }
        conn.pragma_update(None, "user_version", 7).unwrap();
        assert!(!migrate(&mut conn).unwrap());
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM roles"), 5);
        assert_eq!(count("SELECT COUNT(*) FROM profiles"), 4);
        assert_eq!(
            count("SELECT COUNT(*) FROM roles WHERE parentrole = 'H1::H2::H3::H4::H5'"),
            1
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM sharing WHERE module = 'Calendar' AND access = 'Private'"),
            1
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM group_members WHERE group_id = 3 AND user_id = 1"),
            1
        );
    }
}
