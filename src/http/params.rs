//! From raw HTTP to what PHP would have put in `$_GET` and `$_POST`: the
//! query string, and the body when it is a urlencoded or multipart form.
//! Anything else in a body (JSON, text) is invisible, as it is to PHP.
use std::net::IpAddr;

use actix_web::http::Method;

/// Name/value pairs in arrival order. A repeated name: the last one wins, as
/// in PHP.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Every name and value, decoded, one after the other: a request's
    /// three or four pairs were two allocations each (callgrind: ~6 of a
    /// retrieve's ~44 `malloc`s), now one for them all.
    text: String,
    /// Each pair's name and value as byte ranges of `text`.
    pairs: Vec<(Span, Span)>,
    /// Names whose value was not valid UTF-8 (kept, with U+FFFD in place).
    invalid_utf8: Vec<String>,
}

/// A byte range of [`Params::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Params {
    /// The raw value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        // Only the matching pair's value is sliced out of the text: every
        // request asks for several names (callgrind).
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| self.text_of(*k) == name)
            .map(|(_, v)| self.text_of(*v))
    }

    /// Every name/value pair in arrival order.
    pub fn pairs(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(k, v)| (self.text_of(*k), self.text_of(*v)))
    }

    /// Whether `name` was sent at all.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs().any(|(k, _)| k == name)
    }

    /// Whether the value of `name` arrived as invalid UTF-8.
    pub fn is_invalid_utf8(&self, name: &str) -> bool {
        self.invalid_utf8.iter().any(|k| k == name)
    }

    fn text_of(&self, span: Span) -> &str {
        &self.text[span.start..span.end]
    }

    /// Parses `a=1&b=2` (`+` is a space). Invalid UTF-8 is replaced, never
    /// fatal, and remembered so that writes can refuse it.
    pub fn from_urlencoded(bytes: &[u8]) -> Self {
        let mut params = Params {
            // Decoding never lengthens a component; U+FFFD in place of an
            // invalid byte may, rarely, and then the text grows.
            text: String::with_capacity(bytes.len()),
            ..Params::default()
        };
        for piece in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match piece.iter().position(|&b| b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &b""[..]),
            };
            let (key, _) = params.push_decoded(k);
            let (value, valid) = params.push_decoded(v);
            if !valid {
                params.invalid_utf8.push(params.text_of(key).to_string());
            }
            params.pairs.push((key, value));
        }
        params
    }

    fn push(&mut self, name: &str, bytes: &[u8]) {
        let key = self.push_text(name);
        let value = match std::str::from_utf8(bytes) {
            Ok(text) => self.push_text(text),
            Err(_) => {
                self.invalid_utf8.push(name.to_string());
                self.push_text(&String::from_utf8_lossy(bytes))
            }
        };
        self.pairs.push((key, value));
    }

    fn push_text(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Decodes one urlencoded component onto the text; `false` when it is
    /// not valid UTF-8.
    fn push_decoded(&mut self, raw: &[u8]) -> (Span, bool) {
        // Most components (operation, sessionName, id) hold nothing to
        // decode: copied whole, not a byte at a time through two buffers
        // (~5k of a retrieve's instructions, callgrind).
        let decoded = match raw.iter().any(|&b| b == b'+' || b == b'%') {
            true => std::borrow::Cow::Owned(percent_decoded(raw)),
            false => std::borrow::Cow::Borrowed(raw),
        };
        match std::str::from_utf8(&decoded) {
            Ok(text) => (self.push_text(text), true),
            Err(_) => (self.push_text(&String::from_utf8_lossy(&decoded)), false),
        }
    }
}

/// `raw` with `+` as a space and each `%XX` as its byte, in one pass into a
/// buffer sized once (a query's text is ~100 bytes of `%20`s and `%27`s:
/// two iterator passes through growing buffers were ~4k of its
/// instructions). A `%` not followed by two hex digits stays as it is, as
/// `percent_encoding` and PHP leave it.
fn percent_decoded(raw: &[u8]) -> Vec<u8> {
    let hex = |b: Option<&u8>| -> Option<u8> {
        match b? {
            b @ b'0'..=b'9' => Some(b - b'0'),
            b @ b'a'..=b'f' => Some(b - b'a' + 10),
            b @ b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(&b) = raw.get(at) {
        at += 1;
        match b {
            b'+' => out.push(b' '),
            b'%' => match (hex(raw.get(at)), hex(raw.get(at + 1))) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    at += 2;
                }
                _ => out.push(b'%'),
            },
            _ => out.push(b),
        }
    }
    out
}

