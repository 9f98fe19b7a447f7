//! The registry: every module and operation, loaded once from `schema/` and
//! validated before the server starts. Code asks the registry; it never
//! matches on module names.
pub mod id;
pub mod module;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

pub use id::WsId;
pub use module::{
    FieldDef, FieldType, Links, MatchRule, MatchThrough, ModuleDef, RelationDef, Rights,
    SystemField,
};

/// Where an operation's own parameters are read from (spec §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HttpType {
    /// The query string only.
    #[serde(rename = "GET")]
    Get,
    /// The form body only.
    #[serde(rename = "POST")]
    Post,
}

/// One row of the operation table (`schema/operations.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationDef {
    /// Lower-case operation name.
    pub name: String,
    /// Where its parameters come from.
    #[serde(rename = "type")]
    pub http: HttpType,
    /// Whether it runs without a session.
    pub prelogin: bool,
    /// What an API or OAuth2 token must allow to call it: `read`, `write`
    /// or `delete` (our addition; sessions are not narrowed).
    pub scope: String,
    /// Parameter names with vtiger's parameter type, in order.
    pub params: Vec<(String, String)>,
}

impl OperationDef {
    /// Whether parameter `name` is JSON inside a form field (`encoded`).
    pub fn is_encoded(&self, name: &str) -> bool {
        self.params
            .iter()
            .any(|(n, t)| n == name && t.eq_ignore_ascii_case("encoded"))
    }
}

#[derive(Deserialize)]
struct OperationsFile {
    operations: Vec<OperationDef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldTypesFile {
    uitype_mapped: Vec<String>,
}

/// A map looked up at every request, hashed with foldhash, not the default
/// SipHash: ~180 instructions a lookup, four a query (callgrind). Only for
/// keys the server chooses (the schema's names, the store's ids), never a
/// client's, so none can be chosen to collide.
pub type Lookup<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// All modules and operations.
#[derive(Debug)]
pub struct Registry {
    /// Entity modules by id prefix, then actors by id prefix (listtypes' order).
    modules: Vec<ModuleDef>,
    by_name: Lookup<String, usize>,
    by_prefix: Lookup<u32, usize>,
    operations: Lookup<String, OperationDef>,
    uitype_mapped: HashSet<String>,
}

impl Registry {
    /// Loads the built-in schema, or the one in `dir`, and validates it.
    pub fn load(dir: Option<&Path>) -> Result<Registry, String> {
        let sources = match dir {
            None => Sources::embedded(),
            Some(dir) => Sources::read(dir)?,
        };
        let mut modules = Vec::new();
        for (file, text) in &sources.modules {
            let module: ModuleDef =
                serde_json::from_str(text).map_err(|e| format!("schema/modules/{file}: {e}"))?;
            modules.push(module);
        }
        let ops: OperationsFile = serde_json::from_str(&sources.operations)
            .map_err(|e| format!("schema/operations.json: {e}"))?;
        let types: FieldTypesFile = serde_json::from_str(&sources.fieldtypes)
            .map_err(|e| format!("schema/fieldtypes.json: {e}"))?;
        Registry::new(modules, ops.operations, types.uitype_mapped)
    }

    fn new(
        mut modules: Vec<ModuleDef>,
        operations: Vec<OperationDef>,
        uitype_mapped: Vec<String>,
    ) -> Result<Registry, String> {
        modules.sort_by_key(|m| (!m.is_entity, m.id_prefix));
        let mut by_name = Lookup::default();
        let mut by_prefix = Lookup::default();
        for (i, m) in modules.iter().enumerate() {
            if by_name.insert(m.name.clone(), i).is_some() {
                return Err(format!("module {} is defined twice", m.name));
            }
            if let Some(j) = by_prefix.insert(m.id_prefix, i) {
                return Err(format!(
                    "modules {} and {} share the id prefix {}",
                    modules[j].name, m.name, m.id_prefix
                ));
            }
        }
        let registry = Registry {
            operations: operations
                .into_iter()
                .map(|o| (o.name.to_ascii_lowercase(), o))
                .collect(),
            uitype_mapped: uitype_mapped.into_iter().collect(),
            modules,
            by_name,
            by_prefix,
        };
        for m in &registry.modules {
            registry.validate(m)?;
        }
        // After every module's own checks: rules look into other modules.
        for m in &registry.modules {
            registry.validate_match_rules(m)?;
        }
        for op in registry.operations.values() {
            if crate::auth::access::Scopes::parse(&op.scope).is_none_or(|s| s.text() != op.scope) {
                return Err(format!(
                    "operation {}: scope must be read, write or delete, not {:?}",
                    op.name, op.scope
                ));
            }
        }
        // Logins and record owners need these two; refuse to start without them.
        for required in [crate::store::users::USERS, crate::store::users::GROUPS] {
            if registry.module(required).is_none() {
                return Err(format!(
                    "the schema has no {required} module; logins and record owners need it"
                ));
            }
        }
        Ok(registry)
    }

