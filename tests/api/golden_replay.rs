//! Every recorded vtiger 8.2 exchange (fixtures/golden/vtiger-8.2-full.jsonl,
//! a copy of shared/golden), replayed in order against one server, compared
//! with vtiger's answer after normalising what legitimately differs (record
//! ids, session names, tokens, times, auto-number digits). Where the stock
//! install answered with an HTTP 500, the answer recorded on the install
//! patched for PHP 8 (vtiger-8.2-php8-fixed.jsonl) is the one compared.
//!
//! `fixtures/golden/replay.tsv` is the committed list of outcomes, one line
//! an exchange: `same`, or `differs` with the reason. A change in any
//! outcome fails the test, so a regression shows up as a diff of that list.
//! `STRIPES_BLESS_GOLDEN=1 cargo test golden_replay` rewrites the outcomes
//! (keeping the reasons) after a deliberate change.
use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::golden::{recorded_pairs, send_recorded};
use crate::helpers::*;

type Map = HashMap<String, String>;

/// Whether `s` looks like a webservice id (`11x42`).
fn is_ws_id(s: &str) -> bool {
    s.split_once('x').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// Replaces every webservice id inside `text` (a parameter, a query, a JSON
/// element) that `map` knows.
fn map_ids_in_text(text: &str, map: &Map) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_alphanumeric() {
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let word = &text[start..i];
            out.push_str(map.get(word).map(String::as_str).unwrap_or(word));
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Learns vtiger's id → ours from two answers of the same shape.
fn learn_ids(theirs: &Value, ours: &Value, map: &mut Map) {
    match (theirs, ours) {
        (Value::String(t), Value::String(o)) if is_ws_id(t) && is_ws_id(o) => {
            map.entry(t.clone()).or_insert_with(|| o.clone());
        }
        (Value::Array(t), Value::Array(o)) => {
            t.iter().zip(o).for_each(|(t, o)| learn_ids(t, o, map));
        }
        (Value::Object(t), Value::Object(o)) => {
            for (k, tv) in t {
                if let Some(ov) = o.get(k) {
                    learn_ids(tv, ov, map);
                }
            }
        }
        _ => {}
    }
}

/// How ids are made comparable in an answer.
enum Ids<'a> {
    /// Ours mapped back to vtiger's (the main recording).
    Back(&'a Map),
    /// Every id replaced by `<id>` (the patched install's other run).
    Erase,
}

/// Replaces the values that differ from run to run.
fn normalise(v: &mut Value, ids: &Ids) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match k.as_str() {
                    "token" | "serverTime" | "expireTime" | "sessionName" => {
                        *item = "<volatile>".into()
                    }
                    "createdtime" | "modifiedtime" | "lastModifiedTime" => *item = "<time>".into(),
                    _ if k.ends_with("_no") && item.is_string() => {
                        let s = item.as_str().unwrap();
                        let prefix = s.trim_end_matches(|c: char| c.is_ascii_digit());
                        *item = format!("{prefix}<n>").into();
                    }
                    _ => normalise(item, ids),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| normalise(i, ids)),
        Value::String(s) => match ids {
            Ids::Back(back) => *s = map_ids_in_text(s, back),
            Ids::Erase if is_ws_id(s) => *s = "<id>".into(),
            Ids::Erase => {}
        },
        _ => {}
    }
}

/// One line of replay.tsv.
struct Outcome {
    seq: u64,
    status: String,
    label: String,
    reason: String,
}

fn outcomes_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/replay.tsv")
}

