//! The change feed sync reads: vtiger's window over `crmentity.modifiedtime`
//! and our lossless one over the change log's commit sequence. Every call
//! takes the connection of one read transaction, so the whole answer comes
//! from one snapshot.
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::tables::{table, unconverted};
use crate::registry::ModuleDef;

/// Whose records a feed covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owners {
    /// Everyone's (application sync).
    All,
    /// These users' and groups' records.
    Only(Vec<i64>),
}

impl Owners {
    /// `AND <column> IN (?, …)` with its parameters, or nothing for All.
    fn condition(&self, column: &str, params: &mut Vec<Sql>) -> String {
        match self {
            Owners::All => String::new(),
            Owners::Only(ids) => {
                params.extend(ids.iter().map(|i| Sql::Integer(*i)));
                format!(" AND {column} IN ({})", vec!["?"; ids.len()].join(", "))
            }
        }
    }

    /// Whether records of `owner` are covered.
    pub fn covers(&self, owner: i64) -> bool {
        match self {
            Owners::All => true,
            Owners::Only(ids) => ids.contains(&owner),
        }
    }
}

fn in_list(names: &[&ModuleDef], params: &mut Vec<Sql>) -> String {
    params.extend(names.iter().map(|m| Sql::Text(m.name.clone())));
    vec!["?"; names.len()].join(", ")
}

/// Owners with fewer records than this have a window read through
/// `crmentity_owner` (every record of theirs, then the oldest changes);
/// others through `crmentity_module_changed` (each module's changes in
/// time order until the page is full of theirs).
const FEW_OWNED: i64 = 2_000;

/// The index a window of `owners`' records is read through, worked out
/// once a sync answer. On the 1M-record bench database (`sqlite3` shell and
/// the wire), the window of an owner of 250,000 records took 140-180 ms
/// through `crmentity_owner` and 0.3-1 ms through the module-and-time
/// index; an owner of none, 34-76 ms through that index and next to
/// nothing through the owner's. Counting up to [`FEW_OWNED`] of the
/// owners' records tells the two apart.
pub fn window_index(conn: &Connection, owners: &Owners) -> rusqlite::Result<&'static str> {
    if *owners == Owners::All {
        return Ok(BY_MODULE_AND_TIME);
    }
    let mut params = Vec::new();
    let scope = owners.condition("smownerid", &mut params);
    params.push(Sql::Integer(FEW_OWNED));
    let owned: i64 = super::cached_row(
        conn,
        &format!("SELECT COUNT(*) FROM (SELECT 1 FROM crmentity WHERE 1{scope} LIMIT ?)"),
        params_from_iter(params),
        |r| r.get(0),
    )?;
    Ok(if owned < FEW_OWNED {
        BY_OWNER
    } else {
        BY_MODULE_AND_TIME
    })
}

/// The indexes a window is read through, named in its statements: SQLite,
/// without statistics, picks by the lengths of the `IN` lists.
const BY_OWNER: &str = "crmentity_owner";
const BY_MODULE_AND_TIME: &str = "crmentity_module_changed";

/// The end of vtiger's window after `after`: the latest `modifiedtime` among
/// the `page` oldest changes (live or deleted) of `modules`, or `None` when
/// nothing changed; read through `index` ([`window_index`]).
pub fn window_end(
    conn: &Connection,
    modules: &[&ModuleDef],
    owners: &Owners,
    index: &str,
    after: &str,
    page: u32,
) -> rusqlite::Result<Option<String>> {
    let mut params = Vec::new();
    let types = in_list(modules, &mut params);
    params.push(Sql::Text(after.into()));
    let scope = owners.condition("smownerid", &mut params);
    params.push(Sql::Integer(page.into()));
    super::cached_row(
        conn,
        &window_end_sql(&types, &scope, index),
        params_from_iter(params),
        |r| r.get(0),
    )
}

fn window_end_sql(types: &str, scope: &str, index: &str) -> String {
    format!(
        "SELECT MAX(modifiedtime) FROM (SELECT modifiedtime FROM crmentity INDEXED BY {index}
         WHERE setype IN ({types}) AND modifiedtime > ?{scope}
         ORDER BY modifiedtime LIMIT ?)"
    )
}

/// Whether any record of `modules` changed after `after`, read through
/// `index` ([`window_index`]).
pub fn changed_after(
    conn: &Connection,
    modules: &[&ModuleDef],
    owners: &Owners,
    index: &str,
    after: &str,
) -> rusqlite::Result<bool> {
    let mut params = Vec::new();
    let types = in_list(modules, &mut params);
    params.push(Sql::Text(after.into()));
    let scope = owners.condition("smownerid", &mut params);
    super::cached_row(
        conn,
        &changed_after_sql(&types, &scope, index),
        params_from_iter(params),
        |r| r.get(0),
    )
}

