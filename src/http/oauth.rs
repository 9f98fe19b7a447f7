//! `POST /oauth/token` (our addition, issue 11): reads the form and the
//! client's Basic credentials, runs the grant off the async executor and
//! answers in OAuth2's JSON (see `auth::oauth`).
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;

use super::envelope;
use super::params::RawRequest;
use crate::auth::oauth::{self, OauthError, TokenRequest};
use crate::ops::Ctx;

/// The token endpoint.
pub async fn token(req: HttpRequest, payload: web::Payload, ctx: web::Data<Ctx>) -> HttpResponse {
    if req.method() != Method::POST {
        return envelope::respond_oauth(&Err(OauthError {
            code: "invalid_request",
            description: "The token endpoint takes POST".into(),
            status: 405,
        }));
    }
    let Ok(body) = super::read_body(payload).await else {
        return envelope::respond_oauth(&Err(OauthError {
            code: "invalid_request",
            description: "The request body could not be read or is too large".into(),
            status: 400,
        }));
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let raw = RawRequest::new(
        Method::POST,
        "",
        header("content-type"),
        &body,
        req.peer_addr().map(|a| a.ip()),
    );
    let basic = header("authorization").and_then(client_basic);
    let ctx = ctx.into_inner();
    let outcome = web::block(move || {
        oauth::token(
            &ctx,
            &TokenRequest {
                form: &raw.body,
                basic,
                peer: &raw.peer(),
            },
        )
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(cause = %e, "token endpoint panicked");
        Err(OauthError {
            code: "server_error",
            description: "The server could not complete the request".into(),
            status: 500,
        })
    });
    tracing::info!(
        outcome = outcome.as_ref().map(|_| "OK").unwrap_or_else(|e| e.code),
        "oauth token"
    );
    envelope::respond_oauth(&outcome)
}

/// `client_id:client_secret` from `Basic …` (RFC 6749 §2.3.1: each part
/// form-urlencoded before joining).
fn client_basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(id), decode(secret)))
}
