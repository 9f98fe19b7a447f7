//! The one error type of the webservice. Every variant maps to one vtiger
//! error code (spec §10); messages are vtiger's text, typos included, because
//! clients match on them.
use std::fmt;

/// An operation's failure, as the client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsError {
    /// No session on a non-prelogin operation, or extendsession not POSTed.
    AuthenticationRequired,
    /// The sessionName names no live session.
    InvalidSessionId,
    /// extendsession without a live session.
    AuthenticationFailure,
    /// login without a live challenge token.
    InvalidAuthToken,
    /// The user has no access key.
    AccessKeyUndefined,
    /// Wrong digest, inactive user, or too many failures.
    InvalidUserCredentials,
    /// A permission, unknown-module or unknown-id failure; vtiger has many texts.
    AccessDenied(String),
    /// An id whose prefix is not its record's module.
    InvalidIdAttribute,
    /// A record that is not there (actors, files).
    RecordNotFound(String),
    /// A mandatory value is missing.
    MandatoryFieldsMissing(String),
    /// A reference points at a module the field does not refer to.
    ReferenceInvalid(String),
    /// A VTQL syntax error.
    QuerySyntaxError(String),
    /// The store failed; the cause is logged, the client gets vtiger's text.
    DatabaseQueryError,
    /// The operation name is not registered.
    UnknownOperation,
    /// The operation exists but not for this method or entity.
    OperationNotSupported(String),
    /// vtiger's misspelt UNKOWN_ENTITY.
    UnknownEntity(String),
    /// Anything else that went wrong inside.
    InternalServerError,
    /// The request body is larger than we accept (our addition).
    RequestTooLarge,
    /// A value vtiger would store mangled or not at all (our addition).
    InvalidFieldValue(String),
    /// A `syncToken` this server never issued (our addition).
    InvalidSyncToken,
    /// convertlead on a lead converted before.
    LeadAlreadyConverted,
    /// A read run on the HTTP worker ran past its budget and was interrupted
    /// (see `store::budget`); the front controller runs it again off the
    /// worker, so clients never see it. Should it escape, it is a store error.
    Overran,
    /// A write run wholly on the writer thread (see `http::front`) reached
    /// for a pooled connection, whose write would wait on the writer itself;
    /// the front controller runs it again in the blocking pool, so clients
    /// never see it. Should it escape, it is a store error.
    NeedsPool,
    /// upsert found more than one record to update (our addition).
    AmbiguousMatch(String),
    /// An idempotency key sent again with a different request (our addition).
    IdempotencyKeyReused(String),
    /// An idempotency key whose first request has not answered, or never
    /// will (the server stopped mid-write): retrying could write twice.
    IdempotencyKeyInUse(String),
    /// An item of an atomic batch failed, so none was written (our
    /// addition): the message names the first failure; `items` has every
    /// item's outcome, for the envelope's `error.items`.
    BatchRolledBack {
        /// What failed first.
        message: String,
        /// One `{success, result|error}` an item.
        items: Vec<serde_json::Value>,
    },
    /// convertlead could not create one of its records: vtiger reports it
    /// under UNKNOWN_OPERATION, as `<message> : <Module>` (spec §3.3).
    ConversionFailed(String),
}

/// The message vtiger sends for most ACCESS_DENIED cases.
pub const DENIED: &str = "Permission to perform the operation is denied";

