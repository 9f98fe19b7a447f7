//! Stripes: a server that speaks vtiger CRM's `webservice.php` protocol over an
//! embedded SQLite store. A request flows `http` → `ops` (with `auth` and
//! `registry` as context) → `store`.

pub mod admin;
pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod logging;
pub mod ops;
pub mod registry;
pub mod startup;
pub mod store;
pub mod vtql;

/// Files from `schema/` and `fixtures/seed/`, built into the binary.
pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The webservice API version every vtiger since 5.1 reports (spec §1.1).
pub const API_VERSION: &str = "0.22";
/// The vtiger release whose behaviour we emulate and have recordings of.
pub const VTIGER_VERSION: &str = "8.2.0";
