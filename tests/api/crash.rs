//! Crash safety: the real binary is killed with SIGKILL while clients write;
//! after a restart every write it acknowledged is there and the database
//! passes SQLite's integrity check. CI runs 3 rounds;
//! `STRIPES_CRASH_ROUNDS=100 cargo test --release --test api crash` runs 100.
use std::collections::HashMap;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::cli::serve;
use crate::helpers::*;

const KEY: &str = "CrashKey00000001";

/// One POST as a vtiger client sends it; `None` once the server is gone.
fn try_post(port: u16, session: &str, op: &str, params: &[(&str, &str)]) -> Option<Value> {
    let mut pairs = vec![("operation", op), ("sessionName", session)];
    pairs.extend_from_slice(params);
    let r = try_http(
        port,
        "POST",
        "/webservice.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        encode(&pairs).as_bytes(),
    )?;
    let v: Value = serde_json::from_str(&r.body).ok()?;
    (v["success"] == true).then(|| v["result"].clone())
}

/// What a writer was told, and what it had sent when the server died.
#[derive(Default)]
struct Writer {
    /// Records it created (acknowledged), with their names.
    created: Vec<(String, String)>,
    /// Each record's last acknowledged phone.
    phones: HashMap<String, String>,
    /// A revise sent but not answered: it may or may not have landed.
    in_flight: Option<(String, String)>,
}

fn write_until_killed(port: u16, w: usize, round: usize, seed: u64) -> Writer {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut me = Writer::default();
    let mut c = VtClient::on(port);
    // The server may already be gone: then this writer did nothing.
    let Some(session) = std::panic::catch_unwind(move || {
        c.login("admin", KEY).ok()?;
        c.session
    })
    .ok()
    .flatten() else {
        return me;
    };
    for n in 0.. {
        let tag = format!("r{round}w{w}n{n}");
        if me.created.len() < 3 || rng.gen_bool(0.5) {
            let element = json!({"accountname": tag, "assigned_user_id": "19x1"}).to_string();
            match try_post(
                port,
                &session,
                "create",
                &[("elementType", "Accounts"), ("element", &element)],
            ) {
                Some(r) => me
                    .created
                    .push((r["id"].as_str().unwrap().to_string(), tag)),
                None => return me,
            }
        } else {
            let id = me.created[rng.gen_range(0..me.created.len())].0.clone();
            me.in_flight = Some((id.clone(), tag.clone()));
            let element = json!({"id": id, "phone": tag}).to_string();
            match try_post(port, &session, "revise", &[("element", &element)]) {
                Some(_) => {
                    me.phones.insert(id, tag);
                    me.in_flight = None;
                }
                None => return me,
            }
        }
    }
    me
}

fn sigkill(child: &mut std::process::Child) {
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let rounds: usize = std::env::var("STRIPES_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut rng = StdRng::seed_from_u64(2026);
    let mut writers: Vec<Writer> = Vec::new();
    for round in 0..rounds {
        let (mut child, port, _) = serve(&db, Some(KEY));
        let (tx, rx) = mpsc::channel();
        for w in 0..4 {
            let tx = tx.clone();
            let seed = rng.gen();
            std::thread::spawn(move || {
                let _ = tx.send(write_until_killed(port, w, round, seed));
            });
        }
        drop(tx);
        std::thread::sleep(Duration::from_millis(rng.gen_range(200..900)));
        sigkill(&mut child);
        writers.extend(rx.iter());
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
    }
    let (mut child, port, _) = serve(&db, Some(KEY));
    let mut c = VtClient::on(port);
    c.login("admin", KEY).unwrap();
    let mut acknowledged = 0;
    for w in &writers {
        for (id, name) in &w.created {
            let r = c.get("retrieve", &[("id", id)]).json();
            assert_eq!(r["result"]["accountname"], name.as_str(), "{id}: {r}");
            let phone = r["result"]["phone"].as_str().unwrap();
            let acked = w.phones.get(id).map(String::as_str).unwrap_or("");
            let maybe = w
                .in_flight
                .as_ref()
                .filter(|(i, _)| i == id)
                .map(|(_, p)| p.as_str());
            assert!(
                phone == acked || Some(phone) == maybe,
                "{id}: phone {phone:?}, acknowledged {acked:?}, in flight {maybe:?}"
            );
            acknowledged += 1;
        }
    }
    assert!(acknowledged > 0, "the writers got answers before the kills");
    sigkill(&mut child);
}