/// A file sent in a multipart form.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form field name.
    pub field: String,
    /// The client's file name.
    pub filename: String,
    /// The part's content type, if given.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The headers Stripes reads besides the body's type (our additions, issue
/// 11): credentials in place of `sessionName`, and an idempotency key.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    /// `Authorization` (`Bearer …` or `Basic …`).
    pub authorization: Option<String>,
    /// `X-API-KEY`.
    pub api_key: Option<String>,
    /// `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// A request as PHP would see it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The HTTP method.
    pub method: Method,
    /// `$_GET`.
    pub query: Params,
    /// `$_POST`.
    pub body: Params,
    /// `$_FILES`.
    pub files: Vec<Upload>,
    /// The client's address, for login throttling: kept as it comes and
    /// written out only by a login ([`RawRequest::peer`]), where every
    /// request formatting it was ~1.3k of a retrieve's ~100k instructions
    /// (callgrind).
    peer: Option<IpAddr>,
    /// Credential and idempotency headers.
    pub headers: Headers,
    /// The operation name, lower-cased once (see [`RawRequest::operation`]).
    operation: String,
}

impl RawRequest {
    /// Builds the request from its parts; `content_type` decides whether the
    /// body is a form. A multipart body that does not parse yields no fields.
    pub fn new(
        method: Method,
        query: &str,
        content_type: Option<&str>,
        body: &[u8],
        peer: Option<IpAddr>,
    ) -> Self {
        let (body_params, files) = if method == Method::POST {
            parse_body(content_type, body)
        } else {
            Default::default()
        };
        let query = Params::from_urlencoded(query.as_bytes());
        // `$_REQUEST["operation"]`: the body's over the query string's.
        let operation = body_params
            .get("operation")
            .or_else(|| query.get("operation"))
            .unwrap_or("")
            .to_ascii_lowercase();
        RawRequest {
            method,
            query,
            body: body_params,
            files,
            peer,
            headers: Headers::default(),
            operation,
        }
    }

    /// The same request with `headers`.
    pub fn with_headers(self, headers: Headers) -> Self {
        RawRequest { headers, ..self }
    }

    /// `$_REQUEST[name]`: the body's value over the query string's (PHP's
    /// request_order "GP").
    pub fn request_value(&self, name: &str) -> Option<&str> {
        self.body.get(name).or_else(|| self.query.get(name))
    }

    /// The client's address as text, for login throttling and its log
    /// lines; empty when unknown.
    pub fn peer(&self) -> String {
        self.peer.map(|ip| ip.to_string()).unwrap_or_default()
    }

    /// The operation name, lower-cased as vtiger does; empty when missing.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The session name; an empty value or the text `null` means none (§1.2).
    pub fn session_name(&self) -> Option<&str> {
        self.request_value("sessionName")
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("null"))
    }
}

fn parse_body(content_type: Option<&str>, body: &[u8]) -> (Params, Vec<Upload>) {
    let Some(ct) = content_type else {
        return Default::default();
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => (Params::from_urlencoded(body), Vec::new()),
        "multipart/form-data" => match header_param(ct, "boundary") {
            Some(boundary) => parse_multipart(body, &boundary).unwrap_or_default(),
            None => Default::default(),
        },
        _ => Default::default(),
    }
}

