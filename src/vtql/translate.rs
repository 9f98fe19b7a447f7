//! From a parsed query to parameterised SQL over the store. Module and column
//! names only ever come from the registry; every value is a bound parameter.
use std::fmt::Write;

use rusqlite::types::Value as Sql;

use super::ast::{Columns, Direction, Expr, Literal, Op, Select};
use crate::auth::access::{Access, Action};
use crate::error::WsError;
use crate::registry::{FieldDef, FieldType, ModuleDef, Registry, SystemField, WsId};
use crate::store::records;
use crate::store::records::is_numeric;
use crate::store::tables::{keying, page_to_view, table_ref, unconverted, view_ref, Keying};

/// A query ready to run: the SQL selecting its page (or the count), its
/// parameters, and what to show of each row.
#[derive(Debug)]
pub struct Plan<'r> {
    /// The module queried.
    pub module: &'r ModuleDef,
    /// SQL returning the count; the matching records of a shared-key
    /// module, as its record view's columns (`records::load_selected`);
    /// or, for other modules, their object ids.
    pub sql: String,
    /// Bound parameters, in order.
    pub params: Vec<Sql>,
    /// Whether the query is `count(*)`.
    pub count: bool,
    /// Fields to show, in order; `None` is `*`.
    pub columns: Option<Vec<String>>,
}

/// The column of a field that is not its module table's own: the id, or
/// a `crmentity` column of a shared-key record. Shared-key records join
/// `crmentity` as `c`; every keying has its rows in `m`.
fn fixed_column(module: &ModuleDef, field: Option<&FieldDef>) -> Option<[&'static str; 2]> {
    let Some(f) = field else {
        return Some(["m._id", "v.k0"]);
    };
    if keying(module) != Keying::Shared {
        return None;
    }
    // Each with its column of the record view (`records::view_sql`).
    match (f.system, f.kind) {
        (Some(SystemField::Createdtime), _) => Some(["c.createdtime", "v.k4"]),
        (Some(SystemField::Modifiedtime), _) => Some(["c.modifiedtime", "v.k5"]),
        (Some(SystemField::Modifiedby), _) => Some(["c.modifiedby", "v.k3"]),
        (Some(SystemField::Creator), _) => Some(["c.smcreatorid", "v.k2"]),
        (Some(SystemField::Source), _) => Some(["c.source", "v.k6"]),
        (None, FieldType::Owner) => Some(["c.smownerid", "v.k1"]),
        _ => None,
    }
}

/// How a statement names a record's columns: through the tables (`m` and,
/// for shared-key records, `crmentity c`), or through the module's record
/// view `v`, whose columns are `k0`… by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    Tables,
    View,
}

/// Appends the SQL expression of a field (or `id`) of `module`. The SQL is
/// written into one buffer: a `String` for each piece was ~3k of a query's
/// ~97k instructions (callgrind, BENCHMARKS.md).
fn push_column(out: &mut String, module: &ModuleDef, field: Option<&FieldDef>, names: Names) {
    match (fixed_column(module, field), names) {
        (Some([column, _]), Names::Tables) => out.push_str(column),
        (Some([_, column]), Names::View) => out.push_str(column),
        // Not the id: `field` is a field.
        (None, Names::Tables) => {
            out.push_str("m.\"");
            out.push_str(field.map_or("", |f| f.name.as_str()));
            out.push('"');
        }
        (None, Names::View) => {
            let name = field.map_or("", |f| f.name.as_str());
            match records::column_position(module, name) {
                Some(position) => {
                    out.push_str("v.k");
                    out.push_str(itoa::Buffer::new().format(records::FIRST_COLUMN + position));
                }
                // Every field but the fixed ones has a column; were one
                // without, SQLite would refuse the name, never read
                // another column in its place.
                None => {
                    out.push_str("v.\"");
                    out.push_str(name);
                    out.push('"');
                }
            }
        }
    }
}

/// Whether a field's column can never be NULL: the id and the `crmentity`
/// columns. Those compare as they are stored.
fn never_null(module: &ModuleDef, field: Option<&FieldDef>) -> bool {
    fixed_column(module, field).is_some()
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

/// A field the caller may query: one their profile hides is as unknown.
fn visible<'m>(module: &'m ModuleDef, access: &Access, name: &str) -> Option<Option<&'m FieldDef>> {
    lookup(module, name).filter(|_| access.sees(module, name))
}

