//! VTQL latency as the store grows: 10k, 100k and 1M records, each query
//! sent through the wire to a real server, side by side in one run with a
//! query no index can serve (the scan every filter would cost without one).
//!
//! `cargo bench --bench vtql` (add `-- --max 100000` to stop earlier).
//! Prints median and 95th-percentile latency per query and size, then each
//! query's growth from the smallest size to the largest: an indexed filter
//! stays near 1x while the scan grows with the data.
#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use std::time::{Duration, Instant};

mod common;

use common::{crmid, grow, modified, OWNERS};
use helpers::{TestServer, VtClient, ADMIN_KEY};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use stripes::registry::Registry;
use stripes::store::Store;

/// Record counts measured, in order; half Accounts, half Contacts.
const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];

/// A query to time, made anew for each run from a random record number.
struct Probe {
    name: &'static str,
    make: fn(u64) -> String,
    /// Whether an index serves it (the scan baseline runs fewer times).
    indexed: bool,
}

fn probes() -> Vec<Probe> {
    vec![
        Probe {
            name: "id =",
            make: |n| format!("select * from Accounts where id = '11x{}';", crmid(n)),
            indexed: true,
        },
        Probe {
            name: "accountname =",
            make: |n| format!("select * from Accounts where accountname = 'Account {n}';"),
            indexed: true,
        },
        Probe {
            name: "email1 =",
            make: |n| format!("select * from Accounts where email1 = 'a{n}@example.com';"),
            indexed: true,
        },
        Probe {
            name: "Contacts.account_id =",
            make: |n| {
                format!(
                    "select * from Contacts where account_id = '11x{}';",
                    crmid(n)
                )
            },
            indexed: true,
        },
        Probe {
            name: "assigned_user_id = (page)",
            make: |n| {
                let owner = OWNERS[(n % 4) as usize];
                let prefix = if owner == 1 { 19 } else { 20 };
                format!(
                    "select * from Accounts where assigned_user_id = '{prefix}x{owner}' limit 100;"
                )
            },
            indexed: true,
        },
        Probe {
            name: "modifiedtime > (last 20)",
            make: |_| "select * from Accounts where modifiedtime > '__RECENT__';".into(),
            indexed: true,
        },
        Probe {
            name: "first page, no filter",
            make: |_| "select * from Accounts limit 100;".into(),
            indexed: true,
        },
        Probe {
            name: "accountname like '%n' (scan)",
            make: |n| format!("select * from Accounts where accountname like '% {n}';"),
            indexed: false,
        },
    ]
}

/// Median and 95th percentile of `runs` timings of `probe`, in µs.
fn time(
    client: &VtClient,
    probe: &Probe,
    accounts: u64,
    runs: usize,
    rng: &mut StdRng,
) -> (u128, u128) {
    let recent = modified(crmid(accounts.saturating_sub(20)));
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let query = (probe.make)(rng.gen_range(0..accounts)).replace("__RECENT__", &recent);
        let started = Instant::now();
        let r = client.get("query", &[("query", &query)]).json();
        samples.push(started.elapsed());
        assert_eq!(r["success"], true, "{query}: {r}");
        assert!(
            !r["result"].as_array().unwrap().is_empty(),
            "{query} found nothing"
        );
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_micros();
    (at(0.5), at(0.95))
}

fn main() {
    let max: u64 = std::env::args()
        .skip_while(|a| a != "--max")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let registry = Registry::load(None).unwrap();
    drop(Store::open(&db, &registry, Some(ADMIN_KEY)).unwrap());
    let mut conn = Connection::open(&db).unwrap();
    let seeded: u64 = conn
        .query_row("SELECT COUNT(*) FROM crmentity", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seeded, 0, "record numbers assume an empty crmentity");
    let server = TestServer::spawn_with(|c| c.db_path = db.clone());
    let client = server.admin();
    let mut rng = StdRng::seed_from_u64(42);
    let probes = probes();
    let mut medians: Vec<Vec<u128>> = Vec::new();
    let mut held = 0;
    println!("VTQL through the wire, median / p95 in microseconds");
    for size in SIZES.into_iter().filter(|s| *s <= max) {
        let started = Instant::now();
        grow(&mut conn, held, size);
        held = size;
        println!(
            "\n{size} records ({} Accounts, {} Contacts), loaded in {:.1}s",
            size / 2,
            size / 2,
            started.elapsed().as_secs_f64()
        );
        let mut row = Vec::new();
        for probe in &probes {
            let runs = if probe.indexed { 200 } else { 10 };
            let (median, p95) = time(&client, probe, size / 2, runs, &mut rng);
            println!("  {:<32} {median:>9} {p95:>9}", probe.name);
            row.push(median);
        }
        medians.push(row);
    }
    if let (Some(first), Some(last)) = (medians.first(), medians.last()) {
        println!("\ngrowth of the median, largest size over smallest");
        for (i, probe) in probes.iter().enumerate() {
            println!(
                "  {:<32} {:>8.1}x",
                probe.name,
                last[i] as f64 / first[i].max(1) as f64
            );
        }
    }
}
