//! # `POST webservice.php` `operation=logout&sessionName=…`
//! Ends the session (§2.5). The only operation that checks the HTTP method.
use actix_web::http::Method;
use serde_json::{json, Value};

use super::{Ctx, OpCall};
use crate::auth::session;
use crate::error::{WsError, DENIED};

/// logout's parameters.
pub struct Params {
    session: String,
}

impl Params {
    /// Reads them from the call; vtiger refuses any method but POST.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        if call.raw.method != Method::POST {
            return Err(WsError::OperationNotSupported(DENIED.into()));
        }
        Ok(Params {
            session: call.caller()?.session.clone(),
        })
    }
}

/// `{"message":"successfull"}` (sic: a few clients compare the text).
/// The session that authenticated the call is the one ended, so a session
/// never outlives its logout (vtiger's can).
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    session::close(&*ctx.store.conn()?, &p.session)?;
    Ok(json!({"message": "successfull"}))
}
