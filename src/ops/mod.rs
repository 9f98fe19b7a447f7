//! Operations: one file each, all of the same shape (a `Params` read from
//! the call, then `run`), and the one dispatch table below. Which operations
//! exist, their HTTP type and parameters is data: `schema/operations.json`.
pub mod add_related;
pub mod batch;
pub mod convertlead;
pub mod create;
pub mod delete;
pub mod delete_related;
pub mod describe;
pub mod extendsession;
pub mod files_retrieve;
pub mod getchallenge;
pub mod listtypes;
pub mod login;
pub mod logout;
pub mod query;
pub mod query_related;
pub mod records;
pub mod relatedtypes;
pub mod retrieve;
pub mod retrieve_by_external;
pub mod retrieve_related;
pub mod revise;
pub mod sync;
pub mod update;
pub mod upsert;

use std::sync::Arc;

use serde_json::Value;

use crate::auth::session::SessionPolicy;
use crate::auth::throttle::Throttle;
use crate::auth::Caller;
use crate::error::WsError;
use crate::http::params::{Params, RawRequest};
use crate::registry::{OperationDef, Registry};
use crate::store::Store;
use records::WireRecord;

/// What every operation may use; cheap to clone (for work that runs on
/// the writer thread, see `Store::serialized`).
#[derive(Clone)]
pub struct Ctx {
    /// Modules and operations.
    pub registry: Arc<Registry>,
    /// The database.
    pub store: Store,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Failed-login counts.
    pub throttle: Arc<Throttle>,
    /// The most rows one query answers.
    pub query_max_rows: u64,
    /// How long a short read ([`INLINE`]) may spend in SQLite on the HTTP
    /// worker before it moves to the blocking pool; zero: never inline.
    pub inline_budget: std::time::Duration,
    /// Query shapes that ran past the inline budget last time.
    pub long_reads: Arc<crate::http::long_reads::LongReads>,
}

/// What an operation answers: JSON, or records that go to the wire as they
/// are (the hot reads: retrieve and `select *` queries), never built into
/// JSON maps first (see `records::WireRecord`).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Any JSON result.
    Json(Value),
    /// One record.
    Record(WireRecord),
    /// A list of records.
    Records(Vec<WireRecord>),
    /// A result already written as JSON by the envelope's encoder (a
    /// query's page or a retrieved record, see
    /// `http::envelope::JsonRecords`).
    Encoded(String),
    /// An object of fixed keys, in order, whose values may hold records
    /// (sync's page).
    Object(Vec<(&'static str, Answer)>),
}

impl Answer {
    /// The answer as JSON, for callers that keep or combine it (batches,
    /// idempotent replays).
    pub fn into_value(self) -> Value {
        match self {
            Answer::Json(v) => v,
            Answer::Record(r) => r.into_value(),
            Answer::Records(rs) => {
                Value::Array(rs.into_iter().map(WireRecord::into_value).collect())
            }
            // Our encoder's own output: it parses back, PHP's escapes and
            // all, to what it was written from.
            Answer::Encoded(json) => serde_json::from_str(&json).unwrap_or(Value::Null),
            Answer::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into_value()))
                    .collect(),
            ),
        }
    }
}

impl From<Value> for Answer {
    fn from(v: Value) -> Self {
        Answer::Json(v)
    }
}

/// One call of an operation, after the front controller's checks.
pub struct OpCall<'a> {
    /// The operation's registration.
    pub op: &'a OperationDef,
    /// The session's user; always set for non-prelogin operations.
    pub caller: Option<Caller>,
    /// The operation's parameters: the query string or the body, per its type.
    pub params: &'a Params,
    /// The whole request, for the few operations that look further.
    pub raw: &'a RawRequest,
}

impl OpCall<'_> {
    /// A parameter as vtiger passes it: PHP treats `""` and `"0"` as absent
    /// (spec §1.2), so `id=0` and `modifiedTime=0` arrive as nothing.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).filter(|v| !v.is_empty() && *v != "0")
    }

    /// An `encoded` parameter, JSON-decoded; invalid JSON is absent (PHP's
    /// `json_decode` gives null).
    pub fn encoded(&self, name: &str) -> Option<Value> {
        debug_assert!(
            self.op.is_encoded(name),
            "{name} is not registered as encoded"
        );
        self.param(name)
            .and_then(|v| serde_json::from_str(v).ok())
            .filter(|v: &Value| !v.is_null())
    }

    /// The authenticated caller.
    pub fn caller(&self) -> Result<&Caller, WsError> {
        self.caller.as_ref().ok_or(WsError::AuthenticationRequired)
    }
}

