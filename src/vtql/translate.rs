//! From a parsed query to parameterised SQL over the store. Module and column
//! names only ever come from the registry; every value is a bound parameter.
use rusqlite::types::Value as Sql;

use super::ast::{Columns, Direction, Expr, Literal, Op, Select};
use crate::error::WsError;
use crate::registry::{FieldDef, FieldType, ModuleDef, Registry, SystemField, WsId};
use crate::store::records::is_numeric;
use crate::store::tables::{keying, table, Keying};

/// A query ready to run: the SQL selecting matching object ids (or the
/// count), its parameters, and what to show of each row.
#[derive(Debug)]
pub struct Plan<'r> {
    /// The module queried.
    pub module: &'r ModuleDef,
    /// SQL returning one column: object ids, or the count.
    pub sql: String,
    /// Bound parameters, in order.
    pub params: Vec<Sql>,
    /// Whether the query is `count(*)`.
    pub count: bool,
    /// Fields to show, in order; `None` is `*`.
    pub columns: Option<Vec<String>>,
}

/// The SQL expression of a field (or `id`) of `module`.
fn column_sql(module: &ModuleDef, field: Option<&FieldDef>) -> String {
    let shared = keying(module) == Keying::Shared;
    let Some(f) = field else {
        return if shared {
            "c.crmid".into()
        } else {
            "m._id".into()
        };
    };
    if shared {
        match (f.system, f.kind) {
            (Some(SystemField::Createdtime), _) => return "c.createdtime".into(),
            (Some(SystemField::Modifiedtime), _) => return "c.modifiedtime".into(),
            (Some(SystemField::Modifiedby), _) => return "c.modifiedby".into(),
            (Some(SystemField::Creator), _) => return "c.smcreatorid".into(),
            (Some(SystemField::Source), _) => return "c.source".into(),
            (None, FieldType::Owner) => return "c.smownerid".into(),
            _ => {}
        }
    }
    format!("m.\"{}\"", f.name)
}

/// A queryable field of `module` called `name`; `id` is `Some(None)`.
fn lookup<'m>(module: &'m ModuleDef, name: &str) -> Option<Option<&'m FieldDef>> {
    if name == "id" {
        return Some(None);
    }
    module
        .fields
        .iter()
        .find(|f| f.name == name && f.record && !f.is_id())
        .map(Some)
}

/// A field a WHERE or ORDER BY names; vtiger's message when there is none.
fn where_field<'m>(module: &'m ModuleDef, name: &str) -> Result<Option<&'m FieldDef>, WsError> {
    lookup(module, name).ok_or_else(|| {
        WsError::AccessDenied(format!("Permission to access {name} attribute denied."))
    })
}

/// Builds the plan; errors are vtiger's (shared/golden seq 235-236).
/// `max_rows` is the default page and its maximum (vtiger: 100).
pub fn plan<'r>(registry: &'r Registry, q: &Select, max_rows: u64) -> Result<Plan<'r>, WsError> {
    let module = registry.module(&q.module).ok_or_else(|| {
        WsError::AccessDenied(format!(
            "Permission to perform the operation is denied for name : {}",
            q.module
        ))
    })?;
    let columns = match &q.columns {
        Columns::List(list) => {
            for c in list {
                lookup(module, c).ok_or_else(|| {
                    WsError::AccessDenied(format!("Permission to access '.{c}.' attribute denied."))
                })?;
            }
            Some(list.clone())
        }
        _ => None,
    };
    let (from, mut conditions, mut params) = match keying(module) {
        Keying::Shared => (
            format!("crmentity c JOIN {} m ON m._id = c.crmid", table(module)),
            vec!["c.setype = ?".to_string(), "c.deleted = 0".to_string()],
            vec![Sql::Text(module.name.clone())],
        ),
        // vtiger lists only active users (spec §8.3).
        Keying::OwnWithDelete => (
            format!("{} m", table(module)),
            vec!["m._deleted = 0".into(), "m.status = 'Active'".into()],
            vec![],
        ),
        Keying::Own => (format!("{} m", table(module)), vec![], vec![]),
    };
    if let Some(filter) = &q.filter {
        conditions.push(condition(module, filter, &mut params)?);
    }
    let where_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let id = column_sql(module, None);
    if q.columns == Columns::Count {
        return Ok(Plan {
            module,
            sql: format!("SELECT COUNT(*) FROM {from}{where_sql}"),
            params,
            count: true,
            columns,
        });
    }
    let mut order = Vec::new();
    for (name, dir) in &q.order {
        let field = where_field(module, name)?;
        let dir = if *dir == Some(Direction::Desc) {
            "DESC"
        } else {
            "ASC"
        };
        order.push(format!("{} {dir}", sortable(module, field)));
    }
    order.push(format!("{id} ASC"));
    let limit = q
        .limit
        .map(|l| (l.offset.unwrap_or(0), l.count.min(max_rows)))
        .unwrap_or((0, max_rows));
    params.push(Sql::Integer(limit.1 as i64));
    params.push(Sql::Integer(limit.0.min(i64::MAX as u64) as i64));
    Ok(Plan {
        module,
        sql: format!(
            "SELECT {id} FROM {from}{where_sql} ORDER BY {} LIMIT ? OFFSET ?",
            order.join(", ")
        ),
        params,
        count: false,
        columns,
    })
}

