//! The inputs `cargo fuzz` found (fixtures/fuzz/<target>/), replayed in the
//! normal suite: each through the same code its fuzz target drives.
use std::path::PathBuf;

use actix_web::http::Method;
use stripes::auth::access::Access;
use stripes::http::params::RawRequest;
use stripes::registry::Registry;
use stripes::vtql::{parse, translate};

use crate::helpers::*;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn the_vtql_corpus_parses_or_errs_and_round_trips() {
    let registry = Registry::load(None).unwrap();
    let inputs = corpus("vtql");
    assert!(!inputs.is_empty());
    for data in inputs {
        let query = String::from_utf8_lossy(&data);
        if let Ok(select) = parse(&query) {
            let _ = translate::plan(&registry, &select, 100, None, &Access::admin(1));
            assert_eq!(parse(&select.to_string()).as_ref(), Ok(&select), "{query}");
        }
    }
}

#[test]
fn the_params_corpus_is_read_without_a_panic() {
    let inputs = corpus("params");
    assert!(!inputs.is_empty());
    let types = [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=b"),
        Some("multipart/form-data"),
    ];
    for data in inputs {
        let Some((&choice, rest)) = data.split_first() else {
            continue;
        };
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let method = if choice & 1 == 0 {
            Method::GET
        } else {
            Method::POST
        };
        let raw = RawRequest::new(
            method,
            &String::from_utf8_lossy(&rest[..split]),
            types[usize::from(choice >> 1) % types.len()],
            rest.get(split + 1..).unwrap_or_default(),
            Some(std::net::Ipv4Addr::LOCALHOST.into()),
        );
        let _ = raw.operation();
    }
}

#[test]
fn the_element_corpus_gets_envelopes_through_the_wire() {
    let s = TestServer::spawn();
    let a = s.admin();
    let modules = [
        "Accounts",
        "Contacts",
        "Invoice",
        "Documents",
        "Users",
        "Leads",
    ];
    let inputs = corpus("element");
    assert!(!inputs.is_empty());
    for data in inputs {
        let Some((&choice, element)) = data.split_first() else {
            continue;
        };
        let element = String::from_utf8_lossy(element);
        let module = modules[usize::from(choice) % modules.len()];
        let r = a.post("create", &[("elementType", module), ("element", &element)]);
        assert_eq!(r.status, 200);
        let v = r.json();
        assert!(
            v["success"].is_boolean(),
            "{module} {element:?}: {}",
            r.body
        );
    }
}
