//! Files through the wire: a Documents create sent as multipart/form-data,
//! and files_retrieve (§3.3).
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::*;

/// A multipart body with text fields and one file part.
fn multipart(fields: &[(&str, &str)], file: (&str, &str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----stripes-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    let (field, name, kind, data) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {kind}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(s: &TestServer, a: &VtClient, field: &str, name: &str, data: &[u8]) -> Response {
    let session = a.session.clone().unwrap();
    let element =
        json!({"notes_title": "Spec sheet", "assigned_user_id": "19x1", "folderid": "22x1"})
            .to_string();
    let (content_type, body) = multipart(
        &[
            ("operation", "create"),
            ("sessionName", &session),
            ("elementType", "Documents"),
            ("element", &element),
        ],
        (field, name, "application/pdf", data),
    );
    raw_http(
        s.port,
        "POST",
        "/webservice.php",
        &[("Content-Type", &content_type)],
        &body,
    )
}

/// 5 MiB of bytes that are not text: every byte value, over and over.
fn five_mebibytes() -> Vec<u8> {
    (0..5 * 1024 * 1024)
        .map(|i: usize| (i * 7 % 256) as u8)
        .collect()
}

#[test]
fn a_5_mib_document_round_trips_byte_for_byte() {
    let s = TestServer::spawn();
    let a = s.admin();
    let data = five_mebibytes();
    let created = upload(&s, &a, "filename", "spec.pdf", &data).json();
    assert_eq!(created["success"], true, "{created}");
    let doc = &created["result"];
    assert_eq!(doc["filename"], "spec.pdf");
    assert_eq!(doc["filetype"], "application/pdf");
    assert_eq!(doc["filesize"], (5 * 1024 * 1024).to_string());
    assert_eq!(doc["filelocationtype"], "I");
    // imageattachmentids comes after id and before label (§5.1).
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    let n = keys.len();
    assert_eq!(keys[n - 3..], ["id", "imageattachmentids", "label"]);
    let file_id = format!(
        "{}x{}",
        doc["id"].as_str().unwrap().split('x').next().unwrap(),
        doc["imageattachmentids"].as_str().unwrap()
    );
    let files = a.get("files_retrieve", &[("id", &file_id)]).json();
    let file = &files["result"][0];
    assert_eq!(file["filename"], "spec.pdf");
    assert_eq!(file["filetype"], "application/pdf");
    assert_eq!(file["filesize"], 5 * 1024 * 1024);
    let back = base64::engine::general_purpose::STANDARD
        .decode(file["filecontents"].as_str().unwrap())
        .unwrap();
    assert!(back == data, "the same bytes");
    // retrieve shows the same record as create answered.
    assert_eq!(
        a.get("retrieve", &[("id", doc["id"].as_str().unwrap())])
            .json()["result"],
        *doc
    );
}

#[test]
fn files_of_missing_or_deleted_records_are_not_found() {
    let s = TestServer::spawn();
    let a = s.admin();
    let not_found = r#"{"success":false,"error":{"message":"Record you are trying to access is not found","code":"RECORD_NOT_FOUND"}}"#;
    assert_eq!(a.get("files_retrieve", &[("id", "15x999")]).body, not_found);
    let created = upload(&s, &a, "filename", "a.txt", b"hello").json();
    let doc: &Value = &created["result"];
    let attachment = doc["imageattachmentids"].as_str().unwrap();
    // The prefix must be the record's module.
    assert_eq!(
        a.get("files_retrieve", &[("id", &format!("11x{attachment}"))])
            .body,
        not_found
    );
    a.post("delete", &[("id", doc["id"].as_str().unwrap())]);
    assert_eq!(
        a.get("files_retrieve", &[("id", &format!("15x{attachment}"))])
            .body,
        not_found
    );
}

#[test]
fn a_document_without_a_file_has_no_attachment_ids_and_oversized_bodies_are_refused() {
    let s = TestServer::spawn();
    let a = s.admin();
    let plain = a
        .post(
            "create",
            &[
                ("elementType", "Documents"),
                (
                    "element",
                    &json!({"notes_title": "Note only", "assigned_user_id": "19x1"}).to_string(),
                ),
            ],
        )
        .json();
    assert!(
        plain["result"].get("imageattachmentids").is_none(),
        "{plain}"
    );
    // Past the 8 MiB body limit: an envelope, and no document.
    let big = vec![b'x'; 9 * 1024 * 1024];
    let r = upload(&s, &a, "filename", "big.bin", &big);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["error"]["code"], "REQUEST_TOO_LARGE");
    let count = a
        .get("query", &[("query", "SELECT count(*) FROM Documents;")])
        .json();
    assert_eq!(count["result"][0]["count"], "1");
}

#[test]
fn a_file_is_exactly_as_readable_as_its_record() {
    use stripes::auth::access::Sharing;
    use stripes::registry::Registry;
    use stripes::store::{access, users};
    let s = TestServer::spawn();
    let a = s.admin();
    let created = upload(&s, &a, "filename", "plan.pdf", b"%PDF-1.4 plan").json();
    let doc = &created["result"];
    let file_id = format!(
        "{}x{}",
        doc["id"].as_str().unwrap().split('x').next().unwrap(),
        doc["imageattachmentids"].as_str().unwrap()
    );
    let conn = s.db();
    let registry = Registry::load(None).unwrap();
    let new = users::NewUser {
        user_name: "sam".into(),
        ..Default::default()
    };
    users::add_user(&conn, &registry, &new, "sam-key-00000001").unwrap();
    let mut sam = s.client();
    sam.login("sam", "sam-key-00000001").unwrap();
    access::set_sharing(&conn, "Documents", Sharing::Private).unwrap();
    let r = sam.get("files_retrieve", &[("id", &file_id)]).json();
    assert_eq!(r["error"]["code"], "ACCESS_DENIED", "{r}");
    assert_eq!(
        r["error"]["message"],
        "Permission to read given object is denied"
    );
    access::set_sharing(&conn, "Documents", Sharing::PublicReadOnly).unwrap();
    let r = sam.get("files_retrieve", &[("id", &file_id)]).json();
    assert_eq!(r["result"][0]["filename"], "plan.pdf", "{r}");
}
