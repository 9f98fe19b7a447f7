//! The element decoder, end to end: any bytes as the `element` of a create
//! (of a module the first byte chooses) through the front controller, as an
//! admin. Every answer must be an envelope; nothing may panic.
#![no_main]
use std::sync::OnceLock;

use actix_web::http::Method;
use libfuzzer_sys::fuzz_target;
use stripes::auth::session::SessionPolicy;
use stripes::auth::throttle::Throttle;
use stripes::http::front;
use stripes::http::params::RawRequest;
use stripes::ops::Ctx;
use stripes::registry::Registry;
use stripes::store::Store;

const KEY: &str = "FuzzKey000000001";
const MODULES: [&str; 6] = [
    "Accounts",
    "Contacts",
    "Invoice",
    "Documents",
    "Users",
    "Leads",
];

struct Harness {
    ctx: Ctx,
    session: String,
    _dir: tempfile::TempDir,
}

/// One request through the front controller, as the HTTP layer makes it.
fn request(ctx: &Ctx, method: Method, query: &str, body: &str) -> serde_json::Value {
    let raw = RawRequest::new(
        method,
        query,
        Some("application/x-www-form-urlencoded"),
        body.as_bytes(),
        "127.0.0.1".into(),
    );
    match front::handle(ctx, &raw).0 {
        Ok(v) => v,
        Err(e) => serde_json::json!({"error": e.code()}),
    }
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::load(None).unwrap();
        let store = Store::open(&dir.path().join("fuzz.db"), &registry, Some(KEY))
            .unwrap()
            .store;
        let ctx = Ctx {
            registry: registry.into(),
            store,
            sessions: SessionPolicy {
                idle_secs: 3600,
                max_secs: 86400,
            },
            throttle: Throttle::default(),
            query_max_rows: 100,
        };
        let challenge = request(
            &ctx,
            Method::GET,
            "operation=getchallenge&username=admin",
            "",
        );
        let token = challenge["token"].as_str().unwrap().to_string();
        let digest = stripes::auth::challenge::expected_digest(&token, KEY);
        let login = request(
            &ctx,
            Method::POST,
            "",
            &format!("operation=login&username=admin&accessKey={digest}"),
        );
        let session = login["sessionName"].as_str().unwrap().to_string();
        Harness {
            ctx,
            session,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, element)) = data.split_first() else {
        return;
    };
    let h = harness();
    let module = MODULES[usize::from(choice) % MODULES.len()];
    let element: String = url::form_urlencoded::byte_serialize(element).collect();
    let body = format!(
        "operation=create&sessionName={}&elementType={module}&element={element}",
        h.session
    );
    request(&h.ctx, Method::POST, "", &body);
});
