//! A record on its way to the wire, kept as its module's field names (shared
//! by all its records) and one value each, instead of a JSON map with a copy
//! of every name: building that map, hashing each key and freeing it all
//! again was about a sixth of a retrieve's instructions (callgrind). The
//! envelope writes it straight into the answer's bytes.
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::registry::WsId;
use crate::store::records::Span;

/// The field names every record of a module (or of a query's select list)
/// shares, each also as the JSON member's start `,"name":` that the
/// envelope copies ahead of its value: checking and quoting each name anew
/// in every record was ~80 instructions a field, ~4.8k of a retrieve's
/// ~104k (callgrind).
#[derive(Debug, PartialEq)]
pub struct FieldNames {
    names: Box<[String]>,
    /// `,"name":` for each name; `None` for one JSON would need escaped
    /// (never a field name: the registry allows letters, digits, `_`, `&`).
    members: Box<[Option<String>]>,
}

impl FieldNames {
    /// `names`, in order, with their members.
    pub fn new(names: Vec<String>) -> Arc<FieldNames> {
        let members = names.iter().map(|n| member(n)).collect();
        Arc::new(FieldNames {
            names: names.into(),
            members,
        })
    }

    /// The names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The JSON member's start `,"name":` of name `i`, `None` for a name
    /// that needs escaping (or past the last).
    pub fn member(&self, i: usize) -> Option<&str> {
        self.members.get(i)?.as_deref()
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Where a record on its way to the wire goes, as `to_wire` makes it: its
/// fields' values in module order, then the keys after them. A
/// [`WireRecord`] keeps it for answers that change or combine it; the
/// envelope's `JsonRecord` writes it straight into the answer's JSON.
pub trait RecordSink {
    /// The text at `span` of the loaded record's text the sink holds.
    fn text_at(&self, span: Span) -> &str;
    /// The next field's value, already at `span` of that text.
    fn push_span(&mut self, span: Span);
    /// The next field's value.
    fn push_field(&mut self, value: &str);
    /// The next field's value, written by `write` onto the sink's text.
    fn push_field_with(&mut self, write: impl FnOnce(&mut String));
    /// Adds `key` after the fields (and after the keys added before it).
    fn push_tail(&mut self, key: &'static str, value: Value);
    /// The next field's value, webservice id `id`.
    fn push_ws_id(&mut self, id: WsId) {
        self.push_field_with(|text| id.push_onto(text));
    }
    /// Adds the record's `id` after the fields.
    fn push_id(&mut self, id: WsId) {
        self.push_tail("id", id.to_wire().into());
    }
}

/// `,"name":` when `name` needs no escape in JSON (as PHP writes it: `/`
/// escaped too), `None` when it would.
fn member(name: &str) -> Option<String> {
    let plain = name
        .bytes()
        .all(|b| matches!(b, 0x20..=0x7e) && !matches!(b, b'"' | b'\\' | b'/'));
    plain.then(|| format!(",\"{name}\":"))
}

/// A record's fields in module order, then what comes after them (`id`,
/// `imageattachmentids`, `label`, `external_ids`, `LineItems`). The values
/// lie in one string, most of them where the record's load put them (see
/// [`WireRecord::over_text`]): a `String` a value was an allocation and a
/// free each, ~36 of each a retrieve.
#[derive(Debug, Clone)]
pub struct WireRecord {
    /// The names of the module's record fields, in order.
    names: Arc<FieldNames>,
    /// The values, one after another (and text they no longer use).
    text: String,
    /// One value a name, in `text`; `None` for a field the caller may not
    /// see.
    spans: Vec<Option<Span>>,
    /// The keys after the fields, in the order they were added.
    tail: Vec<(&'static str, Value)>,
}

impl WireRecord {
    /// An empty record of the fields `names`, values to be pushed in order.
    pub fn with_fields(names: Arc<FieldNames>) -> Self {
        let room = 16 * names.names.len();
        Self::over_text(names, String::with_capacity(room))
    }

    /// An empty record of the fields `names` whose values may already lie
    /// in `text` ([`WireRecord::push_span`]): a loaded record's text.
    pub fn over_text(names: Arc<FieldNames>, text: String) -> Self {
        WireRecord {
            spans: Vec::with_capacity(names.names.len()),
            names,
            text,
            tail: Vec::new(),
        }
    }

    /// The next field's value.
    pub fn push_field(&mut self, value: &str) {
        let span = Span::append(&mut self.text, value);
        self.push_span(span);
    }

    /// The next field's value, written by `write` onto the record's text.
    pub fn push_field_with(&mut self, write: impl FnOnce(&mut String)) {
        let span = Span::written(&mut self.text, write);
        self.push_span(span);
    }

    /// The next field's value, already at `span` of the text the record
    /// was made over.
    pub fn push_span(&mut self, span: Span) {
        debug_assert!(
            self.spans.len() < self.names.names.len(),
            "more values than fields"
        );
        self.spans.push(Some(span));
    }

    /// The text at `span` of the text the record was made over.
    pub fn text_at(&self, span: Span) -> &str {
        span.of(&self.text)
    }

    /// Adds `key` after the fields (and after the keys added before it).
    pub fn push_tail(&mut self, key: &'static str, value: Value) {
        self.tail.push((key, value));
    }

    /// Leaves field `name` out of the record.
    pub fn hide(&mut self, name: &str) {
        if let Some(i) = self.names.position(name) {
            self.spans[i] = None;
        }
    }

    /// Moves `key` of the tail to the very end.
    pub fn move_last(&mut self, key: &str) {
        if let Some(i) = self.tail.iter().position(|(k, _)| *k == key) {
            let entry = self.tail.remove(i);
            self.tail.push(entry);
        }
    }

    /// The value of `key`, a field or a key of the tail.
    pub fn get(&self, key: &str) -> Option<&str> {
        match self.names.position(key) {
            Some(i) => Some(self.spans.get(i).copied()??.of(&self.text)),
            None => self
                .tail
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.as_str()),
        }
    }

    /// The fields shown, in order: each as its name, its JSON member's
    /// start (see [`FieldNames`]) and its value.
    pub fn shown_fields(&self) -> impl Iterator<Item = (&str, Option<&str>, &str)> {
        let names = &self.names;
        names
            .names
            .iter()
            .zip(names.members.iter())
            .zip(self.values())
            .filter_map(|((n, m), v)| Some((n.as_str(), m.as_deref(), v?)))
    }

    /// Each field's value, `None` when hidden (or not pushed).
    fn values(&self) -> impl Iterator<Item = Option<&str>> {
        let pushed = self.spans.iter().map(|s| Some(s.as_ref()?.of(&self.text)));
        pushed
            .chain(std::iter::repeat(None))
            .take(self.names.names.len())
    }

    /// The keys after the fields, in order, with their values.
    pub fn tail(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.tail.iter().map(|(k, v)| (*k, v))
    }

    /// The record as a JSON object, for answers that hold it among other
    /// JSON (sync, batches) or that change it further.
    pub fn into_value(self) -> Value {
        let mut out = Map::with_capacity(self.names.names.len() + self.tail.len());
        for (name, value) in self.names.names.iter().zip(self.values()) {
            if let Some(value) = value {
                out.insert(name.clone(), Value::String(value.to_string()));
            }
        }
        for (key, value) in self.tail {
            out.insert(key.to_string(), value);
        }
        Value::Object(out)
    }
}

impl RecordSink for WireRecord {
    fn text_at(&self, span: Span) -> &str {
        WireRecord::text_at(self, span)
    }

    fn push_span(&mut self, span: Span) {
        WireRecord::push_span(self, span);
    }

    fn push_field(&mut self, value: &str) {
        WireRecord::push_field(self, value);
    }

    fn push_field_with(&mut self, write: impl FnOnce(&mut String)) {
        WireRecord::push_field_with(self, write);
    }

    fn push_tail(&mut self, key: &'static str, value: Value) {
        WireRecord::push_tail(self, key, value);
    }
}

/// Equal when they show the same values under the same names, wherever
/// those lie in their texts.
impl PartialEq for WireRecord {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names && self.values().eq(other.values()) && self.tail == other.tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The record's keys in wire order.
    fn keys(r: &WireRecord) -> Vec<&str> {
        let fields = r.shown_fields().map(|(name, _, _)| name);
        fields.chain(r.tail().map(|(k, _)| k)).collect()
    }

    fn record() -> WireRecord {
        let names = FieldNames::new(
            ["accountname", "website", "industry"]
                .map(String::from)
                .into(),
        );
        let mut r = WireRecord::with_fields(names);
        for v in ["Acme", "acme.example", "Banking"] {
            r.push_field(v);
        }
        r.push_tail("id", json!("11x1"));
        r.push_tail("label", json!("Acme"));
        r
    }

    #[test]
    fn fields_come_in_module_order_then_the_tail_in_the_order_added() {
        let r = record();
        let keys = keys(&r);
        assert_eq!(keys, ["accountname", "website", "industry", "id", "label"]);
        assert_eq!(
            record().into_value(),
            json!({"accountname": "Acme", "website": "acme.example", "industry": "Banking",
                   "id": "11x1", "label": "Acme"})
        );
    }

    #[test]
    fn a_hidden_field_is_left_out_and_a_moved_key_goes_last() {
        let mut r = record();
        r.hide("website");
        r.move_last("id");
        let keys = keys(&r);
        assert_eq!(keys, ["accountname", "industry", "label", "id"]);
        assert_eq!(r.get("website"), None);
        assert_eq!(
            (r.get("industry"), r.get("id")),
            (Some("Banking"), Some("11x1"))
        );
        let keys: Vec<String> = r
            .into_value()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["accountname", "industry", "label", "id"]);
    }
}
