//! OAuth2's password grant (RFC 6749 §4.3) and refresh (§6), as Egito's API
//! offers them: a registered client trades a user's name and password for
//! a bearer token the webservice takes in place of a session. Stripes keeps
//! no passwords (logins use access keys), so the password is the user's
//! access key. Errors are OAuth2's `{"error", "error_description"}`.
use serde_json::{json, Value};

use super::access::Scopes;
use super::{challenge, now};
use crate::error::WsError;
use crate::http::params::Params;
use crate::ops::Ctx;
use crate::store::tokens::{self, Grant, Kind, NewToken};
use crate::store::users;

/// Seconds an access token works.
pub const ACCESS_TOKEN_SECS: i64 = 3600;
/// Seconds a refresh token works (each use replaces it).
pub const REFRESH_TOKEN_SECS: i64 = 30 * 86_400;

/// An OAuth2 error: its code, its description and the HTTP status.
#[derive(Debug, PartialEq, Eq)]
pub struct OauthError {
    /// RFC 6749 §5.2 code.
    pub code: &'static str,
    /// Human-readable text.
    pub description: String,
    /// 401 for a failed client authentication, 400 otherwise (500 inside).
    pub status: u16,
}

impl OauthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = if code == "invalid_client" { 401 } else { 400 };
        OauthError {
            code,
            description: description.into(),
            status,
        }
    }

    fn server(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "oauth token endpoint failed");
        OauthError {
            code: "server_error",
            description: "The server could not complete the request".into(),
            status: 500,
        }
    }

    /// The error body.
    pub fn body(&self) -> Value {
        json!({"error": self.code, "error_description": self.description})
    }
}

/// A token request: the form fields, the client's Basic credentials if sent
/// in the header instead, and the caller's address for throttling.
pub struct TokenRequest<'a> {
    /// The form body.
    pub form: &'a Params,
    /// `client_id:client_secret` from `Authorization: Basic`.
    pub basic: Option<(String, String)>,
    /// The client's address.
    pub peer: &'a str,
}

impl TokenRequest<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        self.form.get(name).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, OauthError> {
        self.field(name)
            .ok_or_else(|| OauthError::new("invalid_request", format!("{name} is required")))
    }
}

/// Answers `POST /oauth/token`.
pub fn token(ctx: &Ctx, req: &TokenRequest) -> Result<Value, OauthError> {
    let grant_type = req.required("grant_type")?;
    let client = authenticate_client(ctx, req)?;
    let asked = match req.field("scope") {
        None => None,
        Some(text) => Some(Scopes::parse(text).ok_or_else(|| {
            OauthError::new("invalid_scope", "scopes are read, write and delete")
        })?),
    };
    let (user_id, allowed) = match grant_type {
        "password" => (password_user(ctx, req)?, client.scopes),
        "refresh_token" => {
            let grant = take_refresh(ctx, req, &client.client_id)?;
            (grant.user_id, grant.scopes)
        }
        other => {
            return Err(OauthError::new(
                "unsupported_grant_type",
                format!("grant_type {other} is not supported: use password or refresh_token"),
            ))
        }
    };
    let scopes = match asked {
        Some(s) if s.intersect(allowed) != s => {
            return Err(OauthError::new(
                "invalid_scope",
                format!("the client may ask for {} at most", allowed.text()),
            ))
        }
        Some(s) => s,
        None => allowed,
    };
    issue(ctx, user_id, &client.client_id, scopes)
}

fn authenticate_client(ctx: &Ctx, req: &TokenRequest) -> Result<tokens::Client, OauthError> {
    let (id, secret) = match &req.basic {
        Some((id, secret)) => (id.as_str(), secret.as_str()),
        None => (
            req.field("client_id").unwrap_or_default(),
            req.field("client_secret").unwrap_or_default(),
        ),
    };
    let client = ctx
        .store
        .read(|conn| tokens::client(conn, id).map_err(WsError::from))
        .map_err(OauthError::server)?;
    client
        .filter(|c| c.secret_matches(secret))
        .ok_or_else(|| OauthError::new("invalid_client", "Client authentication failed"))
}

fn password_user(ctx: &Ctx, req: &TokenRequest) -> Result<i64, OauthError> {
    let name = req.required("username")?;
    let password = req.required("password")?;
    let t = now();
    let refused = || OauthError::new("invalid_grant", "Invalid username or password");
    if ctx.throttle.is_locked(name, req.peer, t) {
        return Err(refused());
    }
    let user = ctx
        .store
        .read(|conn| users::find_by_name(conn, &ctx.registry, name).map_err(WsError::from))
        .map_err(OauthError::server)?;
    match user {
        Some(u)
            if u.active
                && !u.access_key.is_empty()
                && challenge::constant_time_eq(u.access_key.as_bytes(), password.as_bytes()) =>
        {
            Ok(u.id)
        }
        _ => {
            ctx.throttle.record_failure(name, req.peer, t);
            tracing::warn!(user = %name, addr = %req.peer, "oauth password grant failed");
            Err(refused())
        }
    }
}

fn take_refresh(ctx: &Ctx, req: &TokenRequest, client_id: &str) -> Result<Grant, OauthError> {
    let token = req.required("refresh_token")?.to_string();
    let (client_id, t) = (client_id.to_string(), now());
    let registry = ctx.registry.clone();
    let grant = ctx
        .store
        .write(move |conn| -> rusqlite::Result<Option<Grant>> {
            let Some(grant) = tokens::take_refresh(conn, &token, &client_id, t)? else {
                return Ok(None);
            };
            let active = users::is_active(conn, &registry, grant.user_id)?;
            Ok(active.then_some(grant))
        })
        .map_err(OauthError::server)?;
    grant.ok_or_else(|| {
        OauthError::new(
            "invalid_grant",
            "The refresh token is invalid, expired or used",
        )
    })
}

fn issue(ctx: &Ctx, user_id: i64, client_id: &str, scopes: Scopes) -> Result<Value, OauthError> {
    let (client_id, t) = (client_id.to_string(), now());
    let (access, refresh) = ctx
        .store
        .write(move |conn| -> rusqlite::Result<(String, String)> {
            let token = |kind, lifetime| NewToken {
                user_id,
                kind,
                label: "oauth",
                scopes,
                modules: None,
                client_id: Some(&client_id),
                expires_at: Some(t + lifetime),
            };
            let (_, access) = tokens::insert(conn, &token(Kind::Access, ACCESS_TOKEN_SECS), t)?;
            let (_, refresh) = tokens::insert(conn, &token(Kind::Refresh, REFRESH_TOKEN_SECS), t)?;
            Ok((access, refresh))
        })
        .map_err(OauthError::server)?;
    Ok(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_SECS,
        "refresh_token": refresh,
        "scope": scopes.text(),
    }))
}
