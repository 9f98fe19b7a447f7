//! # `GET webservice.php?operation=query&query=SELECT … ;`
//! VTQL (§8): a list of records (no `label`), or `[{"count":"N"}]`.
use std::sync::Arc;

use rusqlite::params_from_iter;
use serde_json::{json, Map, Value};

use super::records::{encode_selected, row_to_wire, wire_selected, FieldNames, WireRecord};
use super::{Answer, Ctx, OpCall};
use crate::auth::access::Access;
use crate::error::WsError;
use crate::store;
use crate::store::tables::{keying, Keying};
use crate::vtql::ast::Select;
use crate::vtql::{self, translate};

/// query's parameters.
pub struct Params {
    query: Option<String>,
    access: Arc<Access>,
}

impl Params {
    /// Reads them from the call.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            query: call.param("query").map(str::to_string),
            access: call.caller()?.access.clone(),
        })
    }
}

/// The module name as vtiger finds it before parsing: the word after the
/// first `FROM` (case-insensitive), up to whitespace or `;`.
pub fn module_named(query: &str) -> Option<&str> {
    // Compared in place: a lowercased copy of the query was an allocation
    // and a pass over it at every query.
    let bytes = query.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..]
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b"from"))
    {
        let start = from + i + 4;
        let rest = &query[start..];
        let trimmed = rest.trim_start();
        if trimmed.len() < rest.len() {
            let name: &str = trimmed
                .split(|c: char| c.is_whitespace() || c == ';')
                .next()
                .unwrap_or("");
            if !name.is_empty() {
                return Some(name);
            }
        }
        from = start;
    }
    None
}

/// The matching records, at most 100 a page.
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    let denied_query =
        || WsError::AccessDenied("Permission to perform the operation is denied for query".into());
    let query = p.query.ok_or_else(denied_query)?;
    // vtiger resolves the module before it parses (shared/golden seq 232, 234).
    let name = module_named(&query).ok_or_else(denied_query)?;
    if ctx.registry.module(name).is_none() {
        return Err(WsError::denied_for_name(name));
    }
    let select = vtql::parse(&query)?;
    answer(ctx, &p.access, &select, None)
}

/// Runs a parsed query for a caller with rights `access`, confined to
/// `restrict` when given: the rows they may read, or `[{"count":"N"}]`.
pub fn answer(
    ctx: &Ctx,
    access: &Access,
    select: &Select,
    restrict: Option<&translate::Restriction>,
) -> Result<Answer, WsError> {
    let plan = translate::plan(&ctx.registry, select, ctx.query_max_rows, restrict, access)?;
    let columns = plan.columns.as_deref();
    ctx.store.read(|conn| {
        let params = || params_from_iter(plan.params.iter());
        if plan.count {
            let n: i64 = store::cached_row(conn, &plan.sql, params(), |r| r.get(0))?;
            return Ok(Answer::Json(json!([{"count": n.to_string()}])));
        }
        let (registry, module, sql) = (&ctx.registry, plan.module, plan.sql.as_str());
        Ok(match (keying(module), columns) {
            // Query rows carry no label (spec §8.3); one statement a page.
            // `select *`: every field in module order, then `id`, written
            // as JSON while the rows are read.
            (Keying::Shared, None) => {
                let page = encode_selected(conn, registry, access, module, sql, params())?;
                Answer::Encoded(page)
            }
            (Keying::Shared, Some(columns)) => {
                let records = wire_selected(conn, registry, access, module, sql, params())?;
                let selected = selected_names(columns);
                let rows = records
                    .into_iter()
                    .map(|r| project_record(r, &selected))
                    .collect();
                Answer::Records(rows)
            }
            _ => {
                let ids: Vec<i64> = conn
                    .prepare_cached(sql)?
                    .query_map(params(), |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let id_column = module.id_column.as_deref();
                let rows = ids
                    .iter()
                    .map(|id| {
                        let row = row_to_wire(conn, registry, module, *id)?;
                        Ok(project(row, columns, id_column))
                    })
                    .collect::<Result<_, WsError>>()?;
                Answer::Json(Value::Array(rows))
            }
        })
    })
}

/// The selected columns but `id`, which always comes last, each once (a
/// JSON object has a key once): the field names every row shares.
fn selected_names(columns: &[String]) -> Arc<FieldNames> {
    let mut names: Vec<String> = Vec::with_capacity(columns.len());
    for c in columns.iter().filter(|c| *c != "id") {
        if !names.contains(c) {
            names.push(c.clone());
        }
    }
    FieldNames::new(names)
}

/// A record with the `selected` columns in select order (a column it does
/// not show is empty), then `id`.
fn project_record(full: WireRecord, selected: &Arc<FieldNames>) -> WireRecord {
    let mut out = WireRecord::with_fields(selected.clone());
    for c in selected.names() {
        out.push_field(full.get(c).unwrap_or_default());
    }
    out.push_tail("id", full.get("id").unwrap_or_default().into());
    out
}

/// The selected columns in select order, then `id`. For `*`, every field;
/// actor rows start with `id` and leave out their id column
/// (shared/golden seq 251-252).
fn project(full: Value, columns: Option<&[String]>, id_column: Option<&str>) -> Value {
    let Value::Object(mut full) = full else {
        return full;
    };
    let id = full.shift_remove("id").unwrap_or(Value::Null);
    let mut out = Map::new();
    match (columns, id_column) {
        (Some(cols), _) => {
            for c in cols.iter().filter(|c| *c != "id") {
                out.insert(c.clone(), full.get(c).cloned().unwrap_or_else(|| json!("")));
            }
            out.insert("id".into(), id);
        }
        (None, Some(id_column)) => {
            full.shift_remove(id_column);
            out.insert("id".into(), id);
            out.extend(full);
        }
        (None, None) => {
            full.insert("id".into(), id);
            return Value::Object(full);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::module_named;

    #[test]
    fn the_module_is_the_word_after_the_first_free_standing_from() {
        for (query, module) in [
            ("SELECT * FROM Accounts;", Some("Accounts")),
            ("select id fRoM\tLeads where x = 1;", Some("Leads")),
            ("select fromage from Contacts;", Some("Contacts")),
            ("select 'é' from  Potentials", Some("Potentials")),
            ("select * fromAccounts;", None),
            ("select * from ;", None),
            ("select count(*)", None),
        ] {
            assert_eq!(module_named(query), module, "{query}");
        }
    }
}
