//! The one place where answers become bytes: vtiger's envelope, encoded the
//! way PHP's `json_encode` does it, always with HTTP 200.
use std::fmt::Write;

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::HttpResponse;
use serde_json::{Map, Value};

use crate::error::WsError;
use crate::ops::records::{FieldNames, RecordSink, WireRecord};
use crate::ops::Answer;
use crate::registry::WsId;
use crate::store::records::Span;

/// The success envelope: `success` first, then `result` (spec §1.4).
pub fn ok(result: Value) -> Value {
    let mut env = Map::new();
    env.insert("success".into(), Value::Bool(true));
    env.insert("result".into(), result);
    Value::Object(env)
}

/// The failure envelope. Inside `error`, `message` comes before `code`: that
/// is what vtiger 8.2 on PHP 8 sends (shared/golden, every error step).
pub fn err(e: &WsError) -> Value {
    let mut error = Map::new();
    error.insert("message".into(), Value::String(e.message()));
    error.insert("code".into(), Value::String(e.code().into()));
    if let WsError::BatchRolledBack { items, .. } = e {
        error.insert("items".into(), Value::Array(items.clone()));
    }
    let mut env = Map::new();
    env.insert("success".into(), Value::Bool(false));
    env.insert("error".into(), Value::Object(error));
    Value::Object(env)
}

/// The HTTP answer for an operation's outcome. Clients treat any status but
/// 200 as a transport failure (vtigerpy raises, node-vtiger crashes), so
/// errors are 200 too.
pub fn respond(outcome: Result<Answer, WsError>) -> HttpResponse {
    let body = match outcome {
        // The result written in place, never copied into an envelope value
        // first: that deep copy and its drop were a tenth of a retrieve's
        // instructions (callgrind).
        Ok(answer) => spare_body::bytes(success_body(answer)),
        Err(e) => php_json(&err(&e)).into(),
    };
    // Names and values as constants: given as text, each header was parsed
    // and checked at every answer (~1k instructions of a retrieve).
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .insert_header((
            CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache, must-revalidate"),
        ))
        .body(body)
}

/// `{"success":true,"result":…}` around `answer`.
fn success_body(mut answer: Answer) -> String {
    if let Answer::Object(entries) = &mut answer {
        if let Some((key, Answer::Encoded(first))) = entries.first_mut() {
            // An object led by records already written (sync's window,
            // megabytes after a bulk import: a whole second of changes)
            // gets the envelope put in front of them, in their buffer:
            // copied in behind it, each such answer was held twice. A
            // window of 3,850 records: peak RSS 31 → 24 MiB; eight at once
            // 74–78 → 63–70 MiB (BENCHMARKS.md).
            let mut out = std::mem::take(first);
            let mut head = String::with_capacity(64);
            head.push_str(r#"{"success":true,"result":{"#);
            write_key(&mut head, key);
            out.insert_str(0, &head);
            for (key, value) in &entries[1..] {
                out.push(',');
                write_key(&mut out, key);
                write_answer(&mut out, value);
            }
            out.push_str("}}");
            return out;
        }
    }
    let mut out = spare_body::take();
    out.push_str(r#"{"success":true,"result":"#);
    write_answer(&mut out, &answer);
    out.push('}');
    // An encoded result's buffer was a spare one: it goes back.
    if let Answer::Encoded(json) = answer {
        spare_body::give_back(json.into_bytes());
    }
    out
}

/// The answer of `POST /oauth/token`: OAuth2's own JSON and statuses
/// (RFC 6749 §5), which OAuth2 client libraries expect, never cached.
pub fn respond_oauth(outcome: &Result<Value, crate::auth::oauth::OauthError>) -> HttpResponse {
    let (status, body) = match outcome {
        Ok(v) => (200, v.clone()),
        Err(e) => (e.status, e.body()),
    };
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        response.insert_header(("WWW-Authenticate", "Basic realm=\"stripes\""));
    }
    response
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .body(body.to_string())
}

/// Answer buffers kept for the next answer on the same thread. A 4 kB
/// buffer is past glibc's per-thread cache of freed blocks, and its malloc
/// alone was ~1.1k instructions of every answer (callgrind); the buffer
/// comes back when actix drops the body, after writing it out.
mod spare_body {
    use std::cell::RefCell;

    use actix_web::web::Bytes;

    /// Room an answer starts with: a retrieved record fits.
    const START: usize = 4096;
    /// Buffers grown past this (a page of records) are freed, not kept.
    const KEPT_MAX: usize = 64 * 1024;
    /// Buffers kept a thread: as many answers as it has in flight.
    const KEPT_COUNT: usize = 8;

    thread_local! {
        static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty buffer, with room for a record.
    pub fn take() -> String {
        let buf = SPARE
            .try_with(|s| s.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| Vec::with_capacity(START));
        // An empty vector is valid UTF-8.
        String::from_utf8(buf).unwrap_or_default()
    }

    /// `text` as a body whose buffer goes back to the spares once sent.
    pub fn bytes(text: String) -> Bytes {
        Bytes::from_owner(Kept(text.into_bytes()))
    }

    struct Kept(Vec<u8>);

    impl AsRef<[u8]> for Kept {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    impl Drop for Kept {
        fn drop(&mut self) {
            give_back(std::mem::take(&mut self.0));
        }
    }

    /// Keeps `buf` for a later [`take`], unless it grew too large or
    /// enough are kept.
    pub fn give_back(mut buf: Vec<u8>) {
        if buf.capacity() > KEPT_MAX {
            return;
        }
        buf.clear();
        // During thread exit the spares are gone: the buffer is freed.
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < KEPT_COUNT {
                s.push(buf);
            }
        });
    }
}

/// Encodes like PHP `json_encode` with default flags: `/` escaped as `\/`,
/// non-ASCII as `\uXXXX` (surrogate pairs beyond the BMP), empty objects as
/// `[]` (PHP cannot tell an empty map from an empty list).
pub fn php_json(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, v);
    out
}

