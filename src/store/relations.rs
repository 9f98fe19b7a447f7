//! Which records are related: stored links (vtiger's crmentityrel) and
//! reference fields either way, as one id list that VTQL can be confined to.
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection};

use super::tables::table;
use crate::registry::{FieldType, Links, ModuleDef, RelationDef};
use crate::vtql::translate::Restriction;

/// Whether `field` refers to records of `module`.
fn refers_to(field: &crate::registry::FieldDef, module: &ModuleDef) -> bool {
    field.kind == FieldType::Reference
        && field
            .refers_to
            .as_deref()
            .unwrap_or_default()
            .contains(&module.name)
}

/// SQL selecting the ids of the records related to `source_id` (of
/// `source`) by `relation`, whose module is `related`.
pub fn members(
    source: &ModuleDef,
    source_id: i64,
    relation: &RelationDef,
    related: &ModuleDef,
) -> Restriction {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    if relation.links != Links::Reverse {
        parts.push("SELECT relcrmid FROM links WHERE crmid = ?".to_string());
        params.push(Sql::Integer(source_id));
    }
    if relation.links != Links::Forward {
        parts.push("SELECT crmid FROM links WHERE relcrmid = ?".to_string());
        params.push(Sql::Integer(source_id));
    }
    if relation.links == Links::Both {
        // A contact whose account_id is this account.
        for f in related.fields.iter().filter(|f| refers_to(f, source)) {
            parts.push(format!(
                "SELECT _id FROM {} WHERE \"{}\" = ?",
                table(related),
                f.name
            ));
            params.push(Sql::Text(source_id.to_string()));
        }
        // The contact this potential's contact_id names.
        for f in source.fields.iter().filter(|f| refers_to(f, related)) {
            parts.push(format!(
                "SELECT CAST(\"{}\" AS INTEGER) FROM {} WHERE _id = ? AND \"{0}\" <> ''",
                f.name,
                table(source)
            ));
            params.push(Sql::Integer(source_id));
        }
    }
    Restriction {
        sql: parts.join(" UNION "),
        params,
    }
}

/// Links two records; linking twice is one link. A new link is logged for
/// the syncToken feed. Returns whether it is new.
pub fn link(conn: &Connection, crmid: i64, relcrmid: i64, now: i64) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "INSERT OR IGNORE INTO links (crmid, relcrmid, linked_at) VALUES (?1, ?2, ?3)",
        params![crmid, relcrmid, now],
    )? > 0;
    if changed {
        log_link(conn, "link", crmid, relcrmid, now)?;
    }
    Ok(changed)
}

/// Removes the link between two records, whichever way it was made, and
/// logs it. Returns whether there was one.
pub fn unlink(conn: &Connection, a: i64, b: i64, now: i64) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(
        "DELETE FROM links WHERE (crmid = ?1 AND relcrmid = ?2) OR (crmid = ?2 AND relcrmid = ?1)
         RETURNING crmid, relcrmid",
    )?;
    let removed: Vec<(i64, i64)> = stmt
        .query_map(params![a, b], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (crmid, relcrmid) in &removed {
        log_link(conn, "unlink", *crmid, *relcrmid, now)?;
    }
    Ok(!removed.is_empty())
}

/// A change-log row for a link, under the first record's module and owner.
fn log_link(
    conn: &Connection,
    action: &str,
    crmid: i64,
    relcrmid: i64,
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        concat!(
            "INSERT INTO changelog (crmid, setype, action, owner, changed_at, relcrmid)
             SELECT crmid, setype, ?2, smownerid, ",
            super::changes::logged_at!("?3"),
            ", ?4 FROM crmentity WHERE crmid = ?1"
        ),
        params![crmid, action, now, relcrmid],
    )?;
    Ok(())
}
