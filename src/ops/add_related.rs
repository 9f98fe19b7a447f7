//! # `POST webservice.php` `operation=add_related&sourceRecordId=13x12&relatedRecordId=12x8&relationIdLabel=Contacts`
//! Links records through one of the source's related lists (§3.3).
use std::sync::Arc;

use serde_json::{json, Value};

use super::query_related::unknown_relation;
use super::records::{denied_object, now_pair, resolve, Target};
use super::{Ctx, OpCall};
use crate::auth::access::{Access, Action};
use crate::error::WsError;
use crate::registry::{Links, ModuleDef, RelationDef};
use crate::store::relations;

/// add_related's (and delete_related's) parameters.
pub struct Params {
    access: Arc<Access>,
    source: Option<String>,
    related: Vec<String>,
    label: Option<String>,
}

impl Params {
    /// Reads them from the call. `relatedRecordId` is one id, or a JSON
    /// array of ids as vtiger also takes.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        let access = call.caller()?.access.clone();
        let related = call.param("relatedRecordId").unwrap_or_default();
        let related = match serde_json::from_str::<Vec<String>>(related) {
            Ok(list) => list,
            Err(_) => vec![related.to_string()],
        };
        Ok(Params {
            access,
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
/// INTERNAL_SERVER_ERROR); one the caller may not change is denied; each
/// related record must be one the caller may read; a related list that
/// does not hold the related record's module is an unknown relation.
pub fn links<'r>(ctx: &'r Ctx, p: &Params) -> Result<Resolved<'r>, WsError> {
    let conn = ctx.store.conn()?;
    let access = &p.access;
    let source = resolve(
        &conn,
        &ctx.registry,
        access,
        p.source.as_deref(),
        Action::Edit,
    );
    let (module, source) = match source {
        Ok(Target::Record(module, id)) => (module, id),
        Err(e) if e.message() == denied_object().message() => return Err(e),
        _ => return Err(WsError::InternalServerError),
    };
    let mut related = Vec::new();
    for id in &p.related {
        let (target, target_id) =
            match resolve(&conn, &ctx.registry, access, Some(id), Action::View)? {
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
    let resolved = links(ctx, &p)?;
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