fn read_outcomes() -> Vec<Outcome> {
    std::fs::read_to_string(outcomes_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut cols = l.splitn(4, '\t');
            Outcome {
                seq: cols.next().unwrap().parse().unwrap(),
                status: cols.next().unwrap_or_default().to_string(),
                label: cols.next().unwrap_or_default().to_string(),
                reason: cols.next().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

fn write_outcomes(outcomes: &[Outcome]) {
    let mut text = String::from(
        "# Outcome of replaying each recorded vtiger exchange (tests/api/golden_replay.rs):\n\
         # seq<TAB>same|differs<TAB>label<TAB>why it differs\n",
    );
    for o in outcomes {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            o.seq, o.status, o.label, o.reason
        ));
    }
    std::fs::write(outcomes_path(), text).unwrap();
}

#[test]
fn every_recorded_exchange_replays_as_listed() {
    replay(|_| {}, |_| Vec::new());
}

/// Our additions on (issue 11): an API token and an OAuth2 client exist,
/// and every request carries an idempotency key; vtiger's operations must
/// answer exactly as without them.
#[test]
fn the_replay_is_unchanged_with_tokens_clients_and_idempotency_keys_in_use() {
    let setup = |s: &TestServer| {
        let conn = s.db();
        let token = stripes::store::tokens::NewToken {
            user_id: 1,
            kind: stripes::store::tokens::Kind::Api,
            label: "replay",
            scopes: stripes::auth::access::Scopes::ALL,
            modules: None,
            client_id: None,
            expires_at: None,
        };
        stripes::store::tokens::insert(&conn, &token, 0).unwrap();
        stripes::store::tokens::add_client(&conn, "replay", stripes::auth::access::Scopes::ALL, 0)
            .unwrap();
    };
    replay(setup, |seq| {
        vec![("Idempotency-Key".into(), format!("replay-{seq}"))]
    });
}

/// Replays the recording on a fresh server prepared by `setup`, each step
/// sent with `headers(seq)`, and checks every outcome against replay.tsv.
fn replay(setup: impl FnOnce(&TestServer), headers: impl Fn(u64) -> Vec<(String, String)>) {
    let mut steps = golden_lines("vtiger-8.2-full.jsonl");
    let meta = steps.remove(0);
    let key = meta["accesskey"].as_str().unwrap().to_string();
    let patched: HashMap<u64, Value> = golden_lines("vtiger-8.2-php8-fixed.jsonl")
        .into_iter()
        .filter_map(|s| Some((s["seq"].as_u64()?, s)))
        .collect();
    let admin_key = key.clone();
    let s = TestServer::spawn_with(move |c| c.admin_access_key = Some(admin_key));
    setup(&s);
    let mut ids = Map::new();
    let mut sessions = Map::new();
    let mut tokens = Map::new();
    let mut found = Vec::new();
    for step in &steps {
        let seq = step["seq"].as_u64().unwrap();
        let req = &step["request"];
        let fix = |pairs: &Value| {
            recorded_pairs(pairs, |k, v| match k {
                "sessionName" => sessions.get(v).cloned().unwrap_or(v.into()),
                "accessKey" => tokens
                    .iter()
                    .find(|(theirs, _)| md5_hex(&format!("{theirs}{key}")) == v)
                    .map(|(_, ours)| md5_hex(&format!("{ours}{key}")))
                    .unwrap_or(v.into()),
                _ => map_ids_in_text(v, &ids),
            })
        };
        let (query, form) = (fix(&req["query"]), fix(&req["form"]));
        let extra = headers(seq);
        let extra: Vec<(&str, &str)> = extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = send_recorded(s.port, req["method"] == "POST", &query, &form, &extra);
        let recorded = patched.get(&seq).unwrap_or(step);
        let their_body = recorded["response"]["body"].as_str().unwrap();
        let (status, detail) = match (serde_json::from_str::<Value>(their_body), r.status) {
            (Err(_), _) => (
                "differs",
                format!(
                    "vtiger: HTTP {} {their_body:?}",
                    recorded["response"]["status"]
                ),
            ),
            (Ok(_), code) if code != 200 => ("differs", format!("ours: HTTP {code}")),
            (Ok(mut theirs), _) => {
                let mut ours = r.json();
                if patched.contains_key(&seq) {
                    normalise(&mut theirs, &Ids::Erase);
                    normalise(&mut ours, &Ids::Erase);
                } else {
                    learn_ids(&theirs, &ours, &mut ids);
                    if let (Some(t), Some(o)) = (
                        theirs["result"]["token"].as_str(),
                        ours["result"]["token"].as_str(),
                    ) {
                        tokens.insert(t.to_string(), o.to_string());
                    }
                    if let (Some(t), Some(o)) = (
                        theirs["result"]["sessionName"].as_str(),
                        ours["result"]["sessionName"].as_str(),
                    ) {
                        sessions.insert(t.to_string(), o.to_string());
                    }
                    let back: Map = ids.iter().map(|(t, o)| (o.clone(), t.clone())).collect();
                    normalise(&mut theirs, &Ids::Back(&Map::new()));
                    normalise(&mut ours, &Ids::Back(&back));
                }
                if ours == theirs {
                    ("same", String::new())
                } else {
                    ("differs", format!("ours {ours}\n   vtiger {theirs}"))
                }
            }
        };
        found.push((
            seq,
            status,
            step["label"].as_str().unwrap().to_string(),
            detail,
        ));
    }
    let listed = read_outcomes();
    if std::env::var_os("STRIPES_BLESS_GOLDEN").is_some() {
        let reasons: HashMap<u64, String> = listed.into_iter().map(|o| (o.seq, o.reason)).collect();
        let outcomes: Vec<Outcome> = found
            .iter()
            .map(|(seq, status, label, _)| Outcome {
                seq: *seq,
                status: status.to_string(),
                label: label.clone(),
                reason: reasons.get(seq).cloned().unwrap_or_default(),
            })
            .collect();
        write_outcomes(&outcomes);
        return;
    }
    let listed: HashMap<u64, Outcome> = listed.into_iter().map(|o| (o.seq, o)).collect();
    let mut changed = Vec::new();
    for (seq, status, label, detail) in &found {
        match listed.get(seq) {
            Some(o) if o.status == *status => {
                if o.status != "same" && o.reason.is_empty() {
                    changed.push(format!(
                        "seq {seq} ({label}): differs with no reason listed\n   {detail}"
                    ));
                }
            }
            Some(o) => changed.push(format!(
                "seq {seq} ({label}): listed {}, now {status}\n   {detail}",
                o.status
            )),
            None => changed.push(format!(
                "seq {seq} ({label}): not listed, now {status}\n   {detail}"
            )),
        }
    }
    assert_eq!(
        listed.len(),
        found.len(),
        "replay.tsv lists exchanges the recording does not have"
    );
    assert!(
        changed.is_empty(),
        "outcomes changed:\n{}",
        changed.join("\n")
    );
}
