//! A real server on 127.0.0.1:0 with a fresh database, and a small vtiger
//! client that speaks to it the way PHP and Python clients do.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use serde_json::Value;
use stripes::config::Config;
use stripes::startup::Application;

/// The admin's access key in every test database.
pub const ADMIN_KEY: &str = "TestAdminKey0001";

/// A running server and the folder holding its database.
pub struct TestServer {
    pub port: u16,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    pub config: Config,
}

impl TestServer {
    /// A server with the default settings.
    pub fn spawn() -> TestServer {
        Self::spawn_with(|_| {})
    }

    /// A server whose settings `tweak` may change.
    pub fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            db_path: dir.path().join("stripes.db"),
            admin_access_key: Some(ADMIN_KEY.into()),
            workers: 1,
            ..Config::default()
        };
        tweak(&mut config);
        Self::start(dir, config)
    }

    fn start(dir: tempfile::TempDir, config: Config) -> TestServer {
        let (port, handle, thread) = start_app(&config).expect("server starts");
        TestServer {
            port,
            handle,
            thread: Some(thread),
            _dir: dir,
            config,
        }
    }

    /// Stops the server and starts a new one on the same database.
    pub fn restart(mut self) -> TestServer {
        self.stop();
        let (port, handle, thread) = start_app(&self.config).expect("server restarts");
        self.port = port;
        self.handle = handle;
        self.thread = Some(thread);
        self
    }

    /// Stops the server, waiting for it to finish.
    pub fn stop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(true));
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread ends");
        }
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.config.db_path.clone()
    }

    /// A direct connection to the database, to set up states no API reaches:
    /// through the server's own VFS, which shares its in-process locks (a
    /// connection of the default VFS would take POSIX locks of its own and
    /// undo the server's exclusive one on closing).
    pub fn db(&self) -> rusqlite::Connection {
        let c = stripes::store::open_connection(&self.db_path()).expect("open db");
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c
    }

    /// How many change-log rows were ever written: the log keeps a record's
    /// latest change for each owner, so its row count is not the number of
    /// writes; its AUTOINCREMENT counter is.
    pub fn changes_logged(&self) -> i64 {
        self.db()
            .query_row(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changelog'), 0)",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// A client without a session.
    pub fn client(&self) -> VtClient {
        VtClient::on(self.port)
    }

    /// A client logged in as admin.
    pub fn admin(&self) -> VtClient {
        let mut c = self.client();
        c.login("admin", ADMIN_KEY).expect("admin logs in");
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
        }
    }
}

/// Starts the application on its own thread and actix system.
pub fn start_app(
    config: &Config,
) -> Result<(u16, ServerHandle, std::thread::JoinHandle<()>), String> {
    let (tx, rx) = mpsc::channel();
    let config = config.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(&config) {
                Ok(app) => {
                    tx.send(Ok((app.port(), app.handle()))).unwrap();
                    app.run_until_stopped().await.unwrap();
                }
                Err(e) => tx.send(Err(e)).unwrap(),
            }
        })
    });
    let (port, handle) = rx.recv().map_err(|e| e.to_string())??;
    Ok((port, handle, thread))
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes as one HTTP/1.1 request and reads the whole answer.
pub fn raw_http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_http(port, method, target, headers, body).expect("a complete HTTP answer")
}

/// [`raw_http`], or `None` when the server is gone before it answers.
pub fn try_http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    // A server may answer (and close) before reading a body it refuses.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    parse_response(&bytes)
}

fn parse_response(bytes: &[u8]) -> Option<Response> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = String::from_utf8(bytes[split + 4..].to_vec()).expect("UTF-8 body");
    Some(Response {
        status,
        headers,
        body,
    })
}

/// Percent-encodes for a query string or form body.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// md5 hex, as every vtiger client computes the login digest.
pub fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A vtiger webservice client: GET ops in the query string, POST ops as
/// form bodies, `sessionName` sent along once logged in.
pub struct VtClient {
    pub port: u16,
    pub session: Option<String>,
}

