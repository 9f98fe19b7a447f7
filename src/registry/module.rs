//! One CRM module as `schema/modules/<Module>.json` defines it, and its
//! `describe` wire shape (spec §6.1, §6.2).
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A module (webservice entity): its identity, labels and fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleDef {
    /// The webservice type name, e.g. `Accounts`.
    pub name: String,
    /// The number before the `x` in this module's ids.
    pub id_prefix: u32,
    /// `false` for actor entities (Groups, Currency, …).
    pub is_entity: bool,
    /// An entity module whose ids come from its own table rather than the
    /// shared record sequence (vtiger keeps Users in vtiger_users).
    #[serde(default)]
    pub own_sequence: bool,
    /// An actor's id column, which retrieve shows besides `id` (vtiger
    /// returns the table row as it is); `id` itself puts `id` first.
    #[serde(default)]
    pub id_column: Option<String>,
    /// describe's `label` (vtiger's global language file).
    pub label: String,
    /// listtypes' `label` (the module's own language file).
    pub list_label: String,
    /// listtypes' `singular`.
    pub singular: String,
    /// Records can be converted (Leads): a converted one is invisible to
    /// retrieve, query and sync, as vtiger's `converted = 0` condition does.
    #[serde(default)]
    pub convertible: bool,
    /// Field values a record must have to be listed by `query` (vtiger's
    /// implicit filters: active users, undeleted currencies).
    #[serde(default)]
    pub query_filter: serde_json::Map<String, Value>,
    /// describe's `allowDuplicates`; entity modules only.
    #[serde(default)]
    pub allow_duplicates: Option<bool>,
    /// Fields whose values, joined by a space, make a record's label.
    pub label_fields: Vec<String>,
    /// describe's `labelFields` when vtiger 8.2 reports column names there.
    #[serde(default)]
    pub describe_label_fields: Option<String>,
    /// The auto-number field and its prefix (`account_no`, `ACC`).
    #[serde(default)]
    pub auto_number: Option<AutoNumber>,
    /// convertlead's field mapping (vtiger's vtiger_convertleadmapping):
    /// for each module created, its field → this module's field.
    #[serde(default)]
    pub convert_map: Map<String, Value>,
    /// For inventory modules (Quotes, Invoice, …): the module holding their
    /// line items. Such records need `LineItems` and get computed totals.
    #[serde(default)]
    pub line_items: Option<String>,
    /// The module whose profile rights and sharing govern this one (Events
    /// are Calendar's, as vtiger's getTabName has it).
    #[serde(default)]
    pub access_as: Option<String>,
    /// Related lists in vtiger's order (relatedtypes, retrieve_related).
    #[serde(default)]
    pub relations: Vec<RelationDef>,
    /// upsert's match cascade (our addition, issue 11), tried in order;
    /// a module without one matches on external ids only.
    #[serde(default)]
    pub match_rules: Vec<MatchRule>,
    /// Fields in vtiger's order (the order of describe and of records).
    pub fields: Vec<FieldDef>,
    /// The store's SQL texts for this module, built from the fields on
    /// first use; kept here so that they live exactly as long as, and
    /// belong to, this definition.
    #[serde(skip)]
    pub sql: crate::store::tables::ModuleSql,
    /// The names of [`ModuleDef::record_fields`], built on first use and
    /// shared by every record of the module on its way to the wire.
    #[serde(skip)]
    record_names: std::sync::OnceLock<std::sync::Arc<crate::ops::records::FieldNames>>,
    /// Whether it has a file or image field ([`ModuleDef::has_file_fields`]).
    #[serde(skip)]
    file_fields: std::sync::OnceLock<bool>,
}

/// One rule of upsert's match cascade: a record matches when one of its
/// `fields` equals (ignoring case) a value the element gives for one of
/// them, when it holds one of the element's external ids, or when a record
/// of `through` that points at it matches (an account by its contacts'
/// emails).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchRule {
    /// What `matchedBy` and `matchOn` call it.
    pub name: String,
    /// Match on the element's `external_ids`.
    #[serde(default)]
    pub external_ids: bool,
    /// Fields compared.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Records of another module pointing here, compared on their fields.
    #[serde(default)]
    pub through: Option<MatchThrough>,
    /// Fields the stock module lacks (a tax id): the rule stays inactive
    /// until a schema adds them.
    #[serde(default)]
    pub optional: bool,
}