fn write_answer(out: &mut String, answer: &Answer) {
    match answer {
        Answer::Json(v) => write_value(out, v),
        Answer::Encoded(json) => out.push_str(json),
        Answer::Record(record) => write_record(out, record),
        Answer::Records(records) => write_list(out, records, write_record),
        Answer::Object(entries) => {
            write_object(out, entries.iter().map(|(k, v)| (*k, v)), write_answer)
        }
    }
}

/// Records written as JSON while they are read, each straight from its
/// loaded text ([`JsonRecord`]): no [`WireRecord`] in between to fill, walk
/// and free again (callgrind: ~2.7k of a one-record query's ~80k
/// instructions, BENCHMARKS.md). A list of them (a query's page) or one
/// alone (a retrieve).
pub struct JsonRecords {
    out: String,
    empty: bool,
    list: bool,
}

impl JsonRecords {
    /// An empty list, in a spare answer buffer.
    pub fn list() -> Self {
        let mut out = spare_body::take();
        out.push('[');
        JsonRecords {
            out,
            empty: true,
            list: true,
        }
    }

    /// Room for one record alone, in a spare answer buffer.
    pub fn single() -> Self {
        JsonRecords {
            out: spare_body::take(),
            empty: true,
            list: false,
        }
    }

    /// The next record, over its loaded `text`: fields named `names`,
    /// those whose `hidden` is true left out (all shown past its end);
    /// `id_last` holds its `id` back until its other keys are written.
    pub fn record<'a>(
        &'a mut self,
        names: &'a FieldNames,
        hidden: &'a [bool],
        text: String,
        id_last: bool,
    ) -> JsonRecord<'a> {
        if !std::mem::take(&mut self.empty) {
            debug_assert!(self.list, "one record alone");
            self.out.push(',');
        }
        let start = self.out.len();
        self.out.push('{');
        JsonRecord {
            out: &mut self.out,
            names,
            hidden,
            text,
            next: 0,
            start,
            after_first: false,
            id_last,
            id: None,
        }
    }

    /// The JSON, for [`Answer::Encoded`].
    pub fn finish(mut self) -> String {
        if self.list {
            self.out.push(']');
        }
        self.out
    }
}

/// One record of [`JsonRecords`], written as [`write_record`] writes the
/// same record kept as a [`WireRecord`]; [`JsonRecord::finish`] closes it.
pub struct JsonRecord<'a> {
    out: &'a mut String,
    names: &'a FieldNames,
    hidden: &'a [bool],
    /// The loaded record's text, which spans point into.
    text: String,
    /// The next field's position in `names`.
    next: usize,
    /// Where the record starts in `out`.
    start: usize,
    after_first: bool,
    id_last: bool,
    /// The `id` held back ([`JsonRecords::record`]'s `id_last`).
    id: Option<WsId>,
}