/// The value of `name=` in a header like `multipart/form-data; boundary=x`.
fn header_param(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|part| {
        let (k, v) = part.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses a multipart/form-data body (RFC 7578). `None` when it is broken.
fn parse_multipart(body: &[u8], boundary: &str) -> Option<(Params, Vec<Upload>)> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fields = Params::default();
    let mut files = Vec::new();
    let mut pos = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body[pos..].starts_with(b"--") {
            return Some((fields, files));
        }
        pos += if body[pos..].starts_with(b"\r\n") {
            2
        } else {
            return None;
        };
        let headers_end = find(body, b"\r\n\r\n", pos)?;
        let headers = String::from_utf8_lossy(&body[pos..headers_end]);
        let content_start = headers_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let content_end = find(body, &closing, content_start)?;
        let data = &body[content_start..content_end];
        pos = content_end + closing.len();
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                let params = format!("x;{}", value.split_once(';').map(|(_, p)| p).unwrap_or(""));
                name = header_param(&params, "name");
                filename = header_param(&params, "filename");
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        let Some(name) = name else { continue };
        match filename {
            Some(filename) => files.push(Upload {
                field: name,
                filename,
                content_type,
                data: data.to_vec(),
            }),
            None => fields.push(&name, data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_decode_as_percent_encoding_does_with_plus_as_space() {
        for raw in [
            "select+*+from+Accounts+where+accountname+%3D+%27A%27%3B",
            "%",
            "%4",
            "%4g",
            "%%41",
            "a%zz+b",
            "%C3%BC%E2%82%AC",
            "%c3%bc",
            "100%25",
            "%FF%FE",
            "trailing%2",
            "",
        ] {
            let expected: Vec<u8> =
                percent_encoding::percent_decode(raw.replace('+', " ").as_bytes()).collect();
            assert_eq!(percent_decoded(raw.as_bytes()), expected, "{raw}");
        }
        let p = Params::from_urlencoded(b"a%20b+c=a%20b+c&d=%FF");
        assert_eq!(p.get("a b c"), Some("a b c"));
        assert!(p.is_invalid_utf8("d") && !p.is_invalid_utf8("a b c"));
    }

    #[test]
    fn body_values_override_query_values_for_request_params() {
        let r = RawRequest::new(
            Method::POST,
            "operation=listtypes&sessionName=q",
            Some("application/x-www-form-urlencoded"),
            b"operation=Login",
            Some(std::net::Ipv4Addr::LOCALHOST.into()),
        );
        assert_eq!(r.operation(), "login");
        assert_eq!(r.session_name(), Some("q"));
    }

    #[test]
    fn null_and_empty_session_names_mean_none() {
        for q in ["sessionName=null", "sessionName=NULL", "sessionName=", ""] {
            let r = RawRequest::new(Method::GET, q, None, b"", None);
            assert_eq!(r.session_name(), None, "{q}");
        }
    }

    #[test]
    fn json_bodies_are_invisible_like_in_php() {
        let r = RawRequest::new(
            Method::POST,
            "",
            Some("application/json"),
            br#"{"operation":"login"}"#,
            None,
        );
        assert_eq!(r.operation(), "");
    }

    #[test]
    fn multipart_fields_and_files_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"operation\"\r\n\r\nlogin\r\n--XyZ\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
        let r = RawRequest::new(
            Method::POST,
            "",
            Some("multipart/form-data; boundary=XyZ"),
            body,
            None,
        );
        assert_eq!(r.operation(), "login");
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].data, b"hello");
        assert_eq!(r.files[0].filename, "a.txt");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_remembered() {
        let p = Params::from_urlencoded(b"a=%FF%FE&b=ok+go&c=%C3%A9");
        assert!(p.is_invalid_utf8("a"));
        assert!(!p.is_invalid_utf8("b") && !p.is_invalid_utf8("c"));
        assert_eq!(p.get("a"), Some("\u{fffd}\u{fffd}"));
        assert_eq!(p.get("b"), Some("ok go"));
        assert_eq!(p.get("c"), Some("é"));
    }

    #[test]
    fn components_with_nothing_to_decode_are_read_as_they_are() {
        let p = Params::from_urlencoded(b"id=11x42&raw=\xff\xfe&name=Caf\xc3\xa9");
        assert_eq!(p.get("id"), Some("11x42"));
        assert!(p.is_invalid_utf8("raw") && !p.is_invalid_utf8("id"));
        assert_eq!(p.get("raw"), Some("\u{fffd}\u{fffd}"));
        assert_eq!(p.get("name"), Some("Café"));
    }

    #[test]
    fn pluses_are_spaces_and_percent_escapes_decode_as_php_does() {
        let p = Params::from_urlencoded(
            b"a=Load+1&b=1%2B1&c=%7B%22x%22%3A1%7D&d=100%&e=%zz+%2&f=%+1&g=%C3%A9+%ff",
        );
        assert_eq!(p.get("a"), Some("Load 1"));
        assert_eq!(p.get("b"), Some("1+1"));
        assert_eq!(p.get("c"), Some(r#"{"x":1}"#));
        // A `%` without two hex digits stays as it is.
        assert_eq!(p.get("d"), Some("100%"));
        assert_eq!(p.get("e"), Some("%zz %2"));
        assert_eq!(p.get("f"), Some("% 1"));
        assert_eq!(p.get("g"), Some("é \u{fffd}"));
        assert!(p.is_invalid_utf8("g") && !p.is_invalid_utf8("c"));
    }

    #[test]
    fn broken_multipart_yields_no_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"operation\"\r\n\r\nlogin";
        let r = RawRequest::new(
            Method::POST,
            "",
            Some("multipart/form-data; boundary=XyZ"),
            body,
            None,
        );
        assert_eq!(r.operation(), "");
    }
}
