//! Builds the application: registry, database, HTTP server. Tests and the
//! binary start the server through the same code, on any port (0 = free one).
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};

use crate::admin::remote;
use crate::auth::session::SessionPolicy;
use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::http;
use crate::ops::Ctx;
use crate::registry::Registry;
use crate::store::Store;

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    /// The admin key made up for a new database, to print once.
    pub generated_admin_key: Option<String>,
    /// Where `stripes users …` reaches this server (see `admin::remote`);
    /// stops and goes away with it.
    _admin: Option<remote::Listener>,
}

impl Application {
    /// Loads the schema, opens the database and binds the listener.
    pub fn build(config: &Config) -> Result<Application, String> {
        let registry = Arc::new(Registry::load(config.schema_dir.as_deref())?);
        let opened = Store::open(
            &config.db_path,
            &registry,
            config.admin_access_key.as_deref(),
        )?;
        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let admin =
            remote::Listener::start(&config.db_path, opened.store.clone(), Arc::clone(&registry))
                .inspect_err(|e| {
                    tracing::warn!(
                        socket = %remote::socket_path(&config.db_path).display(),
                        error = %e,
                        "administration commands cannot reach this server while it runs"
                    )
                })
                .ok();
        let ctx = web::Data::new(Ctx {
            registry,
            store: opened.store,
            sessions: SessionPolicy {
                idle_secs: config.session_idle_secs,
                max_secs: config.session_max_secs,
            },
            throttle: std::sync::Arc::new(Throttle::default()),
            query_max_rows: config.query_max_rows.max(1),
            inline_budget: std::time::Duration::from_micros(config.inline_budget_us),
            long_reads: Default::default(),
        });
        let mut server = HttpServer::new(move || {
            // Called on each HTTP worker's thread as it starts: the short
            // reads it runs itself go to a connection of its own.
            ctx.store.keep_reader_here();
            App::new()
                .app_data(ctx.clone())
                .configure(http::configure)
                .default_service(web::to(http::not_found))
        })
        .shutdown_timeout(10);
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server.listen(listener).map_err(|e| e.to_string())?.run();
        Ok(Application {
            port,
            server,
            generated_admin_key: opened.generated_admin_key,
            _admin: admin,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or a handle's `stop`); requests
    /// in flight finish first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
