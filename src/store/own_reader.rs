//! A read connection an HTTP worker keeps for itself. Short reads run on
//! the worker (`http::front::handle_inline`); taken from the pool, each
//! one locked the pool's mutex, which both workers share, twice, and ran
//! on whichever of the pool's connections came up. A worker's own
//! connection is the same one every time and needs no lock: −0.6k of a
//! query's ~71k instructions (callgrind), and at 10k records, ten
//! alternations side by side, retrieve medians 53.4 → 56.0 % of the bare
//! handler, query 47.5 → 51.4 % (BENCHMARKS.md, "2026-12-06, late night").
//!
//! Only threads marked with [`keep_here`] keep one, opened on their first
//! read; other threads (the blocking pool's) use the pool. A connection is
//! closed when its thread ends.

use std::cell::RefCell;

use rusqlite::Connection;

thread_local! {
    static OWN: RefCell<Option<Own>> = const { RefCell::new(None) };
}

/// This thread's connection to one store.
struct Own {
    /// The store's [`super::Store::id`].
    store: u64,
    /// Opened on the thread's first read.
    conn: Option<Connection>,
}

/// Marks this thread as one that keeps a read connection of its own to
/// store `store`, from its next read on.
pub fn keep_here(store: u64) {
    OWN.with(|own| {
        let mut own = own.borrow_mut();
        if own.as_ref().is_none_or(|o| o.store != store) {
            *own = Some(Own { store, conn: None });
        }
    });
}

/// Whether this thread keeps a read connection of its own to `store`.
pub fn is_kept_here(store: u64) -> bool {
    OWN.with(|own| {
        own.try_borrow()
            .is_ok_and(|o| o.as_ref().is_some_and(|o| o.store == store))
    })
}

/// Whether this thread has its own connection to `store` open.
#[cfg(test)]
pub(super) fn is_open_here(store: u64) -> bool {
    OWN.with(|own| {
        own.try_borrow().is_ok_and(|o| {
            o.as_ref()
                .is_some_and(|o| o.store == store && o.conn.is_some())
        })
    })
}

/// Runs `work` on this thread's own connection to `store`, opening it
/// with `open` the first time. `work` comes back unrun when the thread
/// keeps none, when it is in use already (a read inside a read), or when
/// it cannot be opened (the error is logged): the caller reads through the
/// pool then.
pub fn with<T, W: FnOnce(&Connection) -> T>(
    store: u64,
    open: impl FnOnce() -> rusqlite::Result<Connection>,
    work: W,
) -> Result<T, W> {
    OWN.with(|own| {
        let Ok(mut own) = own.try_borrow_mut() else {
            return Err(work);
        };
        let Some(own) = own.as_mut().filter(|o| o.store == store) else {
            return Err(work);
        };
        let conn = match own.conn {
            Some(ref conn) => conn,
            None => match open() {
                Ok(conn) => own.conn.insert(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "a worker's own read connection did not open; reading through the pool");
                    return Err(work);
                }
            },
        };
        Ok(work(conn))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> rusqlite::Result<Connection> {
        Connection::open_in_memory()
    }

    #[test]
    fn only_a_marked_thread_keeps_a_connection_and_it_is_the_same_each_time() {
        std::thread::spawn(|| {
            assert!(with(1, memory, |_| ()).is_err(), "unmarked");
            keep_here(1);
            assert!(is_kept_here(1) && !is_kept_here(2));
            let first = with(1, memory, |c| c as *const Connection).ok().unwrap();
            let again = with(1, || panic!("opened twice"), |c| c as *const Connection).ok();
            assert_eq!(again, Some(first));
            assert!(with(2, memory, |_| ()).is_err(), "another store's");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_read_inside_a_read_goes_elsewhere() {
        std::thread::spawn(|| {
            keep_here(7);
            let inner = with(7, memory, |_| with(7, memory, |_| ()).is_err());
            assert_eq!(inner.ok(), Some(true));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_connection_that_cannot_open_leaves_the_read_to_the_pool_and_is_tried_again() {
        std::thread::spawn(|| {
            keep_here(3);
            let failed = with(3, || Err(rusqlite::Error::InvalidQuery), |_| unreachable!());
            assert!(failed.is_err());
            assert_eq!(with(3, memory, |_| 5).ok(), Some(5));
        })
        .join()
        .unwrap();
    }
}
