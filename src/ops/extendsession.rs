//! # `POST webservice.php` `operation=extendsession&sessionName=…`
//! vtiger adopts a web-UI login here; with no web UI, we extend the live
//! webservice session the call came with (§2.6).
use serde_json::{json, Value};

use super::{Ctx, OpCall};
use crate::error::WsError;
use crate::{API_VERSION, VTIGER_VERSION};

/// extendsession's parameters: only the caller.
pub struct Params {
    session: Option<(String, String)>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Self {
        Params {
            session: call.caller.as_ref().map(|c| (c.session.clone(), c.ws_id())),
        }
    }
}

/// `{sessionName, userId, version, vtigerVersion}`; the front controller
/// already recorded the activity that extends the session.
pub fn run(_ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let (session, user) = p.session.ok_or(WsError::AuthenticationFailure)?;
    Ok(
        json!({"sessionName": session, "userId": user, "version": API_VERSION, "vtigerVersion": VTIGER_VERSION}),
    )
}
