//! # `GET webservice.php?operation=files_retrieve&id=15x43`
//! A record's file: `id` is the record module's prefix and the attachment
//! id (as `imageattachmentids` lists them), §3.3.
use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Value};

use super::records::{denied_for_id, denied_object};
use super::{Ctx, OpCall};
use crate::auth::access::{Access, Action};
use crate::error::WsError;
use crate::registry::WsId;
use crate::store::{attachments, records};

/// files_retrieve's parameters.
pub struct Params {
    id: Option<String>,
    access: Arc<Access>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            id: call.param("id").map(str::to_string),
            access: call.caller()?.access.clone(),
        })
    }
}

/// `[{"fileid","filename","filetype","filesize","filecontents"(base64)}]`.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let ws =
        p.id.as_deref()
            .and_then(WsId::parse)
            .ok_or_else(denied_for_id)?;
    let module = ctx
        .registry
        .module_by_prefix(ws.prefix)
        .ok_or_else(denied_for_id)?;
    let not_found =
        || WsError::RecordNotFound("Record you are trying to access is not found".into());
    let conn = ctx.store.conn()?;
    let file = attachments::load_live(&conn, ws.object)?.ok_or_else(not_found)?;
    // The file must belong to a live record of the module the id names…
    let (setype, owner) = records::live_entry(&conn, file.crmid)?.ok_or_else(not_found)?;
    if setype != module.name {
        return Err(not_found());
    }
    // …that the caller may read, in a field their profile shows.
    if !p.access.lists(module) || !p.access.on_record(module, owner, Action::View) {
        return Err(denied_object());
    }
    if !p.access.sees(module, &file.field) {
        return Err(not_found());
    }
    Ok(json!([{
        "fileid": ws.object.to_string(),
        "filename": file.filename,
        "filetype": file.filetype,
        "filesize": file.data.len(),
        "filecontents": base64::engine::general_purpose::STANDARD.encode(&file.data),
    }]))
}
