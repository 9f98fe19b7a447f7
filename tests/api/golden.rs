//! Replays the recorded vtiger 8.2 exchanges (fixtures/golden) in order and
//! compares each answer with vtiger's, after normalising the values that
//! differ from run to run (tokens, times, session names).
use serde_json::Value;

use crate::helpers::*;

/// Where vtiger's answer is broken and ours deliberately differs.
fn deliberate(seq: u64) -> Option<&'static str> {
    match seq {
        // vtiger: HTTP 500, empty body. Clients crash on it (spec/clients.md).
        19..=21 => Some(
            r#"{"success":false,"error":{"message":"Unknown operation requested","code":"UNKNOWN_OPERATION"}}"#,
        ),
        // vtiger: HTTP 500 for any format but json; we ignore `format`.
        22 => Some("listtypes"),
        _ => None,
    }
}

fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if ["token", "serverTime", "expireTime", "sessionName"].contains(&k.as_str()) {
                    *item = Value::String("<volatile>".into());
                } else {
                    normalise(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

#[test]
fn recorded_vtiger_exchanges_replay_identically() {
    let meta = golden_step_meta();
    let golden_key = meta["accesskey"].as_str().unwrap().to_string();
    let key = golden_key.clone();
    let s = TestServer::spawn_with(move |c| c.admin_access_key = Some(key));
    let golden_session = "14cdceb06b02eb610b3f6";
    let mut session: Option<String> = None;
    let mut token = String::new();
    let mut golden_token = String::new();
    let mut compared = 0;
    for seq in 1..=46u64 {
        let Some(step) = find_golden_step(seq) else {
            continue;
        };
        let req = &step["request"];
        let fix = |pairs: &Value| {
            recorded_pairs(pairs, |k, v| {
                if k == "sessionName" && v == golden_session {
                    return session
                        .clone()
                        .expect("logged in before the session is used");
                }
                if k == "accessKey" && v == md5_hex(&format!("{golden_token}{golden_key}")) {
                    return md5_hex(&format!("{token}{golden_key}"));
                }
                v.to_string()
            })
        };
        let query = fix(&req["query"]);
        let form = fix(&req["form"]);
        let r = send_recorded(s.port, req["method"] == "POST", &query, &form, &[]);
        assert_eq!(r.status, 200, "seq {seq}");
        let ours = r.json();
        if let Some(t) = ours["result"]["token"].as_str() {
            token = t.to_string();
            let theirs: Value =
                serde_json::from_str(step["response"]["body"].as_str().unwrap()).unwrap();
            golden_token = theirs["result"]["token"].as_str().unwrap().to_string();
        }
        if let Some(sn) = ours["result"]["sessionName"].as_str() {
            if session.is_none() {
                session = Some(sn.to_string());
            }
        }
        match deliberate(seq) {
            Some("listtypes") => assert_eq!(ours["success"], true, "seq {seq}: {}", r.body),
            Some(body) => assert_eq!(r.body, body, "seq {seq}"),
            None => {
                let mut theirs: Value =
                    serde_json::from_str(step["response"]["body"].as_str().unwrap()).unwrap();
                let mut ours = ours;
                normalise(&mut theirs);
                normalise(&mut ours);
                assert_eq!(
                    ours.to_string(),
                    theirs.to_string(),
                    "seq {seq} ({})",
                    step["label"]
                );
            }
        }
        compared += 1;
    }
    assert!(compared >= 40, "replayed only {compared} steps");
}

fn golden_step_meta() -> Value {
    golden_lines("vtiger-8.2-foundation.jsonl").remove(0)
}

/// Fields where our record answers differ from vtiger's on purpose or for a
/// known gap, with the reason.
const RECORD_DIFFERENCES: &[(&str, &str)] = &[
    // vtiger rounds currency input to the admin's 0 currency decimals
    // (1234567.89 → 1234568, 99999.50 → 100000): a lost value; we keep it.
    ("annual_revenue", "vtiger alters the value"),
    ("amount", "vtiger alters the value"),
    // Derived from amount, which vtiger rounded first (see above).
    ("forecast_amount", "derived from an altered value"),
];

/// Whole answers that differ on purpose: vtiger stores anything in an email
/// field; we refuse what is not an address (issue 3's validation).
fn record_step_answer(seq: u64) -> Option<&'static str> {
    match seq {
        58 => Some(
            r#"{"success":false,"error":{"message":"Invalid value specified for email1: expected an email address","code":"INVALID_FIELD_VALUE"}}"#,
        ),
        _ => None,
    }
}

type IdMap = std::collections::HashMap<String, String>;

/// Rewrites every string value that is a mapped webservice id.
fn map_value(v: &mut Value, map: &IdMap) {
    match v {
        Value::String(s) => {
            if let Some(to) = map.get(s.as_str()) {
                *s = to.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| map_value(i, map)),
        Value::Object(o) => o.values_mut().for_each(|i| map_value(i, map)),
        _ => {}
    }
}

/// A request parameter with its ids mapped (`element` is JSON inside).
fn map_param(key: &str, value: &str, map: &IdMap) -> String {
    if key == "element" {
        if let Ok(mut v) = serde_json::from_str::<Value>(value) {
            map_value(&mut v, map);
            return v.to_string();
        }
    }
    map.get(value).cloned().unwrap_or_else(|| value.to_string())
}

#[test]
fn recorded_record_exchanges_replay_identically() {
    let s = TestServer::spawn();
    let session = s.admin().session.unwrap();
    // vtiger's ids → ours, learnt from each create.
    let mut ids = IdMap::new();
    for step in golden_lines("vtiger-8.2-records.jsonl") {
        let seq = step["seq"].as_u64().unwrap();
        let req = &step["request"];
        let pairs = |v: &Value| {
            recorded_pairs(v, |k, v| match k {
                "sessionName" => session.clone(),
                _ => map_param(k, v, &ids),
            })
        };
        let query = pairs(&req["query"]);
        let form = pairs(&req["form"]);
        let r = send_recorded(s.port, req["method"] == "POST", &query, &form, &[]);
        if let Some(answer) = record_step_answer(seq) {
            assert_eq!(r.body, answer, "seq {seq}");
            continue;
        }
        let mut ours = r.json();
        let mut theirs: Value =
            serde_json::from_str(step["response"]["body"].as_str().unwrap()).unwrap();
        if step["label"].as_str().unwrap().starts_with("create") {
            if let (Some(t), Some(o)) = (
                theirs["result"]["id"].as_str(),
                ours["result"]["id"].as_str(),
            ) {
                ids.insert(t.to_string(), o.to_string());
            }
        }
        for v in [&mut ours, &mut theirs] {
            if let Some(rec) = v["result"].as_object_mut() {
                for k in ["createdtime", "modifiedtime"] {
                    if rec.contains_key(k) {
                        rec.insert(k.into(), "<time>".into());
                    }
                }
                for (field, _) in RECORD_DIFFERENCES {
                    if rec.contains_key(*field) {
                        rec.insert(field.to_string(), "<differs>".into());
                    }
                }
            }
        }
        let back: IdMap = ids.iter().map(|(k, v)| (v.clone(), k.clone())).collect();
        map_value(&mut ours, &back);
        assert_eq!(
            ours.to_string(),
            theirs.to_string(),
            "seq {seq} ({})",
            step["label"]
        );
    }
}

/// A recorded request's `query` or `form` pairs, each value passed through
/// `value(key, recorded value)` (ids, sessions and keys of this run).
pub(crate) fn recorded_pairs(
    pairs: &Value,
    mut value: impl FnMut(&str, &str) -> String,
) -> Vec<(String, String)> {
    pairs
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let k = p[0].as_str().unwrap();
                    (k.to_string(), value(k, p[1].as_str().unwrap()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Sends a recorded request again: its query string, and its form body
/// when it was a POST.
pub(crate) fn send_recorded(
    port: u16,
    post: bool,
    query: &[(String, String)],
    form: &[(String, String)],
    headers: &[(&str, &str)],
) -> Response {
    let pairs = |v: &[(String, String)]| -> String {
        let p: Vec<(&str, &str)> = v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        encode(&p)
    };
    let target = if query.is_empty() {
        "/webservice.php".to_string()
    } else {
        format!("/webservice.php?{}", pairs(query))
    };
    if post {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        raw_http(port, "POST", &target, &all, pairs(form).as_bytes())
    } else {
        raw_http(port, "GET", &target, headers, b"")
    }
}
