//! The HTTP edge: `/webservice.php` for GET and POST (any method, in fact,
//! as PHP does not check), and a JSON envelope for everything else. Nothing
//! here knows operations; it reads the request and writes the envelope.
pub mod envelope;
pub mod front;
pub mod long_reads;
pub mod oauth;
pub mod params;

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header::{self, HeaderName};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::error::WsError;
use crate::ops::Ctx;
use params::RawRequest;

/// The largest request body we read (8 MiB); larger ones get an envelope.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Our headers (issue 11), as names parsed once: a lookup by `&str` checks
/// and lowercases the name each time (four lookups a request, ~1.5k of a
/// retrieve's instructions, callgrind).
static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Routes `/webservice.php`; every other path answers with an envelope too.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webservice.php", web::route().to(webservice))
        .route("/oauth/token", web::route().to(oauth::token));
}

/// The answer for paths other than `/webservice.php`: no HTML, ever.
pub async fn not_found() -> HttpResponse {
    envelope::respond(Err(WsError::UnknownOperation))
}

async fn webservice(req: HttpRequest, payload: web::Payload, ctx: web::Data<Ctx>) -> HttpResponse {
    let started = Instant::now();
    let body = match read_body(payload).await {
        Ok(body) => body,
        Err(e) => {
            tracing::info!(
                outcome = e.code(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "request body refused"
            );
            return envelope::respond(Err(e));
        }
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|a| a.ip());
    let header = |name: &HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let raw = RawRequest::new(
        req.method().clone(),
        req.query_string(),
        content_type,
        &body,
        peer,
    )
    .with_headers(params::Headers {
        authorization: header(&header::AUTHORIZATION),
        api_key: header(&X_API_KEY),
        idempotency_key: header(&IDEMPOTENCY_KEY),
    });
    let (ctx, raw) = (ctx.into_inner(), Arc::new(raw));
    let shape = front::query_shape(&raw);
    let done = match front::handle_inline(&ctx, &raw, shape) {
        Some(done) => Some(done),
        None => front::handle_on_writer(&ctx, &raw).await,
    };
    let (outcome, handled) = match done {
        Some(done) => done,
        None => match web::block(move || front::handle_off_worker(&ctx, &raw, shape)).await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(cause = %e, "operation panicked or was cancelled");
                (Err(WsError::InternalServerError), Default::default())
            }
        },
    };
    // The answer's bytes are written before the line, so its time counts
    // them too: a sync or query page is a hundred records of JSON.
    let outcome_code = outcome.as_ref().map(|_| "OK").unwrap_or_else(|e| e.code());
    let response = envelope::respond(outcome);
    tracing::info!(
        operation = %handled.operation,
        user = handled.caller.as_ref().map_or("-", |c| c.user_name()),
        elapsed_ms = started.elapsed().as_millis() as u64,
        outcome = outcome_code,
        "request"
    );
    response
}

/// Reads the body up to [`MAX_BODY_BYTES`].
pub(crate) async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, WsError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::warn!(cause = %e, "unreadable request body");
            WsError::InternalServerError
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(WsError::RequestTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
