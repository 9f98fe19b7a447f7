//! Which queries not to try on the HTTP worker. A read run inline that
//! passes its budget is interrupted and run again in the blocking pool: for
//! a query page of 100 records that is a fifth of its server time thrown
//! away each time (3,395 / 3,185 against 2,725 / 2,705 µs a page with no
//! inline attempt, BENCHMARKS.md). So a query's shape (its text with
//! literals and numbers blanked: a page walk's pages share one) is marked
//! when its last run in the pool took longer than the budget, and a marked
//! shape goes straight there; a run under the budget clears the mark, so a
//! query marked by a stall of the host goes back inline at its next run.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Slots for marked shapes. A shape shares its slot with others; a mark
/// lost to another costs one interrupted inline run, nothing else.
const SLOTS: usize = 256;

/// The marked query shapes.
pub struct LongReads([AtomicU64; SLOTS]);

impl Default for LongReads {
    fn default() -> Self {
        LongReads(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl LongReads {
    /// Whether `shape` ran longer than the budget last time.
    pub fn is_long(&self, shape: u64) -> bool {
        self.slot(shape).load(Ordering::Relaxed) == shape
    }

    /// Records that `shape` took `took` off the worker, against `budget`.
    pub fn ran(&self, shape: u64, took: Duration, budget: Duration) {
        let slot = self.slot(shape);
        if took > budget {
            slot.store(shape, Ordering::Relaxed);
        } else {
            let _ = slot.compare_exchange(shape, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn slot(&self, shape: u64) -> &AtomicU64 {
        &self.0[(shape % SLOTS as u64) as usize]
    }
}

/// The shape of VTQL text `query`: a hash of it lower-cased, with each
/// quoted literal and each run of digits standing for one placeholder and
/// each run of spaces for one. Never 0 (an empty slot).
pub fn shape(query: &str) -> u64 {
    let mut hash = Hash::default();
    let mut bytes = query.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\'' | b'"' => {
                // To the closing quote; a doubled quote is one inside.
                while let Some(c) = bytes.next() {
                    if c == b && bytes.next_if_eq(&b).is_none() {
                        break;
                    }
                }
                hash.add(b'?');
            }
            b'0'..=b'9' => {
                while bytes.next_if(u8::is_ascii_digit).is_some() {}
                hash.add(b'#');
            }
            b if b.is_ascii_whitespace() => {
                while bytes.next_if(u8::is_ascii_whitespace).is_some() {}
                hash.add(b' ');
            }
            b => hash.add(b.to_ascii_lowercase()),
        }
    }
    hash.0.max(1)
}

/// FNV-1a, 64 bits: shapes are not keys an attacker gains by colliding
/// (a collision only sends a query to the pool).
struct Hash(u64);

impl Default for Hash {
    fn default() -> Self {
        Hash(0xcbf2_9ce4_8422_2325)
    }
}

impl Hash {
    fn add(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_walks_pages_and_other_literals_share_a_shape() {
        let page = |offset: u32, industry: &str| {
            shape(&format!(
                "select * from Accounts where industry = '{industry}' order by accountname limit {offset}, 100;"
            ))
        };
        assert_eq!(page(0, "Banking"), page(4200, "Retail"));
        assert_eq!(
            shape("SELECT *  FROM Accounts WHERE accountname = 'O''Brien';"),
            shape("select * from accounts where accountname = \"x\";")
        );
        assert_ne!(
            shape("select * from Accounts where accountname = 'a';"),
            shape("select * from Accounts where industry = 'a';")
        );
        assert_ne!(shape(""), 0);
    }

    #[test]
    fn a_shape_is_long_from_a_slow_run_until_a_quick_one() {
        let reads = LongReads::default();
        let budget = Duration::from_millis(1);
        let s = shape("select * from Accounts order by accountname limit 5, 100;");
        assert!(!reads.is_long(s));
        reads.ran(s, Duration::from_millis(3), budget);
        assert!(reads.is_long(s));
        reads.ran(s, Duration::from_micros(400), budget);
        assert!(!reads.is_long(s));
    }

    #[test]
    fn a_quick_run_of_one_shape_leaves_another_in_its_slot_marked() {
        let reads = LongReads::default();
        let budget = Duration::from_millis(1);
        let (a, b) = (7, 7 + SLOTS as u64);
        reads.ran(a, Duration::from_millis(3), budget);
        reads.ran(b, Duration::from_micros(10), budget);
        assert!(reads.is_long(a));
    }
}
