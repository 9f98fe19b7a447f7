//! Many clients at once: no `database is locked` ever reaches a client, no
//! write is lost, and parallel logins each get their own session.
use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::*;

fn ok(r: &Response) -> Value {
    let v = r.json();
    assert_eq!(v["success"], true, "{}", r.body);
    v["result"].clone()
}

#[test]
fn writers_on_the_same_and_different_records_all_succeed() {
    let s = TestServer::spawn_with(|c| c.workers = 4);
    let a = s.admin();
    let shared = ok(&a.post(
        "create",
        &[
            ("elementType", "Accounts"),
            (
                "element",
                &json!({"accountname": "Contended", "employees": "0", "assigned_user_id": "19x1"})
                    .to_string(),
            ),
        ],
    ))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let logged_before = s.changes_logged();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = s.admin();
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..25 {
                    let phone = format!("t{t}-{i}");
                    ok(&c.post(
                        "revise",
                        &[("element", &json!({"id": shared, "phone": phone}).to_string())],
                    ));
                    let created = ok(&c.post(
                        "create",
                        &[
                            ("elementType", "Contacts"),
                            ("element", &json!({"lastname": phone, "account_id": shared, "assigned_user_id": "19x1"}).to_string()),
                        ],
                    ));
                    mine.push(created["id"].as_str().unwrap().to_string());
                }
                mine
            })
        })
        .collect();
    let created: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("no client saw an error"))
        .collect();
    assert_eq!(created.len(), 200);
    assert_eq!(
        created.iter().collect::<HashSet<_>>().len(),
        200,
        "ids are unique"
    );
    let count = a
        .get("query", &[("query", "SELECT count(*) FROM Contacts;")])
        .json();
    assert_eq!(
        count["result"][0]["count"], "200",
        "every acknowledged create is there"
    );
    // Every revise and create logged its change; the shared record's log
    // keeps its latest one only.
    assert_eq!(s.changes_logged() - logged_before, 400);
    let kept: i64 = s
        .db()
        .query_row(
            "SELECT COUNT(*) FROM changelog WHERE crmid = ?1",
            [shared.split('x').nth(1).unwrap().parse::<i64>().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
}

#[test]
fn parallel_logins_each_get_a_working_session() {
    let s = TestServer::spawn_with(|c| c.workers = 4);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let mut c = s.client();
            std::thread::spawn(move || {
                c.login("admin", ADMIN_KEY).expect("login under contention");
                ok(&c.get("listtypes", &[]));
                c.session.unwrap()
            })
        })
        .collect();
    let sessions: HashSet<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(sessions.len(), 16);
}
