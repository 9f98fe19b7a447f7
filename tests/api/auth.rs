//! getchallenge, login, logout, extendsession and the order of checks (§1.5, §2).
use crate::helpers::*;

fn body(r: &Response) -> &str {
    assert_eq!(r.status, 200, "always HTTP 200: {}", r.body);
    &r.body
}

/// A call with `c`'s session is refused as a dead session.
fn assert_session_refused(c: &VtClient) {
    let r = c.get("listtypes", &[]).json();
    assert_eq!(r["error"]["code"], "INVALID_SESSIONID", "{r}");
}

#[test]
fn getchallenge_returns_a_13_hex_token_valid_for_300_seconds() {
    let s = TestServer::spawn();
    let r = s
        .client()
        .get("getchallenge", &[("username", "admin")])
        .json();
    let result = &r["result"];
    let keys: Vec<&String> = result.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["token", "serverTime", "expireTime"]);
    let token = result["token"].as_str().unwrap();
    assert_eq!(token.len(), 13);
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(
        result["expireTime"].as_i64().unwrap() - result["serverTime"].as_i64().unwrap(),
        300
    );
}

#[test]
fn getchallenge_errors_are_vtigers() {
    let s = TestServer::spawn();
    let c = s.client();
    assert_eq!(
        body(&c.get("getchallenge", &[])),
        r#"{"success":false,"error":{"message":"No username given","code":"ACCESS_DENIED"}}"#
    );
    assert_eq!(
        body(&c.get("getchallenge", &[("username", "nosuchuser")])),
        r#"{"success":false,"error":{"message":"username does not exists","code":"ACCESS_DENIED"}}"#
    );
}

#[test]
fn getchallenge_sent_as_post_reads_only_the_query_string() {
    let s = TestServer::spawn();
    // Params in the body: a GET operation does not see them (golden seq 4).
    let r = s.client().post("getchallenge", &[("username", "admin")]);
    assert_eq!(
        body(&r),
        r#"{"success":false,"error":{"message":"No username given","code":"ACCESS_DENIED"}}"#
    );
    // vtigerpy's way: POST with the params in the query string works.
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php?operation=getchallenge&username=admin",
        &[],
        b"",
    )
    .json();
    assert_eq!(r["success"], true, "{r}");
}

#[test]
fn operation_names_are_case_insensitive() {
    let s = TestServer::spawn();
    for op in ["GetChallenge", "GETCHALLENGE", "getchallenge"] {
        assert_eq!(
            s.client().get(op, &[("username", "admin")]).json()["success"],
            true,
            "{op}"
        );
    }
}

