//! Access control through the wire: the matrix of callers × sharing levels ×
//! record owners in `fixtures/access/matrix.json`, replayed operation by
//! operation, and the profile, field, assignment and account rules.
use std::collections::HashMap;

use serde_json::{json, Value};
use stripes::auth::access::{FieldAccess, ModuleRights, Sharing};
use stripes::registry::Registry;
use stripes::store::{access, users};

use crate::helpers::*;

const DENIED_OBJECT: &str = "Permission to read given object is denied";

/// The matrix's people, logged in, with their user ids.
struct Cast {
    clients: HashMap<&'static str, VtClient>,
    ids: HashMap<&'static str, String>,
    group: String,
}

const CALLERS: [&str; 6] = ["admin", "owner", "mate", "boss", "junior", "stranger"];

/// Users, roles and one group as the matrix describes them. The default
/// groups lose their role members, so that only this test's group joins
/// anyone.
fn cast(server: &TestServer) -> Cast {
    let registry = Registry::load(None).unwrap();
    let conn = server.db();
    for (group, role) in [
        ("Team Selling", "Sales Manager"),
        ("Marketing Group", "CEO"),
        ("Support Group", "Vice President"),
    ] {
        access::change_member(
            &conn,
            &registry,
            group,
            &access::Member::Role(role.into()),
            false,
        )
        .unwrap();
    }
    for (group, role) in [
        ("Team Selling", "Sales Person"),
        ("Marketing Group", "Vice President"),
        ("Support Group", "Vice President"),
    ] {
        access::change_member(
            &conn,
            &registry,
            group,
            &access::Member::RoleAndSubordinates(role.into()),
            false,
        )
        .unwrap();
    }
    access::add_role(
        &conn,
        "Support Manager",
        "Vice President",
        &["Sales Profile".into()],
    )
    .unwrap();
    let mut clients = HashMap::new();
    let mut ids = HashMap::new();
    clients.insert("admin", server.admin());
    ids.insert("admin", "19x1".to_string());
    for (name, role) in [
        ("owner", "H4"),
        ("mate", "H4"),
        ("boss", "H3"),
        ("junior", "H5"),
        ("stranger", "Support Manager"),
    ] {
        let key = format!("{name}-key-0000001");
        let new = users::NewUser {
            user_name: name.into(),
            role: Some(access::find_role(&conn, role).unwrap()),
            ..Default::default()
        };
        let id = users::add_user(&conn, &registry, &new, &key).unwrap();
        let mut c = server.client();
        c.login(name, &key).unwrap();
        clients.insert(name, c);
        ids.insert(name, format!("19x{id}"));
    }
    let group = users::add_group(&conn, &registry, "Deal Desk", "").unwrap();
    for member in ["owner", "mate"] {
        access::change_member(
            &conn,
            &registry,
            "Deal Desk",
            &access::Member::User(member.into()),
            true,
        )
        .unwrap();
    }
    Cast {
        clients,
        ids,
        group: format!("20x{group}"),
    }
}

fn set_sharing(server: &TestServer, module: &str, level: Sharing) {
    access::set_sharing(&server.db(), module, level).unwrap();
}

