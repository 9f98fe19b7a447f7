//! create, retrieve, update, revise and delete through the wire (§3.3, §5).
use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::helpers::*;

fn ok(r: &Response) -> Value {
    let v = r.json();
    assert_eq!(v["success"], true, "{}", r.body);
    v["result"].clone()
}

fn create(c: &VtClient, module: &str, element: &Value) -> Response {
    c.post(
        "create",
        &[("elementType", module), ("element", &element.to_string())],
    )
}

/// Modules whose records need line items.
const INVENTORY: [&str; 4] = ["Quotes", "SalesOrder", "PurchaseOrder", "Invoice"];

/// Builds a valid element holding only `module`'s mandatory fields, creating
/// the records its mandatory references need.
struct Builder<'a> {
    c: &'a VtClient,
    describes: HashMap<String, Value>,
    made: HashMap<String, String>,
}

impl<'a> Builder<'a> {
    fn new(c: &'a VtClient) -> Self {
        Builder {
            c,
            describes: HashMap::new(),
            made: HashMap::new(),
        }
    }

    fn describe(&mut self, module: &str) -> Value {
        if !self.describes.contains_key(module) {
            let d = ok(&self.c.get("describe", &[("elementType", module)]));
            self.describes.insert(module.to_string(), d);
        }
        self.describes[module].clone()
    }

    fn record_of(&mut self, module: &str) -> String {
        match module {
            "Users" => return "19x1".into(),
            "Currency" => return "21x1".into(),
            "DocumentFolders" => return "22x1".into(),
            "Groups" => return "20x2".into(),
            _ => {}
        }
        if let Some(id) = self.made.get(module) {
            return id.clone();
        }
        let element = self.minimal(module);
        let id = ok(&create(self.c, module, &element))["id"]
            .as_str()
            .unwrap()
            .to_string();
        self.made.insert(module.to_string(), id.clone());
        id
    }

    fn minimal(&mut self, module: &str) -> Value {
        let d = self.describe(module);
        let mut e = Map::new();
        for f in d["fields"].as_array().unwrap() {
            if f["mandatory"] != true || f["editable"] == false {
                continue;
            }
            let name = f["name"].as_str().unwrap();
            let v = match f["type"]["name"].as_str().unwrap() {
                "owner" => "19x1".to_string(),
                "date" => "2026-03-31".into(),
                "time" => "09:30:00".into(),
                "integer" => "2".into(),
                "double" | "currency" => "12.5".into(),
                "boolean" => "1".into(),
                "email" => "someone@example.com".into(),
                "picklist" => f["type"]["picklistValues"][0]["value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                "reference" => {
                    let target = f["type"]["refersTo"][0].as_str().unwrap().to_string();
                    self.record_of(&target)
                }
                _ => format!("{module} {name}"),
            };
            e.insert(name.to_string(), Value::String(v));
        }
        if INVENTORY.contains(&module) {
            let product = self.record_of("Products");
            e.insert(
                "LineItems".into(),
                json!([{"productid": product, "quantity": "1", "listprice": "10"}]),
            );
        }
        Value::Object(e)
    }
}