/// A field a WHERE or ORDER BY names; vtiger's message when there is none.
fn where_field<'m>(
    module: &'m ModuleDef,
    access: &Access,
    name: &str,
) -> Result<Option<&'m FieldDef>, WsError> {
    visible(module, access, name).ok_or_else(|| {
        WsError::AccessDenied(format!("Permission to access {name} attribute denied."))
    })
}

/// Ids a query is confined to: `m._id IN (<sql>)` (a record's related
/// records, for query_related).
#[derive(Debug, Clone)]
pub struct Restriction {
    /// SQL selecting the allowed ids.
    pub sql: String,
    /// Its bound parameters, in order.
    pub params: Vec<Sql>,
}

/// Builds the plan for a caller with rights `access`; errors are vtiger's
/// (shared/golden seq 235-236, §8.3). `max_rows` is the default page and
/// its maximum (vtiger: 100). Rows the caller may not read are filtered in
/// the SQL, so pages and counts hold readable rows only.
pub fn plan<'r>(
    registry: &'r Registry,
    q: &Select,
    max_rows: u64,
    restrict: Option<&Restriction>,
    access: &Access,
) -> Result<Plan<'r>, WsError> {
    let module = registry
        .module(&q.module)
        .ok_or_else(|| WsError::denied_for_name(&q.module))?;
    if !access.lists(module) {
        return Err(WsError::denied());
    }
    if !access.may(module, Action::View) {
        return Err(WsError::AccessDenied("Permission to read is denied".into()));
    }
    let columns = match &q.columns {
        Columns::List(list) => {
            for c in list {
                visible(module, access, c).ok_or_else(|| {
                    WsError::AccessDenied(format!("Permission to access '.{c}.' attribute denied."))
                })?;
            }
            Some(list.clone())
        }
        _ => None,
    };
    // The module table drives the query: it holds only this module's rows,
    // so a filter on one of its indexed columns is an index search, and an
    // unfiltered page walks it in id order and stops at the LIMIT.
    let id = id_order(module, q.filter.as_ref());
    let count = q.columns == Columns::Count;
    let owners = access.readable_owners(module);
    // Every live record of an entity module, unfiltered: crmentity's
    // indexes list them without a look at their rows.
    let every_live_record = keying(module) == Keying::Shared
        && q.filter.is_none()
        && restrict.is_none()
        && owners.is_none()
        && module.query_filter.is_empty()
        && unconverted(module).is_none();
    if count && every_live_record {
        return Ok(count_live_plan(module, columns));
    }
    // A shared-key module's rows come whole: the page's ids joined to its
    // record view in one statement, not a second one to load them.
    let whole_rows = !count && keying(module) == Keying::Shared;
    // Or, for a page in id order that only equalities filter (a lookup by
    // name or email: most queries), straight from the view: its rows come
    // in id order, so no sort ever holds whole rows, and the page's records
    // are not found a second time.
    let direct = whole_rows
        && q.order.is_empty()
        && id == "m._id"
        && restrict.is_none()
        && owners.is_none()
        && module.query_filter.is_empty()
        && q.filter.as_ref().is_none_or(only_equalities);
    if direct && every_live_record {
        return live_page_plan(module, q, max_rows, columns);
    }
    if direct {
        return direct_plan(module, q, max_rows, access, columns);
    }
    let mut sql = String::with_capacity(256);
    if whole_rows {
        sql.push_str("SELECT v.* FROM (");
    }
    sql.push_str("SELECT ");
    sql.push_str(if count { "COUNT(*)" } else { id });
    if whole_rows {
        sql.push_str(" AS page_id");
    }
    sql.push_str(" FROM ");
    sql.push_str(table_ref(module));
    sql.push_str(" m");
    if keying(module) == Keying::Shared {
        sql.push_str(" JOIN crmentity c ON c.crmid = m._id");
    }
    let mut conditions = Conditions(&mut sql, 0);
    match keying(module) {
        Keying::Shared => {
            conditions.next().push_str("c.deleted = 0");
            // Converted leads are invisible (spec §8.3).
            if let Some(c) = unconverted(module) {
                conditions.next().push_str(&c);
            }
        }
        Keying::OwnWithDelete => conditions.next().push_str("m._deleted = 0"),
        Keying::Own => {}
    }
    let mut params = Vec::new();
    // vtiger's implicit filters (spec §8.3): active users, live currencies.
    for (name, value) in &module.query_filter {
        let field = lookup(module, name).ok_or_else(|| {
            WsError::AccessDenied(format!("Permission to access {name} attribute denied."))
        })?;
        let out = conditions.next();
        push_column(out, module, field, Names::Tables);
        out.push_str(" = ?");
        params.push(Sql::Text(value.as_str().unwrap_or_default().to_string()));
    }
    if let Some(r) = restrict {
        let out = conditions.next();
        out.push_str("m._id IN (");
        out.push_str(&r.sql);
        out.push(')');
        params.extend(r.params.iter().cloned());
    }
    // vtiger's non-admin access control: only owners the caller reaches.
    if let Some(owners) = owners {
        let out = conditions.next();
        out.push_str("c.smownerid IN (");
        push_placeholders(out, owners.len());
        out.push(')');
        params.extend(owners.into_iter().map(Sql::Integer));
    }
    if let Some(filter) = &q.filter {
        let out = conditions.next();
        condition(
            out,
            module,
            access,
            filter,
            true,
            &mut params,
            Names::Tables,
        )?;
    }
    if count {
        return Ok(Plan {
            module,
            sql,
            params,
            count: true,
            columns,
        });
    }
    sql.push_str(" ORDER BY ");
    for (name, dir) in &q.order {
        let field = where_field(module, access, name)?;
        push_order_key(&mut sql, module, field);
        sql.push_str(if *dir == Some(Direction::Desc) {
            " DESC, "
        } else {
            " ASC, "
        });
    }
    sql.push_str(id);
    sql.push_str(" ASC LIMIT ? OFFSET ?");
    if whole_rows {
        sql.push_str(page_to_view(module));
    }
    page_plan(module, sql, params, q, max_rows, columns)
}

