//! A time budget for SQLite work done on an HTTP worker thread. Short reads
//! (a retrieve, an indexed query) answer faster run where the request
//! arrived than handed to the blocking pool and back; a long one must not
//! hold up the other connections of that worker. So a read run inline gets a
//! deadline: past it SQLite interrupts the statement, the operation fails
//! with [`is_interrupt`] true, and the caller runs it again off the worker.
//! Threads with no deadline set (the blocking pool, the writer) are never
//! interrupted.
use std::cell::Cell;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// SQLite virtual-machine steps between two looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 1_000;

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `work` with SQLite statements on this thread interrupted once
/// `budget` has passed.
pub fn within<T>(budget: Duration, work: impl FnOnce() -> T) -> T {
    /// Clears the deadline even if `work` panics.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(None));
        }
    }
    DEADLINE.with(|d| d.set(Some(Instant::now() + budget)));
    let _clear = Clear;
    work()
}

/// Runs `work` with no deadline on this thread, then puts the deadline
/// back: for ending a transaction, which must never be interrupted (the
/// deadline can pass while an answer is built, and a cached statement's
/// step count crosses a check every so many runs). A ROLLBACK cut short
/// leaves the pooled connection inside the transaction, and the next
/// request to take it fails with "cannot start a transaction within a
/// transaction"; a COMMIT cut short throws away an answer already built.
pub fn suspended<T>(work: impl FnOnce() -> T) -> T {
    /// Puts the deadline back even if `work` panics.
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DEADLINE.with(|d| d.replace(None)));
    work()
}

/// Installs the deadline check on a connection (every pooled one).
pub(super) fn install(conn: &Connection) {
    conn.progress_handler(
        STEPS_BETWEEN_CHECKS,
        Some(|| DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() >= t))),
    );
}

/// Whether `e` is a statement interrupted by its deadline.
pub fn is_interrupt(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement that would run for long, over a connection with the check.
    fn slow(conn: &Connection) -> rusqlite::Result<i64> {
        conn.query_row(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000)
             SELECT count(*) FROM n",
            [],
            |r| r.get(0),
        )
    }

    #[test]
    fn a_read_past_its_budget_is_interrupted() {
        let conn = Connection::open_in_memory().unwrap();
        install(&conn);
        let err = within(Duration::from_millis(5), || slow(&conn)).unwrap_err();
        assert!(is_interrupt(&err), "{err}");
    }

    #[test]
    fn a_suspended_deadline_interrupts_nothing_and_comes_back() {
        let conn = Connection::open_in_memory().unwrap();
        install(&conn);
        let (inside, after) = within(Duration::ZERO, || {
            let inside = suspended(|| slow_enough(&conn));
            (inside, slow_enough(&conn))
        });
        assert_eq!(inside.unwrap(), 200000);
        assert!(is_interrupt(&after.unwrap_err()), "the deadline is back");
    }

    fn slow_enough(conn: &Connection) -> rusqlite::Result<i64> {
        conn.query_row(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
             SELECT count(*) FROM n",
            [],
            |r| r.get(0),
        )
    }

    #[test]
    fn without_a_budget_nothing_is_interrupted() {
        let conn = Connection::open_in_memory().unwrap();
        install(&conn);
        within(Duration::from_millis(5), || ());
        let quick = conn
            .query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
                 SELECT count(*) FROM n",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(quick, 200000);
    }
}
