//! The data-driven VTQL table: `fixtures/vtql/*.jsonl`, each line a query
//! and its exact answer, run through the wire against the records of
//! `fixtures/vtql/dataset.json`.
use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::*;

/// Replaces every `{key}` in `text` with that record's webservice id.
fn resolve(text: &str, ids: &HashMap<String, String>) -> String {
    let mut out = text.to_string();
    for (key, id) in ids {
        out = out.replace(&format!("{{{key}}}"), id);
    }
    out
}

fn resolve_value(v: &Value, ids: &HashMap<String, String>) -> Value {
    serde_json::from_str(&resolve(&v.to_string(), ids)).unwrap()
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/vtql")
}

/// Creates the dataset's records in order, deletes the ones it lists, and
/// returns each key's webservice id.
fn load_dataset(admin: &VtClient) -> HashMap<String, String> {
    let text = std::fs::read_to_string(fixtures().join("dataset.json")).unwrap();
    let dataset: Value = serde_json::from_str(&text).unwrap();
    let mut ids = HashMap::new();
    for record in dataset["records"].as_array().unwrap() {
        let element = resolve_value(&record["element"], &ids);
        let module = record["module"].as_str().unwrap();
        let r = admin
            .post(
                "create",
                &[("elementType", module), ("element", &element.to_string())],
            )
            .json();
        let id = r["result"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("dataset record {record}: {r}"));
        ids.insert(record["key"].as_str().unwrap().to_string(), id.to_string());
    }
    for key in dataset["deleted"].as_array().unwrap() {
        let r = admin
            .post("delete", &[("id", &ids[key.as_str().unwrap()])])
            .json();
        assert_eq!(r["success"], true, "{r}");
    }
    ids
}

/// Where a case's answer differs from what it expects, the difference.
fn check_case(case: &Value, answer: &Value, ids: &HashMap<String, String>) -> Option<String> {
    let expected = |key: &str| case.get(key).map(|v| resolve_value(v, ids));
    let got = if let Some(error) = expected("error") {
        (answer["error"] != error).then(|| (error, answer.clone()))
    } else if answer["success"] != true {
        Some((Value::Null, answer.clone()))
    } else if let Some(rows) = expected("rows") {
        (answer["result"] != rows).then(|| (rows, answer["result"].clone()))
    } else if let Some(want) = expected("ids") {
        let got: Value = answer["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        (got != want).then_some((want, got))
    } else {
        return Some("the case names no rows, ids or error".into());
    };
    got.map(|(want, got)| format!("expected {want}\n     got {got}"))
}

#[test]
fn every_vtql_case_in_the_fixture_table_answers_exactly() {
    let s = TestServer::spawn();
    let a = s.admin();
    let ids = load_dataset(&a);
    let mut files: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let (mut cases, mut failures) = (0, Vec::new());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let case: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", n + 1));
            let query = resolve(case["query"].as_str().unwrap(), &ids);
            let answer = a.get("query", &[("query", &query)]).json();
            cases += 1;
            if let Some(diff) = check_case(&case, &answer, &ids) {
                failures.push(format!("{name}:{}: {query}\n  {diff}", n + 1));
            }
        }
    }
    assert!(cases >= 100, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
