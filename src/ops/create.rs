//! # `POST webservice.php` `operation=create&elementType=…&element={…}`
//! Creates a record and answers it as retrieve would (§3.3, §5).
use serde_json::{Map, Value};

use super::records::{
    element_object, now_pair, read_element, wire_record, writable_module, Mandatory,
};
use super::{Ctx, OpCall};
use crate::auth::Caller;
use crate::error::WsError;
use crate::store::records;

/// create's parameters.
pub struct Params {
    element_type: Option<String>,
    element: Map<String, Value>,
    caller: Caller,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            element_type: call.param("elementType").map(str::to_string),
            element: element_object(call)?,
            caller: call.caller()?.clone(),
        })
    }
}

/// The saved record with `id` and `label`.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let module = writable_module(&ctx.registry, p.element_type.as_deref(), &p.caller)?;
    let mut conn = ctx.store.conn()?;
    let write = read_element(&conn, &ctx.registry, module, &p.element, Mandatory::All)?;
    let (now, now_text) = now_pair();
    let id = records::insert(&mut conn, module, &write, p.caller.user_id, now, &now_text)?;
    wire_record(&conn, &ctx.registry, module, id)
}