/// [`plan`] for a page of whole shared-key records that only equalities
/// filter, in id order: one statement over the record view, whose
/// conditions SQLite moves onto its tables. Through the view, not the
/// tables themselves: the select list is ~1.5 kB, which rusqlite's
/// statement cache hashes and copies at each use (callgrind: that cost
/// more than the second look-up this saves).
fn direct_plan<'r>(
    module: &'r ModuleDef,
    q: &Select,
    max_rows: u64,
    access: &Access,
    columns: Option<Vec<String>>,
) -> Result<Plan<'r>, WsError> {
    let mut sql = String::with_capacity(128);
    sql.push_str("SELECT * FROM ");
    sql.push_str(view_ref(module));
    sql.push_str(" v");
    let mut params = Vec::new();
    if let Some(filter) = &q.filter {
        sql.push_str(" WHERE ");
        condition(
            &mut sql,
            module,
            access,
            filter,
            true,
            &mut params,
            Names::View,
        )?;
    }
    sql.push_str(" ORDER BY v.k0 ASC LIMIT ? OFFSET ?");
    page_plan(module, sql, params, q, max_rows, columns)
}

/// [`plan`] for `select count(*) from M;` of an entity module: a count of
/// index entries (`crmentity_module_live`), where joining every live
/// row to its module row took 47 ms at 100,000 records against 4 ms
/// (BENCHMARKS.md, 2026-12-07). Each crmentity row of a module has its
/// module row: both are written in one transaction, and neither is removed.
fn count_live_plan(module: &ModuleDef, columns: Option<Vec<String>>) -> Plan<'_> {
    Plan {
        module,
        sql: "SELECT COUNT(*) FROM crmentity WHERE setype = ? AND deleted = 0".into(),
        params: vec![Sql::Text(module.name.clone())],
        count: true,
        columns,
    }
}

