//! convertlead through the wire (§3.3, 7.x form).
use serde_json::{json, Value};

use crate::helpers::*;

fn convert(c: &VtClient, element: Value) -> Value {
    c.post("convertlead", &[("element", &element.to_string())])
        .json()
}

fn retrieve(c: &VtClient, id: &str) -> Value {
    c.get("retrieve", &[("id", id)]).json()["result"].clone()
}

fn count(c: &VtClient, module: &str) -> String {
    let q = format!("SELECT count(*) FROM {module};");
    c.get("query", &[("query", &q)]).json()["result"][0]["count"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The lead of vtiger's recorded scenario (shared/golden seq 274).
fn connie(c: &VtClient) -> String {
    create_id(
        c,
        "Leads",
        json!({"firstname": "Connie", "lastname": "Convert", "company": "Convert Co",
               "email": "connie@convert.example.com", "phone": "+1 555 0300", "city": "Springfield",
               "industry": "Banking", "assigned_user_id": "19x1"}),
    )
}

#[test]
fn a_lead_becomes_an_account_and_a_contact_and_disappears() {
    let s = TestServer::spawn();
    let a = s.admin();
    let lead = connie(&a);
    // The recorded request, with this run's lead id.
    let r = convert(
        &a,
        json!({"leadId": lead, "assignedTo": "19x1", "entities": {
            "Accounts": {"create": true, "name": "Accounts", "accountname": "Convert Co"},
            "Contacts": {"create": true, "name": "Contacts", "lastname": "Convert", "firstname": "Connie",
                         "email": "connie@convert.example.com"}}}),
    );
    let recorded: Value = serde_json::from_str(&golden_body(274)).unwrap();
    assert_eq!(
        r["result"].as_object().unwrap().keys().collect::<Vec<_>>(),
        recorded["result"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
    let account = retrieve(&a, r["result"]["Accounts"].as_str().unwrap());
    let contact = retrieve(&a, r["result"]["Contacts"].as_str().unwrap());
    assert!(account["id"].as_str().unwrap().starts_with("11x"));
    // Values come from the lead through vtiger's mapping.
    assert_eq!(
        (
            account["accountname"].as_str(),
            account["phone"].as_str(),
            account["bill_city"].as_str(),
            account["industry"].as_str(),
            account["email1"].as_str(),
            account["isconvertedfromlead"].as_str()
        ),
        (
            Some("Convert Co"),
            Some("+1 555 0300"),
            Some("Springfield"),
            Some("Banking"),
            Some("connie@convert.example.com"),
            Some("1")
        )
    );
    assert_eq!(contact["account_id"], account["id"]);
    assert_eq!(contact["mailingcity"], "Springfield");
    assert_eq!(contact["phone"], "+1 555 0300");
    // The lead is gone from retrieve, query and the feed.
    assert_eq!(
        a.get("retrieve", &[("id", &lead)]).json()["error"]["code"],
        "ACCESS_DENIED"
    );
    assert_eq!(count(&a, "Leads"), "0");
    let feed = a.get("sync", &[("elementType", "Leads")]).json();
    assert_eq!(feed["result"]["deleted"], json!([lead]));
    // Once only.
    assert_eq!(
        a.post(
            "convertlead",
            &[(
                "element",
                &json!({"leadId": lead, "entities": {"Contacts": {"create": true}}}).to_string()
            )]
        )
        .body,
        r#"{"success":false,"error":{"message":"Lead is already converted","code":"LEAD_ALREADY_CONVERTED"}}"#
    );
}

#[test]
fn an_account_with_the_same_name_is_reused_and_a_potential_joins_them() {
    let s = TestServer::spawn();
    let a = s.admin();
    let existing = create_id(
        &a,
        "Accounts",
        json!({"accountname": "Convert Co", "assigned_user_id": "19x1"}),
    );
    let lead = connie(&a);
    let r = convert(
        &a,
        json!({"leadId": lead, "entities": {
            "Accounts": {"create": true, "name": "Accounts"},
            "Contacts": {"create": true, "name": "Contacts", "lastname": "Converted"},
            "Potentials": {"create": true, "name": "Potentials", "potentialname": "Big deal",
                           "closingdate": "2030-01-31", "sales_stage": "Prospecting", "amount": "1500.50"}}}),
    );
    assert_eq!(r["result"]["Accounts"], existing.as_str());
    assert_eq!(count(&a, "Accounts"), "1");
    let contact = retrieve(&a, r["result"]["Contacts"].as_str().unwrap());
    assert_eq!(contact["lastname"], "Converted", "the client's value wins");
    assert_eq!(contact["firstname"], "Connie");
    let potential = retrieve(&a, r["result"]["Potentials"].as_str().unwrap());
    assert_eq!(potential["related_to"], existing.as_str());
    assert_eq!(potential["contact_id"], contact["id"]);
    assert_eq!(potential["amount"], "1500.50000000");
    assert_eq!(
        potential["assigned_user_id"], "19x1",
        "assignedTo defaults to the caller"
    );
}

#[test]
fn a_failed_conversion_leaves_nothing_behind() {
    let s = TestServer::spawn();
    let a = s.admin();
    let lead = connie(&a);
    let r = convert(
        &a,
        json!({"leadId": lead, "entities": {
            "Accounts": {"create": true, "name": "Accounts"},
            "Contacts": {"create": true, "name": "Contacts"},
            "Potentials": {"create": true, "name": "Potentials", "potentialname": "No date"}}}),
    );
    assert_eq!(r["error"]["code"], "UNKNOWN_OPERATION", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with(" : Potentials"),
        "{r}"
    );
    assert_eq!(count(&a, "Accounts"), "0");
    assert_eq!(count(&a, "Contacts"), "0");
    assert_eq!(retrieve(&a, &lead)["lastname"], "Convert", "the lead stays");
    // Neither an account nor a contact asked for: vtiger answers null.
    assert_eq!(
        a.post(
            "convertlead",
            &[(
                "element",
                &json!({"leadId": lead, "entities": {"Potentials": {"create": true}}}).to_string()
            )]
        )
        .body,
        r#"{"success":true,"result":null}"#
    );
    assert_eq!(retrieve(&a, &lead)["id"], lead.as_str());
}

#[test]
fn the_leads_related_records_move_to_what_it_became() {
    let s = TestServer::spawn();
    let a = s.admin();
    let lead = connie(&a);
    let task = create_id(
        &a,
        "Calendar",
        json!({"subject": "Call Connie", "date_start": "2030-01-01", "time_start": "10:00:00",
               "due_date": "2030-01-02", "taskstatus": "Not Started", "parent_id": lead,
               "assigned_user_id": "19x1"}),
    );
    let product = create_id(
        &a,
        "Products",
        json!({"productname": "Widget", "assigned_user_id": "19x1"}),
    );
    a.post(
        "add_related",
        &[
            ("sourceRecordId", &lead),
            ("relatedRecordId", &product),
            ("relationIdLabel", "Products"),
        ],
    );
    let r = convert(
        &a,
        json!({"leadId": lead, "entities": {
            "Accounts": {"create": true, "name": "Accounts"},
            "Contacts": {"create": true, "name": "Contacts"}}}),
    );
    let (account, contact) = (
        r["result"]["Accounts"].as_str().unwrap(),
        r["result"]["Contacts"].as_str().unwrap(),
    );
    // Links go to the contact (transferRelatedRecordsTo's default); a task's
    // parent cannot be a contact, so it goes to the account.
    let products = a
        .get(
            "retrieve_related",
            &[
                ("id", contact),
                ("relatedType", "Products"),
                ("relatedLabel", "Products"),
            ],
        )
        .json();
    assert_eq!(products["result"][0]["id"], product.as_str());
    assert_eq!(retrieve(&a, &task)["parent_id"], account);
}
