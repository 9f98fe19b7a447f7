//! The SQLite store: a pool of connections with the pragmas set once, schema
//! migrations, and the tables behind every operation. Nothing above this
//! module writes SQL.
pub mod access;
pub mod attachments;
pub mod auth_tables;
pub mod budget;
pub mod changes;
pub mod conversion;
pub mod external;
pub mod idempotency;
pub mod inventory;
pub mod matching;
pub mod migrate;
pub mod own_reader;
pub mod owners;
pub mod records;
pub mod relations;
pub mod rows;
pub mod seed;
pub mod tables;
pub mod tokens;
pub mod users;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::WsError;
use crate::registry::Registry;
use scoped::{JOINED, SNAPSHOT};

/// `query_row` through the connection's statement cache: the statements
/// every request runs are parsed once a connection, not once a call.
pub fn cached_row<T, P: rusqlite::Params>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// The statement that reads the rights version (see `access`).
pub(crate) const RIGHTS_VERSION_SQL: &str = "SELECT version FROM rights_version";

/// The rights version of `conn`'s snapshot when [`Store::read`] holds it open
/// on this thread (it read the version when it opened it).
pub(crate) fn held_rights_version(conn: &rusqlite::Connection) -> Option<i64> {
    held_version::of(conn)
}

/// Runs a statement through the connection's statement cache (savepoints,
/// the writer's BEGIN and COMMIT: statements every write runs).
pub(crate) fn run_cached(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Ends a read transaction left open (its work failed or panicked), so the
/// connection goes back to the pool clean.
struct EndsOnDrop<'c>(&'c rusqlite::Connection);

impl Drop for EndsOnDrop<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = budget::suspended(|| run_cached(self.0, "ROLLBACK"));
        }
    }
}

/// A pooled connection.
pub type Conn = r2d2::PooledConnection<Connector>;

/// The database: a connection pool over one SQLite file.
#[derive(Clone)]
pub struct Store {
    /// Which store this is in the process (tests run several): its own
    /// readers' key (`own_reader`).
    id: u64,
    /// Opens the connections the HTTP workers keep (`own_reader`).
    connector: std::sync::Arc<Connector>,
    pool: r2d2::Pool<Connector>,
    writer: writer::Writer,
    rights: std::sync::Arc<access::RightsCache>,
    sessions: std::sync::Arc<users::SessionCache>,
    owners: std::sync::Arc<owners::OwnerCache>,
}

/// How much of a savepoint's sub-journal SQLite keeps in memory before it
/// spills to a temporary file, and the size of the one block it keeps it
/// in. Every write of a group commit runs in a savepoint, and SQLite copies
/// each page the write changes into that sub-journal: a create changes
/// ~15 pages (~62 KiB), past the default 64 KiB with its bookkeeping, so
/// it spilled, and its `pwrite`s were as many of the writer's samples as
/// the WAL's own (perf). Kept in memory with `temp_store = MEMORY` instead,
/// the sub-journal grows in 1 KiB blocks, five `malloc`s a page: ~90 a
/// create, 43k of a create's 418k instructions (callgrind). One block of
/// 128 KiB - 1 holds a create's pages, ~30 of them, without a spill.
///
/// No larger: a spill writes the block out in one call, and SQLite's unix
/// VFS writes at most 128 KiB - 1 bytes a call (`seekAndWriteFd` masks the
/// length with `0x1ffff`), so with 1 MiB every spill failed "database or
/// disk is full": a statement journal past 1 MiB (the second index an
/// upgrade builds in its transaction, at 100,000 records) could not be
/// written, and the server would not start on an older database.
const SUB_JOURNAL_IN_MEMORY: std::os::raw::c_int = 0x1ffff;

/// Process-wide SQLite settings. Call it first thing in `main`, before any
/// thread exists and before any connection is opened; after that SQLite
/// refuses them and this does nothing.
///
/// Memory statistics off, which the server never reads: with them on (the
/// bundled build's default) every allocation and free SQLite makes takes
/// one global mutex, and readers on all workers contended for it (a third
/// of a retrieve's futex calls, perf). And savepoint sub-journals kept in
/// one block in memory ([`SUB_JOURNAL_IN_MEMORY`]).
pub fn configure_sqlite_library() {
    use rusqlite::ffi::{sqlite3_config, SQLITE_CONFIG_MEMSTATUS, SQLITE_CONFIG_STMTJRNL_SPILL};
    // SAFETY: sqlite3_config may not run concurrently with other SQLite
    // calls; the caller runs it before any other thread exists. Once SQLite
    // is initialised it returns SQLITE_MISUSE and changes nothing.
    let rc = unsafe { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int) };
    if rc != rusqlite::ffi::SQLITE_OK {
        tracing::debug!(rc, "SQLite memory statistics left on");
    }
    // SAFETY: as above.
    let rc = unsafe { sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, SUB_JOURNAL_IN_MEMORY) };
    if rc != rusqlite::ffi::SQLITE_OK {
        tracing::debug!(rc, "SQLite sub-journals spill at the default size");
    }
}

