//! External ids, retrieve_by_external and upsert's match cascade (issue 11).
use serde_json::{json, Value};

use crate::helpers::*;

fn upsert(c: &VtClient, module: &str, element: Value, match_on: Option<&str>) -> Value {
    let element = element.to_string();
    let mut params = vec![("elementType", module), ("element", element.as_str())];
    if let Some(m) = match_on {
        params.push(("matchOn", m));
    }
    c.post("upsert", &params).json()
}

#[test]
fn external_ids_are_kept_shown_on_retrieve_and_found_by_system() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let id = create_id(
        &admin,
        "Accounts",
        json!({"accountname": "Ext", "assigned_user_id": "19x1",
               "external_ids": {"erp": "C-1001", "shop": 77}}),
    );
    let record = admin.get("retrieve", &[("id", &id)]).json()["result"].clone();
    assert_eq!(
        record["external_ids"],
        json!({"erp": "C-1001", "shop": "77"})
    );
    let found = admin
        .get(
            "retrieve_by_external",
            &[
                ("elementType", "Accounts"),
                ("system", "erp"),
                ("externalId", "C-1001"),
            ],
        )
        .json();
    assert_eq!(found["result"], record, "{found}");
    let missing = admin
        .get(
            "retrieve_by_external",
            &[
                ("elementType", "Accounts"),
                ("system", "erp"),
                ("externalId", "nope"),
            ],
        )
        .json();
    assert_eq!(error_code(&missing), "RECORD_NOT_FOUND");
    assert_eq!(
        missing["error"]["message"],
        "No Accounts record has erp id nope"
    );
    let no_module = admin
        .get(
            "retrieve_by_external",
            &[
                ("elementType", "Nothing"),
                ("system", "erp"),
                ("externalId", "C-1001"),
            ],
        )
        .json();
    assert_eq!(error_code(&no_module), "ACCESS_DENIED");
    let no_system = admin
        .get(
            "retrieve_by_external",
            &[("elementType", "Accounts"), ("externalId", "C-1001")],
        )
        .json();
    assert_eq!(error_code(&no_system), "MANDATORY_FIELDS_MISSING");
}

#[test]
fn records_without_external_ids_keep_vtigers_exact_shape() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let id = create_id(
        &admin,
        "Accounts",
        json!({"accountname": "Plain", "assigned_user_id": "19x1"}),
    );
    let record = admin.get("retrieve", &[("id", &id)]).json();
    assert!(record["result"].get("external_ids").is_none(), "{record}");
}

#[test]
fn query_rows_keep_vtigers_shape_when_the_record_has_external_ids() {
    let server = TestServer::spawn();
    let admin = server.admin();
    for name in ["Ext One", "Ext Two"] {
        create_id(
            &admin,
            "Accounts",
            json!({"accountname": name, "assigned_user_id": "19x1",
                   "external_ids": {"erp": name}}),
        );
    }
    // One row (its own statement) and a page of two (an IN list).
    for (query, rows) in [
        ("select * from Accounts where accountname = 'Ext One';", 1),
        ("select * from Accounts where accountname like 'Ext%';", 2),
    ] {
        let answer = admin.get("query", &[("query", query)]).json();
        let found = answer["result"].as_array().expect("rows");
        assert_eq!(found.len(), rows, "{answer}");
        for row in found {
            assert!(row.get("external_ids").is_none(), "{row}");
            assert_eq!(
                row["accountname"].as_str().map(|n| n.starts_with("Ext")),
                Some(true)
            );
        }
    }
}

#[test]
fn an_update_without_the_key_keeps_external_ids_and_null_removes_one() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let id = create_id(
        &admin,
        "Contacts",
        json!({"lastname": "Keep", "assigned_user_id": "19x1",
               "external_ids": {"erp": "P-1", "shop": "9"}}),
    );
    let mut whole = admin.get("retrieve", &[("id", &id)]).json()["result"].clone();
    whole.as_object_mut().unwrap().remove("external_ids");
    whole["lastname"] = json!("Kept");
    let updated = admin
        .post("update", &[("element", &whole.to_string())])
        .json();
    assert_eq!(
        updated["result"]["external_ids"],
        json!({"erp": "P-1", "shop": "9"}),
        "a vtiger client's whole-record update loses nothing: {updated}"
    );
    let revised = admin
        .post(
            "revise",
            &[(
                "element",
                &json!({"id": id, "external_ids": {"shop": null, "crm2": "X"}}).to_string(),
            )],
        )
        .json();
    assert_eq!(
        revised["result"]["external_ids"],
        json!({"crm2": "X", "erp": "P-1"})
    );
}

