//! Integration tests through the wire: one binary, a real server per test.
mod auth;
mod bad_input;
mod cli;
mod concurrency;
mod convertlead;
mod crash;
mod crud;
mod errors;
mod files;
mod golden;
mod helpers;
mod inventory;
mod meta;
mod query;
mod relations;
mod sync;
mod vtql_cases;
