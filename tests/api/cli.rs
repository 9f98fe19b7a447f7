//! The `stripes` command line: a contract with the tools that start us.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::*;

fn stripes() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stripes"));
    c.env_remove("STRIPES_ADMIN_ACCESS_KEY")
        .env_remove("STRIPES_DB")
        .env_remove("STRIPES_LISTEN")
        .env("RUST_LOG", "info");
    c
}

fn run(c: &mut Command) -> String {
    let out = c.output().expect("stripes runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_documents_every_flag() {
    let serve = run(stripes().args(["serve", "--help"]));
    for flag in [
        "--listen",
        "--db",
        "--session-idle-secs",
        "--session-max-secs",
        "--schema-dir",
        "--workers",
        "--query-max-rows",
    ] {
        assert!(serve.contains(flag), "serve --help lacks {flag}:\n{serve}");
    }
    let users = run(stripes().args(["users", "--help"]));
    for cmd in ["add", "list", "rotate-key"] {
        assert!(users.contains(cmd), "{users}");
    }
}

/// Starts `stripes serve` and returns the child and the port it bound.
pub fn serve(
    db: &std::path::Path,
    env_key: Option<&str>,
) -> (std::process::Child, u16, Vec<String>) {
    let mut c = stripes();
    c.args(["serve", "--listen", "127.0.0.1:0", "--db"]).arg(db);
    start(c, env_key)
}

/// Runs `c`, waits for the port it logs, and keeps its log drained.
fn start(mut c: Command, env_key: Option<&str>) -> (std::process::Child, u16, Vec<String>) {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(k) = env_key {
        c.env("STRIPES_ADMIN_ACCESS_KEY", k);
    }
    let mut child = c.spawn().unwrap();
    let mut stdout_lines = Vec::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut port = 0;
    let mut log = Vec::new();
    for line in stderr.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line.split("port=").nth(1) {
            port = p.split_whitespace().next().unwrap().parse().unwrap();
            break;
        }
        log.push(line);
    }
    assert!(port > 0, "the server did not start: {log:#?}");
    // Keep draining the log, or the server blocks once the pipe is full.
    std::thread::spawn(move || stderr.for_each(drop));
    if env_key.is_none() {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        stdout_lines.push(line);
    }
    (child, port, stdout_lines)
}

fn terminate(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown on SIGTERM: {status}");
}

#[test]
fn a_new_database_prints_a_generated_admin_key_once_and_it_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (child, port, lines) = serve(&db, None);
    let key = lines[0]
        .split("access key is ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(key.len(), 16);
    let mut c = VtClient::on(port);
    c.login("admin", &key).expect("the printed key works");
    terminate(child);
    // A second start on the same database prints no key.
    let (child, port, _) = serve(&db, Some("ignored-on-an-existing-db"));
    VtClient::on(port)
        .login("admin", &key)
        .expect("the key is kept");
    terminate(child);
}

#[test]
fn users_add_list_and_rotate_key_work_on_the_database_of_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (child, port, _) = serve(&db, Some(ADMIN_KEY));
    let out = run(stripes()
        .args([
            "users",
            "add",
            "bob",
            "--email",
            "bob@example.com",
            "--first-name",
            "Bob",
            "--last-name",
            "Builder",
            "--db",
        ])
        .arg(&db));
    let key = out.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        out.starts_with("created user bob (19x5)"),
        "users and groups share one id sequence: {out}"
    );
    let mut bob = VtClient::on(port);
    let profile = bob.login("bob", &key).expect("bob logs in");
    assert_eq!(profile["is_admin"], "off");
    assert_eq!(profile["email"], "bob@example.com");
    assert_eq!(profile["last_name"], "Builder");
    let list = run(stripes().args(["users", "list", "--db"]).arg(&db));
    assert!(
        list.contains("19x1\tadmin\tadmin\tActive\tadmin@example.com"),
        "{list}"
    );
    assert!(
        list.contains("\tbob\tuser\tActive\tbob@example.com"),
        "{list}"
    );
    assert!(!list.contains(&key), "list never shows keys");
    let out = run(stripes()
        .args(["users", "rotate-key", "bob", "--db"])
        .arg(&db));
    let new_key = out.trim().rsplit(' ').next().unwrap().to_string();
    assert_ne!(new_key, key);
    assert!(
        VtClient::on(port).login("bob", &key).is_err(),
        "the old key no longer works"
    );
    VtClient::on(port)
        .login("bob", &new_key)
        .expect("the new key works");
    let dup = stripes()
        .args(["users", "add", "bob", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!dup.status.success());
    terminate(child);
}

#[test]
fn with_no_command_it_serves_and_honours_the_stripes_variables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let mut c = stripes();
    c.env("STRIPES_LISTEN", "127.0.0.1:0")
        .env("STRIPES_DB", &db);
    let (child, port, _) = start(c, Some(ADMIN_KEY));
    VtClient::on(port)
        .login("admin", ADMIN_KEY)
        .expect("serves on STRIPES_LISTEN");
    assert!(db.exists(), "uses STRIPES_DB");
    terminate(child);
}