impl JsonRecord<'_> {
    /// Starts the next field's member, `false` (and nothing written) when
    /// the field is hidden: its value goes next.
    fn open_field(&mut self) -> bool {
        let i = self.next;
        self.next += 1;
        if self.hidden.get(i).copied().unwrap_or(false) {
            return false;
        }
        match self.names.member(i) {
            // The field's `,"name":`, made once a module.
            Some(member) => self.out.push_str(match self.after_first {
                true => member,
                false => &member[1..],
            }),
            None => {
                if self.after_first {
                    self.out.push(',');
                }
                let name = self.names.names().get(i).map_or("", String::as_str);
                write_key(self.out, name);
            }
        }
        self.after_first = true;
        true
    }

    /// `"id":"11x7"`, its digits written in place: as a `String` in a
    /// JSON value it was an allocation and a walk through the value
    /// writer a record (callgrind).
    fn write_id(&mut self, id: WsId) {
        if self.after_first {
            self.out.push(',');
        }
        self.out.push_str("\"id\":\"");
        id.push_onto(self.out);
        self.out.push('"');
        self.after_first = true;
    }

    fn write_tail(&mut self, key: &str, value: &Value) {
        if self.after_first {
            self.out.push(',');
        }
        write_key(self.out, key);
        write_value(self.out, value);
        self.after_first = true;
    }

    /// Writes what was held back and closes the record; a record of no
    /// member is `[]`, as [`write_record`] writes it.
    pub fn finish(mut self) {
        if let Some(id) = self.id.take() {
            self.write_id(id);
        }
        if self.after_first {
            self.out.push('}');
        } else {
            self.out.truncate(self.start);
            self.out.push_str("[]");
        }
    }
}

impl RecordSink for JsonRecord<'_> {
    fn text_at(&self, span: Span) -> &str {
        span.of(&self.text)
    }

    fn push_span(&mut self, span: Span) {
        if self.open_field() {
            write_string(self.out, span.of(&self.text));
        }
    }

    fn push_field(&mut self, value: &str) {
        if self.open_field() {
            write_string(self.out, value);
        }
    }

    fn push_field_with(&mut self, write: impl FnOnce(&mut String)) {
        let span = Span::written(&mut self.text, write);
        self.push_span(span);
    }

    fn push_tail(&mut self, key: &'static str, value: Value) {
        debug_assert_ne!(key, "id", "a record's id goes through push_id");
        self.write_tail(key, &value);
    }

    fn push_ws_id(&mut self, id: WsId) {
        // Digits and an `x` need no escape: written straight into the
        // answer, not onto the record's text and then copied.
        if self.open_field() {
            self.out.push('"');
            id.push_onto(self.out);
            self.out.push('"');
        }
    }

    fn push_id(&mut self, id: WsId) {
        match self.id_last {
            true => self.id = Some(id),
            false => self.write_id(id),
        }
    }
}

/// A record, straight from its fields (no JSON map in between), encoded as
/// [`write_value`] would encode the same record as a JSON object.
fn write_record(out: &mut String, record: &WireRecord) {
    let start = out.len();
    out.push('{');
    // Whether a member came before: its comma goes ahead of the next.
    let mut after_first = false;
    for (name, member, value) in record.shown_fields() {
        match member {
            // The field's `,"name":`, made once a module.
            Some(member) => out.push_str(if after_first { member } else { &member[1..] }),
            None => {
                if after_first {
                    out.push(',');
                }
                write_key(out, name);
            }
        }
        write_string(out, value);
        after_first = true;
    }
    for (key, value) in record.tail() {
        if after_first {
            out.push(',');
        }
        write_key(out, key);
        write_value(out, value);
        after_first = true;
    }
    if after_first {
        out.push('}');
    } else {
        // No member: `[]`, as write_object writes it.
        out.truncate(start);
        out.push_str("[]");
    }
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => write_list(out, items, write_value),
        Value::Object(map) => {
            write_object(out, map.iter().map(|(k, v)| (k.as_str(), v)), write_value)
        }
    }
}

/// `items` as a JSON list, each written by `write`.
fn write_list<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    out.push(']');
}

