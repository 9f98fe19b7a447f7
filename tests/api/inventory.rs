//! Inventory records through the wire: LineItems, computed totals and
//! retrieve_inventory (§3.3, §5.1).
use serde_json::{json, Value};

use crate::helpers::*;

fn create(c: &VtClient, module: &str, element: Value) -> Value {
    c.post(
        "create",
        &[("elementType", module), ("element", &element.to_string())],
    )
    .json()
}

fn id_of(v: &Value) -> String {
    v["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

struct Shop {
    account: String,
    widget: String,
    service: String,
}

fn shop(a: &VtClient) -> Shop {
    Shop {
        account: id_of(&create(
            a,
            "Accounts",
            json!({"accountname": "Buyer", "assigned_user_id": "19x1"}),
        )),
        widget: id_of(&create(
            a,
            "Products",
            json!({"productname": "Widget", "unit_price": "19.99", "assigned_user_id": "19x1"}),
        )),
        service: id_of(&create(
            a,
            "Services",
            json!({"servicename": "Setup", "assigned_user_id": "19x1"}),
        )),
    }
}

fn invoice(s: &Shop, lines: Value) -> Value {
    json!({"subject": "INV", "account_id": s.account, "bill_street": "1 Main St",
           "ship_street": "1 Main St", "assigned_user_id": "19x1", "hdnTaxType": "individual",
           "LineItems": lines})
}

#[test]
fn an_inventory_record_needs_line_items() {
    let s = TestServer::spawn();
    let a = s.admin();
    let shop = shop(&a);
    let mut element = invoice(&shop, json!([]));
    assert_eq!(
        a.post(
            "create",
            &[
                ("elementType", "Invoice"),
                ("element", &element.to_string())
            ]
        )
        .body,
        r#"{"success":false,"error":{"message":"Mandatory Fields Missing..","code":"MANDATORY_FIELDS_MISSING"}}"#
    );
    element.as_object_mut().unwrap().remove("LineItems");
    assert_eq!(
        create(&a, "Invoice", element)["error"]["code"],
        "MANDATORY_FIELDS_MISSING"
    );
    // A line must sell a live product or service, with numbers.
    for (line, code) in [
        (
            json!({"productid": shop.account, "quantity": "1", "listprice": "1"}),
            "REFERENCE_INVALID",
        ),
        (
            json!({"productid": shop.widget, "listprice": "1"}),
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            json!({"productid": shop.widget, "quantity": "lots", "listprice": "1"}),
            "INVALID_FIELD_VALUE",
        ),
    ] {
        let r = create(&a, "Invoice", invoice(&shop, json!([line])));
        assert_eq!(r["error"]["code"], code, "{r}");
    }
    let count = a
        .get("query", &[("query", "SELECT count(*) FROM Invoice;")])
        .json();
    assert_eq!(count["result"][0]["count"], "0", "nothing half-written");
}

#[test]
fn totals_are_computed_exactly_from_the_lines() {
    let s = TestServer::spawn();
    let a = s.admin();
    let shop = shop(&a);
    let created = create(
        &a,
        "Invoice",
        invoice(
            &shop,
            json!([
                {"productid": shop.widget, "quantity": "3", "listprice": "19.99", "discount_percent": "10", "tax1": "4.5", "comment": "three"},
                {"productid": shop.service, "quantity": 2, "listprice": 100, "discount_amount": "15.50", "tax1": "4.5"}
            ]),
        ),
    )["result"]
        .clone();
    assert_eq!(created["hdnSubTotal"], "249.20428500");
    assert_eq!(created["pre_tax_total"], "238.47300000");
    assert_eq!(created["hdnGrandTotal"], "249.20428500");
    let lines = created["LineItems"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["productid"], shop.widget.as_str());
    assert_eq!(lines[0]["parent_id"], created["id"]);
    assert_eq!(lines[0]["sequence_no"], "1");
    assert_eq!(lines[0]["comment"], "three");
    assert_eq!(lines[1]["productid"], shop.service.as_str());
    // retrieve and retrieve_inventory answer the same, lines included.
    let id = created["id"].as_str().unwrap();
    let retrieved = a.get("retrieve", &[("id", id)]).json()["result"].clone();
    assert_eq!(retrieved, created);
    assert_eq!(
        a.get("retrieve_inventory", &[("id", id)]).json()["result"],
        created
    );
    // A line is a LineItem row of its own.
    let line = a
        .get("retrieve", &[("id", lines[1]["id"].as_str().unwrap())])
        .json();
    assert_eq!(
        line["result"]["discount_amount"],
        lines[1]["discount_amount"]
    );
}

#[test]
fn updates_keep_lines_unless_sent_and_totals_follow_the_header() {
    let s = TestServer::spawn();
    let a = s.admin();
    let shop = shop(&a);
    let created = create(
        &a,
        "SalesOrder",
        json!({"subject": "SO", "account_id": shop.account, "sostatus": "Created",
               "bill_street": "x", "ship_street": "x", "assigned_user_id": "19x1",
               "hdnTaxType": "group", "tax1": "10",
               "LineItems": [{"productid": shop.widget, "quantity": "4", "listprice": "25"}]}),
    );
    let created = created["result"].clone();
    assert!(created["id"].is_string(), "{created}");
    assert_eq!(created["hdnGrandTotal"], "110.00000000", "group tax of 10%");
    let id = created["id"].as_str().unwrap().to_string();
    // revise a header field: the same line, new totals.
    let revised = a
        .post(
            "revise",
            &[(
                "element",
                &json!({"id": id, "hdnDiscountPercent": "10", "txtAdjustment": "-1"}).to_string(),
            )],
        )
        .json()["result"]
        .clone();
    assert_eq!(revised["LineItems"].as_array().unwrap().len(), 1);
    assert_eq!(revised["hdnDiscountAmount"], "10.00000000");
    assert_eq!(
        revised["hdnGrandTotal"], "98.00000000",
        "(100 − 10) × 1.1 − 1"
    );
    // update with the whole record and new lines replaces them.
    let mut whole = revised.clone();
    whole["LineItems"] = json!([
        {"productid": shop.service, "quantity": "1", "listprice": "50"},
        {"productid": shop.widget, "quantity": "1", "listprice": "50"}
    ]);
    let updated = a.post("update", &[("element", &whole.to_string())]).json()["result"].clone();
    let lines = updated["LineItems"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["productid"], shop.service.as_str());
    assert_eq!(updated["hdnSubTotal"], "100.00000000");
    assert_eq!(updated["hdnGrandTotal"], "98.00000000");
}