/// Every connection's settings. WAL with synchronous = FULL: each commit is
/// on disk before the client hears of it, so an acknowledged write survives
/// a process crash and a power loss alike.
fn configure(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    // Hot statements are prepared once a connection (see cached_row).
    c.set_prepared_statement_cache_capacity(64);
    budget::install(c);
    c.execute_batch(
        "PRAGMA busy_timeout = 5000;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
}

/// SQLite's VFS for the server's connections. "unix-excl" takes one
/// exclusive lock on the file for the whole process and keeps the WAL index
/// in the process's memory, where the default "unix" VFS locks a shared
/// memory file with `fcntl` at every read transaction's start and end,
/// holding a mutex all connections share across the system call: ~1.5
/// `fcntl` and 2 `futex` calls a retrieve, nearly every futex call of the
/// server (strace, perf). The server owns its database: another process
/// (a second server, the `sqlite3` shell) gets "database is locked" while
/// it runs, which also keeps two servers from serving one file with
/// session and rights caches that disagree.
pub const VFS: &str = "unix-excl";

/// Opens a connection to the database at `path` the way the server does
/// (its VFS, see [`VFS`]), without the server's settings.
pub fn open_connection(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    rusqlite::Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), VFS)
}

/// Opens the pool's connections: [`open_connection`], then [`configure`].
#[derive(Debug, Clone)]
pub struct Connector {
    path: PathBuf,
}

impl r2d2::ManageConnection for Connector {
    type Connection = rusqlite::Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> rusqlite::Result<rusqlite::Connection> {
        let conn = open_connection(&self.path)?;
        configure(&conn)?;
        Ok(conn)
    }

    fn is_valid(&self, _: &mut rusqlite::Connection) -> rusqlite::Result<()> {
        // SQLite connections do not go stale (checkouts are not tested).
        Ok(())
    }

    fn has_broken(&self, _: &mut rusqlite::Connection) -> bool {
        false
    }
}

/// What opening the database did.
pub struct Opened {
    /// The store.
    pub store: Store,
    /// The admin's access key when this start created the database and made
    /// one up (to print once); `None` otherwise.
    pub generated_admin_key: Option<String>,
}

impl Store {
    /// Non-admin callers' rights, kept while they hold.
    pub fn rights(&self) -> &access::RightsCache {
        &self.rights
    }

