//! API tokens, OAuth2 clients and the tokens issued to them (issue 11).
//! A token or client secret is shown once, when made; the database keeps
//! its md5, as it keeps sessions' (each is 40 random characters, so the
//! digest cannot be reversed), and a copy of the file hands out nothing.
use std::collections::HashSet;

use rand::distributions::{Alphanumeric, DistString};
use rusqlite::{params, Connection, OptionalExtension};

use super::users::{auth_row, users_table, UserAuth, AUTH_COLUMNS};
use crate::auth::access::Scopes;
use crate::auth::challenge::md5_hex;
use crate::registry::Registry;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Made with the CLI; sent as a bearer, `X-API-KEY` or `api_key`.
    Api,
    /// An OAuth2 access token.
    Access,
    /// An OAuth2 refresh token: only good for `grant_type=refresh_token`.
    Refresh,
}

impl Kind {
    fn text(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Access => "access",
            Kind::Refresh => "refresh",
        }
    }
}

/// A token to store.
pub struct NewToken<'a> {
    /// Whose rights it carries.
    pub user_id: i64,
    /// Its kind.
    pub kind: Kind,
    /// A name for the CLI listing.
    pub label: &'a str,
    /// What it may do at most.
    pub scopes: Scopes,
    /// The modules it reaches; `None`: all.
    pub modules: Option<&'a [String]>,
    /// The OAuth2 client it was issued to.
    pub client_id: Option<&'a str>,
    /// Unix time it stops working; `None`: never.
    pub expires_at: Option<i64>,
}

/// What a live token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Row id (what the CLI revokes by).
    pub id: i64,
    /// The user it acts as.
    pub user_id: i64,
    /// Its scopes.
    pub scopes: Scopes,
    /// Its module allow-list; `None`: every module.
    pub modules: Option<HashSet<String>>,
    /// The OAuth2 client it was issued to.
    pub client_id: Option<String>,
}

/// A new secret: `prefix` and 40 random letters and digits (~238 bits).
pub fn generate(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    )
}

/// Stores a new token and returns its id and the token itself.
pub fn insert(conn: &Connection, new: &NewToken, now: i64) -> rusqlite::Result<(i64, String)> {
    let prefix = match new.kind {
        Kind::Api => "stk_",
        Kind::Access => "sta_",
        Kind::Refresh => "str_",
    };
    let token = generate(prefix);
    conn.execute(
        "INSERT INTO api_tokens (token_hash, kind, user_id, label, scopes, modules, client_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            md5_hex(&token),
            new.kind.text(),
            new.user_id,
            new.label,
            new.scopes.text(),
            new.modules.map(|m| m.join(",")).unwrap_or_default(),
            new.client_id,
            now,
            new.expires_at,
        ],
    )?;
    Ok((conn.last_insert_rowid(), token))
}

fn grant_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Grant> {
    let scopes: String = r.get(at + 2)?;
    let modules: String = r.get(at + 3)?;
    Ok(Grant {
        id: r.get(at)?,
        user_id: r.get(at + 1)?,
        scopes: Scopes::parse(&scopes).unwrap_or(Scopes::READ_ONLY),
        modules: (!modules.is_empty()).then(|| modules.split(',').map(str::to_string).collect()),
        client_id: r.get(at + 4)?,
    })
}

const GRANT_COLUMNS: &str = "t.id, t.user_id, t.scopes, t.modules, t.client_id";
const LIVE: &str = "t.revoked = 0 AND (t.expires_at IS NULL OR t.expires_at > ?2)";

/// The live API or OAuth2 access token `token` with its (not deleted) user.
pub fn bearer(
    conn: &Connection,
    registry: &Registry,
    token: &str,
    now: i64,
) -> rusqlite::Result<Option<(Grant, UserAuth)>> {
    super::cached_row(
        conn,
        &format!(
            "SELECT {AUTH_COLUMNS}, {GRANT_COLUMNS}
             FROM api_tokens t JOIN {} u ON u._id = t.user_id AND u._deleted = 0
             WHERE t.token_hash = ?1 AND t.kind IN ('api', 'access') AND {LIVE}",
            users_table(registry)
        ),
        params![md5_hex(token), now],
        |r| Ok((grant_at(r, 6)?, auth_row(r)?)),
    )
    .optional()
}