fn changed_after_sql(types: &str, scope: &str, index: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM crmentity INDEXED BY {index}
         WHERE setype IN ({types}) AND modifiedtime > ?{scope})"
    )
}

/// The records of `module` changed in `(after, upto]`, in id order, each
/// with whether it is live (not deleted, not converted).
pub fn changed_between(
    conn: &Connection,
    module: &ModuleDef,
    owners: &Owners,
    after: &str,
    upto: &str,
) -> rusqlite::Result<Vec<(i64, bool)>> {
    let mut params = vec![
        Sql::Text(module.name.clone()),
        Sql::Text(after.into()),
        Sql::Text(upto.into()),
    ];
    // The window is narrow: its range of `crmentity_module_changed`, which
    // holds the owner, is read whoever the owners are.
    let scope = owners.condition("c.smownerid", &mut params);
    let mut stmt = conn.prepare_cached(&changed_between_sql(module, &scope))?;
    let rows = stmt.query_map(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn changed_between_sql(module: &ModuleDef, scope: &str) -> String {
    let live = match unconverted(module) {
        Some(c) => format!("c.deleted = 0 AND {c}"),
        None => "c.deleted = 0".into(),
    };
    format!(
        "SELECT c.crmid, {live} FROM crmentity c INDEXED BY {BY_MODULE_AND_TIME}
         JOIN {} m ON m._id = c.crmid
         WHERE c.setype = ? AND c.modifiedtime > ? AND c.modifiedtime <= ?{scope}
         ORDER BY c.crmid",
        table(module)
    )
}

/// One entry of the sequenced feed: a record's latest change in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The change's place in commit order.
    pub seq: i64,
    /// The record.
    pub crmid: i64,
    /// Its module.
    pub setype: String,
    /// When, in unix seconds.
    pub changed_at: i64,
}

/// The next `page` changes after `token` in commit order, of `modules` and
/// logged for `owners`; a record changed several times shows once, at its
/// latest change (its current state covers the earlier ones).
pub fn changes_after(
    conn: &Connection,
    modules: &[&ModuleDef],
    owners: &Owners,
    token: i64,
    page: u32,
) -> rusqlite::Result<Vec<Change>> {
    let mut params = vec![Sql::Integer(token)];
    let types = in_list(modules, &mut params);
    let scope = owners.condition("l.owner", &mut params);
    // `+` keeps SQLite on the per-record index here: the owner index would
    // walk every later change of the owner for each row (quadratic).
    let later_scope = owners.condition("+l2.owner", &mut params);
    params.push(Sql::Integer(page.into()));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.seq, l.crmid, l.setype, l.changed_at FROM changelog l
         WHERE l.seq > ? AND l.relcrmid IS NULL AND l.setype IN ({types}){scope}
           AND NOT EXISTS (SELECT 1 FROM changelog l2
                           WHERE l2.crmid = l.crmid AND l2.seq > l.seq
                             AND l2.relcrmid IS NULL{later_scope})
         ORDER BY l.seq LIMIT ?"
    ))?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        Ok(Change {
            seq: r.get(0)?,
            crmid: r.get(1)?,
            setype: r.get(2)?,
            changed_at: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// A link made or removed, as the syncToken feed reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    /// `link` or `unlink`.
    pub action: String,
    /// The record the link is listed under, and its module.
    pub crmid: i64,
    /// Its module.
    pub setype: String,
    /// The other record.
    pub relcrmid: i64,
    /// Its module.
    pub relsetype: String,
}

/// The link changes logged in `(after, upto]` for records of `modules`
/// and `owners`, in commit order.
pub fn links_between(
    conn: &Connection,
    modules: &[&ModuleDef],
    owners: &Owners,
    after: i64,
    upto: i64,
) -> rusqlite::Result<Vec<LinkChange>> {
    let mut params = vec![Sql::Integer(after), Sql::Integer(upto)];
    let types = in_list(modules, &mut params);
    let scope = owners.condition("l.owner", &mut params);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.action, l.crmid, l.setype, l.relcrmid, c.setype
         FROM changelog l JOIN crmentity c ON c.crmid = l.relcrmid
         WHERE l.seq > ? AND l.seq <= ? AND l.setype IN ({types}){scope}
         ORDER BY l.seq"
    ))?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        Ok(LinkChange {
            action: r.get(0)?,
            crmid: r.get(1)?,
            setype: r.get(2)?,
            relcrmid: r.get(3)?,
            relsetype: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Whether a change of `modules` for `owners` was logged after `token`.
pub fn logged_after(
    conn: &Connection,
    modules: &[&ModuleDef],
    owners: &Owners,
    token: i64,
) -> rusqlite::Result<bool> {
    let mut params = vec![Sql::Integer(token)];
    let types = in_list(modules, &mut params);
    let scope = owners.condition("owner", &mut params);
    super::cached_row(
        conn,
        &format!(
            "SELECT EXISTS (SELECT 1 FROM changelog WHERE seq > ? AND setype IN ({types}){scope})"
        ),
        params_from_iter(params),
        |r| r.get(0),
    )
}

/// The newest sequence number (0 for an empty log).
pub fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    super::cached_row(
        conn,
        "SELECT COALESCE(MAX(seq), 0) FROM changelog",
        [],
        |r| r.get(0),
    )
}

/// The time a change-log row is written with, for the SQL parameter `$now`:
/// never before the last change logged (a clock set back), so the log's
/// times stay in `seq` order, which [`seq_before_time`] relies on. Every
/// insert into `changelog` takes its `changed_at` from here.
macro_rules! logged_at {
    ($now:literal) => {
        concat!(
            "MAX(",
            $now,
            ", IFNULL((SELECT MAX(changed_at) FROM changelog), 0))"
        )
    };
}
pub(crate) use logged_at;

/// The token that covers everything logged up to `unix` seconds and
/// nothing after: one before the first later change of `modules`.
pub fn seq_before_time(
    conn: &Connection,
    modules: &[&ModuleDef],
    unix: i64,
) -> rusqlite::Result<i64> {
    let mut params = vec![Sql::Integer(unix)];
    let types = in_list(modules, &mut params);
    // `changed_at` never goes back in `seq` order (schema version 13), so
    // the first later change in time is the first in `seq`: found through
    // `changelog_time`, where `MIN(seq)` read the log from its start.
    let first_later: Option<i64> = super::cached_row(
        conn,
        &first_later_sql(&types),
        params_from_iter(params),
        |r| r.get(0),
    )
    .optional()?
    .flatten();
    match first_later {
        Some(seq) => Ok(seq - 1),
        None => last_seq(conn),
    }
}

fn first_later_sql(types: &str) -> String {
    format!(
        "SELECT seq FROM changelog INDEXED BY changelog_time
         WHERE changed_at > ? AND setype IN ({types}) ORDER BY changed_at, seq LIMIT 1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `sql`, one line a step.
    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![Sql::Null; stmt.parameter_count()];
        let steps: Vec<String> = stmt
            .query_map(params_from_iter(unbound), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        steps.join("\n")
    }

    #[test]
    fn vtigers_window_is_read_through_the_index_it_names() {
        let (_dir, store, registry) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let accounts = registry.module("Accounts").unwrap();
        let types = "?, ?, ?";
        for scope in ["", " AND smownerid IN (?, ?)"] {
            let by_time = [
                window_end_sql(types, scope, BY_MODULE_AND_TIME),
                changed_after_sql(types, scope, BY_MODULE_AND_TIME),
            ];
            for sql in by_time {
                let plan = plan(&conn, &sql);
                assert!(
                    plan.contains(
                        "COVERING INDEX crmentity_module_changed (setype=? AND modifiedtime>?)"
                    ),
                    "{sql}\n{plan}"
                );
            }
            let between = changed_between_sql(accounts, &scope.replace("smownerid", "c.smownerid"));
            let plan = plan(&conn, &between);
            assert!(
                plan.contains(
                    "crmentity_module_changed (setype=? AND modifiedtime>? AND modifiedtime<?)"
                ),
                "{between}\n{plan}"
            );
        }
        let scope = " AND smownerid IN (?, ?)";
        for sql in [
            window_end_sql(types, scope, BY_OWNER),
            changed_after_sql(types, scope, BY_OWNER),
        ] {
            let plan = plan(&conn, &sql);
            assert!(
                plan.contains("INDEX crmentity_owner (smownerid=?)"),
                "{sql}\n{plan}"
            );
        }
    }

    #[test]
    fn owners_of_few_records_have_their_window_read_through_theirs() {
        let (_dir, store, _) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let owners = Owners::Only(vec![7, 8]);
        let index = |conn: &Connection| window_index(conn, &owners).unwrap();
        assert_eq!(index(&conn), BY_OWNER);
        conn.execute(
            "INSERT INTO crmentity (setype, smownerid, createdtime, modifiedtime)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             SELECT 'Accounts', 8, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM n",
            [FEW_OWNED],
        )
        .unwrap();
        assert_eq!(index(&conn), BY_MODULE_AND_TIME);
        assert_eq!(
            window_index(&conn, &Owners::All).unwrap(),
            BY_MODULE_AND_TIME
        );
    }

    #[test]
    fn the_first_change_after_a_time_is_read_through_the_time_index_in_order() {
        let (_dir, store, _) = crate::store::open_for_test();
        let conn = store.conn().unwrap();
        let plan = plan(&conn, &first_later_sql("?, ?"));
        assert!(plan.contains("changelog_time (changed_at>?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