impl WsError {
    /// The wire `code`. No `_` arm: a new variant must choose its code.
    pub fn code(&self) -> &'static str {
        match self {
            WsError::AuthenticationRequired => "AUTHENTICATION_REQUIRED",
            WsError::InvalidSessionId => "INVALID_SESSIONID",
            WsError::AuthenticationFailure => "AUTHENTICATION_FAILURE",
            WsError::InvalidAuthToken => "INVALID_AUTH_TOKEN",
            WsError::AccessKeyUndefined => "ACCESSKEY_UNDEFINED",
            WsError::InvalidUserCredentials => "INVALID_USER_CREDENTIALS",
            WsError::AccessDenied(_) => "ACCESS_DENIED",
            WsError::InvalidIdAttribute => "INVALID_ID_ATTRIBUTE",
            WsError::RecordNotFound(_) => "RECORD_NOT_FOUND",
            WsError::MandatoryFieldsMissing(_) => "MANDATORY_FIELDS_MISSING",
            WsError::ReferenceInvalid(_) => "REFERENCE_INVALID",
            WsError::QuerySyntaxError(_) => "QUERY_SYNTAX_ERROR",
            WsError::DatabaseQueryError | WsError::Overran | WsError::NeedsPool => {
                "DATABASE_QUERY_ERROR"
            }
            WsError::UnknownOperation => "UNKNOWN_OPERATION",
            WsError::OperationNotSupported(_) => "OPERATION_NOT_SUPPORTED",
            WsError::UnknownEntity(_) => "UNKOWN_ENTITY",
            WsError::InternalServerError => "INTERNAL_SERVER_ERROR",
            WsError::RequestTooLarge => "REQUEST_TOO_LARGE",
            WsError::InvalidFieldValue(_) => "INVALID_FIELD_VALUE",
            WsError::InvalidSyncToken => "INVALID_SYNC_TOKEN",
            WsError::LeadAlreadyConverted => "LEAD_ALREADY_CONVERTED",
            WsError::ConversionFailed(_) => "UNKNOWN_OPERATION",
            WsError::AmbiguousMatch(_) => "AMBIGUOUS_MATCH",
            WsError::BatchRolledBack { .. } => "BATCH_ROLLED_BACK",
            WsError::IdempotencyKeyReused(_) => "IDEMPOTENCY_KEY_REUSED",
            WsError::IdempotencyKeyInUse(_) => "IDEMPOTENCY_KEY_IN_USE",
        }
    }

    /// The wire `message`, exactly as vtiger words it ("Authencation" sic).
    pub fn message(&self) -> String {
        match self {
            WsError::AuthenticationRequired => "Authencation required".into(),
            WsError::InvalidSessionId => "Session Identifier provided is Invalid".into(),
            WsError::AuthenticationFailure => "Authencation Failed".into(),
            WsError::InvalidAuthToken => "Specified token is invalid or expired".into(),
            WsError::AccessKeyUndefined => "Access key for the user is undefined".into(),
            WsError::InvalidUserCredentials => "Invalid username or password".into(),
            WsError::InvalidIdAttribute => "Id specified is incorrect".into(),
            WsError::DatabaseQueryError | WsError::Overran | WsError::NeedsPool => {
                "Database error while performing requested operation".into()
            }
            WsError::UnknownOperation => "Unknown operation requested".into(),
            WsError::InternalServerError => "Unknown Error while processing request".into(),
            WsError::LeadAlreadyConverted => "Lead is already converted".into(),
            WsError::InvalidSyncToken => {
                "syncToken must be a number this server returned from sync".into()
            }
            WsError::RequestTooLarge => {
                format!(
                    "Request body is larger than {} bytes",
                    crate::http::MAX_BODY_BYTES
                )
            }
            WsError::AccessDenied(m)
            | WsError::RecordNotFound(m)
            | WsError::MandatoryFieldsMissing(m)
            | WsError::ReferenceInvalid(m)
            | WsError::QuerySyntaxError(m)
            | WsError::OperationNotSupported(m)
            | WsError::UnknownEntity(m)
            | WsError::InvalidFieldValue(m)
            | WsError::ConversionFailed(m)
            | WsError::AmbiguousMatch(m)
            | WsError::IdempotencyKeyReused(m)
            | WsError::IdempotencyKeyInUse(m)
            | WsError::BatchRolledBack { message: m, .. } => m.clone(),
        }
    }

    /// ACCESS_DENIED with vtiger's most common text.
    pub fn denied() -> Self {
        WsError::AccessDenied(DENIED.into())
    }

    /// ACCESS_DENIED for a module name no module has (describe,
    /// relatedtypes, query), in vtiger's words (shared/golden seq 42-44).
    pub fn denied_for_name(name: &str) -> Self {
        WsError::AccessDenied(format!(
            "Permission to perform the operation is denied for name : {name}"
        ))
    }

    /// Logs a store failure with its cause and returns the client-facing error.
    pub fn database(cause: impl fmt::Display) -> Self {
        tracing::error!(cause = %cause, "database failure");
        WsError::DatabaseQueryError
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for WsError {}

impl From<rusqlite::Error> for WsError {
    fn from(e: rusqlite::Error) -> Self {
        if crate::store::budget::is_interrupt(&e) {
            return WsError::Overran;
        }
        WsError::database(e)
    }
}

impl From<r2d2::Error> for WsError {
    fn from(e: r2d2::Error) -> Self {
        WsError::database(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_vtiger_catalogue() {
        let table = [
            (
                WsError::AuthenticationRequired,
                "AUTHENTICATION_REQUIRED",
                "Authencation required",
            ),
            (
                WsError::InvalidSessionId,
                "INVALID_SESSIONID",
                "Session Identifier provided is Invalid",
            ),
            (
                WsError::AuthenticationFailure,
                "AUTHENTICATION_FAILURE",
                "Authencation Failed",
            ),
            (
                WsError::InvalidAuthToken,
                "INVALID_AUTH_TOKEN",
                "Specified token is invalid or expired",
            ),
            (
                WsError::AccessKeyUndefined,
                "ACCESSKEY_UNDEFINED",
                "Access key for the user is undefined",
            ),
            (
                WsError::InvalidUserCredentials,
                "INVALID_USER_CREDENTIALS",
                "Invalid username or password",
            ),
            (
                WsError::denied(),
                "ACCESS_DENIED",
                "Permission to perform the operation is denied",
            ),
            (
                WsError::InvalidIdAttribute,
                "INVALID_ID_ATTRIBUTE",
                "Id specified is incorrect",
            ),
            (
                WsError::DatabaseQueryError,
                "DATABASE_QUERY_ERROR",
                "Database error while performing requested operation",
            ),
            (
                WsError::UnknownOperation,
                "UNKNOWN_OPERATION",
                "Unknown operation requested",
            ),
            (
                WsError::UnknownEntity("Relation specified is incorrect".into()),
                "UNKOWN_ENTITY",
                "Relation specified is incorrect",
            ),
            (
                WsError::InternalServerError,
                "INTERNAL_SERVER_ERROR",
                "Unknown Error while processing request",
            ),
        ];
        for (err, code, message) in table {
            assert_eq!(err.code(), code);
            assert_eq!(err.message(), message);
        }
    }
}