    /// Live sessions, kept while they hold.
    pub fn sessions(&self) -> &users::SessionCache {
        &self.sessions
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrates it, brings
    /// the module tables in line with `registry`, and seeds a new database.
    pub fn open(
        path: &Path,
        registry: &Registry,
        admin_key: Option<&str>,
    ) -> Result<Opened, String> {
        // WAL is a property of the file, set here once: the pool opens its
        // connections in parallel, and on a new database each one's switch
        // to WAL wanted the exclusive lock the others' held off ("ERROR
        // r2d2: database is locked" in a first start's log, then a retry).
        open_connection(path)
            .and_then(|c| c.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;"))
            .map_err(|e| match e.sqlite_error_code() {
                // The first lock is the process's exclusive one (see `VFS`).
                Some(rusqlite::ErrorCode::DatabaseBusy) => format!(
                    "cannot open database {}: another process has it open (a second server?)",
                    path.display()
                ),
                _ => format!("cannot open database {}: {e}", path.display()),
            })?;
        // The pool's connections, and the ones the HTTP workers keep.
        let connector = Connector {
            path: path.to_path_buf(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(8)
            // SQLite connections do not go stale; no check query a checkout.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(connector.clone())
            .map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
        let mut conn = pool
            .get()
            .map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
        let created =
            migrate::migrate(&mut conn).map_err(|e| format!("database {}: {e}", path.display()))?;
        tables::sync_module_tables(&mut conn, registry)
            .map_err(|e| format!("database {}: {e}", path.display()))?;
        let generated_admin_key = if created {
            seed::seed_new_database(&mut conn, registry, admin_key)
                .map_err(|e| format!("seeding {}: {e}", path.display()))?
        } else {
            None
        };
        // Every connection's settings: the writer's savepoints keep their
        // sub-journal in memory by `configure_sqlite_library`, not by
        // `temp_store = MEMORY`, which grows it in 1 KiB blocks.
        let writer_conn = open_connection(path)
            .and_then(|c| configure(&c).map(|()| c))
            .map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
        static STORES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let store = Store {
            id: STORES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            connector: std::sync::Arc::new(connector),
            pool,
            writer: writer::Writer::start(writer_conn),
            rights: Default::default(),
            sessions: Default::default(),
            owners: Default::default(),
        };
        Ok(Opened {
            store,
            generated_admin_key,
        })
    }

    /// Runs `work` as part of the next group commit (see `writer`) and
    /// returns once it is on disk. Blocking: call it off the async executor.
    pub fn write<T, E>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        if let Some(conn) = JOINED.current() {
            return joined::write(conn, work);
        }
        self.writer.write(work)
    }

    /// Queues `work` for the next group commit without waiting for it (see
    /// `Writer::write_detached`); only for writes no client is told of.
    pub fn write_detached(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> bool {
        self.writer.write_detached(work)
    }

    /// Runs `work` on the writer thread as one write of a group commit,
    /// with every [`Store::read`] and [`Store::write`] it makes joining that
    /// write's transaction: it sees its own changes, no other write runs
    /// between its checks and its changes, and when it fails nothing it did
    /// stays. For what must not interleave (upsert's match, then its write)
    /// and what must be all or nothing (atomic batches). `work` must reach
    /// the database through those two only (entity records, never users or
    /// actors: their operations take a pooled connection of their own).
    pub fn serialized<T, E>(
        &self,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        if JOINED.current().is_some() {
            return work();
        }
        self.writer.write(move |conn| JOINED.on(conn, work))
    }

    /// [`Store::serialized`] for a caller on the async executor, which must
    /// not block: `work` is queued for the writer thread and the receiver
    /// yields its result once its batch has committed. `work` says with its
    /// result whether its changes stay. `None` when the writer's queue is
    /// full. What `work` does with a pooled connection fails with
    /// [`WsError::NeedsPool`] (see [`Store::conn`]).
    pub fn on_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> (T, bool) + Send + 'static,
    ) -> Option<tokio::sync::oneshot::Receiver<rusqlite::Result<T>>> {
        self.writer.submit(move |conn| JOINED.on(conn, work))
    }

    /// Runs `work` in a savepoint of its own when inside a
    /// [`Store::serialized`] job (an error undoes only what it did), else
    /// just runs it.
    pub fn savepoint<T, E: From<rusqlite::Error>>(
        &self,
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        match JOINED.current() {
            Some(conn) => joined::write(conn, |_| work()),
            None => work(),
        }
    }

    /// Whether a read on this thread can start without waiting for a
    /// connection: the thread keeps its own ([`Store::keep_reader_here`]),
    /// or the pool has one free right now.
    pub fn can_read_at_once(&self) -> bool {
        own_reader::is_kept_here(self.id) || self.pool.state().idle_connections > 0
    }

    /// From now on this thread's reads ([`Store::read`]) run on a
    /// connection it keeps for itself: for the HTTP workers, which run the
    /// short reads (`own_reader`).
    pub fn keep_reader_here(&self) {
        own_reader::keep_here(self.id);
    }

    /// Runs `work` on a pooled connection inside one read transaction: one
    /// consistent snapshot for all its statements, and one round of SQLite's
    /// file and shared-memory locks instead of one a statement.
    pub fn read<T, E>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error> + From<r2d2::Error>,
    {
        if let Some(conn) = JOINED.current().or_else(|| SNAPSHOT.current()) {
            return work(conn);
        }
        // Opened whatever budget the read runs under (its schema's first
        // read alone can pass one): cut short, the thread would open one
        // again at every read.
        let open = || budget::suspended(|| r2d2::ManageConnection::connect(&*self.connector));
        match own_reader::with(self.id, open, |conn| self.read_on(conn, work)) {
            Ok(out) => out,
            Err(read) => read(&*self.pool.get()?),
        }
    }

    /// [`Store::read`] on `conn`.
    fn read_on<T, E>(
        &self,
        conn: &rusqlite::Connection,
        work: impl FnOnce(&rusqlite::Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error> + From<r2d2::Error>,
    {
        // A transaction `work` might leave open goes before the connection
        // is used again (or goes back to the pool).
        let snapshot = EndsOnDrop(conn);
        // The read transaction is SQLite's implicit one, opened by the first
        // step of the rights version's statement and held while that
        // statement is not reset: SQLite ends an implicit transaction when
        // its last active statement finishes, so every statement `work` runs
        // meanwhile reads the same snapshot. The rights version is then
        // there for the asking (`rights_version`): the session check reads
        // it first thing. An explicit BEGIN and COMMIT, even as cached
        // statements, were ~4k instructions of a retrieve's ~86k
        // (callgrind, BENCHMARKS.md).
        let mut version = conn.prepare_cached(RIGHTS_VERSION_SQL)?;
        let mut held = version.query([])?;
        let at = match held.next()? {
            Some(row) => row.get(0)?,
            None => return Err(rusqlite::Error::QueryReturnedNoRows.into()),
        };
        let out = held_version::with(conn, at, &self.owners, || work(conn))?;
        // Reset: the snapshot ends.
        drop(held);
        drop(snapshot);
        Ok(out)
    }

    /// Runs `work` with every [`Store::read`] it makes sharing one read
    /// transaction: for a request that only reads, the session check and the
    /// operation see one snapshot and pay for one round of SQLite's locks
    /// instead of two (its shared-memory lock is a mutex every reader
    /// contends for: half a retrieve's futex calls, perf). Writes `work`
    /// makes still go to the writer, and it would not see them: only for
    /// work that reads.
    pub fn one_snapshot<T, E>(&self, work: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error> + From<r2d2::Error>,
    {
        if JOINED.current().or_else(|| SNAPSHOT.current()).is_some() {
            return work();
        }
        self.read(|conn| SNAPSHOT.on(conn, work))
    }

    /// A connection from the pool. Call it only off the async executor, and
    /// never inside a job of the writer thread ([`Store::serialized`],
    /// [`Store::on_writer`]): a write there would wait on the writer itself,
    /// so it fails with [`WsError::NeedsPool`] instead.
    pub fn conn(&self) -> Result<Conn, WsError> {
        if JOINED.current().is_some() {
            return Err(WsError::NeedsPool);
        }
        Ok(self.pool.get()?)
    }
}

/// A connection a piece of work on this thread runs on, found by the calls
/// it makes without being passed down: a snapshot's, a joined write's.
mod scoped {
    use std::cell::Cell;
    use std::thread::LocalKey;

    use rusqlite::Connection;

    thread_local! {
        static SNAPSHOT_SLOT: Cell<*const Connection> = const { Cell::new(std::ptr::null()) };
        static JOINED_SLOT: Cell<*const Connection> = const { Cell::new(std::ptr::null()) };
    }

    /// The read transaction a [`Store::one_snapshot`](super::Store::one_snapshot)
    /// call runs in, for the reads it makes.
    pub static SNAPSHOT: Scoped = Scoped(&SNAPSHOT_SLOT);

    /// The writer connection a [`Store::serialized`](super::Store::serialized)
    /// job runs on, for the reads and writes it makes.
    pub static JOINED: Scoped = Scoped(&JOINED_SLOT);

    /// Where a thread keeps one kind of scoped connection.
    pub struct Scoped(&'static LocalKey<Cell<*const Connection>>);

    struct Clear(&'static LocalKey<Cell<*const Connection>>);

    impl Drop for Clear {
        fn drop(&mut self) {
            self.0.with(|c| c.set(std::ptr::null()));
        }
    }

    impl Scoped {
        /// The connection this slot holds on this thread.
        pub fn current<'a>(&self) -> Option<&'a Connection> {
            let ptr = self.0.with(Cell::get);
            // SAFETY: set only by `on` for the duration of its `work`, from
            // a reference that outlives that call, and cleared (by the
            // guard, even on a panic) before `on` returns; only this thread
            // sees it.
            unsafe { ptr.as_ref() }
        }

        /// Runs `work` with `conn` in this slot on this thread.
        pub fn on<T>(&self, conn: &Connection, work: impl FnOnce() -> T) -> T {
            self.0.with(|c| c.set(conn as *const Connection));
            let _clear = Clear(self.0);
            work()
        }
    }
}

/// The rights version of the read transaction [`Store::read`] holds open on
/// this thread, read when it opened.
mod held_version {
    use std::cell::Cell;

    use rusqlite::Connection;

    use super::owners::OwnerCache;

    /// The connection whose snapshot `Store::read` holds, its rights
    /// version, and its store's owners.
    type Held = (*const Connection, i64, *const OwnerCache);

    thread_local! {
        static HELD: Cell<Held> = const { Cell::new((std::ptr::null(), 0, std::ptr::null())) };
    }

    /// The rights version of `conn`'s snapshot, if `Store::read` holds one
    /// open on it on this thread.
    pub fn of(conn: &Connection) -> Option<i64> {
        owners_of(conn).map(|(version, _)| version)
    }

    /// [`of`], with the owners of the store `conn` belongs to.
    pub fn owners_of(conn: &Connection) -> Option<(i64, &OwnerCache)> {
        let (held, version, owners) = HELD.with(Cell::get);
        // SAFETY: `with` sets the pointers from references that outlive
        // its `work` and puts the previous ones back (even on a panic)
        // before it returns; only this thread sees them, and only while
        // `conn` is the held connection, so `owners` is alive.
        let owners = unsafe { owners.as_ref() }?;
        std::ptr::eq(held, conn).then_some((version, owners))
    }

    struct Restore(Held);

    impl Drop for Restore {
        fn drop(&mut self) {
            HELD.with(|h| h.set(self.0));
        }
    }

    /// Runs `work` with `version` as the rights version of `conn`'s
    /// snapshot, and `owners` as its store's.
    pub fn with<T>(
        conn: &Connection,
        version: i64,
        owners: &OwnerCache,
        work: impl FnOnce() -> T,
    ) -> T {
        let held = (
            conn as *const Connection,
            version,
            owners as *const OwnerCache,
        );
        let _restore = Restore(HELD.with(|h| h.replace(held)));
        work()
    }
}

/// Writes inside a [`Store::serialized`] job's transaction.
mod joined {
    use rusqlite::Connection;

    /// A write inside the joined transaction, in a savepoint of its own: an
    /// error undoes only what it did.
    pub fn write<T, E: From<rusqlite::Error>>(
        conn: &Connection,
        work: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        super::run_cached(conn, "SAVEPOINT joined")?;
        let out = work(conn);
        if out.is_err() {
            super::run_cached(conn, "ROLLBACK TO joined")?;
        }
        super::run_cached(conn, "RELEASE joined")?;
        out
    }
}

/// A store on a new database in a temporary folder (kept alive by the
/// returned guard), with the default schema: for unit tests.
#[cfg(test)]
pub(crate) fn open_for_test() -> (tempfile::TempDir, Store, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::load(None).unwrap();
    let store = Store::open(&dir.path().join("test.db"), &registry, Some("k"))
        .unwrap()
        .store;
    (dir, store, registry)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn select_one(store: &Store) -> Result<i64, WsError> {
        store.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get(0))?))
    }

    #[test]
    fn a_pooled_connection_taken_on_the_writer_thread_fails_instead_of_waiting() {
        let (_dir, store, _) = open_for_test();
        let inner = store.clone();
        // A write on a pooled connection here would wait for the writer's
        // own transaction: the whole server's writes would stall.
        let taken = store.serialized(move || Ok::<_, WsError>(inner.conn().map(|_| ())));
        assert_eq!(taken, Ok(Err(WsError::NeedsPool)));
        assert!(store.conn().is_ok(), "off the writer the pool answers");
    }

    #[test]
    fn a_writer_job_that_fails_leaves_nothing_and_one_that_succeeds_stays() {
        let (_dir, store, _) = open_for_test();
        let numbers = |store: &Store| -> Vec<String> {
            store
                .read(|c| {
                    let mut stmt = c.prepare("SELECT module FROM auto_numbers ORDER BY module")?;
                    let rows = stmt.query_map([], |r| r.get(0))?;
                    rows.collect::<Result<Vec<String>, _>>()
                        .map_err(WsError::from)
                })
                .unwrap()
        };
        let before = numbers(&store);
        for (module, keep) in [("Failed", false), ("Kept", true)] {
            let inner = store.clone();
            let answer = store.on_writer(move || {
                let wrote = inner.write(move |c| {
                    c.execute("INSERT INTO auto_numbers VALUES (?1, 1)", [module])
                        .map_err(WsError::from)
                });
                (wrote, keep)
            });
            let wrote = answer.expect("queued").blocking_recv().expect("answered");
            assert_eq!(wrote.unwrap(), Ok(1), "{module} written in its job");
        }
        let mut after = before.clone();
        after.push("Kept".into());
        after.sort();
        assert_eq!(numbers(&store), after, "only the kept job's write stays");
    }

    #[test]
    fn a_batch_whose_commit_fails_is_undone_and_the_writer_goes_on() {
        let (_dir, store, _) = open_for_test();
        // A dangling row whose check waits for COMMIT: the commit fails and
        // leaves the transaction open, for the writer to roll back.
        let dangling = store.write(|c| {
            c.execute_batch(
                "PRAGMA defer_foreign_keys = ON;
                 INSERT INTO \"m_Accounts\" (_id) VALUES (999999);",
            )
            .map_err(WsError::from)
        });
        assert!(dangling.is_err(), "the dangling row was acknowledged");
        let after = store.write(|c| {
            c.execute("INSERT INTO auto_numbers VALUES ('After', 1)", [])
                .map_err(WsError::from)
        });
        assert_eq!(after, Ok(1), "the writer stopped after a failed commit");
        let left: i64 = store
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM \"m_Accounts\" WHERE _id = 999999",
                    [],
                    |r| r.get(0),
                )
                .map_err(WsError::from)
            })
            .unwrap();
        assert_eq!(left, 0, "the failed batch's row stayed");
    }

    #[test]
    fn a_read_keeps_one_snapshot_and_its_rights_version_while_others_commit() {
        let (_dir, store, _) = open_for_test();
        let version = |c: &rusqlite::Connection| -> rusqlite::Result<i64> {
            c.query_row("SELECT version FROM rights_version", [], |r| r.get(0))
        };
        let bump = || {
            store.write(|c| {
                c.execute("UPDATE rights_version SET version = version + 1", [])
                    .map_err(WsError::from)
            })
        };
        let (held, seen, told) = store
            .read(|c| {
                let held = access::rights_version(c)?;
                // Committed by the writer while this read is open.
                assert_eq!(bump(), Ok(1));
                Ok::<_, WsError>((held, version(c)?, access::rights_version(c)?))
            })
            .unwrap();
        assert_eq!(seen, held, "a statement inside the read saw a later commit");
        assert_eq!(told, held, "the read's rights version moved");
        let after = store.read(|c| Ok::<_, WsError>(access::rights_version(c)?));
        assert_eq!(after, Ok(held + 1), "the next read sees the commit");
    }

    #[test]
    fn a_thread_that_keeps_a_reader_reads_on_the_same_connection_every_time() {
        let (_dir, store, _) = open_for_test();
        let conn_of_read = |store: &Store| {
            store
                .read(|c| Ok::<_, WsError>(c as *const rusqlite::Connection as usize))
                .unwrap()
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                store.keep_reader_here();
                // Opened under a spent budget, as on an HTTP worker whose
                // first read is a short one: still kept.
                let _ = budget::within(Duration::ZERO, || select_one(&store));
                assert!(own_reader::is_open_here(store.id), "not kept");
                let first = conn_of_read(&store);
                assert_eq!(conn_of_read(&store), first);
                assert_eq!(select_one(&store), Ok(1));
            });
            // A thread that does not keep one reads through the pool.
            s.spawn(|| {
                assert_eq!(select_one(&store), Ok(1));
                assert!(!own_reader::is_open_here(store.id));
            });
        });
    }

    #[test]
    fn reads_past_their_budget_leave_no_transaction_open_on_the_pool() {
        let (_dir, store, _) = open_for_test();
        // Every statement is past its deadline: each time the statement that
        // opens the snapshot, or the one the read runs, crosses a progress
        // check it is interrupted.
        let interrupted = budget::within(Duration::ZERO, || {
            (0..5_000)
                .filter(|_| select_one(&store) == Err(WsError::Overran))
                .count()
        });
        assert!(interrupted > 0, "the budget interrupted nothing");
        for _ in 0..20 {
            assert_eq!(
                select_one(&store),
                Ok(1),
                "a connection was left mid-transaction"
            );
        }
    }
}
