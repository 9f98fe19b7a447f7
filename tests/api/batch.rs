//! Batches and idempotent writes (issue 11).
use serde_json::{json, Value};

use crate::helpers::*;

fn batch(c: &VtClient, op: &str, items: Value, extra: &[(&str, &str)]) -> Value {
    let element = items.to_string();
    let mut params = vec![("element", element.as_str())];
    params.extend_from_slice(extra);
    match op {
        "batch_retrieve" => c.get(op, &params),
        _ => c.post(op, &params),
    }
    .json()
}

#[test]
fn each_item_gets_the_single_operations_answer_in_order() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let created = batch(
        &admin,
        "batch_create",
        json!([
            {"accountname": "One", "assigned_user_id": "19x1"},
            {"accountname": "", "assigned_user_id": "19x1"},
            {"elementType": "Contacts", "lastname": "Three", "assigned_user_id": "19x1"}
        ]),
        &[("elementType", "Accounts")],
    );
    let items = created["result"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{created}");
    assert_eq!(items[0]["success"], true);
    assert_eq!(items[0]["result"]["accountname"], "One");
    let single_failure = admin
        .post(
            "create",
            &[
                ("elementType", "Accounts"),
                ("element", r#"{"accountname":"","assigned_user_id":"19x1"}"#),
            ],
        )
        .json();
    assert_eq!(
        items[1], single_failure,
        "an item fails as the single call would"
    );
    assert!(items[2]["result"]["id"]
        .as_str()
        .unwrap()
        .starts_with("12x"));
    assert_eq!(
        record_count(&admin, "Accounts"),
        1,
        "the failed item left nothing"
    );
    let one = items[0]["result"]["id"].as_str().unwrap().to_string();
    let three = items[2]["result"]["id"].as_str().unwrap().to_string();
    let retrieved = batch(
        &admin,
        "batch_retrieve",
        json!([one, {"id": three}, "11x999999"]),
        &[],
    );
    let got = retrieved["result"].as_array().unwrap();
    assert_eq!(got[0], admin.get("retrieve", &[("id", &one)]).json());
    assert_eq!(got[1]["result"]["lastname"], "Three");
    assert_eq!(error_code(&got[2]), "ACCESS_DENIED");
    let revised = batch(
        &admin,
        "batch_revise",
        json!([{"id": one, "website": "one.test"}, {"id": three, "title": "CEO"}]),
        &[],
    );
    assert_eq!(revised["result"][0]["result"]["website"], "one.test");
    assert_eq!(revised["result"][1]["result"]["title"], "CEO");
    let mut whole = admin.get("retrieve", &[("id", &one)]).json()["result"].clone();
    whole["accountname"] = json!("One Ltd");
    let updated = batch(&admin, "batch_update", json!([whole]), &[]);
    assert_eq!(updated["result"][0]["result"]["accountname"], "One Ltd");
    assert_eq!(updated["result"][0]["result"]["website"], "one.test");
    let deleted = batch(&admin, "batch_delete", json!([one, three]), &[]);
    assert_eq!(
        deleted["result"],
        json!([
            {"success": true, "result": {"status": "successful"}},
            {"success": true, "result": {"status": "successful"}}
        ])
    );
    assert_eq!(
        record_count(&admin, "Accounts") + record_count(&admin, "Contacts"),
        0
    );
}

#[test]
fn an_atomic_batch_writes_all_or_nothing() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let items = json!([
        {"accountname": "Kept?", "assigned_user_id": "19x1"},
        {"accountname": "", "assigned_user_id": "19x1"}
    ]);
    let r = batch(
        &admin,
        "batch_create",
        items.clone(),
        &[("elementType", "Accounts"), ("atomic", "true")],
    );
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(error_code(&r), "BATCH_ROLLED_BACK");
    assert_eq!(
        r["error"]["message"],
        "Item 1 failed (MANDATORY_FIELDS_MISSING: accountname does not have a value); nothing was written"
    );
    let outcomes = r["error"]["items"].as_array().unwrap();
    assert_eq!(
        outcomes[0]["error"]["message"],
        "Rolled back: another item of this atomic batch failed"
    );
    assert_eq!(error_code(&outcomes[1]), "MANDATORY_FIELDS_MISSING");
    assert_eq!(
        record_count(&admin, "Accounts"),
        0,
        "the first item was undone"
    );
    let sync = admin
        .get(
            "sync",
            &[("modifiedTime", "1"), ("elementType", "Accounts")],
        )
        .json();
    assert_eq!(
        sync["result"]["updated"],
        json!([]),
        "no change was logged: {sync}"
    );
    let fine = batch(
        &admin,
        "batch_create",
        json!([{"accountname": "A", "assigned_user_id": "19x1"}, {"accountname": "B", "assigned_user_id": "19x1"}]),
        &[("elementType", "Accounts"), ("atomic", "true")],
    );
    assert_eq!(fine["result"][1]["result"]["accountname"], "B", "{fine}");
    assert_eq!(record_count(&admin, "Accounts"), 2);
}

#[test]
fn batches_refuse_bad_elements_and_users() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let too_many: Vec<Value> = (0..101).map(|_| json!({"accountname": "x"})).collect();
    for element in [json!([]), json!({"a": 1}), Value::Array(too_many)] {
        let r = batch(
            &admin,
            "batch_create",
            element,
            &[("elementType", "Accounts")],
        );
        assert_eq!(error_code(&r), "INVALID_FIELD_VALUE", "{r}");
    }
    let users = batch(&admin, "batch_delete", json!(["19x1"]), &[]);
    assert_eq!(
        error_code(&users["result"][0]),
        "OPERATION_NOT_SUPPORTED",
        "{users}"
    );
    let not_object = batch(&admin, "batch_revise", json!(["11x1"]), &[]);
    assert_eq!(
        error_code(&not_object["result"][0]),
        "INVALID_FIELD_VALUE",
        "{not_object}"
    );
}