    fn validate(&self, m: &ModuleDef) -> Result<(), String> {
        // What a record on the wire carries after its fields (§5.1, and
        // ours: external_ids); `id` is the synthetic field every module has.
        const RECORD_TAIL_KEYS: &[&str] =
            &["label", "imageattachmentids", "external_ids", "LineItems"];
        let at = |what: String| format!("module {}: {what}", m.name);
        if !valid_identifier(&m.name) {
            return Err(at("the name must be letters, digits and _".into()));
        }
        if m.convertible && (!m.is_entity || m.own_sequence) {
            return Err(at(
                "only records of the shared sequence can be convertible".into()
            ));
        }
        for (name, value) in &m.query_filter {
            if !value.is_string() || !m.fields.iter().any(|f| &f.name == name) {
                return Err(at(format!(
                    "queryFilter {name} must name a field and give a string"
                )));
            }
        }
        let mut seen = HashSet::new();
        let mut system_seen = Vec::new();
        let mut owners = 0;
        for f in &m.fields {
            // One field a server-set value: a record carries each once.
            if let Some(system) = f.system {
                if system_seen.contains(&system) {
                    return Err(at(format!(
                        "field {} repeats a server-set value another field holds",
                        f.name
                    )));
                }
                system_seen.push(system);
            }
            if !valid_identifier(&f.name) {
                return Err(at(format!(
                    "field name {:?} must be letters, digits, _ or &",
                    f.name
                )));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(at(format!("field {} is defined twice", f.name)));
            }
            if RECORD_TAIL_KEYS.contains(&f.name.as_str()) {
                return Err(at(format!(
                    "field {} would clash with the key records carry after their fields",
                    f.name
                )));
            }
            match f.kind {
                FieldType::Reference => {
                    let targets = f
                        .refers_to
                        .as_ref()
                        .ok_or_else(|| at(format!("reference field {} has no refersTo", f.name)))?;
                    if let Some(t) = targets
                        .iter()
                        .find(|t| !self.by_name.contains_key(t.as_str()))
                    {
                        return Err(at(format!("field {} refers to unknown module {t}", f.name)));
                    }
                }
                FieldType::Picklist | FieldType::Multipicklist if f.picklist_values.is_none() => {
                    return Err(at(format!(
                        "picklist field {} has no picklistValues",
                        f.name
                    )));
                }
                FieldType::Owner => owners += 1,
                _ => {}
            }
        }
        if owners > 1 {
            return Err(at("a module has at most one owner field".into()));
        }
        if !seen.contains("id") {
            return Err(at("the synthetic id field is missing".into()));
        }
        if let Some(lf) = m.label_fields.iter().find(|lf| !seen.contains(lf.as_str())) {
            return Err(at(format!("labelFields names unknown field {lf}")));
        }
        if let Some(an) = &m.auto_number {
            if !seen.contains(an.field.as_str()) {
                return Err(at(format!("autoNumber names unknown field {}", an.field)));
            }
        }
        if let Some(lines) = &m.line_items {
            let l = self
                .module(lines)
                .filter(|l| !l.is_entity)
                .ok_or_else(|| at(format!("lineItems names no actor module {lines}")))?;
            for needed in crate::ops::records::inventory::LINE_FIELDS {
                if !l.fields.iter().any(|f| f.name == needed) {
                    return Err(at(format!(
                        "lineItems module {lines} has no field {needed}"
                    )));
                }
            }
        }
        self.validate_relations(m).map_err(at)?;
        self.validate_convert_map(m).map_err(at)
    }