/// [`MatchRule::through`]: `module`'s records whose `reference` field points
/// at the record, compared on `fields` with the element's values.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchThrough {
    /// The other module.
    pub module: String,
    /// Its reference field pointing at this module.
    pub reference: String,
    /// Its fields compared.
    pub fields: Vec<String>,
}

impl ModuleDef {
    /// upsert's cascade: the schema's rules, or external ids alone.
    pub fn upsert_rules(&self) -> Vec<MatchRule> {
        if !self.match_rules.is_empty() {
            return self.match_rules.clone();
        }
        vec![MatchRule {
            name: "external_id".into(),
            external_ids: true,
            fields: Vec::new(),
            through: None,
            optional: false,
        }]
    }
}

/// One related list of a module (vtiger's `vtiger_relatedlists` row).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationDef {
    /// The list's label, unique within the module (`Activity History`).
    pub label: String,
    /// The related module.
    pub module: String,
    /// A VTQL condition the related records also meet (open activities
    /// versus their history).
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
    /// Which way stored links count.
    #[serde(default)]
    pub links: Links,
}

/// The direction of stored links a relation reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Links {
    /// Links either way, and reference fields either way (most relations).
    #[default]
    Both,
    /// Links from this record only (a product's bundle).
    Forward,
    /// Links to this record only (a product's parent product).
    Reverse,
}

/// A module's auto-numbered field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoNumber {
    /// The field that carries the number.
    pub field: String,
    /// The text before the number, e.g. `ACC`.
    pub prefix: String,
}

/// One field of a module.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldDef {
    /// The field name on the wire.
    pub name: String,
    /// The translated label.
    pub label: String,
    /// The webservice type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Modules a reference may point to.
    #[serde(default)]
    pub refers_to: Option<Vec<String>>,
    /// Values of a picklist, in sort order.
    #[serde(default)]
    pub picklist_values: Option<Vec<PicklistValue>>,
    /// Upload limit of a file field, in bytes.
    #[serde(default)]
    pub max_upload_file_size: Option<u64>,
    /// describe's `mandatory` (a few 8.2 fields report strings here).
    pub mandatory: Flag,
    /// describe's `isunique`; absent on actor fields.
    #[serde(default)]
    pub isunique: Option<Flag>,
    /// describe's `nullable`.
    pub nullable: Flag,
    /// describe's `editable`.
    pub editable: Flag,
    /// describe's `default`: usually a string, `null` for a few 8.2 fields,
    /// absent on some actor fields.
    #[serde(default, deserialize_with = "present")]
    pub default: Option<Value>,
    /// describe's key order where vtiger 8.2 emits a different one.
    #[serde(default)]
    pub describe_keys: Option<Vec<String>>,
    /// How a boolean is stored and shown when not `1`/`0` (Users.is_admin
    /// is `on`/`off` in vtiger): `[true, false]`.
    #[serde(default)]
    pub boolean_values: Option<[String; 2]>,
    /// Derived on every save as `a × b / 100` from the two named fields
    /// (vtiger's workflow computes Potentials' forecast_amount this way).
    #[serde(default)]
    pub percent_of: Option<[String; 2]>,
    /// The longest value accepted, in characters; 255 by default, 65535 for
    /// text and multipicklist fields.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Decimal places a number is shown with (vtiger's column scale);
    /// currency and double fields default to 8.
    #[serde(default)]
    pub scale: Option<usize>,
    /// Set by the server, never by a client.
    #[serde(default)]
    pub system: Option<SystemField>,
    /// Shown by describe (vtiger hides e.g. HelpDesk's update_log).
    #[serde(default = "yes")]
    pub describe: bool,
    /// Present in records (never for passwords and access keys).
    #[serde(default = "yes")]
    pub record: bool,
    /// Seen by listtypes' fieldTypeList filter (vtiger joins on uitype).
    #[serde(default = "yes")]
    pub listtypes_filter: bool,
}

