//! Request guards: the current user.

use crate::clock::Clock;
use crate::entity::UserEntity;
use crate::session::Session;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

type LoadFuture<U> = Pin<Box<dyn Future<Output = crate::Result<Option<U>>> + Send>>;

/// Loads users by session key; managed by the [`AuthManager`](crate::AuthManager)
/// so that guards need to know only the user type.
pub struct UserLoader<U> {
    load: Arc<dyn Fn(String) -> LoadFuture<U> + Send + Sync>,
    clock: Arc<dyn Clock>,
}

impl<U: UserEntity> UserLoader<U> {
    /// A loader from a lookup function and a clock.
    pub fn new(
        load: impl Fn(String) -> LoadFuture<U> + Send + Sync + 'static,
        clock: Arc<dyn Clock>,
    ) -> Self {
        UserLoader {
            load: Arc::new(load),
            clock,
        }
    }

    /// The active user holding `key`, if any.
    pub async fn active_user(&self, key: String) -> crate::Result<Option<U>> {
        let user = (self.load)(key).await?;
        let now = self.clock.now();
        Ok(user.filter(|u| u.is_active_at(now)))
    }
}

/// Why a request has no usable user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No session, a stale session key, or an inactive user.
    NotLoggedIn,
    /// The user lacks a permission.
    Forbidden,
    /// kegauth is not attached, or the database failed.
    Unavailable,
}

struct Cached<U>(Result<Option<Arc<U>>, Status>);

/// The request's user, loaded once per request from the session cookie.
async fn current_user<'r, U: UserEntity>(
    req: &'r Request<'_>,
) -> &'r Result<Option<Arc<U>>, Status> {
    let cached = req
        .local_cache_async(async {
            let (Some(session), Some(loader)) =
                (Session::of(req), req.rocket().state::<UserLoader<U>>())
            else {
                log::error!("kegauth: the AuthManager fairing is not attached for this user type");
                return Cached::<U>(Err(Status::InternalServerError));
            };
            let Some(key) = session.session_key() else {
                return Cached(Ok(None));
            };
            match loader.active_user(key).await {
                Ok(user) => Cached(Ok(user.map(Arc::new))),
                Err(e) => {
                    log::error!("kegauth: loading the session user failed: {e}");
                    Cached(Err(e.status()))
                }
            }
        })
        .await;
    &cached.0
}

/// The logged-in, active user; otherwise the request fails with 401, which
/// [`catchers`](crate::catchers) turn into a redirect to the login page for
/// browsers (HTML requests) and a 401 for API clients.
///
/// ```
/// # use kegauth::guards::AuthUser;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// #[rocket::get("/me")]
/// fn me(user: AuthUser<User>) -> String {
///     format!("hello {}", user.email)
/// }
/// ```
pub struct AuthUser<U>(pub Arc<U>);

impl<U> Deref for AuthUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r, U: UserEntity> FromRequest<'r> for AuthUser<U> {
    type Error = AuthFailure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match current_user::<U>(req).await {
            Ok(Some(user)) => Outcome::Success(AuthUser(user.clone())),
            Ok(None) => Outcome::Error((Status::Unauthorized, AuthFailure::NotLoggedIn)),
            Err(status) => Outcome::Error((*status, AuthFailure::Unavailable)),
        }
    }
}

/// The logged-in, active user if there is one. Never fails for anonymous
/// requests; fails with 503 when the database cannot be reached (an outage
/// must not look like being logged out).
pub struct OptionalUser<U>(pub Option<Arc<U>>);

#[rocket::async_trait]
impl<'r, U: UserEntity> FromRequest<'r> for OptionalUser<U> {
    type Error = AuthFailure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match current_user::<U>(req).await {
            Ok(user) => Outcome::Success(OptionalUser(user.clone())),
            Err(status) => Outcome::Error((*status, AuthFailure::Unavailable)),
        }
    }
}
