//! # `POST webservice.php` `operation=revise&element={"id":…, changed fields}`
//! A partial update: only the fields sent change, and only mandatory fields
//! that are sent must have a value (§3.3).
use serde_json::Value;

use super::records::Mandatory;
use super::update;
use super::{Answer, Ctx, OpCall};
use crate::error::WsError;

/// revise's parameters: update's.
pub type Params = update::Params;

/// The revised record.
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    update::apply(ctx, p, Mandatory::Present)
}

/// Reads them from the call; an element that is not a JSON object gets
/// vtiger's revise-specific message (spec §3.3).
pub fn params(call: &OpCall) -> Result<Params, WsError> {
    if !call.params.is_invalid_utf8("element")
        && !matches!(call.encoded("element"), Some(Value::Object(_)))
    {
        return Err(WsError::MandatoryFieldsMissing(
            "Mandatory field does not have a value".into(),
        ));
    }
    update::Params::from_call(call)
}
