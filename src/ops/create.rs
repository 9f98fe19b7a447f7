//! # `POST webservice.php` `operation=create&elementType=…&element={…}`
//! Creates a record and answers it as retrieve would (§3.3, §5).
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};

use super::records::{
    element_object, external, files, inventory, now_pair, read_element, row_to_wire, wire_record,
    with_defaults, writable_module, write_module, Mandatory, Writer,
};
use super::{Answer, Ctx, OpCall};
use crate::auth::Caller;
use crate::error::WsError;
use crate::http::params::Upload;
use crate::registry::ModuleDef;
use crate::store::tables::{keying, Keying};
use crate::store::{records, rows, users};

/// create's parameters.
pub struct Params {
    element_type: Option<String>,
    element: Map<String, Value>,
    caller: Caller,
    files: Vec<Upload>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            element_type: call.param("elementType").map(str::to_string),
            element: element_object(call)?,
            caller: call.caller()?.clone(),
            files: call.raw.files.clone(),
        })
    }

    /// A create of `element` in `element_type` without files (upsert,
    /// batches).
    pub fn new(element_type: &str, element: Map<String, Value>, caller: Caller) -> Self {
        Params {
            element_type: Some(element_type.to_string()),
            element,
            caller,
            files: Vec::new(),
        }
    }
}

/// The saved record with `id` and `label` (a user or actor row for admins).
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    let module = writable_module(&ctx.registry, p.element_type.as_deref(), &p.caller.access)?;
    let writer = Writer {
        access: &p.caller.access,
        creating: true,
    };
    let external_ids = external::read(&p.element)?;
    external::check_module(module, &external_ids)?;
    if keying(module) != Keying::Shared {
        let mut conn = ctx.store.conn()?;
        // One immediate transaction: the id, the name check and the insert
        // cannot interleave with another writer's.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let created = create_row(ctx, &tx, writer, module, &p.element)?;
        tx.commit()?;
        return Ok(Answer::Json(created));
    }
    // A record's checks, its write and the answer read back run on the
    // writer thread as one write of a group commit (`Store::serialized`):
    // no other write comes between the checks and the insert, and the reads
    // find the pages the writer's own commits keep in its cache, where a
    // pooled connection starts every read transaction after a commit with an
    // empty one. Side by side: 11-14 % less server CPU a create
    // (BENCHMARKS.md).
    let (ctx, name) = (ctx.clone(), module.name.clone());
    ctx.store.clone().serialized(move || {
        let module = ctx
            .registry
            .module(&name)
            .ok_or(WsError::InternalServerError)?;
        save_record(&ctx, module, p, external_ids)
    })
}

/// Checks and saves a record of `module` (inside `Store::serialized`) and
/// answers it as retrieve would.
fn save_record(
    ctx: &Ctx,
    module: &ModuleDef,
    p: Params,
    external_ids: external::Changes,
) -> Result<Answer, WsError> {
    let writer = Writer {
        access: &p.caller.access,
        creating: true,
    };
    let (mut write, lines) = ctx.store.read(|conn| {
        let write = read_element(
            conn,
            &ctx.registry,
            writer,
            module,
            &p.element,
            Mandatory::All,
        )?;
        // Inventory records need their lines (checked after the fields, as vtiger).
        let lines = match module.line_items {
            Some(_) => Some(
                inventory::read_lines(conn, &ctx.registry, &p.element)?
                    .filter(|lines| !lines.is_empty())
                    .ok_or_else(inventory::missing)?,
            ),
            None => None,
        };
        Ok::<_, WsError>((write, lines))
    })?;
    let uploads = files::accepted(module, &p.files);
    files::describe(module, &mut write, &uploads)?;
    let uploads: Vec<(String, Upload)> = uploads
        .into_iter()
        .map(|(field, upload)| (field, upload.clone()))
        .collect();
    // The record, its lines, totals and files: a savepoint of its own inside
    // the serialized write, acknowledged once on disk.
    let (now, now_text) = now_pair();
    let user = p.caller.user_id();
    let id = write_module(ctx, module, move |tx, registry, module| {
        let id = records::insert_in(tx, module, &write, user, now, &now_text)?;
        if lines.is_some() {
            inventory::save(tx, registry, module, id, lines.as_deref())?;
        }
        let uploads: Vec<(String, &Upload)> = uploads.iter().map(|(f, u)| (f.clone(), u)).collect();
        files::store(tx, id, &uploads, now)?;
        external::save(tx, module, id, &external_ids)?;
        Ok(id)
    })?;
    ctx.store.read(|conn| {
        let record = wire_record(conn, &ctx.registry, &p.caller.access, module, id)?;
        inventory::with_lines(conn, &ctx.registry, module, id, record).map(Answer::Record)
    })
}

/// A user or an actor row. Users get an access key and share their id
/// sequence with groups; a taken user name is refused.
fn create_row(
    ctx: &Ctx,
    conn: &Connection,
    writer: Writer,
    module: &ModuleDef,
    element: &Map<String, Value>,
) -> Result<Value, WsError> {
    let element = with_defaults(module, element);
    let mut write = read_element(
        conn,
        &ctx.registry,
        writer,
        module,
        &element,
        Mandatory::All,
    )?;
    let id = if users::is_owner_module(module) {
        Some(users::next_owner_id(conn, &ctx.registry)?)
    } else {
        None
    };
    if module.own_sequence {
        let name = element
            .get("user_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if users::find_by_name(conn, &ctx.registry, name)?.is_some() {
            return Err(WsError::InvalidFieldValue(format!(
                "Invalid value specified for user_name: {name} is taken"
            )));
        }
        write.values.retain(|(f, _)| f != "accesskey");
        write
            .values
            .push(("accesskey".into(), Some(users::generate_access_key())));
    }
    let id = rows::insert(conn, module, id, &write.values)?;
    row_to_wire(conn, &ctx.registry, module, id)
}