impl VtClient {
    /// A client of the server on `port`, not logged in.
    pub fn on(port: u16) -> VtClient {
        VtClient {
            port,
            session: None,
        }
    }

    /// GET `operation` with `params` in the query string.
    pub fn get(&self, operation: &str, params: &[(&str, &str)]) -> Response {
        let mut pairs = vec![("operation", operation)];
        if let Some(s) = &self.session {
            pairs.push(("sessionName", s));
        }
        pairs.extend_from_slice(params);
        raw_http(
            self.port,
            "GET",
            &format!("/webservice.php?{}", encode(&pairs)),
            &[],
            b"",
        )
    }

    /// POST `operation` with `params` as a urlencoded form.
    pub fn post(&self, operation: &str, params: &[(&str, &str)]) -> Response {
        let mut pairs = vec![("operation", operation)];
        if let Some(s) = &self.session {
            pairs.push(("sessionName", s));
        }
        pairs.extend_from_slice(params);
        raw_http(
            self.port,
            "POST",
            "/webservice.php",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            encode(&pairs).as_bytes(),
        )
    }

    /// The challenge token for `user`.
    pub fn challenge(&self, user: &str) -> String {
        let r = self.get("getchallenge", &[("username", user)]).json();
        r["result"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {r}"))
            .to_string()
    }

    /// The real md5 challenge login; keeps the session on success.
    pub fn login(&mut self, user: &str, access_key: &str) -> Result<Value, Value> {
        let token = self.challenge(user);
        let r = self
            .post(
                "login",
                &[
                    ("username", user),
                    ("accessKey", &md5_hex(&format!("{token}{access_key}"))),
                ],
            )
            .json();
        if r["success"] == true {
            self.session = Some(r["result"]["sessionName"].as_str().unwrap().to_string());
            Ok(r["result"].clone())
        } else {
            Err(r)
        }
    }
}

/// Creates a record and returns its id; panics with the answer otherwise.
pub fn create_id(c: &VtClient, module: &str, element: Value) -> String {
    let r = c
        .post(
            "create",
            &[("elementType", module), ("element", &element.to_string())],
        )
        .json();
    r["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

/// Revises a record with `element` (its `id` and the fields to change);
/// the answer as JSON.
pub fn revise(c: &VtClient, element: Value) -> Value {
    c.post("revise", &[("element", &element.to_string())])
        .json()
}

/// The lines of `fixtures/golden/<file>` (copied from shared/golden).
pub fn golden_lines(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/golden")
        .join(file);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

/// The fixture files, whose step numbers do not overlap.
const GOLDEN_FILES: &[&str] = &[
    "vtiger-8.2-foundation.jsonl",
    "vtiger-8.2-records.jsonl",
    "vtiger-8.2-queries.jsonl",
    "vtiger-8.2-sync.jsonl",
    "vtiger-8.2-relations.jsonl",
];

/// The recorded golden step `seq`, if the fixtures have it.
pub fn find_golden_step(seq: u64) -> Option<Value> {
    GOLDEN_FILES
        .iter()
        .flat_map(|f| golden_lines(f))
        .find(|v| v["seq"] == seq)
}

/// The recorded golden step `seq`.
pub fn golden_step(seq: u64) -> Value {
    find_golden_step(seq).unwrap_or_else(|| panic!("golden step {seq} not in fixtures"))
}

/// The recorded vtiger answer (exact body text) of golden step `seq`.
pub fn golden_body(seq: u64) -> String {
    golden_step(seq)["response"]["body"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An envelope's error code, or `(success)`.
pub fn error_code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("(success)")
}

/// How many live records of `module` the client's `count(*)` sees.
pub fn record_count(c: &VtClient, module: &str) -> u64 {
    let q = format!("select count(*) from {module};");
    c.get("query", &[("query", &q)]).json()["result"][0]["count"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of {module}"))
}