fn error_message(r: &Value) -> String {
    assert_eq!(r["success"], false, "{r}");
    r["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn assert_denied(r: &Value, what: &str) {
    assert_eq!(r["error"]["code"], "ACCESS_DENIED", "{what}: {r}");
    assert_eq!(error_message(r), DENIED_OBJECT, "{what}");
}

/// Rows of a query, or its failure.
fn query(c: &VtClient, q: &str) -> Value {
    let r = c.get("query", &[("query", q)]).json();
    assert_eq!(r["success"], true, "{q}: {r}");
    r["result"].clone()
}

#[test]
fn every_operation_allows_exactly_what_the_matrix_says() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    let admin = &cast.clients["admin"];
    let matrix: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/access/matrix.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let product = create_id(
        admin,
        "Products",
        json!({"productname": "Widget", "assigned_user_id": "19x1"}),
    );
    let mut cells = 0;
    for (level_name, by_owner) in matrix["cells"].as_object().unwrap() {
        let level = Sharing::parse(level_name).unwrap();
        set_sharing(&server, "Contacts", level);
        for (owner_kind, by_caller) in by_owner.as_object().unwrap() {
            for caller in CALLERS {
                let rights = by_caller[caller].as_str().unwrap();
                let what = format!("{level_name} / {owner_kind}-owned / {caller}");
                let owner = match owner_kind.as_str() {
                    "user" => cast.ids["owner"].clone(),
                    _ => cast.group.clone(),
                };
                // The caller's own account, which the contact belongs to:
                // its related list must show the contact only when readable.
                let account = create_id(
                    admin,
                    "Accounts",
                    json!({"accountname": format!("Acct {what}"), "assigned_user_id": cast.ids[caller]}),
                );
                let contact = create_id(
                    admin,
                    "Contacts",
                    json!({"lastname": format!("C {what}"), "assigned_user_id": owner, "account_id": account}),
                );
                let cell = Cell {
                    contact: &contact,
                    account: &account,
                    product: &product,
                    rights,
                    what: &what,
                };
                // sync: the caller's own (and, asked for, their groups')
                // records, never one they may not read.
                let owns = match owner_kind.as_str() {
                    "user" => caller == "owner",
                    _ => caller == "owner" || caller == "mate",
                };
                check_sync(&cast.clients[caller], &contact, owns, &what);
                check_cell(&cast.clients[caller], admin, &cell);
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 36);
}

/// One cell of the matrix: the records and the expected rights.
struct Cell<'a> {
    contact: &'a str,
    account: &'a str,
    product: &'a str,
    rights: &'a str,
    what: &'a str,
}

/// Whether the caller's sync (user and group scope) lists the contact.
fn check_sync(c: &VtClient, contact: &str, owns: bool, what: &str) {
    let r = c
        .get(
            "sync",
            &[
                ("syncToken", "0"),
                ("elementType", "Contacts"),
                ("syncScope", "userandgroup"),
            ],
        )
        .json();
    let listed = r["result"]["updated"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {r}"))
        .iter()
        .any(|u| u["id"] == contact);
    assert_eq!(listed, owns, "{what}: sync");
}

/// One cell: read, write and delete through every operation that does them.
fn check_cell(c: &VtClient, admin: &VtClient, cell: &Cell) {
    let Cell {
        contact,
        account,
        product,
        rights,
        what,
    } = *cell;
    let (read, write, delete) = (
        rights.contains('r'),
        rights.contains('w'),
        rights.contains('d'),
    );
    // retrieve
    let r = c.get("retrieve", &[("id", contact)]).json();
    if read {
        assert_eq!(r["result"]["id"], contact, "{what}: {r}");
    } else {
        assert_denied(&r, &format!("{what}: retrieve"));
    }
    // query, count(*) and the related list: rows silently filtered.
    let rows = query(
        c,
        &format!("SELECT id FROM Contacts WHERE id = '{contact}';"),
    );
    assert_eq!(
        rows.as_array().unwrap().len(),
        usize::from(read),
        "{what}: query"
    );
    let count = query(
        c,
        &format!("SELECT count(*) FROM Contacts WHERE id = '{contact}';"),
    );
    assert_eq!(count[0]["count"], if read { "1" } else { "0" }, "{what}");
    let related = c
        .get(
            "retrieve_related",
            &[
                ("id", account),
                ("relatedType", "Contacts"),
                ("relatedLabel", "Contacts"),
            ],
        )
        .json();
    let listed: Vec<&str> = related["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {related}"))
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(listed.contains(&contact), read, "{what}: related list");
    // revise and update
    let r = c
        .post(
            "revise",
            &[(
                "element",
                &json!({"id": contact, "description": "revised"}).to_string(),
            )],
        )
        .json();
    if write {
        assert_eq!(r["result"]["description"], "revised", "{what}: {r}");
    } else {
        assert_denied(&r, &format!("{what}: revise"));
    }
    let mut whole = admin.get("retrieve", &[("id", contact)]).json()["result"].clone();
    whole["description"] = json!("updated");
    let r = c.post("update", &[("element", &whole.to_string())]).json();
    if write {
        assert_eq!(r["result"]["description"], "updated", "{what}: {r}");
    } else {
        assert_denied(&r, &format!("{what}: update"));
    }
    let stored = admin.get("retrieve", &[("id", contact)]).json();
    let expected = if write { "updated" } else { "" };
    assert_eq!(
        stored["result"]["description"], expected,
        "{what}: a denied write changes nothing"
    );
    // linking from the contact needs the right to change it
    let r = c
        .post(
            "add_related",
            &[
                ("sourceRecordId", contact),
                ("relatedRecordId", product),
                ("relationIdLabel", "Products"),
            ],
        )
        .json();
    if write {
        assert_eq!(r["result"]["message"], "successfull", "{what}: {r}");
    } else {
        assert_denied(&r, &format!("{what}: add_related"));
    }
    // delete
    let r = c.post("delete", &[("id", contact)]).json();
    if delete {
        assert_eq!(r["result"]["status"], "successful", "{what}: {r}");
    } else {
        assert_denied(&r, &format!("{what}: delete"));
        let still = admin.get("retrieve", &[("id", contact)]).json();
        assert_eq!(
            still["success"], true,
            "{what}: a denied delete deletes nothing"
        );
    }
}

#[test]
fn sync_reports_only_the_callers_own_records_even_when_they_are_deleted() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    let admin = &cast.clients["admin"];
    set_sharing(&server, "Contacts", Sharing::PublicReadWrite);
    let mine = create_id(
        admin,
        "Contacts",
        json!({"lastname": "Mine", "assigned_user_id": cast.ids["stranger"]}),
    );
    let theirs = create_id(
        admin,
        "Contacts",
        json!({"lastname": "Theirs", "assigned_user_id": cast.ids["owner"]}),
    );
    admin.post("delete", &[("id", &theirs)]);
    let stranger = &cast.clients["stranger"];
    let r = stranger
        .get(
            "sync",
            &[("modifiedTime", "0"), ("elementType", "Contacts")],
        )
        .json();
    let updated: Vec<&str> = r["result"]["updated"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert_eq!(updated, vec![mine.as_str()], "{r}");
    assert_eq!(r["result"]["deleted"], json!([]), "{r}");
    // The token feed keeps to the same records.
    let r = stranger
        .get("sync", &[("syncToken", "0"), ("elementType", "Contacts")])
        .json();
    let text = r["result"].to_string();
    assert!(text.contains(&mine) && !text.contains(&theirs), "{r}");
}

#[test]
fn profiles_decide_listtypes_describe_and_module_operations() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    let conn = server.db();
    access::set_profile_module(
        &conn,
        "Sales Profile",
        "Leads",
        ModuleRights {
            view: false,
            create: false,
            edit: false,
            delete: false,
        },
    )
    .unwrap();
    access::set_profile_module(
        &conn,
        "Sales Profile",
        "HelpDesk",
        ModuleRights {
            view: true,
            create: false,
            edit: true,
            delete: false,
        },
    )
    .unwrap();
    let admin = &cast.clients["admin"];
    let lead = create_id(
        admin,
        "Leads",
        json!({"lastname": "L", "assigned_user_id": cast.ids["junior"]}),
    );
    let junior = &cast.clients["junior"];
    let types = junior.get("listtypes", &[]).json();
    let names: Vec<&str> = types["result"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !names.contains(&"Leads") && names.contains(&"HelpDesk"),
        "{names:?}"
    );
    assert!(
        names.contains(&"Users") && names.contains(&"Groups"),
        "{names:?}"
    );
    assert!(types["result"]["information"].get("Leads").is_none());
    let plain = "Permission to perform the operation is denied";
    for r in [
        junior.get("describe", &[("elementType", "Leads")]).json(),
        junior.get("retrieve", &[("id", &lead)]).json(),
        junior
            .get("query", &[("query", "SELECT * FROM Leads;")])
            .json(),
        junior
            .post(
                "create",
                &[
                    ("elementType", "Leads"),
                    (
                        "element",
                        &json!({"lastname": "x", "assigned_user_id": cast.ids["junior"]})
                            .to_string(),
                    ),
                ],
            )
            .json(),
        junior
            .get("sync", &[("modifiedTime", "0"), ("elementType", "Leads")])
            .json(),
    ] {
        assert_eq!(r["error"]["code"], "ACCESS_DENIED", "{r}");
        assert_eq!(error_message(&r), plain);
    }
    // HelpDesk: read and edit, no create, no delete.
    let d = junior
        .get("describe", &[("elementType", "HelpDesk")])
        .json();
    let flags: Vec<&Value> = ["createable", "updateable", "deleteable", "retrieveable"]
        .iter()
        .map(|k| &d["result"][k])
        .collect();
    assert_eq!(
        flags,
        [&json!(false), &json!(true), &json!(false), &json!(true)]
    );
    let r = junior
        .post(
            "create",
            &[
                ("elementType", "HelpDesk"),
                ("element", &json!({"ticket_title": "t", "ticketstatus": "Open", "ticketpriorities": "High", "assigned_user_id": cast.ids["junior"]}).to_string()),
            ],
        )
        .json();
    assert_eq!(error_message(&r), "Permission to write is denied");
    let ticket = create_id(
        admin,
        "HelpDesk",
        json!({"ticket_title": "t", "ticketstatus": "Open", "ticketpriorities": "High", "assigned_user_id": cast.ids["junior"]}),
    );
    let r = junior.post("delete", &[("id", &ticket)]).json();
    assert_eq!(error_message(&r), "Permission to delete is denied");
    // Actors: read by everyone, written by admins only.
    let d = junior.get("describe", &[("elementType", "Groups")]).json();
    assert_eq!(d["result"]["createable"], false);
    assert_eq!(d["result"]["retrieveable"], true);
}

