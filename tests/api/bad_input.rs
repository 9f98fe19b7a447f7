//! The bad-input catalogue: `fixtures/bad-input/catalogue.jsonl`, each line a
//! malformed request and the exact envelope it must get. Every one answers
//! HTTP 200 with that envelope, nothing is written, and the server serves on.
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::helpers::*;

/// Row counts of every table a write touches.
fn footprint(s: &TestServer) -> Vec<i64> {
    let db = s.db();
    [
        "crmentity",
        "changelog",
        "links",
        "attachments",
        "m_Accounts",
        "m_Users",
        "m_Groups",
        "m_LineItem",
    ]
    .iter()
    .map(|t| {
        db.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    })
    .collect()
}

#[test]
fn every_malformed_request_in_the_catalogue_gets_its_exact_envelope() {
    let s = TestServer::spawn();
    let a = s.admin();
    let session = a.session.clone().unwrap();
    let account = a
        .post(
            "create",
            &[
                ("elementType", "Accounts"),
                (
                    "element",
                    &json!({"accountname": "Keep", "assigned_user_id": "19x1"}).to_string(),
                ),
            ],
        )
        .json()["result"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = a.get("retrieve", &[("id", &account)]).json();
    let before = footprint(&s);
    let fill = |t: &str| {
        t.replace("{session}", &session)
            .replace("{account}", &account)
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad-input/catalogue.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut cases, mut failures) = (0, Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        let pairs: Vec<(String, String)> = case["query"]
            .as_array()
            .map(|q| {
                q.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap().to_string(),
                            fill(p[1].as_str().unwrap()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut target = case["path"]
            .as_str()
            .unwrap_or("/webservice.php")
            .to_string();
        if !refs.is_empty() {
            target = format!("{target}?{}", encode(&refs));
        }
        let body: Vec<u8> = match (&case["body"], &case["body_fill"]) {
            (Value::String(b), _) => fill(b).into_bytes(),
            (_, Value::Array(f)) => {
                let mut b = f[0].as_str().unwrap().as_bytes().to_vec();
                let byte = f[1].as_str().unwrap().as_bytes()[0];
                b.resize(b.len() + f[2].as_u64().unwrap() as usize, byte);
                b
            }
            _ => Vec::new(),
        };
        let mut headers: Vec<(&str, &str)> = case["content_type"]
            .as_str()
            .map(|ct| vec![("Content-Type", ct)])
            .unwrap_or_default();
        for h in case["headers"].as_array().into_iter().flatten() {
            headers.push((h[0].as_str().unwrap(), h[1].as_str().unwrap()));
        }
        let r = raw_http(
            s.port,
            case["method"].as_str().unwrap(),
            &target,
            &headers,
            &body,
        );
        cases += 1;
        let got: Option<Value> = serde_json::from_str(&r.body).ok();
        if r.status != 200 || got.as_ref() != Some(&case["expect"]) {
            failures.push(format!(
                "{name}: HTTP {}\n  expected {}\n  got {}",
                r.status,
                case["expect"],
                r.body.chars().take(300).collect::<String>()
            ));
        }
    }
    assert!(cases >= 300, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(footprint(&s), before, "nothing was written");
    assert_eq!(a.get("retrieve", &[("id", &account)]).json(), kept);
    assert_eq!(
        a.get("listtypes", &[]).json()["success"],
        true,
        "still serving"
    );
}