/// Operations that only read and mostly answer within a millisecond: the
/// front controller runs them on the HTTP worker that received them, under
/// a time budget (`store::budget`), instead of handing them to the blocking
/// pool and back. Writes wait on the writer, so they never run there.
pub const INLINE: &[&str] = &[
    "retrieve",
    "retrieve_inventory",
    "query",
    "describe",
    "listtypes",
    "relatedtypes",
];

/// Operations whose writes all go through the writer thread: the front
/// controller queues the whole request there from the HTTP worker, checks
/// and all, instead of a blocking-pool thread that would wait on the writer
/// (two thread hand-offs of four a write; BENCHMARKS.md). One that reaches
/// for a pooled connection after all (users and actors have transactions of
/// their own) is undone and runs in the blocking pool instead.
pub const ON_WRITER: &[&str] = &[
    "create",
    "update",
    "revise",
    "delete",
    "upsert",
    "batch_create",
    "batch_update",
    "batch_revise",
    "batch_delete",
];

/// Runs the operation `call.op` names. The only dispatch `match`; an
/// operation registered in the table but not built yet says so.
pub fn dispatch(ctx: &Ctx, call: &OpCall) -> Result<Answer, WsError> {
    // The hot reads answer records as they are (`return`); the rest JSON.
    let json = match call.op.name.as_str() {
        "getchallenge" => getchallenge::run(ctx, getchallenge::Params::from_call(call)),
        "login" => login::run(ctx, login::Params::from_call(call)),
        "logout" => logout::run(ctx, logout::Params::from_call(call)?),
        "extendsession" => extendsession::run(ctx, extendsession::Params::from_call(call)),
        "listtypes" => listtypes::run(ctx, listtypes::Params::from_call(call)?),
        "describe" => describe::run(ctx, describe::Params::from_call(call)?),
        "create" => return create::run(ctx, create::Params::from_call(call)?),
        "retrieve" | "retrieve_inventory" => {
            return retrieve::run(ctx, retrieve::Params::from_call(call)?)
        }
        "update" => return update::run(ctx, update::Params::from_call(call)?),
        "revise" => return revise::run(ctx, revise::params(call)?),
        "delete" => delete::run(ctx, delete::Params::from_call(call)?),
        "query" => return query::run(ctx, query::Params::from_call(call)?),
        "sync" => return sync::run(ctx, sync::Params::from_call(call)?),
        "retrieve_by_external" => {
            retrieve_by_external::run(ctx, retrieve_by_external::Params::from_call(call)?)
        }
        "upsert" => upsert::run(ctx, upsert::Params::from_call(call)?),
        "batch_create" => batch::run(ctx, batch::Params::from_call(batch::Kind::Create, call)?),
        "batch_update" => batch::run(ctx, batch::Params::from_call(batch::Kind::Update, call)?),
        "batch_revise" => batch::run(ctx, batch::Params::from_call(batch::Kind::Revise, call)?),
        "batch_delete" => batch::run(ctx, batch::Params::from_call(batch::Kind::Delete, call)?),
        "batch_retrieve" => batch::run(ctx, batch::Params::from_call(batch::Kind::Retrieve, call)?),
        "files_retrieve" => files_retrieve::run(ctx, files_retrieve::Params::from_call(call)?),
        "convertlead" => convertlead::run(ctx, convertlead::Params::from_call(call)?),
        "relatedtypes" => relatedtypes::run(ctx, relatedtypes::Params::from_call(call)?),
        "retrieve_related" => return retrieve_related::run(ctx, retrieve_related::params(call)?),
        "query_related" => return query_related::run(ctx, query_related::Params::from_call(call)?),
        "add_related" => add_related::run(ctx, add_related::Params::from_call(call)?),
        "delete_related" => delete_related::run(ctx, add_related::Params::from_call(call)?),
        other => Err(WsError::OperationNotSupported(format!(
            "Operation {other} is not supported by this server yet"
        ))),
    };
    json.map(Answer::Json)
}