fn yes() -> bool {
    true
}

/// Keeps an explicit `null` as `Some(Value::Null)`; only absence is `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The webservice field types of spec §6.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum FieldType {
    String,
    Text,
    Integer,
    Double,
    Decimal,
    Currency,
    Boolean,
    Date,
    Datetime,
    Time,
    Email,
    Phone,
    Url,
    Skype,
    Picklist,
    Multipicklist,
    Reference,
    Owner,
    Autogenerated,
    Password,
    File,
    Image,
}

impl FieldType {
    /// The `type.name` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Double => "double",
            FieldType::Decimal => "decimal",
            FieldType::Currency => "currency",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Time => "time",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Skype => "skype",
            FieldType::Picklist => "picklist",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Reference => "reference",
            FieldType::Owner => "owner",
            FieldType::Autogenerated => "autogenerated",
            FieldType::Password => "password",
            FieldType::File => "file",
            FieldType::Image => "image",
        }
    }
}

/// Server-maintained fields, stored with the record's common columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum SystemField {
    Createdtime,
    Modifiedtime,
    Modifiedby,
    Creator,
    Source,
}

/// A picklist value: a plain string when its label is the value itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PicklistValue {
    /// Label and value are the same text.
    Plain(String),
    /// A translated label for a stored value.
    Labelled {
        /// What users see.
        label: String,
        /// What is stored and sent.
        value: String,
    },
}

impl PicklistValue {
    /// The stored value.
    pub fn value(&self) -> &str {
        match self {
            PicklistValue::Plain(v) => v,
            PicklistValue::Labelled { value, .. } => value,
        }
    }

    /// The translated label.
    pub fn label(&self) -> &str {
        match self {
            PicklistValue::Plain(v) => v,
            PicklistValue::Labelled { label, .. } => label,
        }
    }
}

/// A describe flag. Usually a boolean; vtiger 8.2 reports `"1"`/`""` for a
/// few Products fields (shared/golden seq 37), and we send what it sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Flag {
    /// A JSON boolean.
    Bool(bool),
    /// PHP's string rendition of a boolean.
    Text(String),
}

impl Flag {
    /// The flag's truth, as PHP would judge it.
    pub fn is_true(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(t) => !(t.is_empty() || t == "0"),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Flag::Bool(b) => Value::Bool(*b),
            Flag::Text(t) => Value::String(t.clone()),
        }
    }
}

/// What describe reports about the caller's rights on a module.
#[derive(Debug, Clone, Copy)]
pub struct Rights {
    /// `createable`.
    pub create: bool,
    /// `updateable`.
    pub update: bool,
    /// `deleteable`.
    pub delete: bool,
    /// `retrieveable`.
    pub retrieve: bool,
}

impl ModuleDef {
    /// The field named `name`, if the module has it.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The fields its records show, in order: never passwords or access
    /// keys (`record: false`), nor the synthetic `id`, which comes after.
    pub fn record_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.record && !f.is_id())
    }

    /// The names of [`ModuleDef::record_fields`], shared.
    pub fn record_field_names(&self) -> std::sync::Arc<crate::ops::records::FieldNames> {
        self.record_names
            .get_or_init(|| {
                crate::ops::records::FieldNames::new(
                    self.record_fields().map(|f| f.name.clone()).collect(),
                )
            })
            .clone()
    }

    /// Whether it has a file or image field, worked out once: every record
    /// of the module on its way to the wire asks (`imageattachmentids`).
    pub fn has_file_fields(&self) -> bool {
        *self.file_fields.get_or_init(|| {
            self.fields
                .iter()
                .any(|f| crate::ops::records::files::is_file_field(f.kind))
        })
    }

    /// describe's result for a caller whose date preference is `date_format`.
    /// `shown` says how the caller sees each field: `None` leaves it out,
    /// `Some(false)` shows it read-only (`editable:false`).
    pub fn describe(
        &self,
        rights: Rights,
        date_format: &str,
        shown: &dyn Fn(&FieldDef) -> Option<bool>,
    ) -> Value {
        let mut out = Map::new();
        out.insert("label".into(), json!(self.label));
        out.insert("name".into(), json!(self.name));
        out.insert("createable".into(), json!(rights.create));
        out.insert("updateable".into(), json!(rights.update));
        out.insert("deleteable".into(), json!(rights.delete));
        out.insert("retrieveable".into(), json!(rights.retrieve));
        let fields: Vec<Value> = self
            .fields
            .iter()
            .filter(|f| f.describe)
            .filter_map(|f| {
                let writable = shown(f)?;
                let mut out = f.describe(date_format);
                if !writable {
                    out["editable"] = json!(false);
                }
                Some(out)
            })
            .collect();
        out.insert("fields".into(), Value::Array(fields));
        // vtiger 7 clients read idPrefix as a string (spec §6.1).
        out.insert("idPrefix".into(), json!(self.id_prefix.to_string()));
        out.insert("isEntity".into(), json!(self.is_entity));
        if let Some(allow) = self.allow_duplicates {
            out.insert("allowDuplicates".into(), json!(allow));
        }
        let label_fields = match &self.describe_label_fields {
            Some(text) => text.clone(),
            None => self.label_fields.join(","),
        };
        out.insert("labelFields".into(), json!(label_fields));
        Value::Object(out)
    }
}