#[test]
fn login_answers_the_7x_profile_then_the_session_in_vtigers_key_order() {
    let s = TestServer::spawn();
    let mut c = s.client();
    let result = c.login("admin", ADMIN_KEY).expect("login");
    let session = result["sessionName"].as_str().unwrap();
    assert!(
        session.len() >= 32 && session.bytes().all(|b| b.is_ascii_hexdigit()),
        "{session}"
    );
    // The recorded vtiger 8.2 login with only the session name swapped in.
    let recorded: serde_json::Value = serde_json::from_str(&golden_body(13)).unwrap();
    let mut expected = recorded["result"].clone();
    expected["sessionName"] = session.into();
    assert_eq!(
        serde_json::to_string(&result).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
}

#[test]
fn login_failures_follow_vtigers_order_of_checks() {
    let s = TestServer::spawn();
    let c = s.client();
    let invalid_token = r#"{"success":false,"error":{"message":"Specified token is invalid or expired","code":"INVALID_AUTH_TOKEN"}}"#;
    let bad_creds = r#"{"success":false,"error":{"message":"Invalid username or password","code":"INVALID_USER_CREDENTIALS"}}"#;
    // Never challenged.
    assert_eq!(
        body(&c.post("login", &[("username", "admin"), ("accessKey", "x")])),
        invalid_token
    );
    // Unknown user.
    assert_eq!(
        body(&c.post("login", &[("username", "nosuchuser"), ("accessKey", "x")])),
        invalid_token
    );
    let token = c.challenge("admin");
    // Wrong digest, the raw key, a missing key, an upper-case digest.
    assert_eq!(
        body(&c.post(
            "login",
            &[
                ("username", "admin"),
                ("accessKey", "5f1ab64422644a9297c623809d0e34b0")
            ]
        )),
        bad_creds
    );
    assert_eq!(
        body(&c.post("login", &[("username", "admin"), ("accessKey", ADMIN_KEY)])),
        bad_creds
    );
    assert_eq!(body(&c.post("login", &[("username", "admin")])), bad_creds);
    let upper = md5_hex(&format!("{token}{ADMIN_KEY}")).to_uppercase();
    assert_eq!(
        body(&c.post("login", &[("username", "admin"), ("accessKey", &upper)])),
        bad_creds
    );
    // login is a POST operation: sent as GET it sees no username (golden seq 11).
    let digest = md5_hex(&format!("{token}{ADMIN_KEY}"));
    assert_eq!(
        body(&c.get("login", &[("username", "admin"), ("accessKey", &digest)])),
        invalid_token
    );
}

#[test]
fn a_user_without_an_access_key_gets_accesskey_undefined() {
    let s = TestServer::spawn();
    s.db()
        .execute(
            "UPDATE m_Users SET accesskey = '' WHERE user_name = 'admin'",
            [],
        )
        .unwrap();
    let c = s.client();
    c.challenge("admin");
    assert_eq!(
        body(&c.post("login", &[("username", "admin"), ("accessKey", "whatever")])),
        r#"{"success":false,"error":{"message":"Access key for the user is undefined","code":"ACCESSKEY_UNDEFINED"}}"#
    );
}

#[test]
fn an_inactive_user_cannot_log_in_and_loses_its_sessions() {
    let s = TestServer::spawn();
    let admin = s.admin();
    // Used once, so the server keeps the session; the change below comes
    // from elsewhere (the command line's process writes the same way).
    assert_eq!(admin.get("listtypes", &[]).json()["success"], true);
    s.db()
        .execute(
            "UPDATE m_Users SET status = 'Inactive' WHERE user_name = 'admin'",
            [],
        )
        .unwrap();
    let err = s.client().login("admin", ADMIN_KEY).unwrap_err();
    assert_eq!(err["error"]["code"], "INVALID_USER_CREDENTIALS");
    assert_session_refused(&admin);
}

#[test]
fn an_expired_token_is_refused_and_a_token_can_be_reused_until_then() {
    let s = TestServer::spawn();
    let c = s.client();
    let token = c.challenge("admin");
    let digest = md5_hex(&format!("{token}{ADMIN_KEY}"));
    for _ in 0..2 {
        let r = c
            .post("login", &[("username", "admin"), ("accessKey", &digest)])
            .json();
        assert_eq!(
            r["success"], true,
            "a token is not consumed by login (golden seq 14): {r}"
        );
    }
    s.db()
        .execute("UPDATE challenges SET expire_time = expire_time - 301", [])
        .unwrap();
    let r = c
        .post("login", &[("username", "admin"), ("accessKey", &digest)])
        .json();
    assert_eq!(r["error"]["code"], "INVALID_AUTH_TOKEN");
}

#[test]
fn earlier_challenges_stay_good_so_clients_sharing_a_user_can_log_in_together() {
    let s = TestServer::spawn();
    let c = s.client();
    let login = |token: &str| {
        c.post(
            "login",
            &[
                ("username", "admin"),
                ("accessKey", &md5_hex(&format!("{token}{ADMIN_KEY}"))),
            ],
        )
        .json()
    };
    // vtiger keeps one token a user, so the first of two clients fails there.
    let first = c.challenge("admin");
    let second = c.challenge("admin");
    assert_eq!(login(&first)["success"], true);
    assert_eq!(login(&second)["success"], true);
    // Only the newest 16 stay live.
    let oldest = c.challenge("admin");
    let newer: Vec<String> = (0..16).map(|_| c.challenge("admin")).collect();
    assert_eq!(login(&oldest)["error"]["code"], "INVALID_USER_CREDENTIALS");
    let db = s.db();
    let kept: i64 = db
        .query_row("SELECT count(*) FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 16, "the older ones are gone from the table");
    assert_eq!(login(&newer[0])["success"], true, "the 16th newest is live");
    // An expired token is no token.
    db.execute("UPDATE challenges SET expire_time = 0", [])
        .unwrap();
    assert_eq!(login(&second)["error"]["code"], "INVALID_AUTH_TOKEN");
}

#[test]
fn a_stale_session_name_fails_even_on_getchallenge_and_login() {
    let s = TestServer::spawn();
    let invalid = r#"{"success":false,"error":{"message":"Session Identifier provided is Invalid","code":"INVALID_SESSIONID"}}"#;
    let stale = VtClient {
        port: s.port,
        session: Some("deadbeefdeadbeef".into()),
    };
    assert_eq!(
        body(&stale.get("getchallenge", &[("username", "admin")])),
        invalid
    );
    assert_eq!(
        body(&stale.post("login", &[("username", "admin"), ("accessKey", "x")])),
        invalid
    );
    assert_eq!(body(&stale.get("listtypes", &[])), invalid);
}

#[test]
fn a_live_session_name_does_not_break_a_new_login() {
    let s = TestServer::spawn();
    // salaros/vtwsclib-php sends its current sessionName on every request.
    let mut c = s.admin();
    let first = c.session.clone().unwrap();
    c.login("admin", ADMIN_KEY)
        .expect("re-login with a live session");
    assert_ne!(c.session.as_deref(), Some(first.as_str()));
    let old = VtClient {
        port: s.port,
        session: Some(first),
    };
    assert_eq!(
        old.get("listtypes", &[]).json()["success"],
        true,
        "login does not end other sessions"
    );
}

#[test]
fn operations_without_a_session_need_authentication() {
    let s = TestServer::spawn();
    let required = r#"{"success":false,"error":{"message":"Authencation required","code":"AUTHENTICATION_REQUIRED"}}"#;
    for q in [
        "operation=listtypes",
        "operation=listtypes&sessionName=null",
        "operation=listtypes&sessionName=",
        "operation=describe&sessionName=NULL&elementType=Accounts",
    ] {
        assert_eq!(
            body(&raw_http(
                s.port,
                "GET",
                &format!("/webservice.php?{q}"),
                &[],
                b""
            )),
            required,
            "{q}"
        );
    }
}

#[test]
fn logout_ends_the_session() {
    let s = TestServer::spawn();
    let c = s.admin();
    assert_eq!(
        body(&c.post("logout", &[])),
        r#"{"success":true,"result":{"message":"successfull"}}"#
    );
    assert_eq!(
        body(&c.post("logout", &[])),
        r#"{"success":false,"error":{"message":"Session Identifier provided is Invalid","code":"INVALID_SESSIONID"}}"#
    );
    assert_session_refused(&c);
}

#[test]
fn logout_by_get_is_not_supported_and_keeps_the_session() {
    let s = TestServer::spawn();
    let c = s.admin();
    assert_eq!(
        body(&c.get("logout", &[])),
        r#"{"success":false,"error":{"message":"Permission to perform the operation is denied","code":"OPERATION_NOT_SUPPORTED"}}"#
    );
    assert_eq!(c.get("listtypes", &[]).json()["success"], true);
}

#[test]
fn extendsession_extends_a_live_session_when_posted() {
    let s = TestServer::spawn();
    let c = s.admin();
    let session = c.session.clone().unwrap();
    assert_eq!(
        body(&c.post("extendsession", &[])),
        format!(
            r#"{{"success":true,"result":{{"sessionName":"{session}","userId":"19x1","version":"0.22","vtigerVersion":"8.2.0"}}}}"#
        )
    );
    assert_eq!(
        body(&c.get("extendsession", &[])),
        r#"{"success":false,"error":{"message":"Authencation required","code":"AUTHENTICATION_REQUIRED"}}"#
    );
    assert_eq!(
        body(&s.client().post("extendsession", &[])),
        r#"{"success":false,"error":{"message":"Authencation Failed","code":"AUTHENTICATION_FAILURE"}}"#
    );
}

#[test]
fn an_idle_session_expires_with_invalid_sessionid() {
    let s = TestServer::spawn_with(|c| c.session_idle_secs = 1);
    let c = s.admin();
    assert_eq!(c.get("listtypes", &[]).json()["success"], true);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_session_refused(&c);
}

#[test]
fn a_session_in_use_outlives_its_idle_limit() {
    let s = TestServer::spawn_with(|c| c.session_idle_secs = 2);
    let c = s.admin();
    // Used every 1.2 s for 4.8 s: never 2 s idle, so never expired, though
    // the last-seen time is refreshed only once a second at this limit.
    for _ in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(1200));
        let r = c.get("listtypes", &[]).json();
        assert_eq!(r["success"], true, "{r}");
    }
}

