//! # `POST webservice.php` `operation=add_related&sourceRecordId=13x12&relatedRecordId=12x8&relationIdLabel=Contacts`
//! Links records through one of the source's related lists (§3.3).
use serde_json::{json, Value};

use super::query_related::unknown_relation;
use super::records::{now_pair, resolve_any, Target};
use super::{Ctx, OpCall};
use crate::error::WsError;
use crate::registry::{Links, ModuleDef, RelationDef};
use crate::store::relations;

/// add_related's (and delete_related's) parameters.
pub struct Params {
    source: Option<String>,
    related: Vec<String>,
    label: Option<String>,
}

impl Params {
    /// Reads them from the call. `relatedRecordId` is one id, or a JSON
    /// array of ids as vtiger also takes.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        call.caller()?;
        let related = call.param("relatedRecordId").unwrap_or_default();
        let related = match serde_json::from_str::<Vec<String>>(related) {
            Ok(list) => list,
            Err(_) => vec![related.to_string()],
        };
        Ok(Params {
            source: call.param("sourceRecordId").map(str::to_string),
            related,
            label: call.param("relationIdLabel").map(str::to_string),
        })
    }
}

/// The live records a call names: the source, then each related record
/// with the relation that links it.
pub struct Resolved<'r> {
    /// The source record's id.
    pub source: i64,
    /// Each related record's id and the relation it is linked through.
    pub related: Vec<(i64, &'r RelationDef)>,
}

/// Resolves the call's records and relations in vtiger's order: a source
/// that is not a live record fails as vtiger's does (a PHP exception, so
/// INTERNAL_SERVER_ERROR); a related list that does not hold the related
/// record's module is an unknown relation.
pub fn resolve<'r>(ctx: &'r Ctx, p: &Params) -> Result<Resolved<'r>, WsError> {
    let conn = ctx.store.conn()?;
    let (module, source) = match resolve_any(&conn, &ctx.registry, p.source.as_deref()) {
        Ok(Target::Record(module, id)) => (module, id),
        _ => return Err(WsError::InternalServerError),
    };
    let mut related = Vec::new();
    for id in &p.related {
        let (target, target_id) = match resolve_any(&conn, &ctx.registry, Some(id))? {
            Target::Record(m, id) => (m, id),
            Target::Row(..) => return Err(unknown_relation()),
        };
        let relation = pick(module, target, p.label.as_deref()).ok_or_else(unknown_relation)?;
        related.push((target_id, relation));
    }
    Ok(Resolved { source, related })
}

/// The related list named `label` (or, without one, the first) that holds
/// `target`'s module.
fn pick<'m>(
    source: &'m ModuleDef,
    target: &ModuleDef,
    label: Option<&str>,
) -> Option<&'m RelationDef> {
    source
        .relations
        .iter()
        .filter(|r| r.module == target.name)
        .find(|r| label.is_none_or(|l| r.label == l))
}

/// `{"message":"successfull"}` (sic, vtiger's spelling).
pub fn run(ctx: &Ctx, p: Params) -> Result<Value, WsError> {
    let resolved = resolve(ctx, &p)?;
    let mut conn = ctx.store.conn()?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (now, _) = now_pair();
    for (related, relation) in &resolved.related {
        let (from, to) = match relation.links {
            Links::Reverse => (*related, resolved.source),
            _ => (resolved.source, *related),
        };
        relations::link(&tx, from, to, now)?;
    }
    tx.commit()?;
    Ok(json!({"message": "successfull"}))
}