/// Takes the live refresh token `token` of `client_id`: it is revoked (a
/// refresh token works once) and its grant returned.
pub fn take_refresh(
    conn: &Connection,
    token: &str,
    client_id: &str,
    now: i64,
) -> rusqlite::Result<Option<Grant>> {
    let grant = conn
        .query_row(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM api_tokens t
                 WHERE t.token_hash = ?1 AND t.kind = 'refresh' AND t.client_id = ?3 AND {LIVE}"
            ),
            params![md5_hex(token), now, client_id],
            |r| grant_at(r, 0),
        )
        .optional()?;
    if let Some(g) = &grant {
        conn.execute(
            "UPDATE api_tokens SET revoked = 1 WHERE id = ?1",
            params![g.id],
        )?;
    }
    Ok(grant)
}

/// A token as the CLI lists it.
#[derive(Debug)]
pub struct Summary {
    /// Row id.
    pub id: i64,
    /// Its user's login name.
    pub user_name: String,
    /// api, access or refresh.
    pub kind: String,
    /// Its label.
    pub label: String,
    /// Its scopes.
    pub scopes: String,
    /// Its module allow-list (comma-separated; empty: all).
    pub modules: String,
    /// Unix time it expires.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
}

/// Every token, or `user_id`'s, oldest first.
pub fn list(
    conn: &Connection,
    registry: &Registry,
    user_id: Option<i64>,
) -> rusqlite::Result<Vec<Summary>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT t.id, u.user_name, t.kind, t.label, t.scopes, t.modules, t.expires_at, t.revoked
         FROM api_tokens t JOIN {} u ON u._id = t.user_id
         WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id",
        users_table(registry)
    ))?;
    let rows = stmt.query_map(params![user_id], |r| {
        Ok(Summary {
            id: r.get(0)?,
            user_name: r.get(1)?,
            kind: r.get(2)?,
            label: r.get(3)?,
            scopes: r.get(4)?,
            modules: r.get(5)?,
            expires_at: r.get(6)?,
            revoked: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Revokes token `id`; false when there is none.
pub fn revoke(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE api_tokens SET revoked = 1 WHERE id = ?1",
        params![id],
    )? > 0)
}

/// An OAuth2 client.
#[derive(Debug)]
pub struct Client {
    /// Its id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// The scopes it may ask for.
    pub scopes: Scopes,
    secret_hash: String,
}

impl Client {
    /// Whether `secret` is this client's, compared in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        crate::auth::challenge::constant_time_eq(
            md5_hex(secret).as_bytes(),
            self.secret_hash.as_bytes(),
        )
    }
}

/// Registers an OAuth2 client; returns its id and secret.
pub fn add_client(
    conn: &Connection,
    name: &str,
    scopes: Scopes,
    now: i64,
) -> rusqlite::Result<(String, String)> {
    let client_id = generate("stc_");
    let secret = generate("sts_");
    conn.execute(
        "INSERT INTO oauth_clients (client_id, secret_hash, name, scopes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![client_id, md5_hex(&secret), name, scopes.text(), now],
    )?;
    Ok((client_id, secret))
}

fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    let scopes: String = r.get(2)?;
    Ok(Client {
        client_id: r.get(0)?,
        name: r.get(1)?,
        scopes: Scopes::parse(&scopes).unwrap_or(Scopes::READ_ONLY),
        secret_hash: r.get(3)?,
    })
}

/// The client `client_id`.
pub fn client(conn: &Connection, client_id: &str) -> rusqlite::Result<Option<Client>> {
    conn.query_row(
        "SELECT client_id, name, scopes, secret_hash FROM oauth_clients WHERE client_id = ?1",
        params![client_id],
        client_row,
    )
    .optional()
}

/// Every client, oldest first.
pub fn clients(conn: &Connection) -> rusqlite::Result<Vec<Client>> {
    let mut stmt = conn.prepare(
        "SELECT client_id, name, scopes, secret_hash FROM oauth_clients ORDER BY created_at, client_id",
    )?;
    let rows = stmt.query_map([], client_row)?;
    rows.collect()
}

/// Removes client `client_id` and revokes every token issued to it; false
/// when there is no such client.
pub fn remove_client(conn: &Connection, client_id: &str) -> rusqlite::Result<bool> {
    conn.execute(
        "UPDATE api_tokens SET revoked = 1 WHERE client_id = ?1",
        params![client_id],
    )?;
    Ok(conn.execute(
        "DELETE FROM oauth_clients WHERE client_id = ?1",
        params![client_id],
    )? > 0)
}
