//! VTQL: any bytes through the lexer, the parser and, when they parse, the
//! translation to SQL against the real schema. Nothing may panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stripes::auth::access::Access;
use stripes::registry::Registry;
use stripes::vtql::{parse, translate};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::load(None).expect("the built-in schema loads"))
}

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    if let Ok(select) = parse(&query) {
        let _ = translate::plan(registry(), &select, 100, None, &Access::admin(1));
        // What parses prints back to the same query.
        assert_eq!(parse(&select.to_string()).as_ref(), Ok(&select));
    }
});