/// [`plan`] for an unfiltered page of an entity module in id order (how
/// clients export a module: `limit 0, 100`, `limit 100, 100`, …): the
/// page's ids from `crmentity_module_live`, then their records. The OFFSET's
/// rows are skipped in the index; through the record view each one was a
/// look-up of its module row, 26 ms for a page at 45,000 against 4 ms at
/// 100,000 records (BENCHMARKS.md, 2026-12-07).
fn live_page_plan<'r>(
    module: &'r ModuleDef,
    q: &Select,
    max_rows: u64,
    columns: Option<Vec<String>>,
) -> Result<Plan<'r>, WsError> {
    let mut sql = String::with_capacity(192);
    sql.push_str("SELECT * FROM ");
    sql.push_str(view_ref(module));
    sql.push_str(
        " v WHERE v.k0 IN (SELECT crmid FROM crmentity WHERE setype = ? AND deleted = 0 \
         ORDER BY crmid LIMIT ? OFFSET ?) ORDER BY v.k0 ASC",
    );
    let params = vec![Sql::Text(module.name.clone())];
    page_plan(module, sql, params, q, max_rows, columns)
}

/// The plan of a page: `sql` with its `params`, then the page's LIMIT and
/// OFFSET ([`push_limit`]).
fn page_plan<'r>(
    module: &'r ModuleDef,
    sql: String,
    mut params: Vec<Sql>,
    q: &Select,
    max_rows: u64,
    columns: Option<Vec<String>>,
) -> Result<Plan<'r>, WsError> {
    push_limit(&mut params, q, max_rows);
    Ok(Plan {
        module,
        sql,
        params,
        count: false,
        columns,
    })
}

/// Binds a page's LIMIT and OFFSET: at most `max_rows`, from the start
/// unless the query says otherwise.
fn push_limit(params: &mut Vec<Sql>, q: &Select, max_rows: u64) {
    let limit = q
        .limit
        .map(|l| (l.offset.unwrap_or(0), l.count.min(max_rows)))
        .unwrap_or((0, max_rows));
    params.push(Sql::Integer(limit.1 as i64));
    params.push(Sql::Integer(limit.0.min(i64::MAX as u64) as i64));
}

/// Whether `e` is only equalities joined by AND: an index search on one of
/// them (or a walk of the module table) lists the rows in id order.
fn only_equalities(e: &Expr) -> bool {
    match e {
        Expr::And(a, b) => only_equalities(a) && only_equalities(b),
        Expr::Compare(_, Op::Eq, _) => true,
        _ => false,
    }
}

/// A WHERE clause being written after the FROM in a statement's text.
struct Conditions<'s>(&'s mut String, usize);

impl Conditions<'_> {
    /// The text, ready for the next condition (after ` WHERE ` or ` AND `).
    fn next(&mut self) -> &mut String {
        self.0
            .push_str(if self.1 == 0 { " WHERE " } else { " AND " });
        self.1 += 1;
        self.0
    }
}

/// Appends `n` comma-separated `?`.
fn push_placeholders(out: &mut String, n: usize) {
    for i in 0..n {
        out.push_str(if i == 0 { "?" } else { ", ?" });
    }
}

/// The id to order pages by. Normally the module table's, which walks that
/// table in order; when the filter pins a `crmentity` column (the owner), the
/// same id read from `crmentity`, whose index on that column lists its
/// records in id order, so the page needs no sort.
fn id_order(module: &ModuleDef, filter: Option<&Expr>) -> &'static str {
    fn pins_crmentity(module: &ModuleDef, e: &Expr) -> bool {
        let on_crmentity =
            |c: &str| lookup(module, c).is_some_and(|f| f.is_some() && never_null(module, f));
        match e {
            Expr::And(a, b) => pins_crmentity(module, a) || pins_crmentity(module, b),
            Expr::Compare(c, Op::Eq, _) | Expr::In(c, _) => on_crmentity(c),
            _ => false,
        }
    }
    match filter {
        Some(e) if keying(module) == Keying::Shared && pins_crmentity(module, e) => "c.crmid",
        _ => "m._id",
    }
}

