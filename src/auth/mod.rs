//! Authentication: challenges, the md5 login digest, sessions and login
//! throttling. Operations that need a user receive a [`Caller`].
pub mod access;
pub mod challenge;
pub mod credentials;
pub mod oauth;
pub mod session;
pub mod throttle;

/// The authenticated user a request runs as: a shared [`Identity`], so
/// that handing it to an operation's parameters (every operation does) is
/// a count, not four strings copied and freed (~1k instructions a request,
/// callgrind).
#[derive(Debug, Clone)]
pub struct Caller(std::sync::Arc<Identity>);

impl std::ops::Deref for Caller {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

/// Who a [`Caller`] is.
#[derive(Debug)]
pub struct Identity {
    /// The Users module's id prefix, for [`Identity::ws_id`].
    users_prefix: u32,
    /// The user as signed in, shared with the session it was read for.
    user: std::sync::Arc<crate::store::users::UserAuth>,
    /// The session the request came with.
    pub session: String,
    /// What the caller may see and do.
    pub access: std::sync::Arc<access::Access>,
}

impl Caller {
    /// The caller `user` with rights `access`, authenticated by `session`
    /// (empty for a request that came with a token instead).
    pub fn new(
        registry: &crate::registry::Registry,
        user: std::sync::Arc<crate::store::users::UserAuth>,
        access: std::sync::Arc<access::Access>,
        session: String,
    ) -> Caller {
        let prefix = registry
            .module(crate::store::users::USERS)
            .expect("the registry always has Users")
            .id_prefix;
        Caller(std::sync::Arc::new(Identity {
            access,
            users_prefix: prefix,
            user,
            session,
        }))
    }
}

impl Identity {
    /// The user's object id.
    pub fn user_id(&self) -> i64 {
        self.user.id
    }

    /// Administrator.
    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }

    /// The user's webservice id, e.g. `19x1`. Made when asked (two
    /// operations do), not formatted for every request.
    pub fn ws_id(&self) -> String {
        crate::registry::WsId::new(self.users_prefix, self.user_id()).to_wire()
    }

    /// Login name.
    pub fn user_name(&self) -> &str {
        &self.user.user_name
    }

    /// Date format preference, reported by describe.
    pub fn date_format(&self) -> &str {
        &self.user.date_format
    }
}

/// A user's own rights: all for admins, else their profiles' and sharing's.
pub fn rights(
    store: &crate::store::Store,
    conn: &rusqlite::Connection,
    registry: &crate::registry::Registry,
    user: &crate::store::users::UserAuth,
) -> rusqlite::Result<std::sync::Arc<access::Access>> {
    match user.is_admin {
        true => Ok(std::sync::Arc::new(access::Access::admin(user.id))),
        false => store.rights().rights_of(conn, registry, user.id),
    }
}

/// [`rights`] at `version`, the rights version already read in `conn`'s
/// snapshot.
pub fn rights_as_of(
    store: &crate::store::Store,
    conn: &rusqlite::Connection,
    registry: &crate::registry::Registry,
    user: &crate::store::users::UserAuth,
    version: i64,
) -> rusqlite::Result<std::sync::Arc<access::Access>> {
    match user.is_admin {
        true => Ok(std::sync::Arc::new(access::Access::admin(user.id))),
        false => store
            .rights()
            .rights_as_of(conn, registry, user.id, version),
    }
}

/// The current Unix time in seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
