//! Credentials without the challenge (issue 11): API tokens made with the
//! CLI and sent as a bearer, an `X-API-KEY` header or an `api_key`
//! parameter; HTTP Basic with the access key; OAuth2's password and
//! refresh grants; scopes, read-only tokens and module allow-lists.
use std::process::Command;

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::*;

/// Runs `stripes ARGS --db <the server's database>` and returns its output.
pub fn cli(server: &TestServer, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stripes"))
        .args(args)
        .arg("--db")
        .arg(server.db_path())
        .env_remove("STRIPES_ADMIN_ACCESS_KEY")
        .output()
        .expect("stripes runs");
    assert!(
        out.status.success(),
        "stripes {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new API token for `user`, made with the CLI; `extra` are flags.
pub fn api_token(server: &TestServer, user: &str, extra: &[&str]) -> String {
    let mut args = vec!["tokens", "create", user];
    args.extend_from_slice(extra);
    let out = cli(server, &args);
    out.trim().rsplit(' ').next().unwrap().to_string()
}

/// `operation` sent with `headers` and no session: GET with the query
/// string, POST with a form body.
pub fn call(
    server: &TestServer,
    method: &str,
    operation: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Value {
    let mut pairs = vec![("operation", operation)];
    pairs.extend_from_slice(params);
    let query = encode(&pairs);
    match method {
        "GET" => raw_http(
            server.port,
            "GET",
            &format!("/webservice.php?{query}"),
            headers,
            b"",
        ),
        _ => {
            let mut with_type = vec![("Content-Type", "application/x-www-form-urlencoded")];
            with_type.extend_from_slice(headers);
            raw_http(
                server.port,
                "POST",
                "/webservice.php",
                &with_type,
                query.as_bytes(),
            )
        }
    }
    .json()
}

fn basic(user: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

fn account(server: &TestServer) -> String {
    create_id(
        &server.admin(),
        "Accounts",
        json!({"accountname": "Token Test", "assigned_user_id": "19x1"}),
    )
}

#[test]
fn an_api_token_works_as_bearer_x_api_key_and_api_key_parameter() {
    let server = TestServer::spawn();
    let id = account(&server);
    let token = api_token(&server, "admin", &["--label", "erp"]);
    assert!(token.starts_with("stk_"), "{token}");
    let bearer = format!("Bearer {token}");
    let by_bearer = call(
        &server,
        "GET",
        "retrieve",
        &[("id", &id)],
        &[("Authorization", &bearer)],
    );
    assert_eq!(
        by_bearer["result"]["accountname"], "Token Test",
        "{by_bearer}"
    );
    let by_header = call(
        &server,
        "GET",
        "retrieve",
        &[("id", &id)],
        &[("X-API-KEY", &token)],
    );
    assert_eq!(by_header, by_bearer);
    let by_param = call(
        &server,
        "POST",
        "create",
        &[
            ("api_key", &token),
            ("elementType", "Contacts"),
            (
                "element",
                r#"{"lastname":"Keyed","assigned_user_id":"19x1"}"#,
            ),
        ],
        &[],
    );
    assert_eq!(by_param["result"]["lastname"], "Keyed", "{by_param}");
    assert_eq!(by_param["result"]["modifiedby"], "19x1");
}

#[test]
fn http_basic_takes_the_user_name_and_access_key() {
    let server = TestServer::spawn();
    let ok = call(
        &server,
        "GET",
        "listtypes",
        &[],
        &[("Authorization", &basic("admin", ADMIN_KEY))],
    );
    assert_eq!(ok["success"], true, "{ok}");
    let wrong = call(
        &server,
        "GET",
        "listtypes",
        &[],
        &[("Authorization", &basic("admin", "not-the-key"))],
    );
    assert_eq!(error_code(&wrong), "INVALID_USER_CREDENTIALS");
    let garbled = call(
        &server,
        "GET",
        "listtypes",
        &[],
        &[("Authorization", "Basic %%%")],
    );
    assert_eq!(error_code(&garbled), "INVALID_USER_CREDENTIALS");
}

#[test]
fn unknown_revoked_and_expired_tokens_are_refused() {
    let server = TestServer::spawn();
    let unknown = call(
        &server,
        "GET",
        "listtypes",
        &[],
        &[("X-API-KEY", "stk_nothing")],
    );
    assert_eq!(error_code(&unknown), "INVALID_AUTH_TOKEN");
    assert_eq!(
        unknown["error"]["message"],
        "Specified token is invalid or expired"
    );
    let token = api_token(&server, "admin", &[]);
    let list = cli(&server, &["tokens", "list"]);
    assert!(
        !list.contains(&token),
        "the list never shows tokens: {list}"
    );
    let id = list.split('\t').next().unwrap().to_string();
    assert!(list.contains("\tadmin\tapi\t"), "{list}");
    cli(&server, &["tokens", "revoke", &id]);
    let revoked = call(&server, "GET", "listtypes", &[], &[("X-API-KEY", &token)]);
    assert_eq!(error_code(&revoked), "INVALID_AUTH_TOKEN");
    let short = api_token(&server, "admin", &["--expires-in", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let expired = call(&server, "GET", "listtypes", &[], &[("X-API-KEY", &short)]);
    assert_eq!(error_code(&expired), "INVALID_AUTH_TOKEN");
}

#[test]
fn a_deactivated_users_tokens_stop_working() {
    let server = TestServer::spawn();
    cli(&server, &["users", "add", "eve"]);
    let token = api_token(&server, "eve", &[]);
    let before = call(&server, "GET", "listtypes", &[], &[("X-API-KEY", &token)]);
    assert_eq!(before["success"], true, "{before}");
    cli(&server, &["users", "deactivate", "eve"]);
    let after = call(&server, "GET", "listtypes", &[], &[("X-API-KEY", &token)]);
    assert_eq!(error_code(&after), "INVALID_AUTH_TOKEN");
}

#[test]
fn a_read_only_token_reads_but_never_writes() {
    let server = TestServer::spawn();
    let id = account(&server);
    let token = api_token(&server, "admin", &["--read-only"]);
    let auth = [("X-API-KEY", token.as_str())];
    let read = call(
        &server,
        "GET",
        "query",
        &[("query", "select accountname from Accounts;")],
        &auth,
    );
    assert_eq!(read["result"][0]["accountname"], "Token Test", "{read}");
    let element = format!(r#"{{"id":"{id}","accountname":"Renamed"}}"#);
    for (op, params) in [
        (
            "create",
            vec![
                ("elementType", "Accounts"),
                (
                    "element",
                    r#"{"accountname":"X","assigned_user_id":"19x1"}"#,
                ),
            ],
        ),
        ("revise", vec![("element", element.as_str())]),
        ("delete", vec![("id", id.as_str())]),
    ] {
        let refused = call(&server, "POST", op, &params, &auth);
        assert_eq!(error_code(&refused), "ACCESS_DENIED", "{op}: {refused}");
        assert_eq!(
            refused["error"]["message"],
            format!("The token's scope does not allow {op}")
        );
    }
    let admin = server.admin();
    let still = admin.get("retrieve", &[("id", &id)]).json();
    assert_eq!(still["result"]["accountname"], "Token Test");
}

#[test]
fn a_module_allow_list_hides_every_other_module() {
    let server = TestServer::spawn();
    let account_id = account(&server);
    let contact = create_id(
        &server.admin(),
        "Contacts",
        json!({"lastname": "Hidden", "assigned_user_id": "19x1"}),
    );
    let token = api_token(&server, "admin", &["--module", "Accounts"]);
    let auth = [("X-API-KEY", token.as_str())];
    let types = call(&server, "GET", "listtypes", &[], &auth);
    assert_eq!(types["result"]["types"], json!(["Accounts"]), "{types}");
    let describe = call(
        &server,
        "GET",
        "describe",
        &[("elementType", "Contacts")],
        &auth,
    );
    assert_eq!(error_code(&describe), "ACCESS_DENIED", "{describe}");
    let ok = call(&server, "GET", "retrieve", &[("id", &account_id)], &auth);
    assert_eq!(ok["success"], true, "{ok}");
    let denied = call(&server, "GET", "retrieve", &[("id", &contact)], &auth);
    assert_eq!(error_code(&denied), "ACCESS_DENIED", "{denied}");
    let query = call(
        &server,
        "GET",
        "query",
        &[("query", "select * from Contacts;")],
        &auth,
    );
    assert_eq!(error_code(&query), "ACCESS_DENIED", "{query}");
    let create = call(
        &server,
        "POST",
        "create",
        &[
            ("elementType", "Contacts"),
            ("element", r#"{"lastname":"No","assigned_user_id":"19x1"}"#),
        ],
        &auth,
    );
    assert_eq!(error_code(&create), "ACCESS_DENIED", "{create}");
}

#[test]
fn a_session_wins_over_credentials_and_prelogin_operations_ignore_them() {
    let server = TestServer::spawn();
    let admin = server.admin();
    let session = admin.session.clone().unwrap();
    let with_session = call(
        &server,
        "GET",
        "listtypes",
        &[("sessionName", &session)],
        &[("Authorization", "Bearer stk_wrong")],
    );
    assert_eq!(with_session["success"], true, "{with_session}");
    let challenge = call(
        &server,
        "GET",
        "getchallenge",
        &[("username", "admin"), ("api_key", "stk_wrong")],
        &[("X-API-KEY", "stk_wrong")],
    );
    assert_eq!(challenge["success"], true, "{challenge}");
    let nothing = call(&server, "GET", "listtypes", &[], &[]);
    assert_eq!(error_code(&nothing), "AUTHENTICATION_REQUIRED");
}

#[test]
fn a_token_never_gives_more_than_its_users_own_rights() {
    let server = TestServer::spawn();
    cli(&server, &["users", "add", "sam"]);
    cli(
        &server,
        &["profiles", "set", "Sales Profile", "Leads", "--view", "no"],
    );
    let token = api_token(&server, "sam", &[]);
    let auth = [("X-API-KEY", token.as_str())];
    let types = call(&server, "GET", "listtypes", &[], &auth);
    let types = types["result"]["types"].as_array().unwrap().clone();
    assert!(types.contains(&json!("Accounts")), "{types:?}");
    assert!(!types.contains(&json!("Leads")), "{types:?}");
    let query = call(
        &server,
        "GET",
        "query",
        &[("query", "select * from Leads;")],
        &auth,
    );
    assert_eq!(error_code(&query), "ACCESS_DENIED");
}

fn oauth(server: &TestServer, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    raw_http(
        server.port,
        "POST",
        "/oauth/token",
        &all,
        encode(form).as_bytes(),
    )
}

fn oauth_client(server: &TestServer, scopes: &str) -> (String, String) {
    let out = cli(
        server,
        &["oauth", "add-client", "Egito sync", "--scopes", scopes],
    );
    let words: Vec<&str> = out.split_whitespace().collect();
    let after = |w: &str| words[words.iter().position(|x| *x == w).unwrap() + 1].to_string();
    (after("client_id"), after("client_secret"))
}

#[test]
fn the_oauth2_password_grant_gives_a_bearer_token_for_the_webservice() {
    let server = TestServer::spawn();
    let (id, secret) = oauth_client(&server, "read,write,delete");
    let r = oauth(
        &server,
        &[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("username", "admin"),
            ("password", ADMIN_KEY),
        ],
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    let body = r.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope"
        ]
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write delete");
    let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
    let created = call(
        &server,
        "POST",
        "create",
        &[
            ("elementType", "Accounts"),
            (
                "element",
                r#"{"accountname":"OAuth","assigned_user_id":"19x1"}"#,
            ),
        ],
        &[("Authorization", &bearer)],
    );
    assert_eq!(created["result"]["accountname"], "OAuth", "{created}");
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(
        call(&server, "GET", "listtypes", &[], &[("X-API-KEY", refresh)])["success"] == false,
        "a refresh token is no bearer"
    );
}

#[test]
fn an_oauth2_refresh_token_renews_once_and_keeps_its_scope() {
    let server = TestServer::spawn();
    let (id, secret) = oauth_client(&server, "read");
    let first = oauth(
        &server,
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_KEY),
        ],
        &[("Authorization", &basic(&id, &secret))],
    )
    .json();
    assert_eq!(first["scope"], "read", "{first}");
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let renewed = oauth(&server, &form, &[]);
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let renewed = renewed.json();
    assert_ne!(renewed["access_token"], first["access_token"]);
    assert_eq!(renewed["scope"], "read");
    let again = oauth(&server, &form, &[]);
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    let bearer = format!("Bearer {}", renewed["access_token"].as_str().unwrap());
    let write = call(
        &server,
        "POST",
        "create",
        &[
            ("elementType", "Accounts"),
            (
                "element",
                r#"{"accountname":"No","assigned_user_id":"19x1"}"#,
            ),
        ],
        &[("Authorization", &bearer)],
    );
    assert_eq!(
        error_code(&write),
        "ACCESS_DENIED",
        "a read scope cannot write"
    );
    let read = call(
        &server,
        "GET",
        "listtypes",
        &[],
        &[("Authorization", &bearer)],
    );
    assert_eq!(read["success"], true);
}

#[test]
fn oauth2_errors_use_the_standard_codes_and_statuses() {
    let server = TestServer::spawn();
    let (id, secret) = oauth_client(&server, "read,write");
    let password = |extra: &[(&'static str, &'static str)]| {
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("username", "admin"),
            ("password", ADMIN_KEY),
        ];
        form.extend_from_slice(extra);
        form
    };
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Form, u16, &str)> = vec![
        (vec![("client_id", id.as_str())], 400, "invalid_request"),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", id.as_str()),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            {
                let mut f = password(&[]);
                f[4] = ("password", "wrong-key");
                f
            },
            400,
            "invalid_grant",
        ),
        (password(&[("scope", "delete")]), 400, "invalid_scope"),
        (password(&[("scope", "everything")]), 400, "invalid_scope"),
        (
            {
                let mut f = password(&[]);
                f[0] = ("grant_type", "client_credentials");
                f
            },
            400,
            "unsupported_grant_type",
        ),
        (
            {
                let mut f = password(&[]);
                f.truncate(3);
                f
            },
            400,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let r = oauth(&server, &form, &[]);
        assert_eq!(r.status, status, "{form:?}: {}", r.body);
        let body = r.json();
        assert_eq!(body["error"], error, "{form:?}: {body}");
        assert!(body["error_description"].is_string());
    }
    let get = raw_http(server.port, "GET", "/oauth/token", &[], b"");
    assert_eq!(get.status, 405);
    assert_eq!(get.json()["error"], "invalid_request");
    let narrowed = oauth(&server, &password(&[("scope", "read")]), &[]).json();
    assert_eq!(narrowed["scope"], "read", "{narrowed}");
    cli(&server, &["oauth", "remove-client", &id]);
    let bearer = format!("Bearer {}", narrowed["access_token"].as_str().unwrap());
    let gone = call(
        &server,
        "GET",
        "listtypes",
        &[],
        &[("Authorization", &bearer)],
    );
    assert_eq!(
        error_code(&gone),
        "INVALID_AUTH_TOKEN",
        "removing a client revokes its tokens"
    );
}
