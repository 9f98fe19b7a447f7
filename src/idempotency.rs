//! Idempotent writes (our addition, issue 11): a write sent with an
//! `Idempotency-Key` header or `idempotencyKey` parameter runs once; the
//! same request sent again with the key within 24 hours gets the first
//! answer back instead of writing twice. The key is reserved (durably)
//! before the write and holds the answer after it, so even a crash between
//! the two can never make a retry write again: it gets
//! IDEMPOTENCY_KEY_IN_USE instead. Keys are per user. A failed request
//! frees its key (it wrote nothing), so a retry runs again.
use md5::{Digest, Md5};
use serde_json::Value;

use crate::auth::now;
use crate::error::WsError;
use crate::http::params::RawRequest;
use crate::ops::Ctx;
use crate::store::idempotency::{self, Prior};

/// The longest key taken.
pub const MAX_KEY: usize = 255;
/// Parameters that authenticate or carry the key: not part of the request.
const NOT_FINGERPRINTED: &[&str] = &["sessionName", "api_key", "idempotencyKey"];

/// The key `raw` carries, if any: the header first.
pub fn key_of(raw: &RawRequest) -> Option<&str> {
    raw.headers
        .idempotency_key
        .as_deref()
        .or_else(|| raw.request_value("idempotencyKey"))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// What makes two requests the same one: the operation, every parameter
/// but the credentials and the key (in a fixed order), and any files.
pub fn fingerprint(operation: &str, raw: &RawRequest) -> String {
    let mut pairs: Vec<(&str, &str)> = raw
        .query
        .pairs()
        .chain(raw.body.pairs())
        .filter(|(k, _)| !NOT_FINGERPRINTED.contains(k) && *k != "operation")
        .collect();
    pairs.sort_unstable();
    let mut hash = Md5::new();
    hash.update(operation.as_bytes());
    for (k, v) in pairs {
        hash.update([0]);
        hash.update(k.as_bytes());
        hash.update([1]);
        hash.update(v.as_bytes());
    }
    for f in &raw.files {
        hash.update([2]);
        hash.update(f.field.as_bytes());
        hash.update(f.filename.as_bytes());
        hash.update(Md5::digest(&f.data));
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `write` once for `key`: the first answer is kept and returned to
/// every retry of the same request.
pub fn once(
    ctx: &Ctx,
    user_id: i64,
    key: &str,
    fingerprint: String,
    write: impl FnOnce() -> Result<Value, WsError>,
) -> Result<Value, WsError> {
    if key.chars().count() > MAX_KEY {
        return Err(WsError::InvalidFieldValue(format!(
            "Invalid value specified for the idempotency key: longer than {MAX_KEY} characters"
        )));
    }
    let (owned_key, reserved_for, t) = (key.to_string(), fingerprint.clone(), now());
    let prior = ctx
        .store
        .write(move |c| idempotency::reserve(c, user_id, &owned_key, &reserved_for, t))?;
    if let Some(prior) = prior {
        return replay(key, prior, &fingerprint);
    }
    let outcome = write();
    let owned_key = key.to_string();
    let kept = match &outcome {
        Ok(answer) => {
            let answer = answer.to_string();
            ctx.store
                .write(move |c| idempotency::keep(c, user_id, &owned_key, &answer))
        }
        Err(_) => ctx
            .store
            .write(move |c| idempotency::release(c, user_id, &owned_key)),
    };
    if let Err(e) = kept {
        // The write itself is done (or failed) either way; a retry then
        // finds the key reserved without an answer and is refused.
        tracing::error!(cause = %e, "could not keep an idempotent answer");
    }
    outcome
}

fn replay(key: &str, prior: Prior, fingerprint: &str) -> Result<Value, WsError> {
    if prior.fingerprint != fingerprint {
        return Err(WsError::IdempotencyKeyReused(format!(
            "Idempotency key {key} was used for a different request"
        )));
    }
    match prior.answer {
        Some(answer) => serde_json::from_str(&answer).map_err(WsError::database),
        None => Err(WsError::IdempotencyKeyInUse(format!(
            "Idempotency key {key} belongs to a request that has not finished (or was interrupted); its outcome is unknown, so it is not run again"
        ))),
    }
}