#[test]
fn an_external_id_belongs_to_one_live_record_of_a_module() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let first = create_id(
        &admin,
        "Accounts",
        json!({"accountname": "A", "assigned_user_id": "19x1", "external_ids": {"erp": "1"}}),
    );
    let clash = admin
        .post(
            "create",
            &[
                ("elementType", "Accounts"),
                (
                    "element",
                    r#"{"accountname":"B","assigned_user_id":"19x1","external_ids":{"erp":"1"}}"#,
                ),
            ],
        )
        .json();
    assert_eq!(error_code(&clash), "INVALID_FIELD_VALUE");
    assert_eq!(
        clash["error"]["message"],
        format!("Invalid value specified for external_ids: erp id 1 belongs to {first}")
    );
    assert_eq!(
        record_count(&admin, "Accounts"),
        1,
        "the refused create wrote nothing"
    );
    let other_module = create_id(
        &admin,
        "Contacts",
        json!({"lastname": "C", "assigned_user_id": "19x1", "external_ids": {"erp": "1"}}),
    );
    assert!(other_module.starts_with("12x"));
    admin.post("delete", &[("id", &first)]);
    create_id(
        &admin,
        "Accounts",
        json!({"accountname": "D", "assigned_user_id": "19x1", "external_ids": {"erp": "1"}}),
    );
    let bad = admin
        .post(
            "create",
            &[
                ("elementType", "Accounts"),
                (
                    "element",
                    r#"{"accountname":"E","assigned_user_id":"19x1","external_ids":["erp"]}"#,
                ),
            ],
        )
        .json();
    assert_eq!(error_code(&bad), "INVALID_FIELD_VALUE");
}

#[test]
fn upsert_creates_then_updates_by_the_first_rule_that_matches() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let created = upsert(
        &admin,
        "Contacts",
        json!({"lastname": "Nowak", "email": "Jan@Example.com", "phone": "555-1",
               "assigned_user_id": "19x1"}),
        None,
    );
    assert_eq!(created["result"]["matchedBy"], "created", "{created}");
    let id = created["result"]["record"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_email = upsert(
        &admin,
        "Contacts",
        json!({"lastname": "Nowak-Kowalski", "email": "jan@example.com"}),
        None,
    );
    assert_eq!(by_email["result"]["matchedBy"], "email", "{by_email}");
    assert_eq!(by_email["result"]["record"]["id"], id.as_str());
    assert_eq!(by_email["result"]["record"]["lastname"], "Nowak-Kowalski");
    assert_eq!(
        by_email["result"]["record"]["phone"], "555-1",
        "fields not sent keep their values"
    );
    let by_phone = upsert(
        &admin,
        "Contacts",
        json!({"email": "other@example.com", "phone": "555-1", "title": "CTO"}),
        None,
    );
    assert_eq!(
        by_phone["result"]["matchedBy"], "phone",
        "an email matching nothing falls through to phone: {by_phone}"
    );
    assert_eq!(by_phone["result"]["record"]["title"], "CTO");
    let keys: Vec<&str> = by_phone["result"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["matchedBy", "record"]);
    assert_eq!(record_count(&admin, "Contacts"), 1);
}

#[test]
fn upsert_matches_external_ids_first_and_match_on_narrows_the_cascade() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let a = create_id(
        &admin,
        "Contacts",
        json!({"lastname": "A", "email": "a@x.com", "assigned_user_id": "19x1",
               "external_ids": {"erp": "A1"}}),
    );
    let b = create_id(
        &admin,
        "Contacts",
        json!({"lastname": "B", "email": "b@x.com", "phone": "1", "assigned_user_id": "19x1"}),
    );
    let by_external = upsert(
        &admin,
        "Contacts",
        json!({"phone": "1", "external_ids": {"erp": "A1"}}),
        None,
    );
    assert_eq!(by_external["result"]["matchedBy"], "external_id");
    assert_eq!(by_external["result"]["record"]["id"], a.as_str());
    let only_email = upsert(
        &admin,
        "Contacts",
        json!({"email": "b@x.com", "title": "x", "external_ids": {"erp": "B1"}}),
        Some("email"),
    );
    assert_eq!(only_email["result"]["matchedBy"], "email", "{only_email}");
    assert_eq!(only_email["result"]["record"]["id"], b.as_str());
    assert_eq!(
        only_email["result"]["record"]["external_ids"],
        json!({"erp": "B1"})
    );
    let unknown = upsert(&admin, "Contacts", json!({"email": "c@x.com"}), Some("fax"));
    assert_eq!(error_code(&unknown), "INVALID_FIELD_VALUE");
    assert_eq!(
        unknown["error"]["message"],
        "Invalid value specified for matchOn: Contacts has no rule fax (its rules: external_id, email, phone, mobile)"
    );
}

