//! The request parameter parser: a query string and a body (urlencoded or
//! multipart, the first byte chooses) as PHP would read them.
#![no_main]
use actix_web::http::Method;
use libfuzzer_sys::fuzz_target;
use stripes::http::params::RawRequest;

const CONTENT_TYPES: [Option<&str>; 4] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=b"),
    Some("multipart/form-data"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let query = String::from_utf8_lossy(&rest[..split]);
    let body = rest.get(split + 1..).unwrap_or_default();
    let method = if choice & 1 == 0 {
        Method::GET
    } else {
        Method::POST
    };
    let raw = RawRequest::new(
        method,
        &query,
        CONTENT_TYPES[usize::from(choice >> 1) % CONTENT_TYPES.len()],
        body,
        "127.0.0.1".into(),
    );
    let _ = raw.operation();
    let _ = raw.session_name();
});