#[test]
fn roles_groups_profiles_and_sharing_are_administered_beside_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (child, port, _) = serve(&db, Some(ADMIN_KEY));
    let cli = |args: &[&str]| run(stripes().args(args).arg("--db").arg(&db));
    let roles = cli(&["roles", "list"]);
    for line in [
        "H1\tOrganisation",
        "  H2\tCEO\tAdministrator",
        "        H5\tSales Person\tSales Profile",
    ] {
        assert!(roles.contains(line), "vtiger's default tree: {roles}");
    }
    assert!(cli(&["roles", "add", "Field Agent", "--parent", "Sales Manager"]).contains("(H6)"));
    let added = cli(&["users", "add", "fay", "--role", "Field Agent"]);
    let key = added.trim().rsplit(' ').next().unwrap().to_string();
    let fay_id = added
        .split('(')
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_string();
    let admin_added = cli(&["users", "add", "ann", "--role", "H5"]);
    let ann_key = admin_added.trim().rsplit(' ').next().unwrap().to_string();
    let mut fay = VtClient::on(port);
    fay.login("fay", &key).expect("fay logs in");
    let mut ann = VtClient::on(port);
    ann.login("ann", &ann_key).expect("ann logs in");
    let mut admin = VtClient::on(port);
    admin.login("admin", ADMIN_KEY).unwrap();
    let account = create_id(
        &admin,
        "Accounts",
        serde_json::json!({"accountname": "Agent's", "assigned_user_id": fay_id}),
    );
    // Accounts ship public: ann (another Sales Person branch) reads it.
    assert_eq!(
        ann.get("retrieve", &[("id", &account)]).json()["success"],
        true
    );
    cli(&["sharing", "set", "Accounts", "Private"]);
    assert!(cli(&["sharing", "list"]).contains("Accounts\tPrivate"));
    let r = ann.get("retrieve", &[("id", &account)]).json();
    assert_eq!(
        r["error"]["message"],
        "Permission to read given object is denied"
    );
    // A group with both as members: ann now reaches the group's records.
    cli(&["groups", "add", "Field Team"]);
    cli(&["groups", "add-member", "Field Team", "--user", "ann"]);
    cli(&[
        "groups",
        "add-member",
        "Field Team",
        "--role",
        "Field Agent",
    ]);
    let groups = cli(&["groups", "list"]);
    assert!(
        groups.contains("Field Team\tusers: ann\troles: Field Agent"),
        "{groups}"
    );
    let group_id = groups
        .lines()
        .find(|l| l.contains("Field Team"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_string();
    let revised = fay
        .post(
            "revise",
            &[(
                "element",
                &serde_json::json!({"id": account, "assigned_user_id": group_id}).to_string(),
            )],
        )
        .json();
    assert_eq!(
        revised["success"], true,
        "fay may give it to her group: {revised}"
    );
    assert_eq!(
        ann.get("retrieve", &[("id", &account)]).json()["success"],
        true
    );
    // Profiles: take Accounts away from sales people entirely.
    cli(&[
        "profiles",
        "set",
        "Sales Profile",
        "Accounts",
        "--view",
        "no",
    ]);
    let r = ann.get("describe", &[("elementType", "Accounts")]).json();
    assert_eq!(
        r["error"]["message"],
        "Permission to perform the operation is denied"
    );
    assert!(
        cli(&["profiles", "list"]).contains("  Accounts\tview no create yes edit yes delete yes")
    );
    let refused = stripes()
        .args([
            "profiles",
            "field",
            "Sales Profile",
            "Accounts",
            "accountname",
            "hidden",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "mandatory fields stay visible");
    // Deactivation ends fay's session at once.
    cli(&["users", "deactivate", "fay"]);
    assert_eq!(
        fay.get("listtypes", &[]).json()["error"]["code"],
        "INVALID_SESSIONID"
    );
    let mut again = VtClient::on(port);
    assert!(
        again.login("fay", &key).is_err(),
        "inactive users cannot log in"
    );
    cli(&["users", "activate", "fay"]);
    again.login("fay", &key).expect("active again");
    terminate(child);
}

#[test]
fn a_first_start_on_a_new_database_logs_no_error() {
    // The pool's connections used to race each other into WAL mode on a
    // new file, and the loser logged "ERROR r2d2: database is locked"
    // (about one start in ten; sixteen starts caught it in most runs).
    for _ in 0..16 {
        let dir = tempfile::tempdir().unwrap();
        let mut child = stripes()
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("new.db"))
            .env("STRIPES_ADMIN_ACCESS_KEY", "k")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut before_serving = Vec::new();
        for line in stderr.lines() {
            let line = line.unwrap();
            let serving = line.contains("port=");
            before_serving.push(line);
            if serving {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !before_serving.iter().any(|l| l.contains(" ERROR ")),
            "{before_serving:#?}"
        );
    }
}

#[test]
fn a_second_server_on_a_database_in_use_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (first, port, _) = serve(&db, Some(ADMIN_KEY));
    let second = stripes()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another process has it open"),
        "the refusal names the cause: {err}"
    );
    VtClient::on(port)
        .login("admin", ADMIN_KEY)
        .expect("the first server serves on");
    terminate(first);
}

