//! Wire habits of real vtiger clients (../shared/spec/clients.md) not
//! covered elsewhere; `tests/clients/run.sh` runs the installable ones
//! themselves.
use serde_json::json;

use crate::helpers::*;

/// JavaScript's `escape()`, which node-vtiger applies to VTQL: `@*_+-./`
/// stay literal, other ASCII and Latin-1 become `%XX`, the rest `%uXXXX`.
fn js_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '@' | '*' | '_' | '+' | '-' | '.' | '/' => {
                c.to_string()
            }
            c if (c as u32) < 256 => format!("%{:02X}", c as u32),
            c => format!("%u{:04X}", c as u32),
        })
        .collect()
}

#[test]
fn node_vtiger_escaped_queries_read_as_vtiger_reads_them() {
    let s = TestServer::spawn();
    let a = s.admin();
    let id = create_id(
        &a,
        "Accounts",
        json!({"accountname": "A/B@C*", "assigned_user_id": "19x1"}),
    );
    let session = a.session.clone().unwrap();
    let ask = |q: &str| {
        raw_http(
            s.port,
            "GET",
            &format!(
                "/webservice.php?operation=query&sessionName={session}&query={}",
                js_escape(q)
            ),
            &[],
            b"",
        )
        .json()
    };
    // `/`, `@` and `*` travel literally and still mean themselves.
    let found = ask("select accountname from Accounts where accountname = 'A/B@C*';");
    assert_eq!(
        found["result"],
        json!([{"accountname": "A/B@C*", "id": id}])
    );
    // `%uXXXX` is no percent-escape to PHP: it arrives as those six
    // characters, so the name does not match (vtiger answers the same).
    let literal = ask("select accountname from Accounts where accountname = 'Łódź';");
    assert_eq!(literal["success"], true, "{literal}");
    assert_eq!(literal["result"], json!([]));
}

#[test]
fn a_plus_in_an_unencoded_user_name_arrives_as_a_space() {
    let s = TestServer::spawn();
    let get = |target: &str| raw_http(s.port, "GET", target, &[], b"").json();
    let plus = get("/webservice.php?operation=getchallenge&username=no+such+user");
    let space = get("/webservice.php?operation=getchallenge&username=no%20such%20user");
    assert_eq!(plus["success"], false, "{plus}");
    assert_eq!(plus, space);
}

#[test]
fn an_extra_element_type_on_retrieve_and_query_is_ignored() {
    let s = TestServer::spawn();
    let a = s.admin();
    let id = create_id(
        &a,
        "Accounts",
        json!({"accountname": "Extra", "assigned_user_id": "19x1"}),
    );
    let plain = a.get("retrieve", &[("id", &id)]).json();
    let extra = a
        .get("retrieve", &[("id", &id), ("elementType", "Accounts")])
        .json();
    assert_eq!(plain["success"], true, "{plain}");
    assert_eq!(plain, extra);
    let q = "select accountname from Accounts where accountname = 'Extra';";
    let plain = a.get("query", &[("query", q)]).json();
    let extra = a
        .get("query", &[("query", q), ("elementType", "Accounts")])
        .json();
    assert_eq!(plain["result"], json!([{"accountname": "Extra", "id": id}]));
    assert_eq!(plain, extra);
}
