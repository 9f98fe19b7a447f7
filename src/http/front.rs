//! The front controller: vtiger's order of checks (spec §1.5), then the
//! operation. The order decides which error wins, and clients see it.
use std::sync::Arc;

use super::long_reads;
use super::params::RawRequest;
use crate::auth::{credentials, session, Caller};
use crate::error::WsError;
use crate::ops::{self, Answer, Ctx, OpCall};
use crate::registry::HttpType;
use crate::store::budget;

/// What the request log line needs besides the outcome.
#[derive(Debug, Default)]
pub struct Handled {
    /// The operation as sent (lower-cased).
    pub operation: String,
    /// The authenticated caller, if any (for the user's name).
    pub caller: Option<Caller>,
}

/// Runs a short read ([`ops::INLINE`]) right here on the HTTP worker, when a
/// connection is free and the read fits its budget; `None` when the request
/// must go to [`handle`] off the worker instead (nothing has been answered
/// or written then: a read's only side effect, the session's last-seen
/// time, is idempotent). The one, measured exception to keeping SQLite in
/// `web::block` (STYLE rule 7): the hop there and back halved retrieve's
/// throughput (BENCHMARKS.md), and the budget bounds what a worker can be
/// held up by.
pub fn handle_inline(
    ctx: &Ctx,
    raw: &RawRequest,
    shape: Option<u64>,
) -> Option<(Result<Answer, WsError>, Handled)> {
    if ctx.inline_budget.is_zero()
        || shape.is_some_and(|s| ctx.long_reads.is_long(s))
        || !ops::INLINE.contains(&raw.operation())
        || !ctx.store.can_read_at_once()
    {
        return None;
    }
    // A panic answers like one in the blocking pool does (web::block turns
    // it into an error there): an envelope, never a dropped connection.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        budget::within(ctx.inline_budget, || handle(ctx, raw))
    }));
    let done = ran.unwrap_or_else(|_| {
        tracing::error!("operation panicked");
        (Err(WsError::InternalServerError), Handled::default())
    });
    (done.0 != Err(WsError::Overran)).then_some(done)
}

/// Runs a write ([`ops::ON_WRITER`]) wholly as one job of the writer thread
/// ([`Store::on_writer`]), awaited here on the HTTP worker: the session, the
/// checks, the write and the answer read back, in one savepoint of a group
/// commit that stays only when the request succeeds. `None` when it must
/// run in the blocking pool instead ([`handle_off_worker`]): the writer's
/// queue is full, or the request reached for a pooled connection
/// ([`WsError::NeedsPool`]), and then nothing it wrote stays (a session's
/// last-seen time, its one write outside the savepoint, is idempotent).
///
/// [`Store::on_writer`]: crate::store::Store::on_writer
pub async fn handle_on_writer(
    ctx: &Arc<Ctx>,
    raw: &Arc<RawRequest>,
) -> Option<(Result<Answer, WsError>, Handled)> {
    if !ops::ON_WRITER.contains(&raw.operation()) {
        return None;
    }
    let (job_ctx, job_raw) = (ctx.clone(), raw.clone());
    let answer = ctx.store.on_writer(move || {
        let done = handle(&job_ctx, &job_raw);
        let keep = done.0.is_ok();
        (done, keep)
    })?;
    let unanswered = || Handled {
        operation: raw.operation().to_string(),
        caller: None,
    };
    let done = match answer.await {
        Ok(Ok(done)) => done,
        // The batch's commit failed: the request's write is not on disk.
        Ok(Err(e)) => (Err(WsError::from(e)), unanswered()),
        // Dropped unanswered: the job panicked (the writer undid it).
        Err(_) => {
            tracing::error!("operation panicked");
            (Err(WsError::InternalServerError), unanswered())
        }
    };
    (done.0 != Err(WsError::NeedsPool)).then_some(done)
}

/// The shape of the VTQL a `query` request sends ([`long_reads::shape`]);
/// `None` for other operations.
pub fn query_shape(raw: &RawRequest) -> Option<u64> {
    let vtql = raw.query.get("query")?;
    (raw.operation() == "query").then(|| long_reads::shape(vtql))
}