#[test]
fn hidden_fields_never_show_and_read_only_fields_are_never_written() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    let conn = server.db();
    access::set_profile_field(
        &conn,
        "Sales Profile",
        "Accounts",
        "annual_revenue",
        FieldAccess::Hidden,
    )
    .unwrap();
    access::set_profile_field(
        &conn,
        "Sales Profile",
        "Accounts",
        "website",
        FieldAccess::ReadOnly,
    )
    .unwrap();
    let admin = &cast.clients["admin"];
    let id = create_id(
        admin,
        "Accounts",
        json!({"accountname": "Hidden Co", "annual_revenue": "5000", "website": "a.example", "assigned_user_id": cast.ids["junior"]}),
    );
    let junior = &cast.clients["junior"];
    let d = junior
        .get("describe", &[("elementType", "Accounts")])
        .json();
    let fields = d["result"]["fields"].as_array().unwrap();
    assert!(fields.iter().all(|f| f["name"] != "annual_revenue"));
    let website = fields.iter().find(|f| f["name"] == "website").unwrap();
    assert_eq!(website["editable"], false);
    let r = junior.get("retrieve", &[("id", &id)]).json();
    assert!(r["result"].get("annual_revenue").is_none(), "{r}");
    assert_eq!(r["result"]["website"], "a.example");
    let rows = query(
        junior,
        &format!("SELECT * FROM Accounts WHERE id = '{id}';"),
    );
    assert!(rows[0].get("annual_revenue").is_none(), "{rows}");
    // sync, vtiger's window and our feed alike.
    for from in [("modifiedTime", "0"), ("syncToken", "0")] {
        let r = junior
            .get("sync", &[from, ("elementType", "Accounts")])
            .json();
        let updated = r["result"]["updated"].as_array().unwrap();
        let listed = updated.iter().find(|rec| rec["id"] == id.as_str());
        let listed = listed.unwrap_or_else(|| panic!("{from:?}: {r}"));
        assert!(listed.get("annual_revenue").is_none(), "{from:?}: {r}");
        assert_eq!(listed["website"], "a.example", "{from:?}: {r}");
    }
    let r = junior
        .get(
            "query",
            &[("query", "SELECT annual_revenue FROM Accounts;")],
        )
        .json();
    assert_eq!(
        error_message(&r),
        "Permission to access '.annual_revenue.' attribute denied."
    );
    let r = junior
        .get(
            "query",
            &[("query", "SELECT id FROM Accounts WHERE annual_revenue > 1;")],
        )
        .json();
    assert_eq!(
        error_message(&r),
        "Permission to access annual_revenue attribute denied."
    );
    let r = junior
        .post(
            "revise",
            &[(
                "element",
                &json!({"id": id, "website": "b.example", "annual_revenue": "1", "description": "ok"}).to_string(),
            )],
        )
        .json();
    assert_eq!(r["result"]["description"], "ok", "{r}");
    let stored = admin.get("retrieve", &[("id", &id)]).json();
    assert_eq!(stored["result"]["website"], "a.example");
    assert_eq!(stored["result"]["annual_revenue"], "5000.00000000");
    // Its own profile rows do not touch the admin's view.
    assert!(stored["result"].get("annual_revenue").is_some());
}

