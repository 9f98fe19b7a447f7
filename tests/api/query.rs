//! VTQL through the wire (§8).
use serde_json::{json, Value};

use crate::helpers::*;

fn query(c: &VtClient, q: &str) -> Value {
    let r = c.get("query", &[("query", q)]).json();
    assert_eq!(r["success"], true, "{q}: {r}");
    r["result"].clone()
}

fn names(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["accountname"].as_str().unwrap().to_string())
        .collect()
}

/// Five accounts: Alpha (10, Banking), Beta (20, Retail), Gamma (30, Banking),
/// Delta (no employees), O'Brien (5, Retail).
fn seeded() -> (TestServer, VtClient, Vec<String>) {
    let s = TestServer::spawn();
    let a = s.admin();
    let ids = [
        json!({"accountname": "Alpha", "employees": "10", "industry": "Banking", "assigned_user_id": "19x1"}),
        json!({"accountname": "Beta", "employees": "20", "industry": "Retail", "assigned_user_id": "19x1"}),
        json!({"accountname": "Gamma", "employees": "30", "industry": "Banking", "assigned_user_id": "20x2"}),
        json!({"accountname": "Delta", "assigned_user_id": "19x1"}),
        json!({"accountname": "O'Brien", "employees": "5", "industry": "Retail", "assigned_user_id": "19x1"}),
    ]
    .into_iter()
    .map(|e| create_id(&a, "Accounts", e))
    .collect();
    (s, a, ids)
}

#[test]
fn select_forms_answer_as_vtiger_does() {
    let (_s, a, ids) = seeded();
    let all = query(&a, "SELECT * FROM Accounts;");
    assert_eq!(all.as_array().unwrap().len(), 5);
    assert!(all[0].get("label").is_none(), "query rows carry no label");
    assert_eq!(all[0]["id"], ids[0].as_str());
    assert_eq!(
        all[0].as_object().unwrap().keys().next_back().unwrap(),
        "id"
    );
    assert_eq!(
        query(
            &a,
            "select accountname, employees from Accounts where accountname = 'Alpha';"
        ),
        json!([{"accountname": "Alpha", "employees": "10", "id": ids[0]}])
    );
    assert_eq!(
        query(&a, "SELECT count(*) FROM Accounts;"),
        json!([{"count": "5"}])
    );
    assert_eq!(
        query(
            &a,
            "SELECT count(*) FROM Accounts WHERE industry = 'Banking';"
        ),
        json!([{"count": "2"}])
    );
    assert_eq!(
        query(&a, "SELECT id FROM Accounts LIMIT 2;"),
        json!([{"id": ids[0]}, {"id": ids[1]}])
    );
    assert_eq!(
        query(&a, "SELECT accountname FROM Accounts LIMIT 0;"),
        json!([])
    );
    assert_eq!(
        query(
            &a,
            "SELECT accountname FROM Accounts WHERE accountname = 'Nobody';"
        ),
        json!([])
    );
}