fn entity_modules(c: &VtClient) -> Vec<String> {
    let lt = ok(&c.get("listtypes", &[]));
    lt["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .filter(|t| lt["information"][t]["isEntity"] == true && t != "Users")
        .collect()
}

#[test]
fn every_entity_module_supports_the_whole_record_lifecycle() {
    let s = TestServer::spawn();
    let a = s.admin();
    let mut b = Builder::new(&a);
    for module in entity_modules(&a) {
        let element = b.minimal(&module);
        let created = ok(&create(&a, &module, &element));
        let id = created["id"].as_str().unwrap().to_string();
        let prefix = b.describe(&module)["idPrefix"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(id.starts_with(&format!("{prefix}x")), "{module}: {id}");
        for (k, v) in element.as_object().unwrap() {
            if k != "assigned_user_id" && k != "LineItems" && !v.as_str().unwrap().contains('.') {
                assert_eq!(created[k], *v, "{module}.{k}");
            }
        }
        assert!(
            created
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| v.is_string() || k == "LineItems"),
            "{module}: every value a string"
        );
        // retrieve answers what create answered.
        assert_eq!(ok(&a.get("retrieve", &[("id", &id)])), created, "{module}");
        // update with the whole retrieved record, one field changed.
        let mut whole = created.clone();
        let first_text = b.describe(&module)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["type"]["name"] == "string" && f["editable"] == true && f["name"] != "tags")
            .map(|f| f["name"].as_str().unwrap().to_string());
        if let Some(field) = &first_text {
            whole[field] = json!("changed by update");
        }
        let updated = ok(&a.post("update", &[("element", &whole.to_string())]));
        if let Some(field) = &first_text {
            assert_eq!(updated[field], "changed by update", "{module}");
        }
        // revise one field.
        let revised = ok(&a.post(
            "revise",
            &[(
                "element",
                &json!({"id": id, "description": "revised"}).to_string(),
            )],
        ));
        if b.describe(&module)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "description")
        {
            assert_eq!(revised["description"], "revised", "{module}");
        }
        assert_eq!(
            a.post("delete", &[("id", &id)]).body,
            r#"{"success":true,"result":{"status":"successful"}}"#,
            "{module}"
        );
        let denied = r#"{"success":false,"error":{"message":"Permission to perform the operation is denied","code":"ACCESS_DENIED"}}"#;
        assert_eq!(
            a.get("retrieve", &[("id", &id)]).body,
            denied,
            "{module}: retrieve after delete"
        );
        assert_eq!(
            a.post("delete", &[("id", &id)]).body,
            denied,
            "{module}: second delete"
        );
    }
}

#[test]
fn a_minimal_account_is_answered_like_vtiger_answers_it() {
    let s = TestServer::spawn();
    let a = s.admin();
    let r = create(
        &a,
        "Accounts",
        &json!({"accountname": "Golden Minimal Co", "assigned_user_id": "19x1"}),
    );
    let mut ours = r.json();
    let mut theirs: Value = serde_json::from_str(&golden_body(48)).unwrap();
    for v in [&mut ours, &mut theirs] {
        for k in ["createdtime", "modifiedtime", "id"] {
            v["result"][k] = json!("<volatile>");
        }
    }
    assert_eq!(ours.to_string(), theirs.to_string());
}