#[test]
fn owners_are_assignable_only_as_vtiger_allows() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    set_sharing(&server, "Contacts", Sharing::Private);
    let contact = |c: &VtClient, owner: &str| {
        c.post(
            "create",
            &[
                ("elementType", "Contacts"),
                (
                    "element",
                    &json!({"lastname": "A", "assigned_user_id": owner}).to_string(),
                ),
            ],
        )
        .json()
    };
    let cannot = "Cannot assign record to the given user";
    let boss = &cast.clients["boss"];
    // Themselves, a subordinate-role user: yes. A superior, a group they
    // are not in: no.
    assert_eq!(contact(boss, &cast.ids["boss"])["success"], true);
    assert_eq!(contact(boss, &cast.ids["junior"])["success"], true);
    let owner = &cast.clients["owner"];
    assert_eq!(error_message(&contact(owner, &cast.ids["boss"])), cannot);
    assert_eq!(error_message(&contact(boss, &cast.group)), cannot);
    // A group member: their group and the group's other members.
    assert_eq!(contact(owner, &cast.group)["success"], true);
    assert_eq!(contact(owner, &cast.ids["mate"])["success"], true);
    assert_eq!(
        error_message(&contact(owner, &cast.ids["stranger"])),
        cannot
    );
    // Where Contacts are public for writing, anyone may be given a record.
    set_sharing(&server, "Contacts", Sharing::PublicReadWrite);
    assert_eq!(contact(owner, &cast.ids["stranger"])["success"], true);
    // A reassignment is checked as a create is.
    set_sharing(&server, "Contacts", Sharing::Private);
    let id = contact(owner, &cast.ids["owner"])["result"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = owner
        .post(
            "revise",
            &[(
                "element",
                &json!({"id": id, "assigned_user_id": cast.ids["stranger"]}).to_string(),
            )],
        )
        .json();
    assert_eq!(error_message(&r), cannot);
}