#[test]
fn a_session_past_its_absolute_lifetime_expires() {
    let s = TestServer::spawn();
    let c = s.admin();
    assert_eq!(c.get("listtypes", &[]).json()["success"], true);
    s.db()
        .execute("UPDATE sessions SET created_at = created_at - 86401", [])
        .unwrap();
    assert_session_refused(&c);
}

#[test]
fn a_session_removed_from_the_database_is_refused_at_once() {
    let s = TestServer::spawn();
    let c = s.admin();
    assert_eq!(c.get("listtypes", &[]).json()["success"], true);
    s.db().execute("DELETE FROM sessions", []).unwrap();
    assert_session_refused(&c);
}

#[test]
fn an_admin_made_a_regular_user_loses_admin_rights_on_the_next_request() {
    let s = TestServer::spawn();
    let admin = s.admin();
    let new_user = |name: &str| {
        let element = serde_json::json!({
            "user_name": name, "user_password": "x", "confirm_password": "x",
            "last_name": name, "roleid": "H5", "email1": format!("{name}@example.com"),
        });
        let element = element.to_string();
        admin
            .post("create", &[("elementType", "Users"), ("element", &element)])
            .json()
    };
    assert_eq!(new_user("carol")["success"], true);
    // A read after the write, so the session is kept as it now stands.
    assert_eq!(admin.get("listtypes", &[]).json()["success"], true);
    s.db()
        .execute(
            "UPDATE m_Users SET is_admin = 'off' WHERE user_name = 'admin'",
            [],
        )
        .unwrap();
    let r = new_user("dora");
    assert_eq!(r["error"]["code"], "ACCESS_DENIED", "{r}");
}

