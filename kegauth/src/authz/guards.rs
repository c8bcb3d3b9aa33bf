//! Request guards: the current user.

use crate::authn::principal::{principal, session_principal};
use crate::authz::requirements::{evaluate, Declared, Denied, Requirement};
use crate::core::entity::UserEntity;
use crate::core::permissions::PermissionType;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use std::ops::Deref;
use std::sync::Arc;

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

/// The request's user as `U`: the session user, else (with `loaders`) one a
/// request loader found (each loaded once per request).
async fn current_user<U: UserEntity>(
    req: &Request<'_>,
    loaders: bool,
) -> Result<Option<Arc<U>>, Status> {
    let found = if loaders {
        principal(req).await
    } else {
        session_principal(req).await
    };
    match found {
        Ok(None) => Ok(None),
        Ok(Some(p)) => match p.user.clone().downcast::<U>() {
            Ok(user) => Ok(Some(user)),
            Err(_) => {
                log::error!(
                    "kegauth: the guard asks for {} but the AuthManager's user type is another",
                    std::any::type_name::<U>()
                );
                Err(Status::InternalServerError)
            }
        },
        Err(status) => Err(status),
    }
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
        match current_user::<U>(req, true).await {
            Ok(Some(user)) => Outcome::Success(AuthUser(user)),
            Ok(None) => Outcome::Error((Status::Unauthorized, AuthFailure::NotLoggedIn)),
            Err(status) => Outcome::Error((status, AuthFailure::Unavailable)),
        }
    }
}

/// The user logged in through the session cookie (never one a request loader
/// found): for what only a browser session may do, such as issuing tokens.
/// Fails like [`AuthUser`] otherwise.
///
/// ```
/// # use kegauth::guards::SessionUser;
/// # use kegauth::loaders::JwtRequestLoader;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// // A bearer token cannot mint its own successor.
/// #[rocket::post("/api/token")]
/// fn token(jwt: &JwtRequestLoader, user: SessionUser<User>) -> kegauth::Result<String> {
///     jwt.create_access_token(&*user)
/// }
/// ```
pub struct SessionUser<U>(pub Arc<U>);

impl<U> Deref for SessionUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r, U: UserEntity> FromRequest<'r> for SessionUser<U> {
    type Error = AuthFailure;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match current_user::<U>(req, false).await {
            Ok(Some(user)) => Outcome::Success(SessionUser(user)),
            Ok(None) => Outcome::Error((Status::Unauthorized, AuthFailure::NotLoggedIn)),
            Err(status) => Outcome::Error((status, AuthFailure::Unavailable)),
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
        match current_user::<U>(req, true).await {
            Ok(user) => Outcome::Success(OptionalUser(user)),
            Err(status) => Outcome::Error((status, AuthFailure::Unavailable)),
        }
    }
}

/// The request's user has permission `P` (a type made by
/// [`permissions!`](crate::permissions!) with `NAME as Type = "token"`): 401
/// when nobody is logged in, 403 without the permission. As a sentinel it
/// stops the launch when `P`'s token was not declared.
///
/// ```
/// # use kegauth::Permission;
/// kegauth::permissions! { REPORTS as Reports = "reports"; }
/// #[rocket::get("/reports")]
/// fn reports(_reader: Permission<Reports>) -> &'static str { "reports" }
/// ```
pub struct Permission<P>(std::marker::PhantomData<P>);

#[rocket::async_trait]
impl<'r, P: PermissionType> FromRequest<'r> for Permission<P> {
    type Error = Denied;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Denied> {
        match evaluate(req, &Requirement::from(P::TOKEN)).await {
            Ok(()) => Outcome::Success(Permission(std::marker::PhantomData)),
            Err(denied) => Outcome::Error((denied.status(), denied)),
        }
    }
}

impl<P: PermissionType> rocket::Sentinel for Permission<P> {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        let declared = rocket
            .state::<Declared>()
            .is_some_and(|d| d.0.contains(P::TOKEN));
        if !declared {
            log::error!(
                "kegauth: a Permission<{}> guard requires `{}`, which is not declared",
                std::any::type_name::<P>(),
                P::TOKEN
            );
        }
        !declared
    }
}