#[test]
fn deactivating_a_user_ends_their_sessions_and_refuses_their_logins() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    let admin = &cast.clients["admin"];
    let junior = &cast.clients["junior"];
    assert_eq!(junior.get("listtypes", &[]).json()["success"], true);
    let r = admin
        .post(
            "revise",
            &[(
                "element",
                &json!({"id": cast.ids["junior"], "status": "Inactive"}).to_string(),
            )],
        )
        .json();
    assert_eq!(r["result"]["status"], "Inactive", "{r}");
    let r = junior.get("listtypes", &[]).json();
    assert_eq!(r["error"]["code"], "INVALID_SESSIONID", "{r}");
    let stored: i64 = server
        .db()
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE user_id = ?1",
            [cast.ids["junior"]
                .trim_start_matches("19x")
                .parse::<i64>()
                .unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0, "the sessions are gone, not just refused");
    let mut again = server.client();
    let r = again.login("junior", "junior-key-0000001").unwrap_err();
    assert_eq!(r["error"]["code"], "INVALID_USER_CREDENTIALS");
}

#[test]
fn files_and_relations_follow_the_records_they_belong_to() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    set_sharing(&server, "Accounts", Sharing::Private);
    set_sharing(&server, "Contacts", Sharing::Private);
    let admin = &cast.clients["admin"];
    let secret = create_id(
        admin,
        "Accounts",
        json!({"accountname": "Secret", "assigned_user_id": cast.ids["owner"]}),
    );
    let stranger = &cast.clients["stranger"];
    let mine = create_id(
        admin,
        "Contacts",
        json!({"lastname": "Mine", "assigned_user_id": cast.ids["stranger"]}),
    );
    // Linking to or from a record one may not read or change is denied.
    for r in [
        stranger
            .post(
                "add_related",
                &[
                    ("sourceRecordId", &secret),
                    ("relatedRecordId", &mine),
                    ("relationIdLabel", "Contacts"),
                ],
            )
            .json(),
        stranger
            .get(
                "retrieve_related",
                &[
                    ("id", &secret),
                    ("relatedType", "Contacts"),
                    ("relatedLabel", "Contacts"),
                ],
            )
            .json(),
    ] {
        assert_denied(&r, "relations");
    }
    // relatedtypes leaves out modules the caller may not use.
    access::set_profile_module(
        &server.db(),
        "Sales Profile",
        "Potentials",
        ModuleRights::default(),
    )
    .unwrap();
    let r = stranger
        .get("relatedtypes", &[("elementType", "Accounts")])
        .json();
    let types = r["result"]["types"].as_array().unwrap();
    assert!(types.contains(&json!("Contacts")) && !types.contains(&json!("Potentials")));
    // A document's file is as readable as the document.
    let doc = admin
        .post(
            "create",
            &[
                ("elementType", "Documents"),
                (
                    "element",
                    &json!({"notes_title": "Plan", "filelocationtype": "I", "assigned_user_id": cast.ids["owner"]})
                        .to_string(),
                ),
            ],
        )
        .json();
    let doc_id = doc["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{doc}"));
    let r = stranger.get("retrieve", &[("id", doc_id)]).json();
    assert_eq!(r["success"], true, "Documents are public by default: {r}");
    set_sharing(&server, "Documents", Sharing::Private);
    let r = stranger.get("retrieve", &[("id", doc_id)]).json();
    assert_denied(&r, "private document");
}