#[test]
fn selected_columns_come_in_select_order_once_each_then_id() {
    let (_s, a, ids) = seeded();
    let body = |q: &str| a.get("query", &[("query", q)]).body;
    // A column named twice is answered once, where it was first named (a
    // PHP row is an associative array); `id` always comes last.
    assert_eq!(
        body("select id, employees, accountname, employees from Accounts where accountname = 'Alpha';"),
        format!(
            r#"{{"success":true,"result":[{{"employees":"10","accountname":"Alpha","id":"{}"}}]}}"#,
            ids[0]
        )
    );
    // `*`: every field in module order, `id` after them, no label.
    let all = body("select * from Accounts where accountname = 'Alpha';");
    assert!(
        all.starts_with(r#"{"success":true,"result":[{"accountname":"Alpha","account_no":"#),
        "{all}"
    );
    assert!(
        all.ends_with(&format!(r#","id":"{}"}}]}}"#, ids[0])),
        "{all}"
    );
    // A retrieve: the same fields, then `id`, then `label`.
    let one = a.get("retrieve", &[("id", &ids[0])]).body;
    assert!(
        one.starts_with(r#"{"success":true,"result":{"accountname":"Alpha","account_no":"#),
        "{one}"
    );
    assert!(
        one.ends_with(&format!(r#","id":"{}","label":"Alpha"}}}}"#, ids[0])),
        "{one}"
    );
}

#[test]
fn where_operators_order_and_limit() {
    let (_s, a, _) = seeded();
    let q = |w: &str| {
        names(&query(
            &a,
            &format!("SELECT accountname FROM Accounts {w};"),
        ))
    };
    assert_eq!(
        q("WHERE industry != 'Banking'"),
        ["Beta", "Delta", "O'Brien"]
    );
    assert_eq!(
        q("WHERE employees < 10"),
        ["Delta", "O'Brien"],
        "an empty number is 0"
    );
    assert_eq!(q("WHERE employees > 10"), ["Beta", "Gamma"]);
    assert_eq!(
        q("WHERE employees >= 10 AND employees <= 20"),
        ["Alpha", "Beta"]
    );
    assert_eq!(
        q("WHERE employees = 5"),
        ["O'Brien"],
        "unquoted numbers compare as numbers"
    );
    assert_eq!(q("WHERE accountname LIKE '%ta'"), ["Beta", "Delta"]);
    assert_eq!(q("WHERE accountname = 'O''Brien'"), ["O'Brien"]);
    assert_eq!(
        q("WHERE industry IN ('Retail', 'None')"),
        ["Beta", "O'Brien"]
    );
    assert_eq!(
        q("WHERE industry = 'Retail' OR industry = 'Banking' AND employees > 20"),
        ["Beta", "Gamma", "O'Brien"],
        "AND binds tighter"
    );
    assert_eq!(
        q("WHERE (industry = 'Retail' OR industry = 'Banking') AND employees > 10"),
        ["Beta", "Gamma"]
    );
    assert_eq!(q("WHERE assigned_user_id = '20x2'"), ["Gamma"]);
    assert_eq!(
        q("ORDER BY employees DESC"),
        ["Gamma", "Beta", "Alpha", "O'Brien", "Delta"]
    );
    assert_eq!(q("ORDER BY accountname ASC LIMIT 1, 2"), ["Beta", "Delta"]);
    assert_eq!(q("ORDER BY accountname LIMIT 10, 5"), Vec::<String>::new());
}

#[test]
fn references_and_ids_compare_by_webservice_id() {
    let (_s, a, ids) = seeded();
    let contact = create_id(
        &a,
        "Contacts",
        json!({"lastname": "Ref", "account_id": ids[1], "assigned_user_id": "19x1"}),
    );
    let rows = query(
        &a,
        &format!(
            "SELECT lastname FROM Contacts WHERE account_id = '{}';",
            ids[1]
        ),
    );
    assert_eq!(rows, json!([{"lastname": "Ref", "id": contact}]));
    let rows = query(
        &a,
        &format!(
            "SELECT accountname FROM Accounts WHERE id IN ('{}', '{}');",
            ids[0], ids[2]
        ),
    );
    assert_eq!(names(&rows), ["Alpha", "Gamma"]);
    assert_eq!(
        a.get(
            "query",
            &[(
                "query",
                "SELECT lastname FROM Contacts WHERE account_id = '42';"
            )]
        )
        .body,
        r#"{"success":false,"error":{"message":"Id specified is incorrect","code":"INVALID_ID_ATTRIBUTE"}}"#
    );
}

#[test]
fn deleted_records_are_not_found() {
    let (_s, a, ids) = seeded();
    a.post("delete", &[("id", &ids[0])]);
    assert_eq!(
        query(&a, "SELECT count(*) FROM Accounts;"),
        json!([{"count": "4"}])
    );
    assert!(!names(&query(&a, "SELECT accountname FROM Accounts;")).contains(&"Alpha".to_string()));
}

#[test]
fn users_groups_and_currency_are_queryable() {
    let s = TestServer::spawn();
    let a = s.admin();
    assert_eq!(
        a.get("query", &[("query", "SELECT * FROM Groups;")]).body,
        golden_body(251)
    );
    assert_eq!(
        a.get("query", &[("query", "SELECT * FROM Currency;")]).body,
        golden_body(252)
    );
    let users = query(&a, "SELECT * FROM Users;");
    assert_eq!(users[0]["user_name"], "admin");
    assert!(users[0].get("accesskey").is_none() && users[0].get("user_password").is_none());
    assert_eq!(
        query(&a, "SELECT user_name FROM Users WHERE is_admin = 'on';"),
        json!([{"user_name": "admin", "id": "19x1"}])
    );
}

#[test]
fn query_errors_are_vtigers() {
    let s = TestServer::spawn();
    let a = s.admin();
    for seq in [230, 231, 232, 234, 235, 236, 237] {
        let step = golden_step(seq);
        let q = step["request"]["query"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == "query")
            .map(|p| p[1].as_str().unwrap().to_string())
            .unwrap_or_default();
        assert_eq!(
            a.get("query", &[("query", &q)]).body,
            golden_body(seq),
            "seq {seq}: {q}"
        );
    }
    // vtiger: INTERNAL_SERVER_ERROR for an unterminated string; we say where.
    assert_eq!(
        a.get(
            "query",
            &[(
                "query",
                "SELECT accountname FROM Accounts WHERE accountname = 'abc;"
            )]
        )
        .body,
        r#"{"success":false,"error":{"message":"Syntax Error on line 1: unterminated string at character 54","code":"QUERY_SYNTAX_ERROR"}}"#
    );
    assert_eq!(
        a.get(
            "query",
            &[("query", "SELECT accountname FROM Accounts ORDER BY nope;")]
        )
        .json()["error"]["message"],
        "Permission to access nope attribute denied."
    );
}

#[test]
fn pages_are_capped_at_100_rows() {
    let s = TestServer::spawn();
    let a = s.admin();
    for i in 0..105 {
        create_id(
            &a,
            "Accounts",
            json!({"accountname": format!("Acct {i:03}"), "assigned_user_id": "19x1"}),
        );
    }
    assert_eq!(
        query(&a, "SELECT id FROM Accounts;")
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(
        query(&a, "SELECT id FROM Accounts LIMIT 500;")
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(
        query(&a, "SELECT id FROM Accounts LIMIT 100, 100;")
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        query(&a, "SELECT count(*) FROM Accounts;"),
        json!([{"count": "105"}])
    );
}

#[test]
fn unfiltered_pages_and_counts_skip_deleted_records_and_other_modules_in_id_order() {
    let s = TestServer::spawn();
    let a = s.admin();
    // Accounts and contacts interleaved in crmentity; every third account deleted.
    let mut live = Vec::new();
    for i in 0..30 {
        let name = format!("Acct {i:02}");
        let id = create_id(
            &a,
            "Accounts",
            json!({"accountname": name, "assigned_user_id": "19x1"}),
        );
        create_id(
            &a,
            "Contacts",
            json!({"lastname": format!("Person {i}"), "assigned_user_id": "19x1"}),
        );
        if i % 3 == 0 {
            assert_eq!(a.post("delete", &[("id", &id)]).json()["success"], true);
        } else {
            live.push(name);
        }
    }
    assert_eq!(
        query(&a, "SELECT count(*) FROM Accounts;"),
        json!([{"count": live.len().to_string()}])
    );
    assert_eq!(
        query(&a, "SELECT count(*) FROM Contacts;"),
        json!([{"count": "30"}])
    );
    for offset in [0, 1, 7, 15, 19, 20, 25] {
        let page = query(&a, &format!("SELECT * FROM Accounts LIMIT {offset}, 6;"));
        let expected: Vec<String> = live.iter().skip(offset).take(6).cloned().collect();
        assert_eq!(names(&page), expected, "offset {offset}");
        // Whole records, as retrieve has them but for the label.
        for row in page.as_array().unwrap() {
            let mut record = a
                .get("retrieve", &[("id", row["id"].as_str().unwrap())])
                .json()["result"]
                .clone();
            record.as_object_mut().unwrap().shift_remove("label");
            assert_eq!(row, &record, "offset {offset}");
        }
        let ids = query(
            &a,
            &format!("SELECT accountname, id FROM Accounts LIMIT {offset}, 6;"),
        );
        assert_eq!(names(&ids), expected, "offset {offset}, two columns");
    }
}

#[test]
fn additions_no_vtiger_query_could_express() {
    let (_s, a, _) = seeded();
    let q = |w: &str| {
        names(&query(
            &a,
            &format!("SELECT accountname FROM Accounts {w};"),
        ))
    };
    assert_eq!(
        q("WHERE NOT industry = 'Banking'"),
        ["Beta", "Delta", "O'Brien"]
    );
    assert_eq!(q("WHERE industry NOT IN ('Banking', 'Retail')"), ["Delta"]);
    assert_eq!(q("WHERE accountname NOT LIKE '%a'"), ["O'Brien"]);
    assert_eq!(
        q("WHERE industry IS NULL"),
        ["Delta"],
        "empty counts as null"
    );
    assert_eq!(
        q("WHERE industry IS NOT NULL AND employees BETWEEN 6 AND 25"),
        ["Alpha", "Beta"]
    );
    assert_eq!(
        q("WHERE NOT (industry = 'Retail' OR employees > 15)"),
        ["Alpha", "Delta"]
    );
}

#[test]
fn the_page_size_is_configurable() {
    let s = TestServer::spawn_with(|c| c.query_max_rows = 3);
    let a = s.admin();
    for i in 0..5 {
        create_id(
            &a,
            "Accounts",
            json!({"accountname": format!("P{i}"), "assigned_user_id": "19x1"}),
        );
    }
    assert_eq!(
        query(&a, "SELECT id FROM Accounts;")
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        query(&a, "SELECT id FROM Accounts LIMIT 10;")
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        query(&a, "SELECT id FROM Accounts LIMIT 2;")
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn random_token_soups_always_get_an_envelope() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let (_s, a, _) = seeded();
    let vocab = [
        "SELECT",
        "select",
        "*",
        "count(*)",
        "(",
        ")",
        "FROM",
        "Accounts",
        "Contacts",
        "Users",
        "Nope",
        "WHERE",
        "accountname",
        "id",
        "employees",
        "account_id",
        "assigned_user_id",
        "modifiedtime",
        "=",
        "!=",
        "<>",
        "<",
        ">",
        "<=",
        ">=",
        "'Alpha'",
        "'",
        "''",
        "'11x1'",
        "'19x1'",
        "'%a%'",
        "5",
        "-3",
        "+2",
        "1.5",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "IS",
        "NULL",
        "BETWEEN",
        ",",
        "ORDER BY",
        "ASC",
        "DESC",
        "LIMIT",
        "18446744073709551615",
        ";",
        "ż",
        "#",
        "\"",
        "\\",
        "\0",
        "%",
        "--",
    ];
    let allowed = [
        "QUERY_SYNTAX_ERROR",
        "ACCESS_DENIED",
        "INVALID_ID_ATTRIBUTE",
    ];
    let mut rng = StdRng::seed_from_u64(7);
    let (mut ok, mut refused) = (0, 0);
    for n in 0..400 {
        let mut words: Vec<&str> = Vec::new();
        if n % 2 == 0 {
            // A valid query, then perhaps one stray token somewhere in it.
            words.extend(["SELECT", "accountname", "FROM", "Accounts", "WHERE"]);
            for i in 0..rng.gen_range(1..4) {
                if i > 0 {
                    words.push(["AND", "OR"][rng.gen_range(0..2)]);
                }
                words.push(["accountname", "employees", "industry"][rng.gen_range(0..3)]);
                words.push(["=", "!=", "<", ">=", "LIKE"][rng.gen_range(0..5)]);
                words.push(["'Alpha'", "5", "'%a%'", "''"][rng.gen_range(0..4)]);
            }
            words.push(";");
            if rng.gen_bool(0.5) {
                let at = rng.gen_range(0..words.len());
                words.insert(at, vocab[rng.gen_range(0..vocab.len())]);
            }
        } else {
            for _ in 0..rng.gen_range(0..14) {
                words.push(vocab[rng.gen_range(0..vocab.len())]);
            }
            if rng.gen_bool(0.6) {
                words.push(";");
            }
        }
        let q = words.join(" ");
        let r = a.get("query", &[("query", &q)]);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        let body: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{q}: not JSON ({e}): {}", r.body));
        match body["success"].as_bool() {
            Some(true) => {
                assert!(body["result"].is_array(), "{q}: {body}");
                ok += 1;
            }
            Some(false) => {
                let code = body["error"]["code"].as_str().unwrap_or_default();
                assert!(allowed.contains(&code), "{q}: {body}");
                assert!(body["error"]["message"].is_string(), "{q}: {body}");
                refused += 1;
            }
            None => panic!("{q}: no envelope: {body}"),
        }
    }
    assert!(ok > 0 && refused > 0, "{ok} answered, {refused} refused");
}

#[test]
fn converted_leads_are_invisible_to_query_and_retrieve() {
    let s = TestServer::spawn();
    let a = s.admin();
    let kept = create_id(
        &a,
        "Leads",
        json!({"lastname": "Kept", "company": "K", "assigned_user_id": "19x1"}),
    );
    let converted = create_id(
        &a,
        "Leads",
        json!({"lastname": "Gone", "company": "G", "assigned_user_id": "19x1"}),
    );
    assert_eq!(
        query(&a, "SELECT count(*) FROM Leads;"),
        json!([{"count": "2"}])
    );
    // convertlead (issue 6) sets this flag; vtiger's is vtiger_leaddetails.converted.
    let object = converted.split('x').nth(1).unwrap();
    s.db()
        .execute(
            &format!("UPDATE m_Leads SET _converted = 1 WHERE _id = {object}"),
            [],
        )
        .unwrap();
    assert_eq!(
        query(&a, "SELECT lastname FROM Leads;"),
        json!([{"lastname": "Kept", "id": kept}])
    );
    assert_eq!(
        query(&a, "SELECT count(*) FROM Leads WHERE lastname = 'Gone';"),
        json!([{"count": "0"}])
    );
    let r = a.get("retrieve", &[("id", &converted)]).json();
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["error"]["code"], "ACCESS_DENIED");
}

/// Reads run on the HTTP worker under a time budget; one that overruns it
/// is interrupted and answered from the blocking pool instead. With a budget
/// of one microsecond every statement of any size overruns, so each answer
/// below comes through that second run, and must be the full, right one.
#[test]
fn reads_past_the_inline_budget_are_answered_in_full() {
    let s = TestServer::spawn_with(|c| c.inline_budget_us = 1);
    let a = s.admin();
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(create_id(
            &a,
            "Accounts",
            json!({"accountname": format!("Acct {i:03}"), "industry": "Banking", "assigned_user_id": "19x1"}),
        ));
    }
    let page = query(
        &a,
        "select accountname from Accounts where industry = 'Banking' order by accountname desc limit 10, 50;",
    );
    let expected: Vec<String> = (60..110).rev().map(|i| format!("Acct {i:03}")).collect();
    assert_eq!(names(&page), expected);
    let count = query(&a, "select count(*) from Accounts;");
    assert_eq!(count[0]["count"], "120");
    let r = a.get("retrieve", &[("id", &ids[7])]).json();
    assert_eq!(r["result"]["accountname"], "Acct 007", "{r}");
    let d = a.get("describe", &[("elementType", "Accounts")]).json();
    assert_eq!(d["result"]["name"], "Accounts", "{d}");
}
