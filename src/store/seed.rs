//! The rows a new database starts with (`fixtures/seed/seed.json`).
use rusqlite::Connection;
use serde_json::{Map, Value};

use super::tables::{insert_own_row, keying, Keying};
use super::users::{generate_access_key, USERS};
use crate::registry::Registry;

/// Inserts the seed rows in one transaction. The admin (the seed's first
/// user) gets `admin_key`, or a generated key that is returned to print once.
pub fn seed_new_database(
    conn: &mut Connection,
    registry: &Registry,
    admin_key: Option<&str>,
) -> Result<Option<String>, String> {
    let seed: Map<String, Value> = serde_json::from_str(crate::embedded::SEED_FILE)
        .map_err(|e| format!("fixtures/seed/seed.json: {e}"))?;
    let (key, generated) = match admin_key {
        Some(k) => (k.to_string(), None),
        None => {
            let k = generate_access_key();
            (k.clone(), Some(k))
        }
    };
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    for (module_name, rows) in seed.iter().filter(|(k, _)| !k.starts_with('_')) {
        let module = registry
            .module(module_name)
            .ok_or_else(|| format!("seed names unknown module {module_name}"))?;
        if keying(module) == Keying::Shared {
            return Err(format!(
                "seed rows of entity module {module_name} are not supported"
            ));
        }
        for row in rows.as_array().into_iter().flatten() {
            let mut values = row.as_object().cloned().unwrap_or_default();
            let id = values.remove("id").and_then(|v| v.as_i64());
            if module_name == USERS && id == Some(1) {
                values.insert("accesskey".into(), Value::String(key.clone()));
            }
            insert_own_row(&tx, module, id, &values)
                .map_err(|e| format!("seeding {module_name}: {e}"))?;
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(generated)
}
