//! Malformed and unexpected requests: always HTTP 200 with a JSON envelope.
use crate::helpers::*;

const UNKNOWN_OP: &str = r#"{"success":false,"error":{"message":"Unknown operation requested","code":"UNKNOWN_OPERATION"}}"#;

fn envelope(r: &Response) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

#[test]
fn unknown_or_missing_operations_get_an_envelope_not_a_500() {
    let s = TestServer::spawn();
    let a = s.admin();
    assert_eq!(a.get("nosuchop", &[]).body, UNKNOWN_OP);
    assert_eq!(
        raw_http(
            s.port,
            "GET",
            "/webservice.php?operation=nosuchop",
            &[],
            b""
        )
        .body,
        UNKNOWN_OP
    );
    assert_eq!(
        raw_http(s.port, "GET", "/webservice.php", &[], b"").body,
        UNKNOWN_OP
    );
    assert_eq!(
        raw_http(s.port, "POST", "/webservice.php", &[], b"").body,
        UNKNOWN_OP
    );
}

#[test]
fn unknown_operation_wins_over_a_stale_session() {
    let s = TestServer::spawn();
    let r = raw_http(
        s.port,
        "GET",
        "/webservice.php?operation=nosuchop&sessionName=deadbeef",
        &[],
        b"",
    );
    assert_eq!(r.body, UNKNOWN_OP);
}

#[test]
fn other_paths_and_methods_answer_with_an_envelope() {
    let s = TestServer::spawn();
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/index.php"),
        ("POST", "/webservice.php/extra"),
        ("DELETE", "/anything"),
    ] {
        let r = raw_http(s.port, method, path, &[], b"");
        assert_eq!(envelope(&r)["success"], false, "{method} {path}");
    }
    let r = raw_http(
        s.port,
        "PUT",
        "/webservice.php?operation=getchallenge&username=admin",
        &[],
        b"x=y",
    );
    assert_eq!(
        envelope(&r)["success"],
        true,
        "PHP reads $_GET whatever the method"
    );
}

#[test]
fn invalid_utf8_in_the_query_or_body_gets_an_envelope() {
    let s = TestServer::spawn();
    let r = raw_http(
        s.port,
        "GET",
        "/webservice.php?operation=getchallenge&username=%FF%FEadmin",
        &[],
        b"",
    );
    assert_eq!(envelope(&r)["error"]["code"], "ACCESS_DENIED");
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"operation=login&username=\xff\xfe&accessKey=\xc3",
    );
    assert_eq!(envelope(&r)["error"]["code"], "INVALID_AUTH_TOKEN");
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php?operation=login",
        &[("Content-Type", "text/plain; charset=latin1")],
        b"\xff\xff\xff",
    );
    assert_eq!(envelope(&r)["error"]["code"], "INVALID_AUTH_TOKEN");
}

#[test]
fn a_json_body_is_invisible_as_it_is_to_php() {
    let s = TestServer::spawn();
    let token = s.client().challenge("admin");
    let digest = md5_hex(&format!("{token}{ADMIN_KEY}"));
    let json = format!(r#"{{"operation":"login","username":"admin","accessKey":"{digest}"}}"#);
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php",
        &[("Content-Type", "application/json")],
        json.as_bytes(),
    );
    assert_eq!(r.body, UNKNOWN_OP, "the operation inside JSON is not seen");
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php?operation=login",
        &[("Content-Type", "application/json")],
        json.as_bytes(),
    );
    assert_eq!(
        envelope(&r)["error"]["code"],
        "INVALID_AUTH_TOKEN",
        "nor are the parameters"
    );
}

#[test]
fn a_body_over_8_mib_gets_an_envelope() {
    let s = TestServer::spawn();
    let big = vec![b'a'; 9 * 1024 * 1024];
    let r = raw_http(
        s.port,
        "POST",
        "/webservice.php?operation=login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &big,
    );
    assert_eq!(
        r.body,
        r#"{"success":false,"error":{"message":"Request body is larger than 8388608 bytes","code":"REQUEST_TOO_LARGE"}}"#
    );
    // The server is still fine afterwards.
    assert_eq!(
        s.client()
            .get("getchallenge", &[("username", "admin")])
            .json()["success"],
        true
    );
}

#[test]
fn broken_multipart_bodies_get_an_envelope() {
    let s = TestServer::spawn();
    for (ct, body) in [
        (
            "multipart/form-data; boundary=abc",
            &b"--abc\r\nContent-Disposition: form-data; name=\"operation\"\r\n\r\nlogin"[..],
        ),
        ("multipart/form-data", &b"garbage"[..]),
        ("multipart/form-data; boundary=abc", &b"\xff\xfe--abc--"[..]),
    ] {
        let r = raw_http(
            s.port,
            "POST",
            "/webservice.php",
            &[("Content-Type", ct)],
            body,
        );
        assert_eq!(r.body, UNKNOWN_OP, "{ct}");
    }
}

#[test]
fn a_known_operation_not_built_yet_says_so_in_an_envelope() {
    let s = TestServer::spawn();
    let r = s
        .admin()
        .post("deleteUser", &[("id", "19x1"), ("newOwnerId", "19x1")]);
    assert_eq!(envelope(&r)["error"]["code"], "OPERATION_NOT_SUPPORTED");
}