#[test]
fn a_lead_is_converted_only_by_someone_who_may_change_it() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    set_sharing(&server, "Leads", Sharing::PublicReadOnly);
    let admin = &cast.clients["admin"];
    let lead = create_id(
        admin,
        "Leads",
        json!({"lastname": "Lee", "company": "Lee Ltd", "assigned_user_id": cast.ids["owner"]}),
    );
    let element = |assignee: &str| {
        json!({"leadId": lead, "assignedTo": assignee, "entities": {
            "Accounts": {"create": true, "name": "Accounts"},
            "Contacts": {"create": true, "name": "Contacts"}}})
        .to_string()
    };
    let stranger = &cast.clients["stranger"];
    let r = stranger
        .post(
            "convertlead",
            &[("element", &element(&cast.ids["stranger"]))],
        )
        .json();
    assert_denied(&r, "convertlead by a reader");
    // The owner may, but not for someone they may not assign records to.
    let owner = &cast.clients["owner"];
    set_sharing(&server, "Accounts", Sharing::Private);
    let r = owner
        .post(
            "convertlead",
            &[("element", &element(&cast.ids["stranger"]))],
        )
        .json();
    assert_eq!(r["error"]["code"], "UNKNOWN_OPERATION", "{r}");
    assert_eq!(
        error_message(&r),
        "Cannot assign record to the given user : Accounts"
    );
    let r = owner
        .post("convertlead", &[("element", &element(&cast.ids["owner"]))])
        .json();
    assert!(r["result"]["Contacts"].is_string(), "{r}");
}

#[test]
fn sync_with_no_usable_module_answers_vtigers_early_return() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    server
        .db()
        .execute(
            "UPDATE profiles SET can_view = 0 WHERE profilename = 'Sales Profile'",
            [],
        )
        .unwrap();
    let r = cast.clients["junior"].get("sync", &[("modifiedTime", "1700000000")]);
    assert_eq!(
        r.body,
        r#"{"success":true,"result":{"updated":[],"deleted":[],"lastModifiedTime":1700000000,"more":false}}"#
    );
}

