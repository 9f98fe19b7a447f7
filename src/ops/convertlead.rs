//! # `POST webservice.php` `operation=convertlead&element={"leadId":"10x5",…}`
//! Turns a lead into an account (or reuses the one with its name), a contact
//! and optionally a potential, in one transaction (§3.3, 7.x form). Values
//! come from the lead through the module's `convertMap`, then the client's.
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};

use super::records::{denied_for_id, denied_object, now_pair, read_element, Mandatory, Writer};
use super::{Ctx, OpCall};
use crate::auth::access::Action;
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{ModuleDef, WsId};
use crate::store::records::FieldValues;
use crate::store::tables::has_column;
use crate::store::{conversion, records};

/// The modules a lead becomes, in vtiger's order.
const TARGETS: [&str; 3] = ["Accounts", "Contacts", "Potentials"];

/// convertlead's parameters.
pub struct Params {
    caller: Caller,
    element: Map<String, Value>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            caller: call.caller()?.clone(),
            element: match call.encoded("element") {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            },
        })
    }
}

fn text<'a>(element: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    element
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `"create": true` as PHP reads it: true, 1, "1", "true".
fn wanted(entity: &Value) -> bool {
    match &entity["create"] {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64() == Some(1),
        Value::String(s) => s == "1" || s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// What one conversion made: each module's record, in vtiger's order.
type Made<'r> = Vec<(&'r ModuleDef, i64)>;

/// `{"Accounts":"11x…","Contacts":"12x…"[,"Potentials":"13x…"]}`, or
/// `null` when neither an account nor a contact was asked for.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let ws = text(&p.element, "leadId")
        .and_then(WsId::parse)
        .ok_or_else(denied_for_id)?;
    let lead_module = ctx
        .registry
        .module_by_prefix(ws.prefix)
        .filter(|m| m.convertible)
        .ok_or_else(WsError::denied)?;
    let entities = p.element.get("entities").cloned().unwrap_or(Value::Null);
    let mut conn = ctx.store.conn()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The lead must be one the caller may change (vtiger's texts).
    if let Some((_, owner)) = records::live_entry(&tx, ws.object)? {
        let access = &p.caller.access;
        if !access.lists(lead_module) {
            return Err(WsError::denied());
        }
        if !access.on_record(lead_module, owner, Action::Edit) {
            return Err(denied_object());
        }
    }
    match conversion::converted(&tx, lead_module, ws.object)? {
        None => return Err(WsError::denied()),
        Some(true) => return Err(WsError::LeadAlreadyConverted),
        Some(false) => {}
    }
    if !wanted(&entities["Accounts"]) && !wanted(&entities["Contacts"]) {
        return Ok(Value::Null);
    }
    let made = create_all(ctx, &tx, &p, lead_module, ws.object, &entities)?;
    let (now, now_text) = now_pair();
    let preferred = text(&p.element, "transferRelatedRecordsTo").unwrap_or("Contacts");
    let mut targets: Made = made
        .iter()
        .filter(|(m, _)| m.name == preferred)
        .copied()
        .collect();
    targets.extend(made.iter().filter(|(m, _)| m.name != preferred));
    conversion::transfer_related(
        &tx,
        &ctx.registry,
        (lead_module, ws.object),
        &targets,
        p.caller.user_id(),
        (now, &now_text),
    )?;
    conversion::mark_converted(
        &tx,
        lead_module,
        ws.object,
        p.caller.user_id(),
        now,
        &now_text,
    )?;
    tx.commit()?;
    Ok(Value::Object(
        made.iter()
            .map(|(m, id)| (m.name.clone(), WsId::new(m.id_prefix, *id).to_wire().into()))
            .collect(),
    ))
}

/// Creates (or, for the account, finds by name) each record asked for.
fn create_all<'r>(
    ctx: &'r Ctx,
    tx: &Connection,
    p: &Params,
    lead_module: &ModuleDef,
    lead: i64,
    entities: &Value,
) -> Result<Made<'r>, WsError> {
    let stored = records::load(tx, lead_module, lead)?.ok_or_else(WsError::denied)?;
    let owner = text(&p.element, "assignedTo")
        .map(str::to_string)
        .unwrap_or_else(|| p.caller.ws_id());
    let (now, now_text) = now_pair();
    let mut made: Made = Vec::new();
    for name in TARGETS {
        let entity = &entities[name];
        if !wanted(entity) {
            continue;
        }
        let module = ctx
            .registry
            .module(name)
            .ok_or(WsError::InternalServerError)?;
        let mut element = Map::new();
        // The lead's values through the mapping, then the client's.
        if let Some(Value::Object(map)) = lead_module.convert_map.get(name) {
            for (to, from) in map {
                let value = stored.values.value(from.as_str().unwrap_or_default());
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    element.insert(to.clone(), v.to_string().into());
                }
            }
        }
        element.insert("assigned_user_id".into(), owner.clone().into());
        link_made(&mut element, name, &made);
        if let Value::Object(given) = entity {
            for (k, v) in given.iter().filter(|(k, _)| *k != "create" && *k != "name") {
                element.insert(k.clone(), v.clone());
            }
        }
        let failed = |e: WsError| WsError::ConversionFailed(format!("{} : {name}", e.message()));
        let access = &p.caller.access;
        if !access.lists(module) || !access.may(module, Action::Create) {
            return Err(failed(WsError::AccessDenied(
                "Permission to write is denied".into(),
            )));
        }
        if name == "Accounts" {
            let account_name = element
                .get("accountname")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // An account of that name is reused when the caller may read it.
            if let Some(id) = conversion::find_by_value(tx, module, "accountname", account_name)? {
                let readable = records::live_entry(tx, id)?
                    .is_some_and(|(_, owner)| access.on_record(module, owner, Action::View));
                if readable {
                    made.push((module, id));
                    continue;
                }
            }
        }
        let writer = Writer {
            access,
            creating: true,
        };
        let mut write = read_element(tx, &ctx.registry, writer, module, &element, Mandatory::All)
            .map_err(failed)?;
        if let Some(f) = module
            .fields
            .iter()
            .find(|f| f.name == "isconvertedfromlead")
        {
            if has_column(module, f) {
                write.values.retain(|(n, _)| n != "isconvertedfromlead");
                write.values.push((f.name.clone(), Some("1".into())));
            }
        }
        let id = records::insert_in(tx, module, &write, p.caller.user_id(), now, &now_text)?;
        made.push((module, id));
    }
    Ok(made)
}

/// A contact belongs to the account made before it; a potential to the
/// account (or else the contact) and names the contact.
fn link_made(element: &mut Map<String, Value>, name: &str, made: &Made) {
    let id_of = |module: &str| {
        made.iter()
            .find(|(m, _)| m.name == module)
            .map(|(m, id)| Value::from(WsId::new(m.id_prefix, *id).to_wire()))
    };
    match name {
        "Contacts" => {
            if let Some(account) = id_of("Accounts") {
                element.insert("account_id".into(), account);
            }
        }
        "Potentials" => {
            if let Some(parent) = id_of("Accounts").or_else(|| id_of("Contacts")) {
                element.insert("related_to".into(), parent);
            }
            if let Some(contact) = id_of("Contacts") {
                element.insert("contact_id".into(), contact);
            }
        }
        _ => {}
    }
}