/// `entries` as a JSON object, each value written by `write`; none as `[]`
/// (PHP cannot tell an empty map from an empty list).
fn write_object<'k, T>(
    out: &mut String,
    entries: impl IntoIterator<Item = (&'k str, T)>,
    mut write: impl FnMut(&mut String, T),
) {
    let mut entries = entries.into_iter().peekable();
    if entries.peek().is_none() {
        out.push_str("[]");
        return;
    }
    out.push('{');
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_key(out, key);
        write(out, value);
    }
    out.push('}');
}

/// How many leading bytes of `bytes` need no escape: printable ASCII other
/// than `"`, `\\` and `/`. Eight bytes a step (the bit tricks of "Bit
/// Twiddling Hacks", exact for "is any byte such"), then one at a time: a
/// retrieve writes ~2 kB of strings, and a byte at a time was ~6 % of its
/// instructions (callgrind).
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let special = v & HIGH != 0
            || v.wrapping_sub(ONES * 0x20) & !v & HIGH != 0
            || has_zero(v ^ (ONES * u64::from(b'"')))
            || has_zero(v ^ (ONES * u64::from(b'\\')))
            || has_zero(v ^ (ONES * u64::from(b'/')));
        if special {
            break;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .take_while(|&&b| matches!(b, 0x20..=0x7f) && !matches!(b, b'"' | b'\\' | b'/'))
        .count()
}

/// `"key":`. Keys are field names, never in need of an escape: one check
/// and one copy instead of [`write_string`]'s walk.
fn write_key(out: &mut String, key: &str) {
    if plain_run(key.as_bytes()) == key.len() {
        out.reserve(key.len() + 3);
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
    } else {
        write_string(out, key);
        out.push(':');
    }
}