#[test]
fn create_errors_follow_vtigers_order_and_text() {
    let s = TestServer::spawn();
    let a = s.admin();
    let body = |r: Response| r.body;
    let denied = r#"{"success":false,"error":{"message":"Permission to perform the operation is denied","code":"ACCESS_DENIED"}}"#;
    assert_eq!(body(create(&a, "NoSuchModule", &json!({"x": "y"}))), denied);
    assert_eq!(
        body(a.post(
            "create",
            &[(
                "element",
                r#"{"accountname":"x","assigned_user_id":"19x1"}"#
            )]
        )),
        denied
    );
    assert_eq!(
        body(a.get(
            "create",
            &[
                ("elementType", "Accounts"),
                ("element", r#"{"accountname":"x"}"#)
            ]
        )),
        denied,
        "a POST op by GET sees nothing"
    );
    assert_eq!(
        body(create(&a, "Accounts", &json!({"assigned_user_id": "19x1"}))),
        r#"{"success":false,"error":{"message":"accountname does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
    assert_eq!(
        body(create(&a, "Accounts", &json!({"accountname": "No Owner"}))),
        r#"{"success":false,"error":{"message":"assigned_user_id does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
    assert_eq!(
        body(a.post(
            "create",
            &[("elementType", "Accounts"), ("element", "{not json")]
        )),
        r#"{"success":false,"error":{"message":"accountname does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
    assert_eq!(
        body(create(
            &a,
            "Potentials",
            &json!({"potentialname": "No Stage", "assigned_user_id": "19x1"})
        )),
        r#"{"success":false,"error":{"message":"closingdate does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
    assert_eq!(
        body(create(
            &a,
            "Contacts",
            &json!({"lastname": "Wrong", "account_id": "12x5", "assigned_user_id": "19x1"})
        )),
        r#"{"success":false,"error":{"message":"Invalid reference specified for account_id","code":"REFERENCE_INVALID"}}"#
    );
    assert_eq!(
        body(create(
            &a,
            "Contacts",
            &json!({"lastname": "Unknown", "account_id": "999x5", "assigned_user_id": "19x1"})
        )),
        r#"{"success":false,"error":{"message":"Permission to perform the operation is denied for id","code":"ACCESS_DENIED"}}"#
    );
    assert_eq!(
        body(create(
            &a,
            "Accounts",
            &json!({"accountname": "Nobody's", "assigned_user_id": "19x999"})
        )),
        r#"{"success":false,"error":{"message":"Cannot assign record to the given user","code":"ACCESS_DENIED"}}"#
    );
}

#[test]
fn records_cannot_be_assigned_to_an_inactive_user() {
    let s = TestServer::spawn();
    let a = s.admin();
    let carol = ok(&create(
        &a,
        "Users",
        &json!({
            "user_name": "carol", "user_password": "x", "confirm_password": "x", "last_name": "Carol",
            "roleid": "H5", "email1": "carol@example.com"
        }),
    ));
    let carol = carol["id"].as_str().unwrap().to_string();
    let mine = |name: &str| json!({"accountname": name, "assigned_user_id": carol});
    ok(&create(&a, "Accounts", &mine("While active")));
    let r = revise(&a, json!({"id": carol, "status": "Inactive"}));
    assert_eq!(r["result"]["status"], "Inactive", "{r}");
    assert_eq!(
        create(&a, "Accounts", &mine("After")).body,
        r#"{"success":false,"error":{"message":"Cannot assign record to the given user","code":"ACCESS_DENIED"}}"#
    );
}

#[test]
fn retrieve_errors_follow_vtigers_order_and_text() {
    let s = TestServer::spawn();
    let a = s.admin();
    let account = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "Acme", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let object = account.split('x').nth(1).unwrap();
    let for_id = r#"{"success":false,"error":{"message":"Permission to perform the operation is denied for id","code":"ACCESS_DENIED"}}"#;
    assert_eq!(a.get("retrieve", &[]).body, for_id);
    assert_eq!(a.get("retrieve", &[("id", "999x1")]).body, for_id);
    assert_eq!(a.get("retrieve", &[("id", "garbage")]).body, for_id);
    assert_eq!(
        a.get("retrieve", &[("id", "11x999999")]).body,
        r#"{"success":false,"error":{"message":"Permission to perform the operation is denied","code":"ACCESS_DENIED"}}"#
    );
    assert_eq!(
        a.get("retrieve", &[("id", &format!("12x{object}"))]).body,
        r#"{"success":false,"error":{"message":"Id specified is incorrect","code":"INVALID_ID_ATTRIBUTE"}}"#
    );
}

#[test]
fn update_ignores_read_only_keys_and_keeps_fields_left_out() {
    let s = TestServer::spawn();
    let a = s.admin();
    let created = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "Acme", "phone": "+1 555", "website": "https://acme.example", "assigned_user_id": "19x1"}),
    ));
    let mut whole = created.clone();
    whole["account_no"] = json!("HACKED");
    whole["createdtime"] = json!("1999-01-01 00:00:00");
    whole["label"] = json!("ignored");
    whole["imageattachmentids"] = json!("1");
    whole["phone"] = json!("+1 777");
    whole.as_object_mut().unwrap().remove("website");
    let updated = ok(&a.post(
        "update",
        &[("element", &whole.to_string()), ("elementType", "Accounts")],
    ));
    assert_eq!(updated["account_no"], created["account_no"]);
    assert_eq!(updated["createdtime"], created["createdtime"]);
    assert_eq!(updated["phone"], "+1 777");
    assert_eq!(
        updated["website"], "https://acme.example",
        "7.x overlay: left-out fields keep their values"
    );
    let mut no_name = created.clone();
    no_name.as_object_mut().unwrap().remove("accountname");
    assert_eq!(
        a.post("update", &[("element", &no_name.to_string())]).body,
        r#"{"success":false,"error":{"message":"accountname does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
}

#[test]
fn revise_checks_only_the_mandatory_fields_it_is_sent() {
    let s = TestServer::spawn();
    let a = s.admin();
    let id = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "Acme", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ok(&a.post(
        "revise",
        &[("element", &json!({"id": id, "employees": "42"}).to_string())],
    ));
    assert_eq!(
        (r["employees"].as_str(), r["accountname"].as_str()),
        (Some("42"), Some("Acme"))
    );
    assert_eq!(
        a.post(
            "revise",
            &[("element", &json!({"id": id, "accountname": ""}).to_string())]
        )
        .body,
        r#"{"success":false,"error":{"message":"accountname does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
}

#[test]
fn values_are_formatted_as_vtiger_strings() {
    let s = TestServer::spawn();
    let a = s.admin();
    let acct = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "Fmt", "assigned_user_id": "19x1", "annual_revenue": "1500", "emailoptout": true, "employees": 12}),
    ));
    assert_eq!(acct["annual_revenue"], "1500.00000000");
    assert_eq!(acct["emailoptout"], "1");
    assert_eq!(acct["employees"], "12");
    assert_eq!(acct["notify_owner"], "0", "an unset boolean is 0");
    assert_eq!(acct["source"], "WEBSERVICE");
    assert_eq!(acct["modifiedby"], "19x1");
    let pot = ok(&create(
        &a,
        "Potentials",
        &json!({"potentialname": "Deal", "closingdate": "2027-03-31", "sales_stage": "Prospecting", "assigned_user_id": "19x1", "amount": "99999.50", "probability": "10"}),
    ));
    assert_eq!(
        pot["amount"], "99999.50000000",
        "vtiger rounds this to 100000; we never alter a value"
    );
    assert_eq!(pot["probability"], "10.000");
    assert_eq!(
        pot["forecast_amount"], "9999.95000000",
        "amount × probability / 100, exactly"
    );
    let pid = pot["id"].as_str().unwrap();
    let revised = ok(&a.post(
        "revise",
        &[(
            "element",
            &json!({"id": pid, "probability": "50"}).to_string(),
        )],
    ));
    assert_eq!(
        revised["forecast_amount"], "49999.75000000",
        "re-derived from the stored amount"
    );
    assert_eq!(pot["closingdate"], "2027-03-31");
    let ticket = ok(&create(
        &a,
        "HelpDesk",
        &json!({"ticket_title": "Multi", "ticketstatus": "Open", "ticketpriorities": "High", "assigned_user_id": "19x1"}),
    ));
    assert_eq!(ticket["hours"], "0.00000000");
    let camp = ok(&create(
        &a,
        "Campaigns",
        &json!({"campaignname": "C", "closingdate": "2026-12-31", "assigned_user_id": "20x2"}),
    ));
    assert_eq!(camp["assigned_user_id"], "20x2", "groups own records too");
}

