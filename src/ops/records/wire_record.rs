//! A record on its way to the wire, kept as its module's field names (shared
//! by all its records) and one value each, instead of a JSON map with a copy
//! of every name: building that map, hashing each key and freeing it all
//! again was about a sixth of a retrieve's instructions (callgrind). The
//! envelope writes it straight into the answer's bytes.
use std::sync::Arc;

use serde_json::{Map, Value};

/// A record's fields in module order, then what comes after them (`id`,
/// `imageattachmentids`, `label`, `external_ids`, `LineItems`).
#[derive(Debug, Clone, PartialEq)]
pub struct WireRecord {
    /// The names of the module's record fields, in order.
    names: Arc<[String]>,
    /// One value a name; `None` for a field the caller may not see.
    values: Vec<Option<String>>,
    /// The keys after the fields, in the order they were added.
    tail: Vec<(&'static str, Value)>,
}

impl WireRecord {
    /// An empty record of the fields `names`, values to be pushed in order.
    pub fn with_fields(names: Arc<[String]>) -> Self {
        WireRecord {
            values: Vec::with_capacity(names.len()),
            names,
            tail: Vec::new(),
        }
    }

    /// The next field's value.
    pub fn push_field(&mut self, value: String) {
        debug_assert!(
            self.values.len() < self.names.len(),
            "more values than fields"
        );
        self.values.push(Some(value));
    }

    /// Adds `key` after the fields (and after the keys added before it).
    pub fn push_tail(&mut self, key: &'static str, value: Value) {
        self.tail.push((key, value));
    }

    /// Leaves field `name` out of the record.
    pub fn hide(&mut self, name: &str) {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            self.values[i] = None;
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
        match self.names.iter().position(|n| n == key) {
            Some(i) => self.values.get(i)?.as_deref(),
            None => self
                .tail
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.as_str()),
        }
    }

    /// The keys and values in wire order; values of fields as strings.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Entry<'_>)> {
        let fields = self
            .names
            .iter()
            .zip(&self.values)
            .filter_map(|(n, v)| Some((n.as_str(), Entry::Text(v.as_deref()?))));
        let tail = self.tail.iter().map(|(k, v)| (*k, Entry::Json(v)));
        fields.chain(tail)
    }

    /// The record as a JSON object, for answers that hold it among other
    /// JSON (sync, batches) or that change it further.
    pub fn into_value(self) -> Value {
        let mut out = Map::with_capacity(self.names.len() + self.tail.len());
        for (name, value) in self.names.iter().zip(self.values) {
            if let Some(value) = value {
                out.insert(name.clone(), Value::String(value));
            }
        }
        for (key, value) in self.tail {
            out.insert(key.to_string(), value);
        }
        Value::Object(out)
    }
}

/// One value of a [`WireRecord`].
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// A field's value: always a string on the wire.
    Text(&'a str),
    /// A key of the tail.
    Json(&'a Value),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> WireRecord {
        let names: Arc<[String]> = ["accountname", "website", "industry"]
            .map(String::from)
            .into();
        let mut r = WireRecord::with_fields(names);
        for v in ["Acme", "acme.example", "Banking"] {
            r.push_field(v.into());
        }
        r.push_tail("id", json!("11x1"));
        r.push_tail("label", json!("Acme"));
        r
    }

    #[test]
    fn fields_come_in_module_order_then_the_tail_in_the_order_added() {
        let r = record();
        let keys: Vec<&str> = r.entries().map(|(k, _)| k).collect();
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
        let keys: Vec<&str> = r.entries().map(|(k, _)| k).collect();
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