fn write_string(out: &mut String, s: &str) {
    // Most of a record's fields are empty: one copy, not the walk's three.
    if s.is_empty() {
        out.push_str("\"\"");
        return;
    }
    out.push('"');
    // Runs of bytes that need no escape go in whole: most values are plain
    // ASCII, and one push a character was a twentieth of a retrieve's
    // instructions (callgrind, BENCHMARKS.md).
    let bytes = s.as_bytes();
    let (mut plain_from, mut at) = (0, 0);
    while at < bytes.len() {
        at += plain_run(&bytes[at..]);
        let Some(&b) = bytes.get(at) else { break };
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'/' => "\\/",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x20..=0x7f => {
                at += 1;
                continue;
            }
            _ => "",
        };
        out.push_str(&s[plain_from..at]);
        if escape.is_empty() {
            // A control character or the start of a non-ASCII one.
            let c = s[at..].chars().next().unwrap_or_default();
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
            at += c.len_utf8();
        } else {
            out.push_str(escape);
            at += 1;
        }
        plain_from = at;
    }
    out.push_str(&s[plain_from..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::records::FieldNames;
    use serde_json::json;

    #[test]
    fn a_sent_answers_buffer_serves_the_next_answer_and_a_grown_one_is_freed() {
        // A thread of its own: the spares are per thread.
        std::thread::spawn(|| {
            let mut first = spare_body::take();
            first.push_str("{}");
            let at = first.as_ptr();
            let body = spare_body::bytes(first);
            assert_eq!(&body[..], b"{}");
            drop(body);
            let second = spare_body::take();
            assert!(second.is_empty());
            assert_eq!(second.as_ptr(), at, "the sent buffer is reused");

            let mut page = second;
            page.push_str(&"x".repeat(100 * 1024));
            drop(spare_body::bytes(page));
            let third = spare_body::take();
            assert!(third.capacity() < 100 * 1024, "a grown buffer is not kept");
        })
        .join()
        .unwrap();
    }

    fn written(answer: &Answer) -> String {
        let mut out = String::new();
        write_answer(&mut out, answer);
        out
    }

    #[test]
    fn a_record_is_written_exactly_as_its_json_object_would_be() {
        let names = FieldNames::new(
            ["website", "accountname", "secret", "we/ird"]
                .map(String::from)
                .into(),
        );
        let mut r = WireRecord::with_fields(names.clone());
        for v in ["https://a.b/c", "Müller \"&\" Söhne", "hidden", "x"] {
            r.push_field(v);
        }
        r.hide("secret");
        r.push_tail("id", json!("11x7"));
        r.push_tail("external_ids", json!({"erp": "A/1"}));
        let direct = written(&Answer::Record(r.clone()));
        assert_eq!(direct, php_json(&r.clone().into_value()));
        assert!(direct.starts_with(r#"{"website":"https:\/\/a.b\/c","accountname":"M\u00fcller"#));
        let list = Answer::Records(vec![r.clone(), r.clone()]);
        assert_eq!(written(&list), php_json(&list.clone().into_value()));
        let page = Answer::Object(vec![
            ("updated", list),
            ("deleted", Answer::Json(json!(["11x9"]))),
            ("more", Answer::Json(json!(false))),
        ]);
        assert_eq!(written(&page), php_json(&page.clone().into_value()));
        assert_eq!(written(&Answer::Object(Vec::new())), "[]");
        // The first field hidden: no comma ahead of the next one.
        let mut r = WireRecord::with_fields(names.clone());
        for v in ["https://a.b/c", "Acme", "s", "x"] {
            r.push_field(v);
        }
        r.hide("website");
        assert_eq!(
            written(&Answer::Record(r.clone())),
            php_json(&r.into_value())
        );
        // Only a tail.
        let mut r = WireRecord::with_fields(names.clone());
        for f in ["website", "accountname", "secret", "we/ird"] {
            r.push_field(f);
            r.hide(f);
        }
        r.push_tail("id", json!("11x7"));
        assert_eq!(written(&Answer::Record(r)), r#"{"id":"11x7"}"#);
        // PHP cannot tell an empty map from an empty list.
        assert_eq!(
            written(&Answer::Record(WireRecord::with_fields(names))),
            "[]"
        );
    }

    #[test]
    fn an_object_led_by_records_written_ahead_gets_the_envelope_its_records_kept_would() {
        let names = FieldNames::new(["website", "accountname"].map(String::from).into());
        let mut r = WireRecord::with_fields(names);
        for v in ["https://a.b/c", "M\u{fc}ller"] {
            r.push_field(v);
        }
        r.push_tail("id", json!("11x7"));
        let rest = [
            ("deleted", Answer::Json(json!(["11x9"]))),
            ("more", Answer::Json(json!(true))),
        ];
        for list in [vec![], vec![r.clone()], vec![r.clone(), r.clone()]] {
            for rest in [&rest[..], &[]] {
                let with = |updated: Answer| {
                    let mut entries = vec![("updated", updated)];
                    entries.extend(rest.iter().cloned());
                    Answer::Object(entries)
                };
                let encoded = written(&Answer::Records(list.clone()));
                let kept = with(Answer::Records(list.clone()));
                assert_eq!(
                    success_body(with(Answer::Encoded(encoded))),
                    format!(r#"{{"success":true,"result":{}}}"#, written(&kept))
                );
            }
        }
    }

    /// Fills `sink`, made over `text` (which holds each value at its
    /// span), with `values` (one a field), then `tail`, as `to_wire` does:
    /// some values where the load put them, some written anew.
    fn fill(
        sink: &mut impl RecordSink,
        spans: &[Span],
        values: &[&str],
        tail: &[(&'static str, &str)],
    ) {
        for (i, (span, v)) in spans.iter().zip(values).enumerate() {
            match i % 3 {
                0 => sink.push_span(*span),
                1 => sink.push_field_with(|t| t.push_str(v)),
                _ => sink.push_field(v),
            }
        }
        for (k, v) in tail {
            match (*k, WsId::parse(v)) {
                ("id", Some(id)) => sink.push_id(id),
                _ => sink.push_tail(k, json!(v)),
            }
        }
    }

    #[test]
    fn a_record_encoded_while_read_is_the_json_of_the_same_wire_record() {
        let names = FieldNames::new(
            ["website", "accountname", "secret", "we\\ird"]
                .map(String::from)
                .into(),
        );
        // Each record's values, which fields are hidden, and its tail.
        type Case<'a> = (&'a [&'a str], [bool; 4], &'a [(&'static str, &'a str)]);
        let cases: [Case; 4] = [
            (
                &["https://a.b/c", "Müller \"&\" Söhne", "s", ""],
                [false, false, true, false],
                &[("id", "11x7"), ("imageattachmentids", "3,4")],
            ),
            (
                &["a", "b", "c", "d"],
                [true, false, false, false],
                &[("id", "11x8")],
            ),
            (&["a", "b", "c", "d"], [true; 4], &[("id", "11x9")]),
            (&["a", "b", "c", "d"], [true; 4], &[]),
        ];
        let mut list = JsonRecords::list();
        let mut expected = Vec::new();
        for (values, hidden, tail) in cases {
            let mut text = String::from("loaded before: ");
            let spans: Vec<Span> = values.iter().map(|v| Span::append(&mut text, v)).collect();
            let mut r = WireRecord::over_text(names.clone(), text.clone());
            fill(&mut r, &spans, values, tail);
            for (name, hide) in names.names().iter().zip(hidden) {
                if hide {
                    r.hide(name);
                }
            }
            r.move_last("id");
            expected.push(r);
            let mut encoded = list.record(&names, &hidden, text, true);
            fill(&mut encoded, &spans, values, tail);
            encoded.finish();
        }
        let encoded = list.finish();
        // One alone, its tail in the order given.
        let mut text = String::new();
        let spans: Vec<Span> = ["a", "b/", "", "d"]
            .iter()
            .map(|v| Span::append(&mut text, v))
            .collect();
        let tail = [("id", "11x1"), ("label", "A")];
        let mut alone = WireRecord::over_text(names.clone(), text.clone());
        fill(&mut alone, &spans, &["a", "b/", "", "d"], &tail);
        let mut single = JsonRecords::single();
        let mut one = single.record(&names, &[], text, false);
        fill(&mut one, &spans, &["a", "b/", "", "d"], &tail);
        one.finish();
        assert_eq!(single.finish(), written(&Answer::Record(alone)));
        assert_eq!(encoded, written(&Answer::Records(expected)));
        assert!(encoded.contains(r#""imageattachmentids":"3,4","id":"11x7"}"#));
        assert!(encoded.ends_with(r#"{"id":"11x9"},[]]"#));
        assert_eq!(JsonRecords::list().finish(), "[]");
    }

    #[test]
    fn escapes_like_php_json_encode() {
        let v = json!({"url": "https://a.b/c", "name": "Müller 😀", "ctl": "a\u{1}\n"});
        assert_eq!(
            php_json(&v),
            r#"{"url":"https:\/\/a.b\/c","name":"M\u00fcller \ud83d\ude00","ctl":"a\u0001\n"}"#
        );
        assert_eq!(
            php_json(&json!("\u{7f}")),
            "\"\u{7f}\"",
            "PHP leaves DEL as it is"
        );
        assert_eq!(php_json(&json!({"empty": ""})), r#"{"empty":""}"#);
    }

    /// Each character that needs an escape, at every position of a string
    /// long enough to take the eight-byte steps, comes out escaped exactly
    /// where it was.
    #[test]
    fn escapes_land_at_every_position_of_long_strings() {
        let specials = [
            ("\"", "\\\""),
            ("\\", "\\\\"),
            ("/", "\\/"),
            ("\n", "\\n"),
            ("\u{1}", "\\u0001"),
            ("\u{1f}", "\\u001f"),
            ("é", "\\u00e9"),
        ];
        for (raw, escaped) in specials {
            for at in 0..20 {
                let plain = "abcdefghijklmnopqrstuvwxyz0123";
                let text = format!("{}{raw}{}", &plain[..at], &plain[at..]);
                let expected = format!("\"{}{escaped}{}\"", &plain[..at], &plain[at..]);
                assert_eq!(php_json(&json!(text)), expected, "{raw:?} at {at}");
            }
        }
        let plain = " !#$%&'()*+,-.0123456789:;<=>?@AZ[]^_`az{|}~\u{7f}";
        assert_eq!(php_json(&json!(plain)), format!("\"{plain}\""));
    }

    #[test]
    fn keys_are_escaped_like_values() {
        let v = json!({"plain_key": 1, "a/b": 2, "Müller": 3, "q\"": 4});
        assert_eq!(
            php_json(&v),
            r#"{"plain_key":1,"a\/b":2,"M\u00fcller":3,"q\"":4}"#
        );
    }

    #[test]
    fn empty_maps_and_lists_are_both_brackets() {
        assert_eq!(php_json(&json!({"a": {}, "b": []})), r#"{"a":[],"b":[]}"#);
    }

    #[test]
    fn error_envelope_puts_message_before_code() {
        assert_eq!(
            php_json(&err(&WsError::InvalidSessionId)),
            r#"{"success":false,"error":{"message":"Session Identifier provided is Invalid","code":"INVALID_SESSIONID"}}"#
        );
    }
}