#[test]
fn the_admin_socket_is_its_owners_alone_and_goes_away_with_the_server() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let socket = stripes::admin::remote::socket_path(&db);
    let (child, _, _) = serve(&db, Some(ADMIN_KEY));
    let meta = std::fs::symlink_metadata(&socket).expect("a socket beside the database");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    terminate(child);
    assert!(!socket.exists(), "a stopped server leaves no socket");
    let list = run(stripes().args(["users", "list", "--db"]).arg(&db));
    assert!(
        list.contains("\tadmin\t"),
        "with no server it opens the file: {list}"
    );
}

#[test]
fn a_socket_left_by_a_killed_server_is_replaced_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (mut killed, _, _) = serve(&db, Some(ADMIN_KEY));
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(stripes::admin::remote::socket_path(&db).exists());
    let list = run(stripes().args(["users", "list", "--db"]).arg(&db));
    assert!(
        list.contains("\tadmin\t"),
        "a dead socket is passed by: {list}"
    );
    let (child, port, _) = serve(&db, Some(ADMIN_KEY));
    let out = run(stripes().args(["users", "add", "carol", "--db"]).arg(&db));
    let key = out.trim().rsplit(' ').next().unwrap().to_string();
    VtClient::on(port)
        .login("carol", &key)
        .expect("the new server ran the command");
    terminate(child);
}

#[test]
fn a_server_answers_what_is_not_a_command_with_an_error() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (child, _, _) = serve(&db, Some(ADMIN_KEY));
    let mut stream =
        std::os::unix::net::UnixStream::connect(stripes::admin::remote::socket_path(&db)).unwrap();
    stream
        .write_all(br#"{"Users":{"command":"Explode"}}"#)
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["output"], "");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("not a command this server knows")),
        "{answer}"
    );
    let failed = stripes()
        .args(["users", "rotate-key", "nobody", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("no user called nobody"),
        "a failure the server reports is the command's"
    );
    terminate(child);
}

#[test]
fn a_server_whose_socket_was_removed_still_stops_and_serves_until_then() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (child, port, _) = serve(&db, Some(ADMIN_KEY));
    std::fs::remove_file(stripes::admin::remote::socket_path(&db)).unwrap();
    VtClient::on(port)
        .login("admin", ADMIN_KEY)
        .expect("serving goes on");
    terminate(child);
}

/// A database of schema version 11 (before `crmentity_module_live` and
/// `crmentity_module_changed`, with `crmentity_label`) holding `records`
/// Accounts.
fn version_11_database(db: &std::path::Path, records: u64) {
    let (child, _, _) = serve(db, Some(ADMIN_KEY));
    terminate(child);
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {records})
         INSERT INTO crmentity (setype, smownerid, smcreatorid, modifiedby, createdtime,
                                modifiedtime, source, label)
         SELECT 'Accounts', 1, 1, 1, '2026-01-01 00:00:00',
                printf('2026-01-01 %02d:%02d:%02d', i / 3600 % 24, i / 60 % 60, i % 60),
                'WEBSERVICE', 'Account ' || i FROM n;
         INSERT INTO \"m_Accounts\" (_id, accountname)
         SELECT crmid, label FROM crmentity WHERE setype = 'Accounts';
         DROP INDEX crmentity_module_live;
         DROP INDEX crmentity_module_changed;
         CREATE INDEX crmentity_module_modified ON crmentity (setype, deleted, modifiedtime);
         CREATE INDEX crmentity_label ON crmentity (setype, label);
         PRAGMA user_version = 11;
         COMMIT;"
    ))
    .unwrap();
}

#[test]
fn an_older_database_with_many_records_upgrades_on_start() {
    // The upgrade builds two indexes in one transaction, so SQLite keeps a
    // statement journal for the second, over 1 MiB here, and spills it to
    // a file past `configure_sqlite_library`'s threshold. With a threshold
    // over 128 KiB every spill failed "database or disk is full": SQLite
    // writes the in-memory journal out in one call, and its unix VFS
    // writes at most 128 KiB - 1 bytes a call. Only the real binary runs
    // `configure_sqlite_library`.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    version_11_database(&db, 100_000);
    let (child, port, _) = serve(&db, Some("ignored-on-an-existing-db"));
    let mut c = VtClient::on(port);
    c.login("admin", ADMIN_KEY).expect("admin logs in");
    assert_eq!(record_count(&c, "Accounts"), 100_000);
    terminate(child);
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, stripes::store::migrate::SCHEMA_VERSION);
}