/// Appends how a field compares and sorts: as the wire shows it. Numbers as
/// numbers (an empty number is 0, as vtiger's numeric columns default to
/// it), an empty checkbox as '0', text with NULL as ''.
fn push_sortable(out: &mut String, module: &ModuleDef, field: Option<&FieldDef>, names: Names) {
    let (before, after) = match field {
        Some(f) if is_numeric(f.kind) => ("COALESCE(CAST(", " AS REAL), 0)"),
        Some(f) if f.kind == FieldType::Boolean => ("COALESCE(NULLIF(", ", ''), '0')"),
        Some(_) => ("COALESCE(", ", '')"),
        None => ("", ""),
    };
    out.push_str(before);
    push_column(out, module, field, names);
    out.push_str(after);
}

/// Appends how a field orders a page: as it compares, except text, which
/// orders as stored: NULL before '' (as MySQL orders them for vtiger; both
/// show as ''), so that the column's index walks the page in order and
/// stops at the LIMIT instead of sorting every match.
fn push_order_key(out: &mut String, module: &ModuleDef, field: Option<&FieldDef>) {
    match field {
        Some(f) if !is_numeric(f.kind) && f.kind != FieldType::Boolean => {
            push_column(out, module, field, Names::Tables)
        }
        _ => push_sortable(out, module, field, Names::Tables),
    }
}

/// Appends the SQL of a WHERE condition. Text compares with NULL as `''`;
/// where that cannot change the answer (a column never NULL, or `=`, `>`,
/// `>=`, `IN`, `BETWEEN` against non-empty text) the bare column is
/// compared, so that its index can serve the filter. Only outside any NOT
/// (`positive`): there a NULL comparison is as false as `'' = 'x'`, under
/// NOT it is not.
fn condition(
    out: &mut String,
    module: &ModuleDef,
    access: &Access,
    e: &Expr,
    positive: bool,
    params: &mut Vec<Sql>,
    names: Names,
) -> Result<(), WsError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            out.push('(');
            condition(out, module, access, a, positive, params, names)?;
            out.push_str(if matches!(e, Expr::And(..)) {
                " AND "
            } else {
                " OR "
            });
            condition(out, module, access, b, positive, params, names)?;
            out.push(')');
        }
        Expr::Compare(c, op, v) => {
            let field = where_field(module, access, c)?;
            params.push(value(field, v, *op == Op::Like)?);
            let bare = positive && matches!(op, Op::Eq | Op::Gt | Op::Ge) && !is_empty(v);
            if *op == Op::Like {
                out.push_str("COALESCE(");
                push_column(out, module, field, names);
                out.push_str(", '')");
            } else {
                push_comparable(out, module, field, bare, names);
            }
            // The AST writes operators as SQL spells them.
            let _ = write!(out, " {op} ?");
        }
        Expr::In(c, values) => {
            let field = where_field(module, access, c)?;
            for v in values {
                params.push(value(field, v, false)?);
            }
            let bare = positive && !values.iter().any(is_empty);
            push_comparable(out, module, field, bare, names);
            out.push_str(" IN (");
            push_placeholders(out, values.len());
            out.push(')');
        }
        Expr::Not(e) => {
            out.push_str("NOT (");
            condition(out, module, access, e, false, params, names)?;
            out.push(')');
        }
        Expr::IsNull(c, is_null) => {
            let field = where_field(module, access, c)?;
            out.push_str(if *is_null {
                "COALESCE("
            } else {
                "NOT (COALESCE("
            });
            push_column(out, module, field, names);
            out.push_str(if *is_null {
                ", '') = ''"
            } else {
                ", '') = '')"
            });
        }
        Expr::Between(c, low, high) => {
            let field = where_field(module, access, c)?;
            params.push(value(field, low, false)?);
            params.push(value(field, high, false)?);
            let bare = positive && !is_empty(low);
            push_comparable(out, module, field, bare, names);
            out.push_str(" BETWEEN ? AND ?");
        }
    }
    Ok(())
}

/// Appends the expression a comparison uses: the bare column when
/// `bare_is_same` (or it is never NULL) and it is not a number kept as
/// text.
fn push_comparable(
    out: &mut String,
    module: &ModuleDef,
    field: Option<&FieldDef>,
    bare_is_same: bool,
    names: Names,
) {
    // Empty numbers and checkboxes stand for 0: never the bare column.
    let defaulted = field.is_some_and(|f| is_numeric(f.kind) || f.kind == FieldType::Boolean);
    if !defaulted && (bare_is_same || never_null(module, field)) {
        push_column(out, module, field, names)
    } else {
        push_sortable(out, module, field, names)
    }
}

