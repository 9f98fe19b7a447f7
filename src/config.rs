//! Runtime settings: defaults, then `STRIPES_*` environment variables, then
//! command-line flags (clap applies the last two; the defaults live here).
use std::path::PathBuf;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind, `127.0.0.1:8080` by default; port 0 picks a free one.
    pub listen: String,
    /// SQLite database file, `./stripes.db` by default; created on first start.
    pub db_path: PathBuf,
    /// Seconds a session may stay unused before it dies (vtiger: 1800).
    pub session_idle_secs: i64,
    /// Seconds a session may live at all (vtiger's designed 86400).
    pub session_max_secs: i64,
    /// The admin's access key on a new database (`STRIPES_ADMIN_ACCESS_KEY`).
    pub admin_access_key: Option<String>,
    /// Read module definitions from this folder instead of the built-in copy.
    pub schema_dir: Option<PathBuf>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// The most rows one query answers (vtiger: 100; clients page by it).
    pub query_max_rows: u64,
    /// Microseconds a short read may spend in SQLite on the HTTP worker that
    /// received it before it is run again in the blocking pool; 0 sends
    /// every request to the pool.
    pub inline_budget_us: u64,
}

/// The default listen address, a contract with tools that start us.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default database path, relative to the working directory.
pub const DEFAULT_DB: &str = "./stripes.db";

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            db_path: PathBuf::from(DEFAULT_DB),
            session_idle_secs: 1800,
            session_max_secs: 86_400,
            admin_access_key: None,
            schema_dir: None,
            workers: 0,
            query_max_rows: 100,
            inline_budget_us: 1000,
        }
    }
}
