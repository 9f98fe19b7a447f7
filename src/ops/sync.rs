//! # `GET webservice.php?operation=sync&modifiedTime=<unix>[&elementType=M]`
//! vtiger's change feed (§9): the records changed after `modifiedTime`, a
//! window of at most 100 changes widened to whole seconds, with `more` and
//! `lastModifiedTime` for the next call. Our additions, after vtiger's keys:
//! `syncToken`, a position in commit order that a client passes back
//! (`syncToken=`) to get exactly the changes after it, and `syncScope`.
use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::Value;

use super::records::{encode_records, PageWriter};
use super::{Answer, Ctx, OpCall};
use crate::auth::access::Access;
use crate::auth::Caller;
use crate::error::WsError;
use crate::http::envelope::JsonRecords;
use crate::registry::{ModuleDef, Registry, WsId};
use crate::store::access;
use crate::store::changes::{self, Owners};
use crate::store::records::{self, StoredRecord};
use crate::store::tables::{keying, Keying};

/// Changes per page: vtiger's 100.
const PAGE: u32 = 100;

/// sync's parameters.
pub struct Params {
    caller: Caller,
    modified_time: i64,
    element_type: Option<String>,
    sync_token: Option<String>,
    sync_scope: Option<String>,
}

impl Params {
    /// Reads them from the call. `syncType` is not read: vtiger's
    /// webservice.php never passes it on, and javanile/vtiger-client sends
    /// `syncType=application` by default, expecting the user's sync.
    pub fn from_call(call: &OpCall) -> Result<Self, WsError> {
        Ok(Params {
            caller: call.caller()?.clone(),
            modified_time: php_intval(call.param("modifiedTime").unwrap_or("0")),
            element_type: call.param("elementType").map(str::to_string),
            // Read as sent: `syncToken=0` is the start of the feed, not absent.
            sync_token: call.params.get("syncToken").map(str::to_string),
            sync_scope: call.param("syncScope").map(str::to_string),
        })
    }
}

/// PHP's `intval` of a string: optional blanks and sign, then digits; 0
/// when there are none; saturating as PHP's does on 64-bit.
fn php_intval(text: &str) -> i64 {
    let t = text.trim_start();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative {
        -n
    } else {
        n
    }
}