#[test]
fn references_chain_across_modules() {
    let s = TestServer::spawn();
    let a = s.admin();
    let acct = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "Chain", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let contact = ok(&create(
        &a,
        "Contacts",
        &json!({"lastname": "Link", "account_id": acct, "assigned_user_id": "19x1"}),
    ));
    assert_eq!(contact["account_id"], acct.as_str());
    let cid = contact["id"].as_str().unwrap();
    let product = ok(&create(
        &a,
        "Products",
        &json!({"productname": "Widget", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pot = ok(&create(
        &a,
        "Potentials",
        &json!({"potentialname": "P", "related_to": acct, "contact_id": cid, "closingdate": "2027-01-01", "sales_stage": "Prospecting", "assigned_user_id": "19x1"}),
    ));
    assert_eq!(
        (pot["related_to"].as_str(), pot["contact_id"].as_str()),
        (Some(acct.as_str()), Some(cid))
    );
    let t = ok(&create(
        &a,
        "HelpDesk",
        &json!({"ticket_title": "T", "parent_id": acct, "contact_id": cid, "product_id": product, "ticketstatus": "Open", "ticketpriorities": "High", "assigned_user_id": "19x1"}),
    ));
    assert_eq!(
        (t["parent_id"].as_str(), t["product_id"].as_str()),
        (Some(acct.as_str()), Some(product.as_str()))
    );
    // A reference to a record that is gone reads as empty (golden seq 62).
    a.post("delete", &[("id", &acct)]);
    assert_eq!(ok(&a.get("retrieve", &[("id", cid)]))["account_id"], "");
}

#[test]
fn unicode_survives_byte_for_byte_and_comes_back_escaped() {
    let s = TestServer::spawn();
    let a = s.admin();
    let name = "Zażółć gęślą jaźń 😀";
    let r = create(
        &a,
        "Accounts",
        &json!({"accountname": name, "assigned_user_id": "19x1"}),
    );
    assert!(r.body.contains(r#""accountname":"Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144 \ud83d\ude00""#), "{}", r.body);
    assert_eq!(r.json()["result"]["accountname"], name);
    assert_eq!(r.json()["result"]["label"], name);
}

#[test]
fn ids_are_never_reused_after_delete() {
    let s = TestServer::spawn();
    let a = s.admin();
    let first = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "A", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.post("delete", &[("id", &first)]);
    let s = s.restart();
    let a = s.admin();
    let second = ok(&create(
        &a,
        "Contacts",
        &json!({"lastname": "B", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let n = |id: &str| id.split('x').nth(1).unwrap().parse::<i64>().unwrap();
    assert!(
        n(&second) > n(&first),
        "one sequence across modules, never reused"
    );
}

#[test]
fn values_that_vtiger_would_mangle_are_refused_and_nothing_is_saved() {
    let s = TestServer::spawn();
    let a = s.admin();
    let cases = [
        (
            "Accounts",
            json!({"employees": "12abc"}),
            "employees: expected a whole number",
        ),
        (
            "Accounts",
            json!({"annual_revenue": "1,5"}),
            "annual_revenue: expected a decimal number like 1500.25",
        ),
        (
            "Accounts",
            json!({"emailoptout": "maybe"}),
            "emailoptout: expected 0 or 1",
        ),
        (
            "Accounts",
            json!({"email1": "not-an-email"}),
            "email1: expected an email address",
        ),
        (
            "Contacts",
            json!({"birthday": "2026-13-45"}),
            "birthday: expected a date as yyyy-mm-dd",
        ),
        (
            "Calendar",
            json!({"time_start": "25:00"}),
            "time_start: expected a time as hh:mm:ss",
        ),
        (
            "Accounts",
            json!({"phone": "9".repeat(256)}),
            "phone: longer than 255 characters",
        ),
    ];
    for (module, extra, message) in cases {
        let mut b = Builder::new(&a);
        let mut element = b.minimal(module);
        for (k, v) in extra.as_object().unwrap() {
            element[k] = v.clone();
        }
        let before = s
            .db()
            .query_row("SELECT COUNT(*) FROM crmentity", [], |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(
            create(&a, module, &element).body,
            format!(
                r#"{{"success":false,"error":{{"message":"Invalid value specified for {message}","code":"INVALID_FIELD_VALUE"}}}}"#
            ),
            "{module}"
        );
        let after = s
            .db()
            .query_row("SELECT COUNT(*) FROM crmentity", [], |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(before, after, "nothing saved for {message}");
    }
}

#[test]
fn an_element_that_is_not_utf8_is_refused() {
    let s = TestServer::spawn();
    let a = s.admin();
    let session = a.session.clone().unwrap();
    let body = format!("operation=create&sessionName={session}&elementType=Accounts&element=%7B%22accountname%22%3A%22%FF%22%2C%22assigned_user_id%22%3A%2219x1%22%7D");
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(
        r.body,
        r#"{"success":false,"error":{"message":"Invalid value specified for element: not valid UTF-8","code":"INVALID_FIELD_VALUE"}}"#
    );
}

#[test]
fn revise_with_an_element_that_is_not_an_object_is_refused_as_vtiger_does() {
    let s = TestServer::spawn();
    let a = s.admin();
    for bad in ["[1,2]", "{not json", "\"text\""] {
        assert_eq!(
            a.post("revise", &[("element", bad)]).body,
            r#"{"success":false,"error":{"message":"Mandatory field does not have a value","code":"MANDATORY_FIELDS_MISSING"}}"#,
            "{bad}"
        );
    }
}

#[test]
fn users_and_actors_are_retrieved_as_vtiger_shows_them() {
    let s = TestServer::spawn();
    let a = s.admin();
    let admin = ok(&a.get("retrieve", &[("id", "19x1")]));
    let keys: Vec<&String> = admin.as_object().unwrap().keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("user_name"));
    assert_eq!(
        keys.last().map(|k| k.as_str()),
        Some("id"),
        "no label for users (golden seq 76)"
    );
    for secret in ["user_password", "confirm_password", "accesskey"] {
        assert!(admin.get(secret).is_none(), "{secret} is never shown");
    }
    assert!(!a
        .get("retrieve", &[("id", "19x1")])
        .body
        .contains(ADMIN_KEY));
    assert_eq!(
        a.get("retrieve", &[("id", "20x3")]).body,
        r#"{"success":true,"result":{"groupid":"3","groupname":"Marketing Group","description":"Group Related to Marketing Activities","id":"20x3"}}"#
    );
    assert_eq!(
        a.get("retrieve", &[("id", "21x1")]).body,
        r#"{"success":true,"result":{"id":"21x1","currency_name":"USA, Dollars","currency_code":"USD","currency_symbol":"$","conversion_rate":"1.00000","currency_status":"Active","defaultid":"-11","deleted":"0"}}"#
    );
    assert_eq!(
        a.get("retrieve", &[("id", "20x99")]).body,
        r#"{"success":false,"error":{"message":"Record not found","code":"RECORD_NOT_FOUND"}}"#
    );
}

#[test]
fn a_records_owner_shows_as_the_group_it_is_even_when_the_group_is_newer_than_the_first_read() {
    let s = TestServer::spawn();
    let a = s.admin();
    let account = create_id(
        &a,
        "Accounts",
        json!({"accountname": "Owned", "assigned_user_id": "19x1"}),
    );
    // The owner as retrieve and a query page show it.
    let shown = || {
        let one = ok(&a.get("retrieve", &[("id", &account)]));
        let query = "select * from Accounts where accountname = 'Owned';";
        let page = ok(&a.get("query", &[("query", query)]));
        (
            one["assigned_user_id"].as_str().unwrap_or("?").to_string(),
            page[0]["assigned_user_id"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
        )
    };
    assert_eq!(shown(), ("19x1".to_string(), "19x1".to_string()));
    let group = create_id(&a, "Groups", json!({"groupname": "Late Shift"}));
    let r = revise(&a, json!({"id": account, "assigned_user_id": group}));
    assert_eq!(r["result"]["assigned_user_id"], group, "{r}");
    assert_eq!(shown(), (group.clone(), group));
}

#[test]
fn admins_manage_users_and_actors_and_others_may_not() {
    let s = TestServer::spawn();
    let a = s.admin();
    let group = ok(&create(
        &a,
        "Groups",
        &json!({"groupname": "Night Shift", "description": "after hours"}),
    ));
    assert_eq!(
        group["id"], "20x5",
        "after the admin (1) and the three shipped groups"
    );
    let user = ok(&create(
        &a,
        "Users",
        &json!({
            "user_name": "carol", "user_password": "x", "confirm_password": "x", "last_name": "Carol",
            "roleid": "H5", "email1": "carol@example.com", "is_admin": "off"
        }),
    ));
    assert_eq!(user["id"], "19x6");
    assert_eq!(
        (
            user["status"].as_str(),
            user["is_admin"].as_str(),
            user["theme"].as_str()
        ),
        (Some("Active"), Some("off"), Some("softed"))
    );
    assert!(user.get("user_password").is_none());
    let key: String = s
        .db()
        .query_row("SELECT accesskey FROM m_Users WHERE _id = 6", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut carol = s.client();
    carol
        .login("carol", &key)
        .expect("a user created through the API logs in with its generated key");
    let denied = r#"{"success":false,"error":{"message":"Permission to write is denied","code":"ACCESS_DENIED"}}"#;
    assert_eq!(
        create(&carol, "Groups", &json!({"groupname": "Mine"})).body,
        denied
    );
    assert_eq!(
        carol
            .post(
                "revise",
                &[(
                    "element",
                    &json!({"id": "20x5", "groupname": "Taken"}).to_string()
                )]
            )
            .body,
        denied
    );
    assert_eq!(carol.post("delete", &[("id", "21x1")]).body, denied);
    let renamed = ok(&a.post(
        "revise",
        &[(
            "element",
            &json!({"id": "20x5", "groupname": "Day Shift"}).to_string(),
        )],
    ));
    assert_eq!(renamed["groupname"], "Day Shift");
    let dup = create(
        &a,
        "Users",
        &json!({"user_name": "carol", "user_password": "x", "confirm_password": "x", "last_name": "C", "roleid": "H5", "email1": "c@example.com"}),
    );
    assert_eq!(dup.json()["error"]["code"], "INVALID_FIELD_VALUE");
    assert_eq!(
        ok(&a.post("delete", &[("id", "19x6")]))["status"],
        "successful"
    );
    assert_eq!(
        carol.get("listtypes", &[]).json()["error"]["code"],
        "INVALID_SESSIONID",
        "a deleted user's sessions end"
    );
    assert_eq!(
        a.post("delete", &[("id", "19x1")]).json()["error"]["message"],
        "Permission to delete is denied"
    );
}

#[test]
fn update_revise_and_delete_resolve_ids_like_retrieve() {
    let s = TestServer::spawn();
    let a = s.admin();
    let id = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "Acme", "assigned_user_id": "19x1"}),
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = format!("12x{}", id.split('x').nth(1).unwrap());
    let incorrect = r#"{"success":false,"error":{"message":"Id specified is incorrect","code":"INVALID_ID_ATTRIBUTE"}}"#;
    let for_id = r#"{"success":false,"error":{"message":"Permission to perform the operation is denied for id","code":"ACCESS_DENIED"}}"#;
    let denied = r#"{"success":false,"error":{"message":"Permission to perform the operation is denied","code":"ACCESS_DENIED"}}"#;
    let el = |id: &str| json!({"id": id, "lastname": "X", "assigned_user_id": "19x1"}).to_string();
    assert_eq!(
        a.post("update", &[("element", &el(&wrong))]).body,
        incorrect
    );
    assert_eq!(
        a.post("revise", &[("element", &el(&wrong))]).body,
        incorrect
    );
    assert_eq!(a.post("delete", &[("id", &wrong)]).body, incorrect);
    assert_eq!(
        a.post(
            "update",
            &[("element", &json!({"accountname": "no id"}).to_string())]
        )
        .body,
        for_id
    );
    assert_eq!(a.post("delete", &[]).body, for_id);
    assert_eq!(
        a.post(
            "revise",
            &[(
                "element",
                &json!({"id": "11x999999", "phone": "1"}).to_string()
            )]
        )
        .body,
        denied
    );
    assert_eq!(
        a.get("delete", &[("id", &id)]).body,
        for_id,
        "a POST op by GET sees no id"
    );
}

#[test]
fn multipicklist_values_are_joined_with_vtigers_separator() {
    let schema = crate::meta::schema_copy();
    crate::meta::edit_module(schema.path(), "Accounts", |m| {
        let fields = m["fields"].as_array_mut().unwrap();
        let at = fields.len() - 1;
        fields.insert(at, json!({"name": "cf_900", "label": "Regions", "type": "multipicklist", "picklistValues": ["North", "South", "East"],
            "mandatory": false, "isunique": false, "nullable": true, "editable": true, "default": ""}));
    });
    let dir = schema.path().to_path_buf();
    let s = TestServer::spawn_with(|c| c.schema_dir = Some(dir));
    let a = s.admin();
    let from_list = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "M", "assigned_user_id": "19x1", "cf_900": ["North", "East"]}),
    ));
    assert_eq!(from_list["cf_900"], "North |##| East");
    let from_text = ok(&create(
        &a,
        "Accounts",
        &json!({"accountname": "N", "assigned_user_id": "19x1", "cf_900": "South |##| North"}),
    ));
    assert_eq!(from_text["cf_900"], "South |##| North");
}

#[test]
fn concurrent_writers_lose_nothing() {
    let s = TestServer::spawn_with(|c| c.workers = 4);
    let port = s.port;
    let session = s.admin().session.unwrap();
    let logged_before = s.changes_logged();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let session = session.clone();
            std::thread::spawn(move || {
                let c = VtClient { port, session: Some(session) };
                (0..25)
                    .map(|i| {
                        let r = create(&c, "Accounts", &json!({"accountname": format!("T{t} #{i}"), "assigned_user_id": "19x1"}));
                        let id = ok(&r)["id"].as_str().unwrap().to_string();
                        let revised = ok(&c.post("revise", &[("element", &json!({"id": id, "employees": i}).to_string())]));
                        assert_eq!(revised["employees"], i.to_string());
                        id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "every acknowledged create has its own id");
    let stored: i64 = s
        .db()
        .query_row(
            "SELECT COUNT(*) FROM crmentity WHERE setype = 'Accounts' AND deleted = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 100);
    let numbers: i64 = s
        .db()
        .query_row(
            "SELECT COUNT(DISTINCT account_no) FROM m_Accounts",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(numbers, 100, "auto-numbers are never handed out twice");
    let logged: i64 = s
        .db()
        .query_row(
            "SELECT COUNT(*) FROM changelog WHERE setype = 'Accounts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 100, "the log keeps each record's latest change");
    assert_eq!(
        s.changes_logged() - logged_before,
        200,
        "each create and revise logged its change"
    );
}

#[test]
fn writes_keep_the_owner_index_and_the_label_in_step_with_the_record() {
    let s = TestServer::spawn();
    let a = s.admin();
    let id = create_id(
        &a,
        "Accounts",
        json!({"accountname": "Before", "assigned_user_id": "19x1"}),
    );
    let crmid: i64 = id.split_once('x').unwrap().1.parse().unwrap();
    // The owner found through its index, as the queries that use it find
    // records; the label, in no index, as the record's row holds it.
    let by_label = |label: &str| -> Vec<i64> {
        let db = s.db();
        let mut stmt = db
            .prepare("SELECT crmid FROM crmentity WHERE setype = 'Accounts' AND label = ?1")
            .unwrap();
        let found = stmt.query_map([label], |r| r.get(0)).unwrap();
        found.collect::<Result<_, _>>().unwrap()
    };
    let by_owner = |owner: i64| -> Vec<i64> {
        let db = s.db();
        let mut stmt = db
            .prepare("SELECT crmid FROM crmentity INDEXED BY crmentity_owner WHERE smownerid = ?1 AND crmid = ?2")
            .unwrap();
        let found = stmt.query_map([owner, crmid], |r| r.get(0)).unwrap();
        found.collect::<Result<_, _>>().unwrap()
    };
    let revise = |element: Value| ok(&a.post("revise", &[("element", &element.to_string())]));

    let kept = revise(json!({"id": id, "employees": "12"}));
    assert_eq!(
        (kept["label"].as_str(), kept["assigned_user_id"].as_str()),
        (Some("Before"), Some("19x1"))
    );
    assert_eq!(
        (by_label("Before"), by_owner(1)),
        (vec![crmid], vec![crmid])
    );

    let renamed = revise(json!({"id": id, "accountname": "After"}));
    assert_eq!(renamed["label"], "After");
    assert_eq!(
        (by_label("After"), by_label("Before")),
        (vec![crmid], vec![])
    );

    let moved = revise(json!({"id": id, "assigned_user_id": "20x2"}));
    assert_eq!(moved["assigned_user_id"], "20x2");
    assert_eq!((by_owner(2), by_owner(1)), (vec![crmid], vec![]));

    let both = revise(json!({"id": id, "accountname": "Last", "assigned_user_id": "19x1"}));
    assert_eq!(
        (both["label"].as_str(), both["assigned_user_id"].as_str()),
        (Some("Last"), Some("19x1"))
    );
    assert_eq!(
        (by_label("Last"), by_owner(1), by_owner(2)),
        (vec![crmid], vec![crmid], vec![])
    );
    let modified: i64 = s
        .db()
        .query_row(
            "SELECT modifiedby FROM crmentity WHERE crmid = ?1",
            [crmid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(modified, 1, "every write sets who modified it");
}