/// [`handle`] in the blocking pool: a query's time there says whether its
/// shape is worth trying inline next time.
pub fn handle_off_worker(
    ctx: &Ctx,
    raw: &RawRequest,
    shape: Option<u64>,
) -> (Result<Answer, WsError>, Handled) {
    let started = std::time::Instant::now();
    let done = handle(ctx, raw);
    if let Some(shape) = shape.filter(|_| !ctx.inline_budget.is_zero()) {
        ctx.long_reads
            .ran(shape, started.elapsed(), ctx.inline_budget);
    }
    done
}

/// Runs one request through the checks and the operation. Blocking: call it
/// off the async executor.
pub fn handle(ctx: &Ctx, raw: &RawRequest) -> (Result<Answer, WsError>, Handled) {
    let mut handled = Handled {
        operation: raw.operation().to_string(),
        caller: None,
    };
    // Reads that only read check the session and answer from one snapshot.
    let outcome = if ops::INLINE.contains(&handled.operation.as_str()) {
        ctx.store.one_snapshot(|| run(ctx, raw, &mut handled))
    } else {
        run(ctx, raw, &mut handled)
    };
    (outcome, handled)
}

fn run(ctx: &Ctx, raw: &RawRequest, handled: &mut Handled) -> Result<Answer, WsError> {
    // 1. Unknown or missing operation. vtiger dies with an empty HTTP 500
    //    here; every client treats our envelope as the failure it means.
    let op = ctx
        .registry
        .operation(&handled.operation)
        .ok_or(WsError::UnknownOperation)?;
    // 2. extendsession needs `operation` in the POST body (vtiger checks
    //    $_POST before anything else for it).
    if op.name == "extendsession" && !raw.body.contains("operation") {
        return Err(WsError::AuthenticationRequired);
    }
    // 3. A sessionName that names no live session fails even on prelogin
    //    operations (salaros/vtwsclib-php sends its old one on re-login).
    let caller: Option<Caller> = match raw.session_name() {
        Some(name) => Some(
            session::resume(&ctx.store, &ctx.registry, ctx.sessions, name)?
                .ok_or(WsError::InvalidSessionId)?,
        ),
        // 3b. Our addition (issue 11): a token or Basic login in place of a
        //     session, only where vtiger would refuse for want of one.
        None if !op.prelogin => credentials::authenticate(ctx, raw)?,
        None => None,
    };
    handled.caller = caller.clone();
    // 4. The prelogin gate.
    if caller.is_none() && !op.prelogin {
        return Err(WsError::AuthenticationRequired);
    }
    // 4b. A token's scopes bound the operations it may call.
    if let Some(limit) = caller.as_ref().and_then(|c| c.access.limit.as_ref()) {
        if !limit.scopes.holds(&op.scope) {
            return Err(WsError::AccessDenied(format!(
                "The token's scope does not allow {}",
                op.name
            )));
        }
    }
    // 5. The operation, with its parameters from where its type says.
    let params = match op.http {
        HttpType::Get => &raw.query,
        HttpType::Post => &raw.body,
    };
    // 6. Our addition (issue 11): a write with an idempotency key runs once.
    let key = crate::idempotency::key_of(raw).filter(|_| op.scope != "read");
    if let (Some(key), Some(user_id)) = (key, caller.as_ref().map(|c| c.user_id())) {
        let fingerprint = crate::idempotency::fingerprint(&op.name, raw);
        let call = OpCall {
            op,
            caller,
            params,
            raw,
        };
        // Kept and replayed as JSON; writes answer JSON anyway.
        return crate::idempotency::once(ctx, user_id, key, fingerprint, || {
            ops::dispatch(ctx, &call).map(Answer::into_value)
        })
        .map(Answer::Json);
    }
    ops::dispatch(
        ctx,
        &OpCall {
            op,
            caller,
            params,
            raw,
        },
    )
}
