//! Related lists through the wire (§3.3): relatedtypes, retrieve_related,
//! query_related, add_related and delete_related.
use serde_json::{json, Value};

use crate::helpers::*;

fn related(c: &VtClient, id: &str, module: &str, label: &str) -> Value {
    let r = c
        .get(
            "retrieve_related",
            &[("id", id), ("relatedType", module), ("relatedLabel", label)],
        )
        .json();
    assert_eq!(r["success"], true, "{id} {label}: {r}");
    r["result"].clone()
}

fn ids(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn add(c: &VtClient, source: &str, target: &str, label: &str) -> Response {
    c.post(
        "add_related",
        &[
            ("sourceRecordId", source),
            ("relatedRecordId", target),
            ("relationIdLabel", label),
        ],
    )
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// An account with a contact, a potential and a ticket pointing at it, as
/// in vtiger's recorded scenario.
struct Scene {
    account: String,
    contact: String,
    potential: String,
    ticket: String,
}

fn scene(a: &VtClient) -> Scene {
    let account = create_id(
        a,
        "Accounts",
        json!({"accountname": "Golden Full Industries", "assigned_user_id": "19x1"}),
    );
    let contact = create_id(
        a,
        "Contacts",
        json!({"lastname": "Golden", "account_id": account, "assigned_user_id": "19x1"}),
    );
    let potential = create_id(
        a,
        "Potentials",
        json!({"potentialname": "Golden Deal", "related_to": account, "contact_id": contact,
               "closingdate": "2027-03-31", "sales_stage": "Prospecting", "assigned_user_id": "19x1"}),
    );
    let ticket = create_id(
        a,
        "HelpDesk",
        json!({"ticket_title": "Golden ticket", "parent_id": account, "ticketpriorities": "High",
               "ticketstatus": "Open", "assigned_user_id": "19x1"}),
    );
    Scene {
        account,
        contact,
        potential,
        ticket,
    }
}

#[test]
fn reference_fields_relate_records_as_retrieve_related_shows_them() {
    let s = TestServer::spawn();
    let a = s.admin();
    let sc = scene(&a);
    for (seq, module, expected) in [
        (262, "Contacts", &sc.contact),
        (263, "Potentials", &sc.potential),
        (264, "HelpDesk", &sc.ticket),
    ] {
        let rows = related(&a, &sc.account, module, module);
        assert_eq!(ids(&rows), vec![expected.clone()], "{module}");
        let recorded: Value = serde_json::from_str(&golden_body(seq)).unwrap();
        assert_eq!(
            keys(&rows[0]),
            keys(&recorded["result"][0]),
            "{module} rows as query shows them: no label"
        );
    }
    // The potential's own contact_id counts too (shared/golden seq 272).
    assert_eq!(
        ids(&related(&a, &sc.potential, "Contacts", "Contacts")),
        vec![sc.contact.clone()]
    );
    // shared/golden seq 265: a label the module has no list for.
    assert_eq!(
        a.get(
            "retrieve_related",
            &[
                ("id", &sc.account),
                ("relatedType", "Contacts"),
                ("relatedLabel", "NoSuchLabel")
            ]
        )
        .body,
        golden_body(265)
    );
}

#[test]
fn query_related_runs_vtql_over_the_related_records() {
    let s = TestServer::spawn();
    let a = s.admin();
    let sc = scene(&a);
    let other = create_id(
        &a,
        "Contacts",
        json!({"lastname": "Other", "account_id": sc.account, "assigned_user_id": "19x1"}),
    );
    create_id(
        &a,
        "Contacts",
        json!({"lastname": "Unrelated", "assigned_user_id": "19x1"}),
    );
    let q = |query: &str| {
        a.get(
            "query_related",
            &[
                ("query", query),
                ("id", &sc.account),
                ("relatedLabel", "Contacts"),
            ],
        )
        .json()
    };
    // shared/golden seq 266: no `;`.
    assert_eq!(
        ids(&q("SELECT * FROM Contacts")["result"]),
        [sc.contact.clone(), other.clone()]
    );
    assert_eq!(
        q("SELECT lastname FROM Contacts WHERE lastname LIKE 'O%'")["result"],
        json!([{"lastname": "Other", "id": other}])
    );
    assert_eq!(
        q("SELECT count(*) FROM Contacts")["result"],
        json!([{"count": "2"}])
    );
    assert_eq!(
        q("SELECT * FROM Contacts ORDER BY lastname DESC LIMIT 1")["result"][0]["id"],
        other
    );
    // vtiger appends the `;` itself, so one sent along is a syntax error.
    assert_eq!(
        q("SELECT * FROM Contacts;")["error"]["code"],
        "QUERY_SYNTAX_ERROR"
    );
    // The label must hold the module queried.
    assert_eq!(
        q("SELECT * FROM Leads")["error"],
        json!({"message": "Relation specified is incorrect", "code": "UNKOWN_ENTITY"})
    );
}

#[test]
fn relatedtypes_lists_each_modules_related_lists() {
    let s = TestServer::spawn();
    let a = s.admin();
    let leads = a.get("relatedtypes", &[("elementType", "Leads")]).json();
    assert_eq!(
        leads["result"]["types"],
        json!([
            "Calendar",
            "Emails",
            "Calendar",
            "Documents",
            "Products",
            "Campaigns",
            "PBXManager",
            "Services",
            "ModComments"
        ])
    );
    assert_eq!(
        leads["result"]["information"]["Activity History"],
        json!({"name": "Calendar", "label": "Activity History", "isEntity": "1"})
    );
    assert_eq!(
        a.get("relatedtypes", &[("elementType", "Users")]).body,
        r#"{"success":true,"result":{"types":[],"information":[]}}"#
    );
    assert_eq!(
        a.get("relatedtypes", &[("elementType", "Nope")]).body,
        r#"{"success":false,"error":{"message":"Permission to perform the operation is denied for name : Nope","code":"ACCESS_DENIED"}}"#
    );
}

#[test]
fn add_related_links_records_both_ways_and_delete_related_unlinks() {
    let s = TestServer::spawn();
    let a = s.admin();
    let sc = scene(&a);
    let second = create_id(
        &a,
        "Contacts",
        json!({"lastname": "Second", "assigned_user_id": "19x1"}),
    );
    // shared/golden seq 271-272.
    assert_eq!(
        add(&a, &sc.potential, &second, "Contacts").body,
        golden_body(271)
    );
    assert_eq!(
        ids(&related(&a, &sc.potential, "Contacts", "Contacts")),
        [sc.contact.clone(), second.clone()]
    );
    assert_eq!(
        ids(&related(&a, &second, "Potentials", "Potentials")),
        vec![sc.potential.clone()],
        "a link reads both ways"
    );
    // Linking twice is one link; without a label the first list of that module.
    let product = create_id(
        &a,
        "Products",
        json!({"productname": "Widget", "assigned_user_id": "19x1"}),
    );
    for _ in 0..2 {
        let r = a.post(
            "add_related",
            &[
                ("sourceRecordId", &sc.account),
                ("relatedRecordId", &product),
            ],
        );
        assert_eq!(r.json()["result"]["message"], "successfull");
    }
    assert_eq!(
        ids(&related(&a, &sc.account, "Products", "Products")),
        vec![product.clone()]
    );
    assert_eq!(
        ids(&related(&a, &product, "Accounts", "Accounts")),
        vec![sc.account.clone()]
    );
    // delete_related removes the link, not the records.
    let r = a.post(
        "delete_related",
        &[
            ("sourceRecordId", &product),
            ("relatedRecordId", &sc.account),
            ("relationIdLabel", "Accounts"),
        ],
    );
    assert_eq!(r.json()["result"]["message"], "successfull");
    assert_eq!(related(&a, &sc.account, "Products", "Products"), json!([]));
    assert_eq!(
        a.get("retrieve", &[("id", &product)]).json()["success"],
        true
    );
}

#[test]
fn directed_lists_and_conditions_split_what_links_and_fields_relate() {
    let s = TestServer::spawn();
    let a = s.admin();
    let product = |name: &str| {
        create_id(
            &a,
            "Products",
            json!({"productname": name, "assigned_user_id": "19x1"}),
        )
    };
    let (bundle, part) = (product("Bundle"), product("Part"));
    add(&a, &bundle, &part, "Product Bundles");
    assert_eq!(
        ids(&related(&a, &bundle, "Products", "Product Bundles")),
        vec![part.clone()]
    );
    assert_eq!(
        related(&a, &bundle, "Products", "Parent Product"),
        json!([])
    );
    assert_eq!(
        ids(&related(&a, &part, "Products", "Parent Product")),
        vec![bundle.clone()]
    );
    assert_eq!(related(&a, &part, "Products", "Product Bundles"), json!([]));

    let account = create_id(
        &a,
        "Accounts",
        json!({"accountname": "Busy", "assigned_user_id": "19x1"}),
    );
    let task = |status: &str| {
        create_id(
            &a,
            "Calendar",
            json!({"subject": status, "date_start": "2030-01-01", "time_start": "10:00:00",
                   "due_date": "2030-01-02", "taskstatus": status, "parent_id": account,
                   "assigned_user_id": "19x1"}),
        )
    };
    let (open, done) = (task("Not Started"), task("Completed"));
    assert_eq!(
        ids(&related(&a, &account, "Calendar", "Activities")),
        [open]
    );
    assert_eq!(
        ids(&related(&a, &account, "Calendar", "Activity History")),
        [done]
    );
}

#[test]
fn deleted_records_leave_every_related_list() {
    let s = TestServer::spawn();
    let a = s.admin();
    let sc = scene(&a);
    let product = create_id(
        &a,
        "Products",
        json!({"productname": "Widget", "assigned_user_id": "19x1"}),
    );
    add(&a, &sc.account, &product, "Products");
    a.post("delete", &[("id", &sc.contact)]);
    a.post("delete", &[("id", &product)]);
    assert_eq!(related(&a, &sc.account, "Contacts", "Contacts"), json!([]));
    assert_eq!(related(&a, &sc.account, "Products", "Products"), json!([]));
    assert_eq!(
        related(&a, &sc.potential, "Contacts", "Contacts"),
        json!([])
    );
    // vtiger: a deleted source is a PHP exception.
    a.post("delete", &[("id", &sc.account)]);
    assert_eq!(
        add(&a, &sc.account, &sc.ticket, "HelpDesk").body,
        r#"{"success":false,"error":{"message":"Unknown Error while processing request","code":"INTERNAL_SERVER_ERROR"}}"#
    );
    assert_eq!(
        a.get(
            "retrieve_related",
            &[
                ("id", &sc.account),
                ("relatedType", "HelpDesk"),
                ("relatedLabel", "HelpDesk")
            ]
        )
        .json()["error"]["code"],
        "ACCESS_DENIED"
    );
    // A label that holds another module.
    assert_eq!(
        add(&a, &sc.potential, &sc.ticket, "Contacts").json()["error"],
        json!({"message": "Relation specified is incorrect", "code": "UNKOWN_ENTITY"})
    );
}
