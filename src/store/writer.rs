//! Group commit: one writer thread owns a connection and runs the record
//! writes of concurrent requests in one transaction, each inside its own
//! savepoint, then commits once. With `synchronous = FULL` a commit costs
//! one fsync, so a batch of N writes costs one fsync instead of N. Every
//! request hears of its write only after the commit that holds it: an
//! acknowledged write is on disk.
use std::sync::mpsc::{self, Receiver, SyncSender};

use rusqlite::Connection;
use tokio::sync::oneshot;

// Each write takes a savepoint; parsing those statements anew each time
// cost the writer thread a sixth of its time.
use super::run_cached;

/// The most writes one transaction takes.
const MAX_BATCH: usize = 256;

/// A write's outcome, delivered once its batch has committed (or failed).
type Finish = Box<dyn FnOnce(Result<(), rusqlite::Error>) + Send>;
/// A write: runs on the writer's transaction, says whether it succeeded
/// (a failed one is rolled back to its savepoint) and how to answer.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

/// The handle requests submit writes through.
#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection) -> Writer {
        let (jobs, queue) = mpsc::sync_channel::<Job>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("stripes-writer".into())
            .spawn(move || run(conn, queue))
            .expect("the writer thread starts");
        Writer { jobs }
    }

    /// Runs `work` in the next batch and returns its result once the batch
    /// is committed. An error from `work` undoes only its own changes.
    pub fn write<T, E>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel::<Result<Result<T, E>, rusqlite::Error>>(1);
        let job = job(kept_if_ok(work), move |done| {
            let _ = reply.send(done);
        });
        self.jobs
            .send(job)
            .map_err(|_| E::from(rusqlite::Error::InvalidQuery))?;
        answered(answer.recv().ok())
    }

    /// Queues `work` for the next batch without blocking, for a caller on
    /// the async executor: the receiver yields its result once the batch has
    /// committed (or failed: a failed commit loses the whole batch). `work`
    /// says with its result whether its changes stay. `None` when the queue
    /// is full.
    pub fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> (T, bool) + Send + 'static,
    ) -> Option<oneshot::Receiver<Result<T, rusqlite::Error>>> {
        let (reply, answer) = oneshot::channel();
        let job = job(work, move |done| {
            let _ = reply.send(done);
        });
        self.jobs.try_send(job).ok()?;
        Some(answer)
    }
}

/// `work` as a job's work: its changes stay when it succeeds.
fn kept_if_ok<T, E>(
    work: impl FnOnce(&Connection) -> Result<T, E>,
) -> impl FnOnce(&Connection) -> (Result<T, E>, bool) {
    move |conn| {
        let out = work(conn);
        let ok = out.is_ok();
        (out, ok)
    }
}

/// A job that runs `work` and hands its result to `reply` once the batch
/// has committed, or the commit's error when it has not. A job dropped
/// unanswered (its batch failed before it ran, or it panicked) drops
/// `reply`: its request gets an error.
fn job<T: Send + 'static>(
    work: impl FnOnce(&Connection) -> (T, bool) + Send + 'static,
    reply: impl FnOnce(Result<T, rusqlite::Error>) + Send + 'static,
) -> Job {
    Box::new(move |conn| {
        let (out, keep) = work(conn);
        let finish: Finish = Box::new(move |committed| reply(committed.map(|()| out)));
        (keep, finish)
    })
}

/// What a blocking [`Writer::write`] returns for what its job answered
/// (`None`: dropped unanswered).
fn answered<T, E: From<rusqlite::Error>>(
    done: Option<Result<Result<T, E>, rusqlite::Error>>,
) -> Result<T, E> {
    match done {
        Some(Ok(out)) => out,
        // A failed commit: every write of the batch reports it.
        Some(Err(e)) => Err(E::from(e)),
        None => Err(E::from(rusqlite::Error::InvalidQuery)),
    }
}

impl Writer {
    /// Queues `work` for the next batch without waiting for it, for
    /// bookkeeping a request need not wait on (a session's last-seen time).
    /// When the queue is full the work is dropped: false.
    pub fn write_detached(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> bool {
        let job: Job = Box::new(move |conn| {
            let ok = work(conn).is_ok();
            let finish: Finish = Box::new(|_| {});
            (ok, finish)
        });
        self.jobs.try_send(job).is_ok()
    }
}

/// The writer loop: take what is queued (at least one), run it as one
/// transaction, commit, answer.
fn run(conn: Connection, queue: Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch: Vec<Job> = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut finishers = Vec::with_capacity(batch.len());
        // BEGIN and COMMIT as cached statements, like the savepoints: a
        // transaction's own BEGIN and COMMIT are parsed anew each batch.
        let outcome = (|| -> Result<(), rusqlite::Error> {
            run_cached(&conn, "BEGIN IMMEDIATE")?;
            // A job dropped unanswered (the batch failed before it ran, or
            // it panicked) drops its reply channel: its request gets an error.
            for job in batch.drain(..) {
                run_cached(&conn, "SAVEPOINT job")?;
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn)));
                match ran {
                    Ok((true, finish)) => finishers.push(finish),
                    Ok((false, finish)) => {
                        finishers.push(finish);
                        run_cached(&conn, "ROLLBACK TO job")?;
                    }
                    Err(_) => run_cached(&conn, "ROLLBACK TO job")?,
                }
                run_cached(&conn, "RELEASE job")?;
            }
            run_cached(&conn, "COMMIT")
        })();
        if outcome.is_err() && !conn.is_autocommit() {
            // Nothing of a failed batch may stay for the next one.
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "a failed write batch could not be rolled back");
            }
        }
        match outcome {
            Ok(()) => finishers.into_iter().for_each(|f| f(Ok(()))),
            Err(e) => {
                tracing::error!(error = %e, "a write batch failed");
                let text = e.to_string();
                finishers.into_iter().for_each(|f| {
                    f(Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                        Some(text.clone()),
                    )))
                });
            }
        }
    }
}