#[test]
fn an_ambiguous_match_is_an_error_naming_every_candidate() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let first = create_id(
        &admin,
        "Leads",
        json!({"lastname": "One", "company": "X", "phone": "700", "assigned_user_id": "19x1"}),
    );
    let second = create_id(
        &admin,
        "Leads",
        json!({"lastname": "Two", "company": "Y", "phone": "700", "assigned_user_id": "19x1"}),
    );
    let r = upsert(
        &admin,
        "Leads",
        json!({"lastname": "Three", "phone": "700"}),
        None,
    );
    assert_eq!(error_code(&r), "AMBIGUOUS_MATCH");
    assert_eq!(
        r["error"]["message"],
        format!("2 Leads records match on phone: {first}, {second}")
    );
    assert_eq!(record_count(&admin, "Leads"), 2, "nothing written");
}

#[test]
fn an_account_matches_by_the_emails_of_its_contacts() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let account = create_id(
        &admin,
        "Accounts",
        json!({"accountname": "Acme", "assigned_user_id": "19x1"}),
    );
    create_id(
        &admin,
        "Contacts",
        json!({"lastname": "Buyer", "email": "buyer@acme.test", "account_id": account,
               "assigned_user_id": "19x1"}),
    );
    let r = upsert(
        &admin,
        "Accounts",
        json!({"accountname": "Acme Ltd", "email1": "BUYER@acme.test"}),
        None,
    );
    assert_eq!(r["result"]["matchedBy"], "email", "{r}");
    assert_eq!(r["result"]["record"]["id"], account.as_str());
    assert_eq!(r["result"]["record"]["accountname"], "Acme Ltd");
}

#[test]
fn a_tax_id_rule_works_once_a_schema_gives_accounts_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema");
    copy_dir(std::path::Path::new("schema"), &schema);
    let accounts = schema.join("modules/Accounts.json");
    let mut module: Value =
        serde_json::from_str(&std::fs::read_to_string(&accounts).unwrap()).unwrap();
    let mut field = module["fields"][0].clone();
    field["name"] = json!("tax_id");
    field["label"] = json!("Tax ID");
    field["mandatory"] = json!(false);
    module["fields"].as_array_mut().unwrap().insert(1, field);
    std::fs::write(&accounts, module.to_string()).unwrap();
    let server = TestServer::spawn_with(|c| c.schema_dir = Some(schema.clone()));
    let admin = server.admin();
    let id = create_id(
        &admin,
        "Accounts",
        json!({"accountname": "Taxed", "tax_id": "PL123", "assigned_user_id": "19x1"}),
    );
    let r = upsert(
        &admin,
        "Accounts",
        json!({"accountname": "Taxed SA", "tax_id": "pl123"}),
        None,
    );
    assert_eq!(r["result"]["matchedBy"], "tax_id", "{r}");
    assert_eq!(r["result"]["record"]["id"], id.as_str());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn records_the_caller_cannot_read_never_match() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let hidden = create_id(
        &admin,
        "Contacts",
        json!({"lastname": "Secret", "email": "s@x.com", "assigned_user_id": "19x1"}),
    );
    crate::tokens::cli(&server, &["sharing", "set", "Contacts", "Private"]);
    let added = crate::tokens::cli(&server, &["users", "add", "rep"]);
    let key = added.trim().rsplit(' ').next().unwrap().to_string();
    let mut rep = server.client();
    let me = rep.login("rep", &key).unwrap()["userId"].clone();
    let r = upsert(
        &rep,
        "Contacts",
        json!({"lastname": "Mine", "email": "s@x.com", "assigned_user_id": me}),
        None,
    );
    assert_eq!(r["result"]["matchedBy"], "created", "{r}");
    assert_ne!(r["result"]["record"]["id"], hidden.as_str());
}

#[test]
fn upsert_of_users_or_actors_is_not_supported() {
    let server = TestServer::spawn();
    let r = upsert(&server.admin(), "Groups", json!({"groupname": "G"}), None);
    assert_eq!(error_code(&r), "OPERATION_NOT_SUPPORTED");
}

#[test]
fn concurrent_upserts_of_one_new_contact_create_it_once() {
    let server = TestServer::spawn_with(|c| c.workers = 4);
    let port = server.port;
    let session = server.admin().session.unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let session = session.clone();
            std::thread::spawn(move || {
                let c = VtClient {
                    port,
                    session: Some(session),
                };
                upsert(
                    &c,
                    "Contacts",
                    json!({"lastname": format!("Racer {i}"), "email": "race@x.com",
                           "assigned_user_id": "19x1"}),
                    None,
                )
            })
        })
        .collect();
    let answers: Vec<Value> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let created = answers
        .iter()
        .filter(|a| a["result"]["matchedBy"] == "created")
        .count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(answers.iter().all(|a| a["success"] == true), "{answers:?}");
    assert_eq!(record_count(&server.admin(), "Contacts"), 1);
}
