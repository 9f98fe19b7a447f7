//! The `stripes` command: `stripes serve` (the default) and `stripes users …`.
use std::path::PathBuf;

use clap::{Parser, Subcommand};
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
    /// Manage users and their access keys; works while the server runs.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
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
}

/// The serve settings alone, for running with no command.
#[derive(Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user and print its access key.
    Add {
        /// Login name.
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Primary email.
        #[arg(long)]
        email: Option<String>,
        /// First name.
        #[arg(long)]
        first_name: Option<String>,
        /// Last name (defaults to the login name).
        #[arg(long)]
        last_name: Option<String>,
    },
    /// List users.
    List,
    /// Give a user a new access key and print it.
    RotateKey {
        /// Login name.
        name: String,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        // No command: serve, with the defaults and STRIPES_* variables clap applies.
        None => serve(
            &cli.db,
            cli.schema_dir,
            ServeOnly::parse_from(["stripes"]).args,
        ),
        Some(Command::Serve(args)) => serve(&cli.db, cli.schema_dir, args),
        Some(Command::Users { command }) => users(&cli.db, cli.schema_dir, command),
    };
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

fn users(
    db: &std::path::Path,
    schema_dir: Option<PathBuf>,
    command: UsersCommand,
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
    match command {
        UsersCommand::Add {
            name,
            admin,
            email,
            first_name,
            last_name,
        } => {
            let key = store::users::generate_access_key();
            let new = store::users::NewUser {
                user_name: name,
                is_admin: admin,
                email,
                first_name,
                last_name,
            };
            let id = store::users::add_user(&conn, &registry, &new, &key)?;
            println!(
                "created user {} (19x{id}); access key: {key}",
                new.user_name
            );
        }
        UsersCommand::List => {
            for u in store::users::list_users(&conn, &registry).map_err(|e| e.to_string())? {
                let role = if u.is_admin { "admin" } else { "user" };
                println!(
                    "{}\t{}\t{role}\t{}\t{}",
                    u.ws_id, u.user_name, u.status, u.email
                );
            }
        }
        UsersCommand::RotateKey { name } => {
            let key = store::users::generate_access_key();
            if !store::users::set_access_key(&conn, &registry, &name, &key)
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no user called {name}"));
            }
            println!("new access key for {name}: {key}");
        }
    }
    Ok(())
}