#[test]
fn deleting_a_group_hands_its_records_to_the_admin_and_forgets_its_members() {
    let server = TestServer::spawn();
    let cast = cast(&server);
    set_sharing(&server, "Contacts", Sharing::Private);
    let admin = &cast.clients["admin"];
    let id = create_id(
        admin,
        "Contacts",
        json!({"lastname": "G", "assigned_user_id": cast.group}),
    );
    let mate = &cast.clients["mate"];
    assert_eq!(mate.get("retrieve", &[("id", &id)]).json()["success"], true);
    let r = admin.post("delete", &[("id", &cast.group)]).json();
    assert_eq!(r["result"]["status"], "successful", "{r}");
    let r = admin.get("retrieve", &[("id", &id)]).json();
    assert_eq!(r["result"]["assigned_user_id"], "19x1");
    // The admin's sync hears of the record it now owns.
    let r = admin
        .get("sync", &[("syncToken", "0"), ("elementType", "Contacts")])
        .json();
    let synced: Vec<&str> = r["result"]["updated"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert!(synced.contains(&id.as_str()), "{r}");
    assert_denied(
        &mate.get("retrieve", &[("id", &id)]).json(),
        "after the group",
    );
    let members: i64 = server
        .db()
        .query_row(
            "SELECT COUNT(*) FROM group_members WHERE group_id = ?1",
            [cast.group[3..].parse::<i64>().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(members, 0);
    // Only admins write groups through the API (vtiger's Groups actor).
    let r = mate
        .post(
            "create",
            &[
                ("elementType", "Groups"),
                ("element", r#"{"groupname":"Mine"}"#),
            ],
        )
        .json();
    assert_eq!(error_message(&r), "Permission to write is denied");
}

#[test]
fn rights_changed_by_another_process_hold_from_the_next_request() {
    // The server keeps a non-admin caller's rights between requests; a
    // change written by another connection (the command line) must still
    // count from the very next request of the same session.
    let server = TestServer::spawn();
    let cast = cast(&server);
    let admin = &cast.clients["admin"];
    let stranger = &cast.clients["stranger"];
    let account = create_id(
        admin,
        "Accounts",
        json!({"accountname": "Kept Rights", "assigned_user_id": "19x1"}),
    );
    let retrieve = || stranger.get("retrieve", &[("id", &account)]).json();
    set_sharing(&server, "Accounts", Sharing::PublicReadOnly);
    assert_eq!(retrieve()["success"], true, "{}", retrieve());
    set_sharing(&server, "Accounts", Sharing::Private);
    assert_denied(&retrieve(), "private again");
    set_sharing(&server, "Accounts", Sharing::PublicReadOnly);
    assert_eq!(retrieve()["success"], true);
    // Every table the rights come from counts the version up, the users
    // table for roles and removals only.
    let db = server.db();
    let version = || -> i64 {
        db.query_row("SELECT version FROM rights_version", [], |r| r.get(0))
            .unwrap()
    };
    let stranger_id: i64 = cast.ids["stranger"][3..].parse().unwrap();
    let before = version();
    db.execute(
        "UPDATE m_Users SET roleid = 'H4' WHERE _id = ?1",
        [stranger_id],
    )
    .unwrap();
    assert_eq!(version(), before + 1, "a role change");
    db.execute(
        "UPDATE m_Users SET email1 = 'x@y.z' WHERE _id = ?1",
        [stranger_id],
    )
    .unwrap();
    assert_eq!(version(), before + 1, "an email is not part of the rights");
    db.execute(
        "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        [cast.group[3..].parse::<i64>().unwrap(), stranger_id],
    )
    .unwrap();
    assert_eq!(version(), before + 2, "a group member");
    db.execute("UPDATE profiles SET view_all = view_all", [])
        .unwrap();
    assert!(version() > before + 2, "a profile");
}
