//! Rows of own-keyed tables: users and actors (Groups, Currency, …).
use std::collections::HashMap;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension};

use super::tables::{has_column, keying, table, Keying};
use crate::registry::ModuleDef;

/// Row `id` of `module` as text by field name, or `None` when there is no
/// such (live) row.
pub fn load(
    conn: &Connection,
    module: &ModuleDef,
    id: i64,
) -> rusqlite::Result<Option<HashMap<String, Option<String>>>> {
    let columns: Vec<&str> = module
        .fields
        .iter()
        .filter(|f| has_column(module, f))
        .map(|f| f.name.as_str())
        .collect();
    let select = if columns.is_empty() {
        "_id".to_string()
    } else {
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let live = if keying(module) == Keying::OwnWithDelete {
        " AND _deleted = 0"
    } else {
        ""
    };
    conn.query_row(
        &format!(
            "SELECT {select} FROM {} WHERE _id = ?1{live}",
            table(module)
        ),
        [id],
        |r| {
            let mut row = HashMap::new();
            for (i, c) in columns.iter().enumerate() {
                let v = match r.get::<_, Sql>(i)? {
                    Sql::Null => None,
                    Sql::Integer(n) => Some(n.to_string()),
                    Sql::Real(f) => Some(f.to_string()),
                    Sql::Text(t) => Some(t),
                    Sql::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                };
                row.insert(c.to_string(), v);
            }
            Ok(row)
        },
    )
    .optional()
}
