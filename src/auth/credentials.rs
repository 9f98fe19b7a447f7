//! Credentials in place of a session (our addition, issue 11), for scripts,
//! spreadsheets and ERP connectors that cannot do the challenge: an API or
//! OAuth2 token as `Authorization: Bearer …`, an `X-API-KEY` header or an
//! `api_key` parameter (Obzvonilka and Sugester send it so), and HTTP Basic
//! `username:accessKey` as vtiger's REST API takes it. Only consulted when
//! no `sessionName` is sent and the operation needs a user, so no request
//! vtiger answers changes its answer.
use base64::Engine;

use super::access::Limit;
use super::{now, rights, Caller};
use crate::error::WsError;
use crate::http::params::RawRequest;
use crate::ops::Ctx;
use crate::store::{tokens, users};

/// A credential as the request presents it.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// An API or OAuth2 access token.
    Token(String),
    /// `Authorization: Basic` with a user name and access key.
    Basic {
        /// Login name.
        user: String,
        /// The user's access key (not a challenge digest).
        key: String,
    },
}

/// The credential in `raw`, if any: the `Authorization` header first, then
/// `X-API-KEY`, then the `api_key` parameter. A `Basic` value that does not
/// decode to `name:key` is a failed login.
pub fn presented(raw: &RawRequest) -> Result<Option<Presented>, WsError> {
    if let Some(value) = raw.headers.authorization.as_deref() {
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Ok(Some(Presented::Token(rest.to_string())));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            return basic(rest).map(Some).ok_or(WsError::InvalidUserCredentials);
        }
    }
    let token = raw
        .headers
        .api_key
        .as_deref()
        .or_else(|| raw.request_value("api_key"))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    Ok(token.map(|t| Presented::Token(t.to_string())))
}

fn basic(encoded: &str) -> Option<Presented> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, key) = text.split_once(':')?;
    Some(Presented::Basic {
        user: user.to_string(),
        key: key.to_string(),
    })
}

/// The caller a credential in `raw` authenticates; `None` when there is
/// none. A wrong, expired or revoked token is INVALID_AUTH_TOKEN; a wrong
/// Basic login INVALID_USER_CREDENTIALS, throttled as logins are.
pub fn authenticate(ctx: &Ctx, raw: &RawRequest) -> Result<Option<Caller>, WsError> {
    match presented(raw)? {
        None => Ok(None),
        Some(Presented::Token(token)) => by_token(ctx, &token).map(Some),
        Some(Presented::Basic { user, key }) => by_access_key(ctx, raw, &user, &key).map(Some),
    }
}

fn by_token(ctx: &Ctx, token: &str) -> Result<Caller, WsError> {
    let t = now();
    let found = ctx.store.read(|conn| -> Result<_, WsError> {
        let Some((grant, user)) = tokens::bearer(conn, &ctx.registry, token, t)? else {
            return Ok(None);
        };
        let access = rights(&ctx.store, conn, &ctx.registry, &user)?;
        Ok(Some((grant, user, access)))
    })?;
    let Some((grant, user, access)) = found.filter(|(_, user, _)| user.active) else {
        tracing::warn!("request with an unknown, expired or revoked token");
        return Err(WsError::InvalidAuthToken);
    };
    let mut access = (*access).clone();
    access.limit = Some(Limit {
        scopes: grant.scopes,
        modules: grant.modules,
    });
    Ok(Caller::new(
        &ctx.registry,
        std::sync::Arc::new(user),
        std::sync::Arc::new(access),
        String::new(),
    ))
}

fn by_access_key(ctx: &Ctx, raw: &RawRequest, name: &str, key: &str) -> Result<Caller, WsError> {
    let t = now();
    let peer = raw.peer();
    if ctx.throttle.is_locked(name, &peer, t) {
        tracing::warn!(user = %name, addr = %peer, "basic login refused: too many failures");
        return Err(WsError::InvalidUserCredentials);
    }
    let found = ctx.store.read(|conn| -> Result<_, WsError> {
        let Some(user) = users::find_by_name(conn, &ctx.registry, name)? else {
            return Ok(None);
        };
        let access = rights(&ctx.store, conn, &ctx.registry, &user)?;
        Ok(Some((user, access)))
    })?;
    let matches = |user: &users::UserAuth| {
        !user.access_key.is_empty()
            && super::challenge::constant_time_eq(user.access_key.as_bytes(), key.as_bytes())
    };
    match found {
        Some((user, access)) if matches(&user) && user.active => Ok(Caller::new(
            &ctx.registry,
            std::sync::Arc::new(user),
            access,
            String::new(),
        )),
        _ => {
            ctx.throttle.record_failure(name, &peer, t);
            tracing::warn!(user = %name, addr = %peer, "basic login failed");
            Err(WsError::InvalidUserCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    fn request(query: &str, headers: crate::http::params::Headers) -> RawRequest {
        RawRequest::new(Method::GET, query, None, b"", None).with_headers(headers)
    }

    #[test]
    fn the_authorization_header_wins_over_api_key_header_and_parameter() {
        let r = request(
            "api_key=param",
            crate::http::params::Headers {
                authorization: Some("bearer  tok1 ".into()),
                api_key: Some("header".into()),
                idempotency_key: None,
            },
        );
        assert_eq!(presented(&r), Ok(Some(Presented::Token("tok1".into()))));
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("ann:k:ey");
        let r = request(
            "",
            crate::http::params::Headers {
                authorization: Some(format!("Basic {encoded}")),
                ..Default::default()
            },
        );
        assert_eq!(
            presented(&r),
            Ok(Some(Presented::Basic {
                user: "ann".into(),
                key: "k:ey".into()
            }))
        );
    }

    #[test]
    fn undecodable_basic_credentials_are_a_failed_login() {
        let r = request(
            "",
            crate::http::params::Headers {
                authorization: Some("Basic !!!".into()),
                ..Default::default()
            },
        );
        assert_eq!(presented(&r), Err(WsError::InvalidUserCredentials));
    }

    #[test]
    fn the_api_key_parameter_is_read_when_no_header_carries_one() {
        let r = request("api_key=abc", Default::default());
        assert_eq!(presented(&r), Ok(Some(Presented::Token("abc".into()))));
        let none = request("operation=x", Default::default());
        assert_eq!(presented(&none), Ok(None));
    }
}
