//! # `GET webservice.php?operation=query_related&query=SELECT * FROM Contacts&id=11x3&relatedLabel=Contacts`
//! A VTQL query confined to one record's related list (§3.3). The client's
//! query has no `;`: vtiger appends it, so one sent with `;` is a syntax
//! error there and here.

use super::query::{answer, module_named};
use super::records::{resolve, Target};
use super::{Answer, Ctx, OpCall};
use crate::auth::access::Action;
use crate::auth::Caller;
use crate::error::WsError;
use crate::registry::{ModuleDef, RelationDef};
use crate::store::relations;
use crate::vtql::{self, ast::Expr};

/// query_related's parameters.
pub struct Params {
    /// The query, without its `;`.
    pub query: String,
    /// The record whose related list is read.
    pub id: Option<String>,
    /// The related list's label.
    pub label: String,
    /// The caller.
    pub caller: Caller,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            query: call.param("query").unwrap_or_default().to_string(),
            id: call.param("id").map(str::to_string),
            label: call.param("relatedLabel").unwrap_or_default().to_string(),
            caller: call.caller()?.clone(),
        })
    }
}

/// vtiger's error for a label and module that name no related list.
pub fn unknown_relation() -> WsError {
    WsError::UnknownEntity("Relation specified is incorrect".into())
}

/// The related list of `source` called `label` holding `module` records.
pub fn relation<'m>(source: &'m ModuleDef, label: &str, module: &str) -> Option<&'m RelationDef> {
    source
        .relations
        .iter()
        .find(|r| r.label == label && r.module == module)
}

/// The related records the query selects, as `query` shows them.
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    let (source, source_id) = {
        let conn = ctx.store.conn()?;
        let access = &p.caller.access;
        match resolve(&conn, &ctx.registry, access, p.id.as_deref(), Action::View)? {
            Target::Record(module, id) => (module, id),
            Target::Row(..) => return Err(unknown_relation()),
        }
    };
    let named = module_named(&p.query).unwrap_or_default();
    let relation = relation(source, &p.label, named).ok_or_else(unknown_relation)?;
    let mut select = vtql::parse(&format!("{};", p.query))?;
    let related = ctx
        .registry
        .module(&select.module)
        .filter(|m| m.name == relation.module)
        .ok_or_else(unknown_relation)?;
    if let Some(condition) = &relation.condition {
        let extra = vtql::parse(&format!(
            "SELECT * FROM {} WHERE {condition};",
            related.name
        ))?
        .filter
        .ok_or(WsError::InternalServerError)?;
        select.filter = Some(match select.filter.take() {
            Some(f) => Expr::And(Box::new(f), Box::new(extra)),
            None => extra,
        });
    }
    let members = relations::members(source, source_id, relation, related);
    answer(ctx, &p.caller.access, &select, Some(&members))
}
