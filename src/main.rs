//! The `stripes` command: `stripes serve` (the default) and `stripes users …`.
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use stripes::admin;
use stripes::config::{Config, DEFAULT_DB, DEFAULT_LISTEN};
use stripes::startup::Application;
use stripes::{registry::Registry, store};

/// A vtiger-compatible webservice.php server with an embedded database.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// SQLite database file (created, migrated and seeded on first start).
    #[arg(long, global = true, env = "STRIPES_DB", default_value = DEFAULT_DB)]
    db: PathBuf,
    /// Read module definitions from DIR (modules/*.json, operations.json,
    /// fieldtypes.json) instead of the copy built into the binary.
    #[arg(long, global = true, env = "STRIPES_SCHEMA_DIR", value_name = "DIR")]
    schema_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /webservice.php (what running with no command does).
    Serve(ServeArgs),
    #[command(flatten)]
    Admin(admin::Command),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STRIPES_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// Seconds a session may stay idle before it expires.
    #[arg(long, env = "STRIPES_SESSION_IDLE_SECS", default_value_t = 1800)]
    session_idle_secs: i64,
    /// Seconds a session may live at most.
    #[arg(long, env = "STRIPES_SESSION_MAX_SECS", default_value_t = 86_400)]
    session_max_secs: i64,
    /// HTTP worker threads (0 = one per core).
    #[arg(long, env = "STRIPES_WORKERS", default_value_t = 0)]
    workers: usize,
    /// The most rows one query answers (vtiger's page: 100).
    #[arg(long, env = "STRIPES_QUERY_MAX_ROWS", default_value_t = 100)]
    query_max_rows: u64,
    /// Microseconds a short read may run on the HTTP worker before it moves
    /// to the blocking pool (0 = every request goes to the pool).
    #[arg(long, env = "STRIPES_INLINE_BUDGET_US", default_value_t = 1000)]
    inline_budget_us: u64,
}

/// The serve settings alone, for running with no command.
#[derive(Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

/// glibc gives each thread that allocates its own arena, and the blocking
/// pool has many: with 100k records the load bench's server peaked at
/// 83 MiB, against 48 MiB with two arenas.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called first thing
    // in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() {
    bound_malloc_arenas();
    store::configure_sqlite_library();
    // The log goes to stderr from a thread of its own, a batch of lines a
    // write every 50 ms: a write or a thread wake-up per request cost the
    // server 9-20 % of its CPU under load (BENCHMARKS.md). The guard flushes
    // it at exit.
    let (log_writer, log_guard) = stripes::logging::batched(std::io::stderr());
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with(stripes::logging::LineLayer::new(log_writer))
            .init();
    }
    let cli = Cli::parse();
    let result = match cli.command {
        // No command: serve, with the defaults and STRIPES_* variables clap applies.
        None => serve(
            &cli.db,
            cli.schema_dir,
            ServeOnly::parse_from(["stripes"]).args,
        ),
        Some(Command::Serve(args)) => serve(&cli.db, cli.schema_dir, args),
        Some(Command::Admin(command)) => administer(&cli.db, cli.schema_dir, command),
    };
    // Every queued log line is out before the process ends.
    drop(log_guard);
    if let Err(e) = result {
        eprintln!("stripes: {e}");
        std::process::exit(1);
    }
}

fn serve(db: &std::path::Path, schema_dir: Option<PathBuf>, args: ServeArgs) -> Result<(), String> {
    let config = Config {
        listen: args.listen,
        db_path: db.to_path_buf(),
        session_idle_secs: args.session_idle_secs,
        session_max_secs: args.session_max_secs,
        // Read here, never logged: it only seeds a new database.
        admin_access_key: std::env::var("STRIPES_ADMIN_ACCESS_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
        schema_dir,
        workers: args.workers,
        query_max_rows: args.query_max_rows,
        inline_budget_us: args.inline_budget_us,
    };
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config)?;
        if let Some(key) = &app.generated_admin_key {
            println!("Created {} with user admin; its access key is {key} (shown only now)", config.db_path.display());
        }
        tracing::info!(listen = %config.listen, port = app.port(), db = %config.db_path.display(), "serving /webservice.php");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// Runs an administration command: by the server that holds the database
/// when one runs (it alone may open the file then), or else on the
/// database directly, creating it as `serve` would.
fn administer(
    db: &std::path::Path,
    schema_dir: Option<PathBuf>,
    command: admin::Command,
) -> Result<(), String> {
    let answer = match admin::remote::forward(db, &command) {
        Some(answer) => answer?,
        None => {
            let mut output = String::new();
            let error = with_store(db, schema_dir, |conn, registry| {
                admin::administer(conn, registry, command, &mut output)
            })
            .err();
            admin::remote::Answer { output, error }
        }
    };
    print!("{}", answer.output);
    answer.error.map_or(Ok(()), Err)
}

/// Opens the database (creating it as `serve` would) and runs `work` on it.
fn with_store(
    db: &std::path::Path,
    schema_dir: Option<PathBuf>,
    work: impl FnOnce(&rusqlite::Connection, &Registry) -> Result<(), String>,
) -> Result<(), String> {
    let registry = Registry::load(schema_dir.as_deref())?;
    let admin_key = std::env::var("STRIPES_ADMIN_ACCESS_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let opened = store::Store::open(db, &registry, admin_key.as_deref())?;
    if let Some(key) = &opened.generated_admin_key {
        println!(
            "Created {} with user admin; its access key is {key} (shown only now)",
            db.display()
        );
    }
    let conn = opened.store.conn().map_err(|e| e.to_string())?;
    work(&conn, &registry)
}
