//! # `POST webservice.php` `operation=update&element={…whole record…}`
//! vtiger 7's update: every mandatory field must be sent; fields left out
//! keep their stored values; read-only keys a client echoes back (`label`,
//! `createdtime`, …) are ignored (§3.3).
use serde_json::{Map, Value};

use rusqlite::TransactionBehavior;

use super::records::{
    element_object, external, inventory, module_of_id, now_pair, read_element, resolve,
    row_to_wire, wire_record, write_module, Mandatory, Target, Writer,
};
use super::{Answer, Ctx, OpCall};
use crate::auth::access::Action;
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{ModuleDef, Registry};
use crate::store::records::RecordWrite;
use crate::store::tables::{keying, Keying};
use crate::store::{auth_tables, records, rows, users};

/// update's parameters (also revise's: they differ only in the mandatory rule).
pub struct Params {
    element: Map<String, Value>,
    caller: Caller,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            element: element_object(call)?,
            caller: call.caller()?.clone(),
        })
    }

    /// An update (or revise) of `element`, which names the record by its
    /// `id` (upsert, batches).
    pub fn new(element: Map<String, Value>, caller: Caller) -> Self {
        Params { element, caller }
    }
}

/// The updated record.
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    apply(ctx, p, Mandatory::All)
}

/// What the checks found: a record with its checked values and lines, or
/// a user or actor row.
enum Checked<'r> {
    Record(
        &'r ModuleDef,
        i64,
        RecordWrite,
        Option<Vec<inventory::Line>>,
    ),
    Row(&'r ModuleDef, i64),
}

/// Resolves the element's `id`, checks the element and writes it.
pub fn apply(ctx: &Ctx, p: Params, mandatory: Mandatory) -> Result<Answer, WsError> {
    // An entity record is checked, written and read back on the writer
    // thread as one serialized write, as create does (see there, and
    // BENCHMARKS.md). Users and actors keep their own transaction on a
    // pooled connection, which the writer thread must never wait for.
    if names_an_entity_record(&ctx.registry, &p.element) {
        let ctx = ctx.clone();
        return ctx
            .store
            .clone()
            .serialized(move || apply_now(&ctx, p, mandatory));
    }
    apply_now(ctx, p, mandatory)
}

/// Whether the element's `id` names a module whose records share the
/// entity table (what [`resolve`] answers with `Target::Record`).
fn names_an_entity_record(registry: &Registry, element: &Map<String, Value>) -> bool {
    element
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| module_of_id(registry, id))
        .is_some_and(|module| keying(module) == Keying::Shared)
}

fn apply_now(ctx: &Ctx, p: Params, mandatory: Mandatory) -> Result<Answer, WsError> {
    let id = p.element.get("id").and_then(Value::as_str);
    let access = &p.caller.access;
    let writer = Writer {
        access,
        creating: false,
    };
    let external_ids = external::read(&p.element)?;
    // The checks read one snapshot (inside the serialized write for a
    // record).
    let checked = ctx.store.read(|conn| {
        Ok::<_, WsError>(
            match resolve(conn, &ctx.registry, access, id, Action::Edit)? {
                Target::Record(module, id) => {
                    let write =
                        read_element(conn, &ctx.registry, writer, module, &p.element, mandatory)?;
                    // Inventory lines: replaced when sent, kept when not.
                    let lines = match module.line_items {
                        Some(_) => inventory::read_lines(conn, &ctx.registry, &p.element)?,
                        None => None,
                    };
                    if lines.as_ref().is_some_and(Vec::is_empty) {
                        return Err(inventory::missing());
                    }
                    Checked::Record(module, id, write, lines)
                }
                Target::Row(module, id) => {
                    external::check_module(module, &external_ids)?;
                    Checked::Row(module, id)
                }
            },
        )
    })?;
    match checked {
        Checked::Record(module, id, write, lines) => {
            let (now, now_text) = now_pair();
            let user = p.caller.user_id();
            // The record and its lines: a savepoint of their own.
            write_module(ctx, module, move |tx, registry, module| {
                records::update_in(tx, module, id, &write, user, (now, &now_text))?;
                if module.line_items.is_some() {
                    inventory::save(tx, registry, module, id, lines.as_deref())?;
                }
                external::save(tx, module, id, &external_ids)?;
                Ok(())
            })?;
            ctx.store.read(|conn| {
                let record = wire_record(conn, &ctx.registry, access, module, id)?;
                inventory::with_lines(conn, &ctx.registry, module, id, record).map(Answer::Record)
            })
        }
        Checked::Row(module, id) => {
            let mut conn = ctx.store.conn()?;
            let mut write = read_element(
                &conn,
                &ctx.registry,
                writer,
                module,
                &p.element,
                Mandatory::Present,
            )?;
            // A user name stays unique; the access key changes only by rotation.
            write
                .values
                .retain(|(f, _)| f != "user_name" && f != "accesskey");
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            rows::update(&tx, module, id, &write.values)?;
            // A user made inactive is logged out everywhere at once.
            if users::is_user_module(module) && !users::is_active(&tx, &ctx.registry, id)? {
                auth_tables::delete_user_sessions(&tx, id)?;
            }
            tx.commit()?;
            row_to_wire(&conn, &ctx.registry, module, id).map(Answer::Json)
        }
    }
}