/// Unix seconds as the store writes times (UTC), clamped to what a
/// `YYYY-MM-DD hh:mm:ss` text can say.
fn db_time(unix: i64) -> String {
    let t = unix.clamp(-62_135_596_800, 253_402_300_799);
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn unix_time(db: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(db, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

/// The modules a sync covers: `elementType`, or every entity module of the
/// shared sequence the caller may use (not Users; actors never).
fn modules<'r>(
    ctx: &'r Ctx,
    access: &Access,
    element_type: Option<&str>,
) -> Result<Vec<&'r ModuleDef>, WsError> {
    let synced = |m: &&ModuleDef| keying(m) == Keying::Shared && access.lists(m);
    match element_type {
        None => Ok(ctx.registry.modules().iter().filter(synced).collect()),
        Some(name) => ctx
            .registry
            .module(name)
            .filter(synced)
            .map(|m| vec![m])
            .ok_or_else(WsError::denied),
    }
}

/// Whose records the caller's sync covers.
fn owners(
    conn: &Connection,
    registry: &Registry,
    caller: &Caller,
    scope: Option<&str>,
) -> Result<Owners, WsError> {
    match scope.unwrap_or("user") {
        "user" => Ok(Owners::Only(vec![caller.user_id()])),
        "userandgroup" => {
            let mut ids = vec![caller.user_id()];
            ids.extend(access::groups_of(conn, registry, caller.user_id())?);
            Ok(Owners::Only(ids))
        }
        "all" if caller.is_admin() => Ok(Owners::All),
        // vtiger's text for a non-admin application sync.
        "all" => Err(WsError::AccessDenied(
            "Only admin users can perform application sync".into(),
        )),
        other => Err(WsError::OperationNotSupported(format!(
            "syncScope {other} is not one of user, userandgroup, all"
        ))),
    }
}

fn ws_id(module: &ModuleDef, id: i64) -> Value {
    WsId::new(module.id_prefix, id).to_wire().into()
}

/// The changes and where the next call starts.
pub fn run(ctx: &Ctx, p: Params) -> Result<Answer, WsError> {
    let access = &p.caller.access;
    let modules = modules(ctx, access, p.element_type.as_deref())?;
    if modules.is_empty() {
        // vtiger's early return when the caller may use no module: its own
        // key order (spec §9).
        return Ok(Answer::Json(serde_json::json!({
            "updated": [], "deleted": [],
            "lastModifiedTime": p.modified_time, "more": false
        })));
    }
    let mut conn = ctx.store.conn()?;
    // One read transaction: the whole answer is one snapshot.
    let tx = conn.transaction()?;
    let owners = owners(&tx, &ctx.registry, &p.caller, p.sync_scope.as_deref())?;
    let answer = match &p.sync_token {
        Some(token) => {
            let token = token.trim().parse::<i64>().ok().filter(|t| *t >= 0);
            let token = token.ok_or(WsError::InvalidSyncToken)?;
            if token > changes::last_seq(&tx)? {
                return Err(WsError::InvalidSyncToken);
            }
            by_token(&tx, ctx, access, &modules, &owners, token, p.modified_time)?
        }
        None => by_time(&tx, ctx, access, &modules, &owners, p.modified_time)?,
    };
    Ok(answer)
}

/// vtiger's window: the `PAGE` oldest changes after `modified_time`, then
/// every change up to the latest of their seconds, grouped by module.
fn by_time(
    conn: &Connection,
    ctx: &Ctx,
    access: &Access,
    modules: &[&ModuleDef],
    owners: &Owners,
    modified_time: i64,
) -> Result<Answer, WsError> {
    let after = db_time(modified_time);
    let index = changes::window_index(conn, owners)?;
    let end = changes::window_end(conn, modules, owners, index, &after, PAGE)?;
    let (mut updated, mut deleted) = (JsonRecords::list(), Vec::new());
    if let Some(end) = &end {
        for module in modules {
            let mut live_ids = Vec::new();
            for (id, live) in changes::changed_between(conn, module, owners, &after, end)? {
                if live {
                    live_ids.push(id);
                } else {
                    deleted.push(ws_id(module, id));
                }
            }
            // In the window's order, written as they are read: a window
            // holds its whole last second, thousands after a bulk import.
            encode_records(conn, &ctx.registry, access, module, &live_ids, &mut updated)?;
        }
    }
    let last = end.as_deref().map(unix_time).unwrap_or(modified_time);
    let more = match &end {
        Some(end) => changes::changed_after(conn, modules, owners, index, end)?,
        None => false,
    };
    // A token that covers this window: a client may switch to syncToken.
    let token = changes::seq_before_time(conn, modules, last)?;
    Ok(Answer::Object(answer(updated, deleted, more, last, token)))
}

/// Our lossless feed: the changes after `token`, in commit order.
fn by_token(
    conn: &Connection,
    ctx: &Ctx,
    access: &Access,
    modules: &[&ModuleDef],
    owners: &Owners,
    token: i64,
    modified_time: i64,
) -> Result<Answer, WsError> {
    let page = changes::changes_after(conn, modules, owners, token, PAGE)?;
    let mut changed: Vec<(&ModuleDef, i64)> = Vec::with_capacity(page.len());
    for change in &page {
        let module = ctx
            .registry
            .module(&change.setype)
            .ok_or(WsError::InternalServerError)?;
        changed.push((module, change.crmid));
    }
    // The changed records still live and owned within the scope, loaded a
    // module at a time: one statement a module, where asking each record
    // whether it lives was a statement a change (a hundred a page).
    let mut shown: HashMap<(&str, i64), StoredRecord> = HashMap::new();
    let mut writers = Vec::new();
    for module in modules {
        let ids: Vec<i64> = changed
            .iter()
            .filter(|(m, _)| m.name == module.name)
            .map(|(_, id)| *id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        for record in records::load_many(conn, module, &ids)? {
            if owners.covers(record.owner) {
                shown.insert((module.name.as_str(), record.id), record);
            }
        }
        writers.push(PageWriter::new(module, access));
    }
    // In commit order, each written as it is formatted: a change whose
    // record is gone, or out of the scope, is a deletion.
    let (mut updated, mut deleted) = (JsonRecords::list(), Vec::new());
    for (module, id) in changed {
        let writer = writers.iter().find(|w| w.module().name == module.name);
        match (shown.remove(&(module.name.as_str(), id)), writer) {
            (Some(record), Some(writer)) => {
                writer.write(conn, &ctx.registry, record, &mut updated)?
            }
            _ => deleted.push(ws_id(module, id)),
        }
    }
    let full = page.len() == PAGE as usize;
    let next = match page.last() {
        Some(last) if full => last.seq,
        _ => changes::last_seq(conn)?,
    };
    let more = full && changes::logged_after(conn, modules, owners, next)?;
    let last = page
        .iter()
        .map(|c| c.changed_at)
        .max()
        .unwrap_or(modified_time);
    let mut out = answer(updated, deleted, more, last, next);
    let links = changes::links_between(conn, modules, owners, token, next)?;
    out.push((
        "relations",
        Answer::Json(Value::Array(
            links.iter().map(|l| link_row(ctx, l)).collect(),
        )),
    ));
    Ok(Answer::Object(out))
}

/// `{"action":"link","sourceRecordId":"13x12","relatedRecordId":"12x8"}`.
fn link_row(ctx: &Ctx, l: &changes::LinkChange) -> Value {
    let ws = |setype: &str, id: i64| {
        ctx.registry
            .module(setype)
            .map(|m| WsId::new(m.id_prefix, id).to_wire())
            .unwrap_or_default()
    };
    serde_json::json!({
        "action": l.action,
        "sourceRecordId": ws(&l.setype, l.crmid),
        "relatedRecordId": ws(&l.relsetype, l.relcrmid),
    })
}

/// vtiger's keys in vtiger's order, then ours.
fn answer(
    updated: JsonRecords,
    deleted: Vec<Value>,
    more: bool,
    last_modified: i64,
    token: i64,
) -> Vec<(&'static str, Answer)> {
    vec![
        ("updated", Answer::Encoded(updated.finish())),
        ("deleted", Answer::Json(Value::Array(deleted))),
        ("more", Answer::Json(Value::Bool(more))),
        ("lastModifiedTime", Answer::Json(last_modified.into())),
        ("syncToken", Answer::Json(token.to_string().into())),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_time_is_read_as_php_intval_reads_it() {
        assert_eq!(php_intval("1795353531"), 1795353531);
        assert_eq!(php_intval(" 42abc"), 42);
        assert_eq!(php_intval("-5"), -5);
        assert_eq!(php_intval("abc"), 0);
        assert_eq!(php_intval("99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn times_convert_both_ways_in_utc() {
        assert_eq!(db_time(0), "1970-01-01 00:00:00");
        assert_eq!(unix_time(&db_time(1795353531)), 1795353531);
        assert_eq!(db_time(i64::MAX), "9999-12-31 23:59:59");
    }
}
