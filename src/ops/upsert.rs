//! # `POST webservice.php` `operation=upsert&elementType=Contacts&element={…}[&matchOn=email,phone]`
//! Our addition (issue 11), as Sugester's: create the record, or update the
//! one it matches. The match cascade is the module's `matchRules` in
//! `schema/` (external id → tax id → email → phone → mobile by default),
//! tried in order (or only the rules `matchOn` names, in its order); the
//! first rule the element gives values for and that finds records decides.
//! One record: it is revised with the element (fields not sent keep their
//! values). Several: AMBIGUOUS_MATCH naming them, never a silent pick. The
//! match and the write run as one serialized write, so two upserts of the
//! same new contact cannot both create it.
use serde_json::{json, Map, Value};

use super::records::{element_object, external, listed_module, Mandatory};
use super::{create, update, Ctx, OpCall};
use crate::auth::access::Action;
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{MatchRule, ModuleDef, Registry, WsId};
use crate::store::tables::{keying, Keying};
use crate::store::{self, matching};

/// upsert's parameters.
pub struct Params {
    element_type: Option<String>,
    element: Map<String, Value>,
    match_on: Option<Vec<String>>,
    caller: Caller,
}

impl Params {
    /// Reads them from the call; `matchOn` is a comma-separated list or a
    /// JSON array of rule names.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        let match_on = call.param("matchOn").map(|text| {
            serde_json::from_str::<Vec<String>>(text).unwrap_or_else(|_| {
                text.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
        });
        Ok(Params {
            element_type: call.param("elementType").map(str::to_string),
            element: element_object(call)?,
            match_on,
            caller: call.caller()?.clone(),
        })
    }
}

/// `{"matchedBy": rule or "created", "record": {…}}`.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let access = &p.caller.access;
    let module = listed_module(&ctx.registry, p.element_type.as_deref(), access)?;
    if keying(module) != Keying::Shared {
        return Err(WsError::OperationNotSupported(format!(
            "upsert takes records of entity modules, not {}",
            module.name
        )));
    }
    let rules = chosen_rules(module, p.match_on.as_deref())?;
    let external_ids = external::read(&p.element)?;
    let mut element = p.element;
    element.remove("id");
    let (ctx, name, caller) = (ctx.clone(), module.name.clone(), p.caller);
    ctx.store.clone().serialized(move || {
        let module = ctx
            .registry
            .module(&name)
            .ok_or(WsError::InternalServerError)?;
        let found = ctx.store.read(|conn| {
            find_match(
                conn,
                &ctx.registry,
                &caller,
                module,
                &rules,
                &element,
                &external_ids,
            )
        })?;
        let (matched_by, record) = match found {
            Some((rule, id)) => {
                element.insert(
                    "id".into(),
                    WsId::new(module.id_prefix, id).to_wire().into(),
                );
                let record = update::apply(
                    &ctx,
                    update::Params::new(element, caller),
                    Mandatory::Present,
                )?;
                (rule, record)
            }
            None => {
                let record = create::run(&ctx, create::Params::new(&name, element, caller))?;
                ("created".to_string(), record)
            }
        };
        Ok(json!({"matchedBy": matched_by, "record": record.into_value()}))
    })
}

/// The module's cascade, or the rules `match_on` names in its order.
fn chosen_rules(
    module: &ModuleDef,
    match_on: Option<&[String]>,
) -> Result<Vec<MatchRule>, WsError> {
    let all = module.upsert_rules();
    let Some(names) = match_on.filter(|n| !n.is_empty()) else {
        return Ok(all);
    };
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|r| &r.name == name)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
                    WsError::InvalidFieldValue(format!(
                    "Invalid value specified for matchOn: {} has no rule {name} (its rules: {})",
                    module.name,
                    known.join(", ")
                ))
                })
        })
        .collect()
}

/// The first rule that finds records, and the one record it finds.
fn find_match(
    conn: &rusqlite::Connection,
    registry: &Registry,
    caller: &Caller,
    module: &ModuleDef,
    rules: &[MatchRule],
    element: &Map<String, Value>,
    external_ids: &external::Changes,
) -> Result<Option<(String, i64)>, WsError> {
    for rule in rules {
        let mut found = candidates(conn, registry, caller, module, rule, element, external_ids)?;
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [] => continue,
            [id] => return Ok(Some((rule.name.clone(), *id))),
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .map(|id| WsId::new(module.id_prefix, *id).to_wire())
                    .collect();
                return Err(WsError::AmbiguousMatch(format!(
                    "{} {} records match on {}: {}",
                    many.len(),
                    module.name,
                    rule.name,
                    ids.join(", ")
                )));
            }
        }
    }
    Ok(None)
}

/// The records `rule` finds for the element, among those the caller may
/// read (records they cannot see never match: their existence stays hidden).
fn candidates(
    conn: &rusqlite::Connection,
    registry: &Registry,
    caller: &Caller,
    module: &ModuleDef,
    rule: &MatchRule,
    element: &Map<String, Value>,
    external_ids: &external::Changes,
) -> Result<Vec<i64>, WsError> {
    let mut found: Vec<(i64, i64)> = Vec::new();
    if rule.external_ids {
        for (system, id) in external_ids {
            if let Some(id) = id {
                if let Some(crmid) = store::external::find(conn, &module.name, system, id)? {
                    let owner = store::records::live_entry(conn, crmid)?.map(|(_, o)| o);
                    found.extend(owner.map(|o| (crmid, o)));
                }
            }
        }
    }
    let columns: Vec<&str> = rule
        .fields
        .iter()
        .filter(|f| module.field(f).is_some())
        .map(String::as_str)
        .collect();
    let values: Vec<String> = columns
        .iter()
        .filter_map(|f| element.get(*f))
        .filter_map(|v| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|v| !v.is_empty())
        .collect();
    found.extend(matching::by_columns(conn, module, &columns, &values)?);
    // The registry checked at load that the other module exists.
    if let Some((t, other)) = rule
        .through
        .as_ref()
        .and_then(|t| Some((t, registry.module(&t.module)?)))
    {
        let cols: Vec<&str> = t.fields.iter().map(String::as_str).collect();
        found.extend(matching::through(
            conn,
            module,
            other,
            &t.reference,
            &cols,
            &values,
        )?);
    }
    Ok(found
        .into_iter()
        .filter(|(_, owner)| caller.access.on_record(module, *owner, Action::View))
        .map(|(id, _)| id)
        .collect())
}
