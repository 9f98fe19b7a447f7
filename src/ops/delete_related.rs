//! # `POST webservice.php` `operation=delete_related&sourceRecordId=13x12&relatedRecordId=12x8&relationIdLabel=Contacts`
//! vtiger REST's unlink: removes the stored link add_related made. A record
//! related through a reference field stays related until that field changes.
use serde_json::{json, Value};

use super::add_related::{links, Params};
use super::records::now_pair;
use super::Ctx;
use crate::error::WsError;
use crate::store::relations;

/// `{"message":"successfull"}`, whether or not a link was there.
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let resolved = links(ctx, &p)?;
    let mut conn = ctx.store.conn()?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (now, _) = now_pair();
    for (related, _) in &resolved.related {
        relations::unlink(&tx, resolved.source, *related, now)?;
    }
    tx.commit()?;
    Ok(json!({"message": "successfull"}))
}