fn is_empty(v: &Literal) -> bool {
    matches!(v, Literal::Text(t) if t.is_empty())
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

#[cfg(test)]
mod tests {
    use rusqlite::params_from_iter;

    use super::*;
    use crate::store::Store;

    /// The steps of SQLite's plan for choosing `query`'s page (or count),
    /// one line each: for a shared-key module, the subquery's.
    fn query_plan(store: &Store, registry: &Registry, query: &str) -> Vec<String> {
        let steps = statement_plan(store, registry, query);
        match steps.first().map(String::as_str) {
            Some("CO-ROUTINE p") => steps[1..]
                .iter()
                .take_while(|s| *s != "SCAN p")
                .cloned()
                .collect(),
            _ => steps,
        }
    }

    /// The steps of SQLite's plan for `query`'s whole statement.
    fn statement_plan(store: &Store, registry: &Registry, query: &str) -> Vec<String> {
        let select = crate::vtql::parse(query).unwrap();
        let plan = plan(registry, &select, 100, None, &Access::admin(1)).unwrap();
        let conn = store.conn().unwrap();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", plan.sql))
            .unwrap();
        stmt.query_map(params_from_iter(plan.params.iter()), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn open() -> (tempfile::TempDir, Store, Registry) {
        crate::store::open_for_test()
    }

    #[test]
    fn filters_on_indexed_columns_search_an_index_never_scan() {
        let (_dir, store, registry) = open();
        for query in [
            "select * from Accounts where id = '11x5';",
            "select * from Accounts where id in ('11x5', '11x6');",
            "select * from Accounts where accountname = 'Acme';",
            "select * from Accounts where accountname in ('Acme', 'Beta');",
            "select * from Accounts where email1 = 'a@example.com';",
            "select * from Accounts where assigned_user_id = '19x1';",
            "select * from Accounts where modifiedtime > '2026-01-01 00:00:00';",
            "select * from Accounts where modifiedtime between '2026-01-01' and '2026-02-01';",
            "select * from Accounts where accountname = 'Acme' or email1 = 'a@example.com';",
            "select count(*) from Accounts where accountname = 'Acme';",
            "select * from Accounts where accountname = 'Acme' and industry = 'Banking' order by employees desc limit 10, 5;",
            "select * from Contacts where account_id = '11x5';",
            "select * from Contacts where email = 'c@example.com';",
            "select * from HelpDesk where parent_id = '11x5';",
        ] {
            let steps = query_plan(&store, &registry, query);
            assert!(
                steps.iter().all(|s| !s.starts_with("SCAN")),
                "{query} scans: {steps:?}"
            );
            assert!(
                steps.iter().any(|s| s.contains("INDEX") || s.contains("PRIMARY KEY")),
                "{query}: {steps:?}"
            );
        }
    }

    #[test]
    fn an_owners_page_is_read_in_id_order_without_a_sort() {
        let (_dir, store, registry) = open();
        let steps = query_plan(
            &store,
            &registry,
            "select * from Accounts where assigned_user_id = '19x1' limit 200, 100;",
        );
        assert!(steps[0].contains("crmentity_owner"), "{steps:?}");
        assert!(
            steps.iter().all(|s| !s.contains("TEMP B-TREE")),
            "{steps:?}"
        );
    }

    #[test]
    fn a_pages_records_are_read_by_id_in_the_pages_order() {
        let (_dir, store, registry) = open();
        for query in [
            "select * from Accounts where accountname in ('Acme', 'Beta');",
            "select accountname from Accounts order by employees desc limit 10, 5;",
            "select * from Contacts where lastname like 'S%';",
        ] {
            let steps = statement_plan(&store, &registry, query);
            let rows: Vec<&String> = steps.iter().skip_while(|s| *s != "SCAN p").collect();
            // The page is the outer loop; each of its ids is one lookup.
            assert_eq!(steps[0], "CO-ROUTINE p", "{query}: {steps:?}");
            assert_eq!(rows[0], "SCAN p", "{query}: {steps:?}");
            assert!(
                rows[1..]
                    .iter()
                    .all(|s| s.contains("PRIMARY KEY")
                        || s.starts_with("CORRELATED SCALAR SUBQUERY")),
                "{query}: {steps:?}"
            );
        }
    }

    #[test]
    fn a_lookup_by_equalities_reads_its_rows_through_the_view_in_id_order() {
        let (_dir, store, registry) = open();
        for query in [
            "select * from Accounts where accountname = 'Acme';",
            "select accountname, website from Accounts where email1 = 'a@example.com';",
            "select * from Accounts where id = '11x5';",
            "select * from Accounts where accountname = 'Acme' and industry = 'Banking' limit 5;",
            "select * from Accounts where industry = 'Banking' limit 20, 10;",
            "select * from Accounts;",
            "select * from Contacts where account_id = '11x5';",
            "select * from Leads where lastname = 'Smith';",
        ] {
            let select = crate::vtql::parse(query).unwrap();
            let plan = plan(&registry, &select, 100, None, &Access::admin(1)).unwrap();
            assert!(
                plan.sql.starts_with("SELECT * FROM \"v_"),
                "{query}: {}",
                plan.sql
            );
            let steps = statement_plan(&store, &registry, query);
            assert!(
                !steps
                    .iter()
                    .any(|s| s.contains("TEMP B-TREE") || s.starts_with("SCAN c")),
                "{query}: {steps:?}"
            );
        }
        // Other filters and orders, an owner's records, and non-admins:
        // a page of ids, then its records.
        let clerk = Access {
            user_id: 7,
            default_rights: crate::auth::access::ModuleRights::ALL,
            sharing: [(
                "Accounts".to_string(),
                crate::auth::access::Sharing::Private,
            )]
            .into(),
            ..Access::default()
        };
        for (query, access) in [
            (
                "select * from Accounts where accountname = 'Acme' order by website;",
                Access::admin(1),
            ),
            (
                "select * from Accounts where accountname != 'Acme';",
                Access::admin(1),
            ),
            (
                "select * from Accounts where assigned_user_id = '19x1';",
                Access::admin(1),
            ),
            (
                "select * from Accounts where createdtime = '2026-01-01';",
                Access::admin(1),
            ),
            ("select * from Accounts where accountname = 'Acme';", clerk),
        ] {
            let select = crate::vtql::parse(query).unwrap();
            let plan = plan(&registry, &select, 100, None, &access).unwrap();
            assert!(
                plan.sql.starts_with("SELECT v.* FROM (SELECT"),
                "{query}: {}",
                plan.sql
            );
        }
    }

    #[test]
    fn filters_no_index_can_serve_do_scan() {
        let (_dir, store, registry) = open();
        for query in [
            "select * from Accounts where accountname like '%cme';",
            "select * from Accounts where accountname != 'Acme';",
            "select * from Accounts where accountname = '';",
        ] {
            let steps = query_plan(&store, &registry, query);
            assert!(
                steps.iter().any(|s| s.starts_with("SCAN")),
                "{query}: {steps:?}"
            );
        }
    }

    /// An export's statements: every live record, paged or counted.
    #[test]
    fn an_unfiltered_page_and_a_count_read_the_live_index_alone() {
        let (_dir, store, registry) = open();
        let page = query_plan(&store, &registry, "select * from Accounts limit 500, 100;");
        let skip = "USING COVERING INDEX crmentity_module_live";
        assert!(page.iter().any(|s| s.contains(skip)), "{page:?}");
        assert!(
            page.iter()
                .all(|s| !s.contains("TEMP B-TREE") && !s.starts_with("SCAN")),
            "no sort, no walk of a table: {page:?}"
        );
        let count = query_plan(&store, &registry, "select count(*) from Accounts;");
        assert_eq!(
            count,
            [format!("SEARCH crmentity {skip} (setype=? AND deleted=?)")]
        );
    }

    #[test]
    fn a_page_ordered_by_an_indexed_text_column_walks_its_index_without_a_sort() {
        let (_dir, store, registry) = open();
        let steps = query_plan(
            &store,
            &registry,
            "select * from Accounts order by accountname limit 300, 100;",
        );
        assert!(
            steps.iter().all(|s| !s.contains("TEMP B-TREE")),
            "no sort: {steps:?}"
        );
    }
}
