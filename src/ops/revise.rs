//! # `POST webservice.php` `operation=revise&element={"id":…, changed fields}`
//! A partial update: only the fields sent change, and only mandatory fields
//! that are sent must have a value (§3.3).
use serde_json::Value;

use super::records::Mandatory;
use super::update;
use super::{Ctx, OpCall};
use crate::error::WsError;

/// revise's parameters: update's.
pub type Params = update::Params;

/// The revised record.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    update::apply(ctx, p, Mandatory::Present)
}

/// Reads them from the call.
pub fn params(call: &OpCall) -> Result<Params, WsError> {
    update::Params::from_call(call)
}