/// describe's key order for a field, by kind (spec §6.2 and the recordings).
const ENTITY_KEYS: &[&str] = &[
    "name",
    "label",
    "mandatory",
    "type",
    "isunique",
    "nullable",
    "editable",
    "default",
];
const ACTOR_KEYS: &[&str] = &[
    "name",
    "label",
    "mandatory",
    "type",
    "nullable",
    "editable",
    "default",
];
const ID_KEYS: &[&str] = &[
    "name",
    "label",
    "mandatory",
    "type",
    "editable",
    "nullable",
    "default",
];

impl FieldDef {
    /// Whether this field is the synthetic `id`.
    pub fn is_id(&self) -> bool {
        self.name == "id"
    }

    /// The field's describe entry.
    pub fn describe(&self, date_format: &str) -> Value {
        let default_order = if self.is_id() {
            ID_KEYS
        } else if self.isunique.is_some() {
            ENTITY_KEYS
        } else {
            ACTOR_KEYS
        };
        let mut out = Map::new();
        let mut put = |key: &str| {
            let value = match key {
                "name" => Some(json!(self.name)),
                "label" => Some(json!(self.label)),
                "mandatory" => Some(self.mandatory.to_json()),
                "type" => Some(self.type_object(date_format)),
                "isunique" => self.isunique.as_ref().map(Flag::to_json),
                "nullable" => Some(self.nullable.to_json()),
                "editable" => Some(self.editable.to_json()),
                "default" => self.default.clone(),
                _ => None,
            };
            if let Some(v) = value {
                out.insert(key.to_string(), v);
            }
        };
        match &self.describe_keys {
            Some(keys) => keys.iter().for_each(|k| put(k)),
            None => default_order.iter().for_each(|k| put(k)),
        }
        Value::Object(out)
    }

    /// describe's `type` object; its keys come before `name` as in vtiger.
    fn type_object(&self, date_format: &str) -> Value {
        let mut t = Map::new();
        match self.kind {
            FieldType::Reference => {
                t.insert(
                    "refersTo".into(),
                    json!(self.refers_to.clone().unwrap_or_default()),
                );
            }
            FieldType::Picklist | FieldType::Multipicklist => {
                let values = self.picklist_values.as_deref().unwrap_or_default();
                let list: Vec<Value> = values
                    .iter()
                    .map(|v| json!({"label": v.label(), "value": v.value()}))
                    .collect();
                t.insert("picklistValues".into(), Value::Array(list));
                let first = values
                    .first()
                    .map(|v| json!(v.value()))
                    .unwrap_or(Value::Null);
                t.insert("defaultValue".into(), first);
            }
            FieldType::Date => {
                t.insert("format".into(), json!(date_format));
            }
            FieldType::File => {
                t.insert(
                    "maxUploadFileSize".into(),
                    json!(self.max_upload_file_size.unwrap_or(0)),
                );
            }
            _ => {}
        }
        t.insert("name".into(), json!(self.kind.as_str()));
        Value::Object(t)
    }
}
