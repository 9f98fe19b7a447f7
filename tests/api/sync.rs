//! sync through the wire (§9): vtiger's window, and our syncToken feed.
use std::collections::HashMap;

use serde_json::{json, Value};

use crate::helpers::*;

fn account(c: &VtClient, name: &str, owner: &str) -> String {
    create_id(
        c,
        "Accounts",
        json!({"accountname": name, "assigned_user_id": owner}),
    )
}

fn sync(c: &VtClient, params: &[(&str, &str)]) -> Value {
    let r = c.get("sync", params).json();
    assert_eq!(r["success"], true, "{params:?}: {r}");
    r["result"].clone()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_str()
                .map(String::from)
                .unwrap_or_else(|| v["id"].as_str().unwrap().to_string())
        })
        .collect()
}

fn object(id: &str) -> i64 {
    id.split('x').nth(1).unwrap().parse().unwrap()
}

fn unix(db_time: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(db_time, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

/// Sets when records were last changed, to build windows without sleeping.
fn set_modified(s: &TestServer, ids: &[&String], at: &str) {
    let db = s.db();
    for id in ids {
        db.execute(
            "UPDATE crmentity SET modifiedtime = ?1 WHERE crmid = ?2",
            rusqlite::params![at, object(id)],
        )
        .unwrap();
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn answers_have_vtigers_keys_and_record_shapes() {
    let s = TestServer::spawn();
    let a = s.admin();
    account(&a, "Shape Co", "19x1");
    create_id(
        &a,
        "Contacts",
        json!({"lastname": "Shape", "assigned_user_id": "19x1"}),
    );
    for (seq, module) in [(278, "Accounts"), (279, "Contacts")] {
        let recorded: Value = serde_json::from_str(&golden_body(seq)).unwrap();
        let ours = sync(&a, &[("modifiedTime", "0"), ("elementType", module)]);
        let mut expected = keys(&recorded["result"]);
        expected.push("syncToken".into());
        assert_eq!(keys(&ours), expected, "vtiger's keys, then ours");
        assert_eq!(
            keys(&ours["updated"][0]),
            keys(&recorded["result"]["updated"][0]),
            "{module} rows are query rows: every field, id last, no label"
        );
        assert!(ours["lastModifiedTime"].is_i64());
    }
}

#[test]
fn an_empty_window_echoes_the_time_asked_for() {
    let s = TestServer::spawn();
    let a = s.admin();
    account(&a, "Old", "19x1");
    // shared/golden seq 282: nothing after the given time.
    let recorded = golden_body(282);
    let body = a
        .get(
            "sync",
            &[("modifiedTime", "4102444800"), ("elementType", "Accounts")],
        )
        .body;
    assert_eq!(
        body,
        recorded
            .replace("1795357148", "4102444800")
            .replace("}}", r#","syncToken":"1"}}"#)
    );
    // PHP's intval: trailing junk is ignored.
    let r = sync(&a, &[("modifiedTime", "4102444800abc")]);
    assert_eq!(r["lastModifiedTime"], 4102444800i64);
}

#[test]
fn a_deleted_record_is_listed_in_deleted_and_not_in_updated() {
    let s = TestServer::spawn();
    let a = s.admin();
    let kept = account(&a, "Kept", "19x1");
    let gone = account(&a, "Gone", "19x1");
    set_modified(&s, &[&kept], "2030-01-01 00:00:00");
    a.post("delete", &[("id", &gone)]);
    set_modified(&s, &[&gone], "2030-01-01 00:00:05");
    // Like shared/golden seq 293: a deleted-only window.
    assert_eq!(
        a.get(
            "sync",
            &[
                ("modifiedTime", &unix("2030-01-01 00:00:00").to_string()),
                ("elementType", "Accounts")
            ]
        )
        .body,
        format!(
            r#"{{"success":true,"result":{{"updated":[],"deleted":["{gone}"],"more":false,"lastModifiedTime":{},"syncToken":"3"}}}}"#,
            unix("2030-01-01 00:00:05")
        )
    );
    let all = sync(&a, &[("modifiedTime", "0")]);
    assert_eq!(ids(&all["updated"]), vec![kept.clone()]);
    assert_eq!(ids(&all["deleted"]), [gone]);
}

#[test]
fn a_record_created_and_deleted_between_two_syncs_is_reported_deleted() {
    let s = TestServer::spawn();
    let a = s.admin();
    account(&a, "Before", "19x1");
    let first = sync(&a, &[("elementType", "Accounts")]);
    let token = first["syncToken"].as_str().unwrap().to_string();
    let brief = account(&a, "Brief", "19x1");
    a.post("delete", &[("id", &brief)]);
    let by_token = sync(&a, &[("syncToken", &token)]);
    assert_eq!(ids(&by_token["updated"]), Vec::<String>::new());
    assert_eq!(ids(&by_token["deleted"]), vec![brief.clone()]);
    let by_time = sync(&a, &[("modifiedTime", "0"), ("elementType", "Accounts")]);
    assert_eq!(ids(&by_time["deleted"]), [brief]);
}

#[test]
fn windows_start_after_the_time_given_and_cover_the_callers_records() {
    let s = TestServer::spawn();
    let a = s.admin();
    let old = account(&a, "Old", "19x1");
    let mine = account(&a, "Mine", "19x1");
    let groups = account(&a, "Team's", "20x2");
    let contact = create_id(
        &a,
        "Contacts",
        json!({"lastname": "Mine", "assigned_user_id": "19x1"}),
    );
    let task = create_id(
        &a,
        "Calendar",
        json!({"subject": "Call", "date_start": "2030-01-01", "time_start": "10:00:00",
               "due_date": "2030-01-02", "taskstatus": "Not Started", "assigned_user_id": "19x1"}),
    );
    set_modified(&s, &[&old], "2020-01-01 00:00:00");
    set_modified(
        &s,
        &[&mine, &groups, &contact, &task],
        "2030-01-01 00:00:00",
    );
    let mid = unix("2025-01-01 00:00:00").to_string();

    // From the beginning: the caller's records, grouped by module in the
    // order of listtypes (Calendar, Accounts, Contacts), oldest window first.
    let from_zero = sync(&a, &[("modifiedTime", "0")]);
    assert_eq!(
        ids(&from_zero["updated"]),
        [task.clone(), old.clone(), mine.clone(), contact.clone()]
    );
    assert_eq!(from_zero["more"], false);
    // From a mid time: only what changed after it.
    let from_mid = sync(&a, &[("modifiedTime", &mid)]);
    assert_eq!(
        ids(&from_mid["updated"]),
        [task.clone(), mine.clone(), contact.clone()]
    );
    assert_eq!(from_mid["lastModifiedTime"], unix("2030-01-01 00:00:00"));
    // One module.
    let accounts = sync(&a, &[("modifiedTime", &mid), ("elementType", "Accounts")]);
    assert_eq!(ids(&accounts["updated"]), vec![mine.clone()]);
    // syncType is not read, as by vtiger's webservice.php: clients send
    // `application` and get the user's records.
    for sync_type in ["application", "user", "userandgroup", "nonsense"] {
        let typed = sync(
            &a,
            &[
                ("modifiedTime", &mid),
                ("elementType", "Accounts"),
                ("syncType", sync_type),
            ],
        );
        assert_eq!(typed, accounts, "syncType={sync_type}");
    }
    // Our syncScope: everyone's, or the user's and their groups'.
    let all = sync(
        &a,
        &[
            ("modifiedTime", &mid),
            ("elementType", "Accounts"),
            ("syncScope", "all"),
        ],
    );
    assert_eq!(ids(&all["updated"]), [mine.clone(), groups.clone()]);
    let alone = sync(
        &a,
        &[
            ("modifiedTime", &mid),
            ("elementType", "Accounts"),
            ("syncScope", "userandgroup"),
        ],
    );
    assert_eq!(
        ids(&alone["updated"]),
        vec![mine.clone()],
        "admin is in no group yet"
    );
    s.db()
        .execute(
            "INSERT INTO group_members (group_id, user_id) VALUES (2, 1)",
            [],
        )
        .unwrap();
    let with_group = sync(
        &a,
        &[
            ("modifiedTime", &mid),
            ("elementType", "Accounts"),
            ("syncScope", "userandgroup"),
        ],
    );
    assert_eq!(ids(&with_group["updated"]), [mine, groups]);
}

#[test]
fn sync_errors_are_vtigers() {
    let s = TestServer::spawn();
    let a = s.admin();
    let denied = r#"{"success":false,"error":{"message":"Permission to perform the operation is denied","code":"ACCESS_DENIED"}}"#;
    for module in ["NoSuchModule", "Users", "Groups", "accounts"] {
        assert_eq!(
            a.get("sync", &[("modifiedTime", "0"), ("elementType", module)])
                .body,
            denied,
            "{module}"
        );
    }
    assert_eq!(
        s.client().get("sync", &[("modifiedTime", "0")]).json()["error"]["code"],
        "AUTHENTICATION_REQUIRED"
    );
    let user = create_id(
        &a,
        "Users",
        json!({"user_name": "dora", "user_password": "x", "confirm_password": "x",
               "last_name": "Dora", "roleid": "H5", "email1": "dora@example.com", "is_admin": "off"}),
    );
    let key: String = s
        .db()
        .query_row(
            "SELECT accesskey FROM m_Users WHERE _id = ?1",
            [object(&user)],
            |r| r.get(0),
        )
        .unwrap();
    let mut dora = s.client();
    dora.login("dora", &key).unwrap();
    assert_eq!(
        dora.get("sync", &[("syncScope", "all")]).body,
        r#"{"success":false,"error":{"message":"Only admin users can perform application sync","code":"ACCESS_DENIED"}}"#
    );
    for token in ["abc", "-1", "999"] {
        assert_eq!(
            a.get("sync", &[("syncToken", token)]).json()["error"]["code"],
            "INVALID_SYNC_TOKEN",
            "{token}"
        );
    }
}

#[test]
fn more_than_100_changes_in_one_second_come_in_one_window() {
    let s = TestServer::spawn();
    let a = s.admin();
    let same: Vec<String> = (0..105)
        .map(|i| account(&a, &format!("Same {i:03}"), "19x1"))
        .collect();
    let later: Vec<String> = (0..3)
        .map(|i| account(&a, &format!("Later {i}"), "19x1"))
        .collect();
    set_modified(&s, &same.iter().collect::<Vec<_>>(), "2030-01-01 00:00:00");
    set_modified(&s, &later.iter().collect::<Vec<_>>(), "2030-01-01 00:00:01");
    let first = sync(&a, &[("modifiedTime", "0"), ("elementType", "Accounts")]);
    assert_eq!(ids(&first["updated"]), same, "the whole second, past 100");
    assert_eq!(first["more"], true);
    assert_eq!(first["lastModifiedTime"], unix("2030-01-01 00:00:00"));
    let next_time = first["lastModifiedTime"].to_string();
    let second = sync(
        &a,
        &[("modifiedTime", &next_time), ("elementType", "Accounts")],
    );
    assert_eq!(ids(&second["updated"]), later);
    assert_eq!(second["more"], false);

    // The token feed pages by commit order, 100 at a time.
    let page1 = sync(&a, &[("syncToken", "0"), ("elementType", "Accounts")]);
    assert_eq!(ids(&page1["updated"]), same[..100].to_vec());
    assert_eq!(page1["more"], true);
    let page2 = sync(&a, &[("syncToken", page1["syncToken"].as_str().unwrap())]);
    let rest: Vec<String> = same[100..].iter().chain(&later).cloned().collect();
    assert_eq!(ids(&page2["updated"]), rest);
    assert_eq!(page2["more"], false);
    let page3 = sync(&a, &[("syncToken", page2["syncToken"].as_str().unwrap())]);
    assert_eq!(page3["updated"], json!([]));
    assert_eq!(page3["syncToken"], page2["syncToken"]);
}

/// Adds `count` Accounts straight into the tables, all last changed `at`
/// (a bulk import, faster than creates through the wire); their ids.
fn seed_accounts(s: &TestServer, count: usize, at: &str) -> Vec<i64> {
    let mut db = s.db();
    let tx = db.transaction().unwrap();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("Imported {i:05}");
        tx.execute(
            "INSERT INTO crmentity (setype, smownerid, smcreatorid, modifiedby, createdtime, modifiedtime, source, label)
             VALUES ('Accounts', 1, 1, 1, ?1, ?1, 'WEBSERVICE', ?2)",
            rusqlite::params![at, name],
        )
        .unwrap();
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO m_Accounts (_id, accountname) VALUES (?1, ?2)",
            rusqlite::params![id, name],
        )
        .unwrap();
        ids.push(id);
    }
    tx.commit().unwrap();
    ids
}

#[test]
fn a_window_holds_its_whole_second_past_what_one_statement_can_ask_for() {
    // vtiger widens a window to whole seconds, so after a bulk import one
    // answer holds every record of a second. SQLite refuses a statement of
    // more than 32,766 parameters: loading the window's records with one
    // such IN list answered DATABASE_QUERY_ERROR.
    let s = TestServer::spawn();
    let a = s.admin();
    let at = "2030-01-01 00:00:00";
    let made = account(&a, "Made through the wire", "19x1");
    let imported = seed_accounts(&s, 33_000, at);
    set_modified(&s, &[&made], at);
    let window = sync(&a, &[("modifiedTime", "0"), ("elementType", "Accounts")]);
    let got = ids(&window["updated"]);
    let mut expected: Vec<i64> = imported;
    expected.push(object(&made));
    expected.sort_unstable();
    assert_eq!(got.len(), expected.len());
    assert_eq!(
        got.iter().map(|id| object(id)).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(window["more"], false);
    assert_eq!(window["lastModifiedTime"], unix(at));
    // Each record as retrieve answers it, but for the label sync leaves out.
    let mut retrieved = a.get("retrieve", &[("id", &made)]).json()["result"].clone();
    retrieved.as_object_mut().unwrap().remove("label");
    let listed = window["updated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == made.as_str())
        .unwrap();
    assert_eq!(listed, &retrieved);
    // In id order: the record made through the wire, then the import.
    let first_imported = &window["updated"][1];
    assert_eq!(first_imported["accountname"], "Imported 00000");
    assert_eq!(first_imported["assigned_user_id"], "19x1");
}

#[test]
fn the_token_feed_follows_commit_order_and_ownership() {
    let s = TestServer::spawn();
    let a = s.admin();
    let first = account(&a, "First", "19x1");
    let second = account(&a, "Second", "19x1");
    let start = sync(&a, &[("syncToken", "0")]);
    assert_eq!(ids(&start["updated"]), [first.clone(), second.clone()]);
    let token = start["syncToken"].as_str().unwrap().to_string();
    // Changed again: reported once, at its latest change, in commit order.
    a.post(
        "revise",
        &[("element", &json!({"id": first, "phone": "1"}).to_string())],
    );
    a.post(
        "revise",
        &[("element", &json!({"id": second, "phone": "2"}).to_string())],
    );
    a.post(
        "revise",
        &[("element", &json!({"id": first, "phone": "3"}).to_string())],
    );
    let next = sync(&a, &[("syncToken", &token)]);
    assert_eq!(ids(&next["updated"]), [second.clone(), first.clone()]);
    assert_eq!(next["updated"][1]["phone"], "3");
    // Given to a group: it leaves the admin's feed as a deletion.
    let token = next["syncToken"].as_str().unwrap().to_string();
    a.post(
        "revise",
        &[(
            "element",
            &json!({"id": second, "assigned_user_id": "20x2"}).to_string(),
        )],
    );
    let moved = sync(&a, &[("syncToken", &token)]);
    assert_eq!(ids(&moved["updated"]), Vec::<String>::new());
    assert_eq!(ids(&moved["deleted"]), vec![second.clone()]);
    let everyone = sync(&a, &[("syncToken", &token), ("syncScope", "all")]);
    assert_eq!(ids(&everyone["updated"]), [second]);
    // A vtiger-style answer carries a token a client can switch to.
    let by_time = sync(&a, &[("modifiedTime", "0")]);
    let switched = sync(&a, &[("syncToken", by_time["syncToken"].as_str().unwrap())]);
    assert_eq!(switched["updated"], json!([]));
    assert_eq!(switched["deleted"], json!([]));
}

/// A follower's copy of the records it was told about.
fn follow(c: &VtClient, token: &mut String, copy: &mut HashMap<String, Value>, seen: &mut u64) {
    loop {
        let page = sync(c, &[("syncToken", token)]);
        for row in page["updated"].as_array().unwrap() {
            copy.insert(row["id"].as_str().unwrap().to_string(), row.clone());
            *seen += 1;
        }
        for id in page["deleted"].as_array().unwrap() {
            copy.remove(id.as_str().unwrap());
            *seen += 1;
        }
        *token = page["syncToken"].as_str().unwrap().to_string();
        if page["more"] == false {
            return;
        }
    }
}

#[test]
fn followers_of_the_token_converge_while_writers_race() {
    let s = TestServer::spawn_with(|c| c.workers = 4);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let c = s.admin();
            std::thread::spawn(move || {
                let mut mine: Vec<String> = Vec::new();
                for i in 0..40 {
                    match i % 5 {
                        0 | 1 => mine.push(account(&c, &format!("W{w} {i}"), "19x1")),
                        2 => {
                            let id = &mine[i % mine.len()];
                            c.post(
                                "revise",
                                &[(
                                    "element",
                                    &json!({"id": id, "phone": i.to_string()}).to_string(),
                                )],
                            );
                        }
                        3 => {
                            // Away to a group and, every other time, back.
                            let id = mine[(i * 7) % mine.len()].clone();
                            let owner = if i % 2 == 0 { "20x2" } else { "19x1" };
                            c.post(
                                "revise",
                                &[(
                                    "element",
                                    &json!({"id": id, "assigned_user_id": owner}).to_string(),
                                )],
                            );
                        }
                        _ => {
                            let id = mine.remove(0);
                            c.post("delete", &[("id", &id)]);
                        }
                    }
                }
            })
        })
        .collect();
    let followers: Vec<_> = (0..2)
        .map(|_| {
            let c = s.admin();
            std::thread::spawn(move || {
                let (mut token, mut copy, mut seen) = ("0".to_string(), HashMap::new(), 0);
                for _ in 0..30 {
                    follow(&c, &mut token, &mut copy, &mut seen);
                }
                (c, token, copy, seen)
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let truth: HashMap<String, Value> = {
        let a = s.admin();
        let mut all = HashMap::new();
        for offset in (0..400).step_by(100) {
            let page = a
                .get("query", &[("query", &format!("SELECT * FROM Accounts WHERE assigned_user_id = '19x1' LIMIT {offset}, 100;"))])
                .json();
            for row in page["result"].as_array().unwrap() {
                all.insert(row["id"].as_str().unwrap().to_string(), row.clone());
            }
        }
        all
    };
    assert!(
        truth.len() > 20,
        "the writers left records: {}",
        truth.len()
    );
    for f in followers {
        let (c, mut token, mut copy, mut seen) = f.join().unwrap();
        follow(&c, &mut token, &mut copy, &mut seen);
        assert!(seen > 0);
        assert_eq!(copy.len(), truth.len(), "the same records");
        for (id, row) in &truth {
            assert_eq!(copy.get(id), Some(row), "{id} as the database has it");
        }
    }
}

#[test]
fn a_converted_lead_is_reported_deleted() {
    let s = TestServer::spawn();
    let a = s.admin();
    let lead = create_id(
        &a,
        "Leads",
        json!({"lastname": "Convert", "company": "C", "assigned_user_id": "19x1"}),
    );
    let before = sync(&a, &[("elementType", "Leads")]);
    assert_eq!(ids(&before["updated"]), vec![lead.clone()]);
    // convertlead (issue 6) sets the flag and bumps modifiedtime, as vtiger does.
    s.db()
        .execute(
            "UPDATE m_Leads SET _converted = 1 WHERE _id = ?1",
            [object(&lead)],
        )
        .unwrap();
    set_modified(&s, &[&lead], "2030-01-01 00:00:00");
    let after = sync(&a, &[("elementType", "Leads")]);
    assert_eq!(after["updated"], json!([]));
    assert_eq!(ids(&after["deleted"]), vec![lead]);
}

#[test]
fn the_token_feed_reports_links_made_and_removed_in_commit_order() {
    let s = TestServer::spawn();
    let a = s.admin();
    let account = account(&a, "Linked", "19x1");
    let product = create_id(
        &a,
        "Products",
        json!({"productname": "Widget", "assigned_user_id": "19x1"}),
    );
    let start = sync(&a, &[("syncToken", "0")]);
    assert_eq!(start["relations"], json!([]));
    let token = start["syncToken"].as_str().unwrap().to_string();
    let link = |op: &str| {
        a.post(
            op,
            &[
                ("sourceRecordId", &account),
                ("relatedRecordId", &product),
                ("relationIdLabel", "Products"),
            ],
        )
    };
    link("add_related");
    link("add_related");
    link("delete_related");
    let next = sync(&a, &[("syncToken", &token)]);
    assert_eq!(next["updated"], json!([]), "the records did not change");
    assert_eq!(
        next["relations"],
        json!([
            {"action": "link", "sourceRecordId": account, "relatedRecordId": product},
            {"action": "unlink", "sourceRecordId": account, "relatedRecordId": product}
        ]),
        "linking twice is one link"
    );
    let after = sync(&a, &[("syncToken", next["syncToken"].as_str().unwrap())]);
    assert_eq!(after["relations"], json!([]));
    // vtiger's window has no such key.
    let by_time = sync(&a, &[("modifiedTime", "0")]);
    assert!(by_time.get("relations").is_none());
}
