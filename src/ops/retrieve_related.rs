//! # `GET webservice.php?operation=retrieve_related&id=11x3&relatedType=Contacts&relatedLabel=Contacts`
//! Every field of a record's related records: vtiger runs it as
//! `query_related("SELECT * FROM <relatedType>", id, relatedLabel)` (§3.3).

use super::{query_related, Answer, Ctx, OpCall};
use crate::error::WsError;

/// retrieve_related's parameters, as query_related's.
pub fn params(call: &OpCall) -> Result<query_related::Params, WsError> {
    Ok(query_related::Params {
        caller: call.caller()?.clone(),
        query: format!(
            "SELECT * FROM {}",
            call.param("relatedType").unwrap_or_default()
        ),
        id: call.param("id").map(str::to_string),
        label: call.param("relatedLabel").unwrap_or_default().to_string(),
    })
}

/// The related records.
pub fn run(ctx: &Ctx, p: query_related::Params) -> Result<Answer, WsError> {
    query_related::run(ctx, p)
}
