//! Authentication: challenges, the md5 login digest, sessions and login
//! throttling. Operations that need a user receive a [`Caller`].
pub mod access;
pub mod challenge;
pub mod session;
pub mod throttle;

/// The authenticated user a request runs as.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's object id.
    pub user_id: i64,
    /// The user's webservice id, e.g. `19x1`.
    pub ws_id: String,
    /// Login name.
    pub user_name: String,
    /// Administrator.
    pub is_admin: bool,
    /// Date format preference, reported by describe.
    pub date_format: String,
    /// The session the request came with.
    pub session: String,
    /// What the caller may see and do.
    pub access: std::sync::Arc<access::Access>,
}

/// The current Unix time in seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