    /// convertMap names record modules and fields on both sides.
    fn validate_convert_map(&self, m: &ModuleDef) -> Result<(), String> {
        if !m.convert_map.is_empty() && !m.convertible {
            return Err("convertMap needs a convertible module".into());
        }
        for (target, fields) in &m.convert_map {
            let t = self
                .module(target)
                .filter(|t| t.is_entity && !t.own_sequence)
                .ok_or_else(|| format!("convertMap names no record module {target}"))?;
            let fields = fields
                .as_object()
                .ok_or_else(|| format!("convertMap {target} must map fields"))?;
            for (to, from) in fields {
                let from = from.as_str().unwrap_or_default();
                if !t.fields.iter().any(|f| &f.name == to)
                    || !m.fields.iter().any(|f| f.name == from)
                {
                    return Err(format!(
                        "convertMap {target}: {to} ← {from} names an unknown field"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Related lists name record modules, have unique labels, and their
    /// conditions are VTQL over the related module's fields.
    fn validate_match_rules(&self, m: &ModuleDef) -> Result<(), String> {
        let mut names = HashSet::new();
        for rule in &m.match_rules {
            let at = format!("module {}: match rule {}", m.name, rule.name);
            if !names.insert(rule.name.as_str()) {
                return Err(format!("{at} is defined twice"));
            }
            if !rule.external_ids && rule.fields.is_empty() && rule.through.is_none() {
                return Err(format!("{at} compares nothing"));
            }
            for f in &rule.fields {
                if m.field(f).is_none() && !rule.optional {
                    return Err(format!("{at}: no field {f} (mark the rule optional?)"));
                }
            }
            if let Some(t) = &rule.through {
                let other = self
                    .module(&t.module)
                    .ok_or_else(|| format!("{at}: no module {}", t.module))?;
                let points_here = other
                    .field(&t.reference)
                    .is_some_and(|f| f.refers_to.as_deref().unwrap_or_default().contains(&m.name));
                if !points_here {
                    return Err(format!(
                        "{at}: {}.{} does not refer to {}",
                        t.module, t.reference, m.name
                    ));
                }
                if let Some(f) = t.fields.iter().find(|f| other.field(f).is_none()) {
                    return Err(format!("{at}: {} has no field {f}", t.module));
                }
            }
        }
        Ok(())
    }

    fn validate_relations(&self, m: &ModuleDef) -> Result<(), String> {
        let mut labels = HashSet::new();
        for r in &m.relations {
            if !labels.insert(r.label.as_str()) {
                return Err(format!("relation {} is defined twice", r.label));
            }
            let related = self
                .module(&r.module)
                .filter(|t| t.is_entity && !t.own_sequence)
                .ok_or_else(|| {
                    format!("relation {} names no record module {}", r.label, r.module)
                })?;
            if let Some(condition) = &r.condition {
                let query = format!("SELECT * FROM {} WHERE {condition};", related.name);
                let select = crate::vtql::parse(&query)
                    .map_err(|e| format!("relation {}: {}", r.label, e.message))?;
                crate::vtql::translate::plan(
                    self,
                    &select,
                    1,
                    None,
                    &crate::auth::access::Access::admin(0),
                )
                .map_err(|e| format!("relation {}: {}", r.label, e.message()))?;
            }
        }
        Ok(())
    }

    /// The module called exactly `name` (names are case-sensitive, as in vtiger).
    pub fn module(&self, name: &str) -> Option<&ModuleDef> {
        self.by_name.get(name).map(|&i| &self.modules[i])
    }

    /// The module whose ids start with `prefix`.
    pub fn module_by_prefix(&self, prefix: u32) -> Option<&ModuleDef> {
        self.by_prefix.get(&prefix).map(|&i| &self.modules[i])
    }

    /// Every module, entity modules first, each group in id-prefix order.
    pub fn modules(&self) -> &[ModuleDef] {
        &self.modules
    }

    /// The operation registered as `name`, compared case-insensitively.
    pub fn operation(&self, name: &str) -> Option<&OperationDef> {
        self.operations.get(&name.to_ascii_lowercase())
    }

    /// Whether listtypes' fieldTypeList filter can match a field of this type.
    pub fn is_uitype_mapped(&self, kind: FieldType) -> bool {
        self.uitype_mapped.contains(kind.as_str())
    }
}

/// Names become SQL identifiers (always quoted), so only a safe alphabet.
fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '&')
}

/// The text of the schema files, from the binary or from a folder.
struct Sources {
    modules: Vec<(String, String)>,
    operations: String,
    fieldtypes: String,
}

impl Sources {
    fn embedded() -> Self {
        use crate::embedded::*;
        Sources {
            modules: MODULE_FILES
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            operations: OPERATIONS_FILE.to_string(),
            fieldtypes: FIELDTYPES_FILE.to_string(),
        }
    }

    fn read(dir: &Path) -> Result<Self, String> {
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let modules_dir = dir.join("modules");
        let entries = std::fs::read_dir(&modules_dir)
            .map_err(|e| format!("{}: {e}", modules_dir.display()))?;
        let mut modules = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                modules.push((name, read(&path)?));
            }
        }
        modules.sort();
        Ok(Sources {
            modules,
            operations: read(&dir.join("operations.json"))?,
            fieldtypes: read(&dir.join("fieldtypes.json"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_schema_loads_and_validates() {
        let r = Registry::load(None).expect("built-in schema is valid");
        assert_eq!(r.module("Accounts").unwrap().id_prefix, 11);
        assert_eq!(r.module_by_prefix(19).unwrap().name, "Users");
        assert!(
            r.module("accounts").is_none(),
            "module names are case-sensitive"
        );
        assert_eq!(r.operation("GetChallenge").unwrap().name, "getchallenge");
        assert_eq!(r.modules().len(), 35);
    }

    #[test]
    fn a_reference_to_an_unknown_module_is_refused() {
        let mut m: ModuleDef = serde_json::from_str(
            crate::embedded::MODULE_FILES
                .iter()
                .find(|(n, _)| *n == "Accounts.json")
                .unwrap()
                .1,
        )
        .unwrap();
        m.fields[7].refers_to = Some(vec!["Nowhere".into()]);
        let err = Registry::new(vec![m], vec![], vec![]).unwrap_err();
        assert!(err.contains("refers to unknown module Nowhere"), "{err}");
    }

    #[test]
    fn a_schema_without_users_is_refused() {
        let groups: ModuleDef = serde_json::from_str(
            crate::embedded::MODULE_FILES
                .iter()
                .find(|(n, _)| *n == "Groups.json")
                .unwrap()
                .1,
        )
        .unwrap();
        let err = Registry::new(vec![groups], vec![], vec![]).unwrap_err();
        assert!(err.contains("no Users module"), "{err}");
    }
}