/// How a field compares and sorts: numbers as numbers (an empty number is
/// 0, as vtiger's numeric columns default to it), text with NULL as ''.
fn sortable(module: &ModuleDef, field: Option<&FieldDef>) -> String {
    let expr = column_sql(module, field);
    match field {
        Some(f) if is_numeric(f.kind) => format!("COALESCE(CAST({expr} AS REAL), 0)"),
        Some(_) => format!("COALESCE({expr}, '')"),
        None => expr,
    }
}

fn condition(module: &ModuleDef, e: &Expr, params: &mut Vec<Sql>) -> Result<String, WsError> {
    Ok(match e {
        Expr::And(a, b) => format!(
            "({} AND {})",
            condition(module, a, params)?,
            condition(module, b, params)?
        ),
        Expr::Or(a, b) => format!(
            "({} OR {})",
            condition(module, a, params)?,
            condition(module, b, params)?
        ),
        Expr::Compare(c, op, v) => {
            let field = where_field(module, c)?;
            params.push(value(field, v, *op == Op::Like)?);
            let expr = if *op == Op::Like {
                format!("COALESCE({}, '')", column_sql(module, field))
            } else {
                sortable(module, field)
            };
            // The AST writes operators as SQL spells them.
            format!("{expr} {op} ?")
        }
        Expr::In(c, values) => {
            let field = where_field(module, c)?;
            for v in values {
                params.push(value(field, v, false)?);
            }
            format!(
                "{} IN ({})",
                sortable(module, field),
                vec!["?"; values.len()].join(", ")
            )
        }
        Expr::Not(e) => format!("NOT ({})", condition(module, e, params)?),
        Expr::IsNull(c, is_null) => {
            let field = where_field(module, c)?;
            let empty = format!("COALESCE({}, '') = ''", column_sql(module, field));
            if *is_null {
                empty
            } else {
                format!("NOT ({empty})")
            }
        }
        Expr::Between(c, low, high) => {
            let field = where_field(module, c)?;
            params.push(value(field, low, false)?);
            params.push(value(field, high, false)?);
            format!("{} BETWEEN ? AND ?", sortable(module, field))
        }
    })
}

/// A literal as the parameter its column compares with: webservice ids
/// become object ids (a value without `x` is INVALID_ID_ATTRIBUTE, spec
/// §8.3), numbers become numbers.
fn value(field: Option<&FieldDef>, v: &Literal, like: bool) -> Result<Sql, WsError> {
    let text = match v {
        Literal::Text(t) | Literal::Number(t) => t.clone(),
    };
    if like {
        return Ok(Sql::Text(text));
    }
    let by_id = match field {
        None => true,
        Some(f) => {
            matches!(f.kind, FieldType::Owner)
                || (f.kind == FieldType::Reference
                    && !f.refers_to.as_deref().unwrap_or_default().is_empty())
        }
    };
    if by_id {
        let ws = WsId::parse(&text).ok_or(WsError::InvalidIdAttribute)?;
        return Ok(match field {
            None => Sql::Integer(ws.object),
            // References are stored as text of the object id.
            Some(f) if f.kind == FieldType::Reference => Sql::Text(ws.object.to_string()),
            Some(_) => Sql::Integer(ws.object),
        });
    }
    match field {
        Some(f) if is_numeric(f.kind) => Ok(text
            .trim()
            .parse::<f64>()
            .map(Sql::Real)
            .unwrap_or(Sql::Text(text))),
        _ => Ok(Sql::Text(text)),
    }
}