#[test]
fn sessions_survive_a_restart() {
    let s = TestServer::spawn();
    let session = s.admin().session.unwrap();
    let s = s.restart();
    let c = VtClient {
        port: s.port,
        session: Some(session),
    };
    assert_eq!(c.get("listtypes", &[]).json()["success"], true);
}

#[test]
fn repeated_failures_lock_the_user_name_and_the_address() {
    let s = TestServer::spawn();
    let c = s.client();
    for _ in 0..10 {
        c.challenge("admin");
        let r = c
            .post(
                "login",
                &[
                    ("username", "admin"),
                    ("accessKey", "0123456789abcdef0123456789abcdef"),
                ],
            )
            .json();
        assert_eq!(r["error"]["code"], "INVALID_USER_CREDENTIALS");
    }
    // The right key is now refused unchecked, for the user and for the address.
    let err = s.client().login("admin", ADMIN_KEY).unwrap_err();
    assert_eq!(err["error"]["code"], "INVALID_USER_CREDENTIALS");
}

#[test]
fn failures_under_two_names_from_one_address_lock_that_address() {
    let s = TestServer::spawn();
    let new = stripes::store::users::NewUser {
        user_name: "sam".into(),
        ..Default::default()
    };
    let registry = stripes::registry::Registry::load(None).unwrap();
    stripes::store::users::add_user(&s.db(), &registry, &new, "sam-key-00000001").unwrap();
    // Five wrong keys each: neither name reaches ten, the address does.
    for name in ["admin", "sam"] {
        for _ in 0..5 {
            let err = s.client().login(name, "0123456789abcdef").unwrap_err();
            assert_eq!(err["error"]["code"], "INVALID_USER_CREDENTIALS");
        }
    }
    let err = s.client().login("admin", ADMIN_KEY).unwrap_err();
    assert_eq!(
        err["error"]["code"], "INVALID_USER_CREDENTIALS",
        "127.0.0.1 is locked"
    );
}

#[test]
fn login_works_as_a_multipart_form() {
    let s = TestServer::spawn();
    let token = s.client().challenge("admin");
    let digest = md5_hex(&format!("{token}{ADMIN_KEY}"));
    // activepieces logs in with multipart/form-data.
    let b = "----stripes";
    let mut body = String::new();
    for (k, v) in [
        ("operation", "login"),
        ("username", "admin"),
        ("accessKey", digest.as_str()),
    ] {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{b}--\r\n"));
    let ct = format!("multipart/form-data; boundary={b}");
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php",
        &[("Content-Type", &ct)],
        body.as_bytes(),
    )
    .json();
    assert_eq!(r["success"], true, "{r}");
}

#[test]
fn login_works_with_an_unencoded_body_and_a_trailing_ampersand() {
    let s = TestServer::spawn();
    let token = s.client().challenge("admin");
    let digest = md5_hex(&format!("{token}{ADMIN_KEY}"));
    // mattlake/vtiger-sdk concatenates its body by hand.
    let body = format!("operation=login&username=admin&accessKey={digest}&");
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .json();
    assert_eq!(r["success"], true, "{r}");
}

#[test]
fn the_operation_may_come_in_the_query_string_of_a_post() {
    let s = TestServer::spawn();
    let token = s.client().challenge("admin");
    let digest = md5_hex(&format!("{token}{ADMIN_KEY}"));
    // The Ruby gem: `curl -d username=… -d accessKey=… webservice.php?operation=login`.
    let body = encode(&[("username", "admin"), ("accessKey", &digest)]);
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php?operation=login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .json();
    assert_eq!(r["success"], true, "{r}");
}

#[test]
fn the_database_keeps_session_names_only_as_digests() {
    let s = TestServer::spawn();
    let a = s.admin();
    let session = a.session.clone().unwrap();
    let stored: Vec<String> = s
        .db()
        .prepare("SELECT token FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!stored.contains(&session), "{stored:?}");
    assert!(stored.contains(&md5_hex(&session)), "{stored:?}");
    assert_eq!(a.get("listtypes", &[]).json()["success"], true);
}
