//! Login throttling: after too many failed logins for one user name or from
//! one address, further logins are refused unchecked for a while. Kept in
//! memory: a restart forgets, which only ever helps a legitimate user.
use std::collections::HashMap;
use std::sync::Mutex;

/// Failures that trigger a lock.
pub const MAX_FAILURES: usize = 10;
/// The window failures are counted in, and how long a lock lasts (seconds).
pub const WINDOW_SECS: i64 = 300;

#[derive(Default)]
struct Entry {
    failures: Vec<i64>,
    locked_until: i64,
}

/// Failure counts by user name and by client address.
#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

fn keys(user: &str, addr: &str) -> [String; 2] {
    [format!("user:{user}"), format!("addr:{addr}")]
}

impl Throttle {
    /// Whether logins for `user` or from `addr` are locked at `now`.
    pub fn is_locked(&self, user: &str, addr: &str, now: i64) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        keys(user, addr)
            .iter()
            .any(|k| entries.get(k).is_some_and(|e| now < e.locked_until))
    }

    /// Counts a failed login; locks the name or address that reaches the limit.
    pub fn record_failure(&self, user: &str, addr: &str, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys(user, addr) {
            let e = entries.entry(key).or_default();
            e.failures.retain(|&t| now - t < WINDOW_SECS);
            e.failures.push(now);
            if e.failures.len() >= MAX_FAILURES {
                e.locked_until = now + WINDOW_SECS;
                e.failures.clear();
            }
        }
        if entries.len() > 100_000 {
            entries.retain(|_, e| {
                now < e.locked_until || e.failures.iter().any(|&t| now - t < WINDOW_SECS)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenth_failure_locks_for_the_window() {
        let t = Throttle::default();
        for i in 0..9 {
            t.record_failure("admin", "1.2.3.4", 100 + i);
        }
        assert!(!t.is_locked("admin", "5.6.7.8", 110));
        t.record_failure("admin", "1.2.3.4", 110);
        assert!(t.is_locked("admin", "5.6.7.8", 111), "locked by name");
        assert!(t.is_locked("other", "1.2.3.4", 111), "locked by address");
        assert!(!t.is_locked("admin", "5.6.7.8", 110 + WINDOW_SECS));
    }
}