#[test]
fn a_retried_write_with_an_idempotency_key_returns_the_first_answer() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let session = admin.session.clone().unwrap();
    let body = encode(&[
        ("operation", "create"),
        ("sessionName", &session),
        ("elementType", "Accounts"),
        (
            "element",
            r#"{"accountname":"Once","assigned_user_id":"19x1"}"#,
        ),
    ]);
    let send = |key: &str, body: &str| {
        raw_http(
            server.port,
            "POST",
            "/webservice.php",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Idempotency-Key", key),
            ],
            body.as_bytes(),
        )
        .body
    };
    let first = send("order-1", &body);
    let again = send("order-1", &body);
    assert_eq!(again, first, "the same bytes back");
    assert_eq!(record_count(&admin, "Accounts"), 1, "written once");
    let other = send("order-2", &body);
    assert_ne!(other, first);
    assert_eq!(record_count(&admin, "Accounts"), 2);
    let changed = body.replace("Once", "Twice");
    let reused: Value = serde_json::from_str(&send("order-1", &changed)).unwrap();
    assert_eq!(error_code(&reused), "IDEMPOTENCY_KEY_REUSED");
    let by_param = admin
        .post(
            "create",
            &[
                ("elementType", "Accounts"),
                (
                    "element",
                    r#"{"accountname":"Param","assigned_user_id":"19x1"}"#,
                ),
                ("idempotencyKey", "p-1"),
            ],
        )
        .json();
    let param_again = admin
        .post(
            "create",
            &[
                ("elementType", "Accounts"),
                (
                    "element",
                    r#"{"accountname":"Param","assigned_user_id":"19x1"}"#,
                ),
                ("idempotencyKey", "p-1"),
            ],
        )
        .json();
    assert_eq!(param_again, by_param);
    assert_eq!(record_count(&admin, "Accounts"), 3);
}

#[test]
fn a_failed_write_frees_its_key_and_an_unfinished_one_is_never_rerun() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let create = |name: &str| {
        admin
            .post(
                "create",
                &[
                    ("elementType", "Accounts"),
                    (
                        "element",
                        &json!({"accountname": name, "assigned_user_id": "19x1"}).to_string(),
                    ),
                    ("idempotencyKey", "k"),
                ],
            )
            .json()
    };
    assert_eq!(error_code(&create("")), "MANDATORY_FIELDS_MISSING");
    assert_eq!(
        error_code(&create("")),
        "MANDATORY_FIELDS_MISSING",
        "the failure was not kept: the retry ran again"
    );
    // A request that reserved its key and never answered (the server
    // stopped mid-write): its outcome is unknown, so a retry must not write.
    server
        .db()
        .execute(
            "INSERT INTO idempotency (user_id, key, fingerprint, created_at) VALUES (1, 'lost', 'f', strftime('%s','now'))",
            [],
        )
        .unwrap();
    let create_l = |key: &str| {
        admin
            .post(
                "create",
                &[
                    ("elementType", "Accounts"),
                    (
                        "element",
                        r#"{"accountname":"L","assigned_user_id":"19x1"}"#,
                    ),
                    ("idempotencyKey", key),
                ],
            )
            .json()
    };
    let lost = create_l("lost");
    assert_eq!(error_code(&lost), "IDEMPOTENCY_KEY_REUSED", "{lost}");
    let fingerprint_of_lost: String = {
        // The same request's fingerprint, taken from a kept key.
        create_l("probe");
        server
            .db()
            .query_row(
                "SELECT fingerprint FROM idempotency WHERE key = 'probe'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    server
        .db()
        .execute(
            "UPDATE idempotency SET fingerprint = ?1 WHERE key = 'lost'",
            [&fingerprint_of_lost],
        )
        .unwrap();
    let unfinished = create_l("lost");
    assert_eq!(
        error_code(&unfinished),
        "IDEMPOTENCY_KEY_IN_USE",
        "{unfinished}"
    );
    assert_eq!(
        record_count(&admin, "Accounts"),
        1,
        "only the probe was written"
    );
}

#[test]
fn keys_are_ignored_on_reads_and_expire_after_a_day() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let long = "k".repeat(256);
    let too_long = admin
        .post(
            "delete",
            &[("id", "11x1"), ("idempotencyKey", long.as_str())],
        )
        .json();
    assert_eq!(error_code(&too_long), "INVALID_FIELD_VALUE", "{too_long}");
    let read = admin.get("listtypes", &[("idempotencyKey", "r")]).json();
    assert_eq!(read["success"], true);
    let kept: i64 = server
        .db()
        .query_row("SELECT COUNT(*) FROM idempotency", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 0, "reads keep nothing");
    let create = || {
        admin
            .post(
                "create",
                &[
                    ("elementType", "Accounts"),
                    (
                        "element",
                        r#"{"accountname":"Day","assigned_user_id":"19x1"}"#,
                    ),
                    ("idempotencyKey", "d"),
                ],
            )
            .json()
    };
    create();
    create();
    assert_eq!(record_count(&admin, "Accounts"), 1);
    server
        .db()
        .execute("UPDATE idempotency SET created_at = created_at - 86401", [])
        .unwrap();
    create();
    assert_eq!(
        record_count(&admin, "Accounts"),
        2,
        "a day later the key is new"
    );
}
