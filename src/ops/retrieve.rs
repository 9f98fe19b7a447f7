//! # `GET webservice.php?operation=retrieve&id=11x42`
//! One record, every value a string, with `id` and `label` (§3.3, §5.1);
//! inventory records with their `LineItems`, as vtiger's inventory handler
//! answers (retrieve_inventory is the same call).
use super::records::{
    encode_loaded, inventory, load_checked, resolve, row_to_wire, wire_loaded, wire_record, Target,
};
use super::{Answer, Ctx};
use crate::auth::access::Action;
use crate::error::WsError;

/// retrieve's parameters: the record's `id` and the caller.
pub type Params = super::records::OneRecord;

/// The record.
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    answer(ctx, p, true)
}

/// The record as a JSON value, for answers that hold it among others
/// (batch_retrieve): kept as a record, not written as JSON to be parsed
/// back.
pub fn value(ctx: &Ctx, p: Params) -> Result<serde_json::Value, WsError> {
    answer(ctx, p, false).map(Answer::into_value)
}

/// The record, written as JSON as it is formatted when `encode` says so
/// and it has no line items.
fn answer(ctx: &Ctx, p: Params, encode: bool) -> Result<Answer, WsError> {
    let access = &p.caller.access;
    ctx.store.read(|conn| {
        let found = load_checked(conn, &ctx.registry, access, p.id.as_deref(), Action::View)?;
        if let Some((module, rec)) = found {
            // Most records: written as JSON as they are formatted.
            if encode && module.line_items.is_none() {
                return encode_loaded(conn, &ctx.registry, access, module, rec)
                    .map(Answer::Encoded);
            }
            let id = rec.id;
            let record = wire_loaded(conn, &ctx.registry, access, module, rec)?;
            return inventory::with_lines(conn, &ctx.registry, module, id, record)
                .map(Answer::Record);
        }
        match resolve(conn, &ctx.registry, access, p.id.as_deref(), Action::View)? {
            Target::Record(module, id) => {
                let record = wire_record(conn, &ctx.registry, access, module, id)?;
                inventory::with_lines(conn, &ctx.registry, module, id, record).map(Answer::Record)
            }
            Target::Row(module, id) => {
                row_to_wire(conn, &ctx.registry, module, id).map(Answer::Json)
            }
        }
    })
}
