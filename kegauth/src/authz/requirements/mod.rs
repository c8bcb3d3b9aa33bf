//! Authorization requirements: what `#[requires_user]`, `#[requires_permissions]`
//! and [`require`] check before a handler runs.
//!
//! A requirement is built from permission tokens (string literals or
//! constants declared with [`permissions!`](crate::permissions!)), `has_all`,
//! `has_any`, nested freely, and checks on the user (closures or functions
//! taking `&User`).
//!
//! ```
//! use kegauth::requirements::{has_all, has_any, Requirement};
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
//! kegauth::permissions! { P1 = "permission1"; P2 = "permission2"; }
//! let r = has_any([
//!     has_all([P1.into(), "permission2".into()]),
//!     Requirement::check(|u: &User| u.email.ends_with("@example.com")),
//! ]);
//! assert_eq!(r.tokens(), ["permission1", "permission2"]);
//! ```

use crate::authn::loaders::{LoaderId, Loaders, RouteLoaders};
use crate::authn::principal::{principal_with, route_loaders};
use crate::core::permissions::PermissionDef;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::route::{Handler, Route};
use rocket::{Data, Ignite, Rocket, Sentinel};
use std::any::Any;
use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

type AnyUser = dyn Any + Send + Sync;
type UserCheck = Arc<dyn Fn(&AnyUser) -> bool + Send + Sync>;

/// What a request must satisfy.
#[derive(Clone)]
pub enum Requirement {
    /// A logged-in, active user (and nothing more).
    User,
    /// The user has this permission token.
    Token(String),
    /// Every one of these.
    All(Vec<Requirement>),
    /// At least one of these.
    Any(Vec<Requirement>),
    /// A check on the user.
    Check(UserCheck),
}

impl std::fmt::Debug for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::User => f.write_str("User"),
            Requirement::Token(t) => write!(f, "{t:?}"),
            Requirement::All(v) => f.debug_tuple("has_all").field(v).finish(),
            Requirement::Any(v) => f.debug_tuple("has_any").field(v).finish(),
            Requirement::Check(_) => f.write_str("<check>"),
        }
    }
}

/// Written the way the macros take it: `login` (any logged-in user),
/// `"token"`, `has_all(..)`, `has_any(..)`, and `check` for a check on the user.
///
/// ```
/// use kegauth::requirements::{has_all, has_any, Requirement};
/// let r = has_any([has_all(["a".into(), "b".into()]), Requirement::User]);
/// assert_eq!(r.to_string(), r#"has_any(has_all("a", "b"), login)"#);
/// ```
impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |f: &mut std::fmt::Formatter<'_>, name: &str, items: &[Requirement]| {
            write!(f, "{name}(")?;
            for (i, r) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{r}")?;
            }
            f.write_str(")")
        };
        match self {
            Requirement::User => f.write_str("login"),
            Requirement::Token(t) => write!(f, "{t:?}"),
            Requirement::All(v) => list(f, "has_all", v),
            Requirement::Any(v) => list(f, "has_any", v),
            Requirement::Check(_) => f.write_str("check"),
        }
    }
}

/// All of the requirements.
pub fn has_all(items: impl IntoIterator<Item = Requirement>) -> Requirement {
    Requirement::All(items.into_iter().collect())
}

/// Any of the requirements.
pub fn has_any(items: impl IntoIterator<Item = Requirement>) -> Requirement {
    Requirement::Any(items.into_iter().collect())
}

impl Requirement {
    /// A check on the user, e.g. `Requirement::check(|u: &User| u.is_staff)`.
    /// A check on another type than the app's user type never passes.
    pub fn check<U: Send + Sync + 'static>(f: impl Fn(&U) -> bool + Send + Sync + 'static) -> Self {
        Requirement::Check(Arc::new(move |user: &AnyUser| {
            user.downcast_ref::<U>().is_some_and(&f)
        }))
    }

    /// Every permission token named, in order, without repeats.
    pub fn tokens(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Requirement::Token(t) if !out.contains(&t.as_str()) => out.push(t),
            Requirement::All(v) | Requirement::Any(v) => v.iter().for_each(|r| r.collect(out)),
            _ => {}
        }
    }

    /// Whether any permission token appears (without collecting them: this
    /// runs on every checked request).
    pub(crate) fn needs_permissions(&self) -> bool {
        match self {
            Requirement::Token(_) => true,
            Requirement::All(v) | Requirement::Any(v) => {
                v.iter().any(Requirement::needs_permissions)
            }
            Requirement::User | Requirement::Check(_) => false,
        }
    }

    pub(crate) fn eval(&self, user: &AnyUser, permissions: &BTreeSet<String>) -> bool {
        match self {
            Requirement::User => true,
            Requirement::Token(t) => permissions.contains(t),
            Requirement::All(v) => v.iter().all(|r| r.eval(user, permissions)),
            Requirement::Any(v) => v.iter().any(|r| r.eval(user, permissions)),
            Requirement::Check(f) => f(user),
        }
    }
}

impl From<&str> for Requirement {
    fn from(token: &str) -> Self {
        Requirement::Token(token.to_string())
    }
}

impl From<PermissionDef> for Requirement {
    fn from(p: PermissionDef) -> Self {
        Requirement::Token(p.token.to_string())
    }
}

/// Marker for [`IntoRequirement`] on tokens.
pub struct ByToken;
/// Marker for [`IntoRequirement`] on user checks.
pub struct ByCheck<U>(PhantomData<fn(&U)>);

/// What `#[requires_permissions(..)]` accepts as a condition: a token (string
/// or declared constant), a [`Requirement`], or a function or closure taking `&User`.
pub trait IntoRequirement<Marker> {
    /// Convert.
    fn into_requirement(self) -> Requirement;
}

impl IntoRequirement<ByToken> for &str {
    fn into_requirement(self) -> Requirement {
        self.into()
    }
}

impl IntoRequirement<ByToken> for PermissionDef {
    fn into_requirement(self) -> Requirement {
        self.into()
    }
}

impl IntoRequirement<ByToken> for Requirement {
    fn into_requirement(self) -> Requirement {
        self
    }
}

impl<U, F> IntoRequirement<ByCheck<U>> for F
where
    U: Send + Sync + 'static,
    F: Fn(&U) -> bool + Send + Sync + 'static,
{
    fn into_requirement(self) -> Requirement {
        Requirement::check(self)
    }
}

/// Why a requirement was not met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Not logged in (401: a redirect to the login page for browsers).
    Unauthenticated,
    /// Logged in without the rights (403).
    Forbidden,
    /// kegauth is not attached or the database failed.
    Unavailable(Status),
}

impl Denied {
    /// The status the request fails with.
    pub fn status(self) -> Status {
        match self {
            Denied::Unauthenticated => Status::Unauthorized,
            Denied::Forbidden => Status::Forbidden,
            Denied::Unavailable(s) => s,
        }
    }
}

/// Check `requirement` for a request.
pub async fn evaluate(req: &Request<'_>, requirement: &Requirement) -> Result<(), Denied> {
    evaluate_with(req, requirement, || route_loaders(req)).await
}

async fn evaluate_with(
    req: &Request<'_>,
    requirement: &Requirement,
    loaders: impl FnOnce() -> Option<&'static [LoaderId]>,
) -> Result<(), Denied> {
    let principal = match principal_with(req, loaders).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(Denied::Unauthenticated),
        Err(status) => return Err(Denied::Unavailable(status)),
    };
    if must_enrol_first(req).await {
        req.local_cache(|| FailureOverride(Some(to_enrolment)));
        return Err(Denied::Unauthenticated);
    }
    let empty = BTreeSet::new();
    let permissions = if requirement.needs_permissions() {
        principal
            .permissions(req)
            .await
            .map_err(Denied::Unavailable)?
    } else {
        &empty
    };
    if requirement.eval(&*principal.user, permissions) {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

/// Whether the request's session user must enrol a second factor before
/// anything else (`two_factor_required_for`, `two_factor = "required"`).
async fn must_enrol_first(req: &Request<'_>) -> bool {
    // The flag first: it is off for almost every request.
    crate::authn::session::Session::of(req).is_some_and(|s| s.current().must_enrol)
        && req
            .rocket()
            .state::<crate::core::config::Config>()
            .is_some_and(crate::core::config::Config::two_factor_on)
        && matches!(
            crate::authn::principal::session_principal(req).await,
            Ok(Some(_))
        )
}

/// Where a user who must enrol is sent from every protected page.
fn to_enrolment(req: &Request<'_>) -> rocket::response::Result<'static> {
    use rocket::response::Responder;
    rocket::response::Redirect::to(crate::core::paths::TWO_FACTOR_PATH).respond_to(req)
}

/// A custom response for a failed requirement, e.g.
/// `fn to_signup(req: &Request<'_>) -> rocket::response::Result<'static> { Redirect::to("/signup").respond_to(req) }`.
pub type FailureHandler = fn(&Request<'_>) -> rocket::response::Result<'static>;

/// Options of a requirement (keg-auth's decorator arguments).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequireOptions {
    /// Answer anonymous requests with this instead of the login redirect / 401.
    pub on_authentication_failure: Option<FailureHandler>,
    /// Answer users without the rights with this instead of the 403 page.
    pub on_authorization_failure: Option<FailureHandler>,
    /// Methods let through unchecked; `None` uses the `http_methods_excluded` setting.
    pub http_methods_excluded: Option<&'static [&'static str]>,
    /// The request loaders this route accepts, e.g.
    /// `Some(&[loader_id::<JwtRequestLoader>])`; `None`: every registered
    /// one. A route that names loaders is an API route: failures get a 401,
    /// never the login redirect.
    pub request_loaders: Option<&'static [LoaderId]>,
}

/// The custom failure handler chosen for this request, read by kegauth's catchers.
pub(crate) struct FailureOverride(pub Option<FailureHandler>);

/// Whether the request's method is excluded from checks.
fn excluded(req: &Request<'_>, options: &RequireOptions) -> bool {
    let method = req.method();
    match options.http_methods_excluded {
        Some(list) => list.iter().any(|m| m.eq_ignore_ascii_case(method.as_str())),
        None => req
            .rocket()
            .state::<crate::core::config::Config>()
            .is_some_and(|c| {
                c.http_methods_excluded
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(method.as_str()))
            }),
    }
}

/// Check a requirement with its options: `Ok` to go on, or the status to fail
/// with (after noting a custom failure handler for the catchers).
async fn check(
    req: &Request<'_>,
    requirement: &Requirement,
    options: &RequireOptions,
) -> Result<(), Denied> {
    if excluded(req, options) {
        return Ok(());
    }
    if let Some(loaders) = options.request_loaders {
        req.local_cache(|| RouteLoaders(Some(loaders)));
    }
    let result = evaluate_with(req, requirement, || options.request_loaders).await;
    if let Err(denied) = result {
        let handler = match denied {
            Denied::Unauthenticated => options.on_authentication_failure,
            Denied::Forbidden => options.on_authorization_failure,
            Denied::Unavailable(_) => None,
        };
        if handler.is_some() {
            req.local_cache(|| FailureOverride(handler));
        }
    }
    result
}

/// A requirement attached to a handler by `#[requires_user]` or
/// `#[requires_permissions]` (generated; apps do not implement it).
pub trait RequirementSpec: Send + Sync + 'static {
    /// The handler's name, for messages.
    const HANDLER: &'static str;
    /// The method and path of the handler's route attribute (empty when
    /// they could not be read), for the route report and menus.
    const ROUTE: (&'static str, &'static str) = ("", "");
    /// The module the handler is in.
    const MODULE: &'static str = "";
    /// The requirement.
    fn requirement() -> &'static Requirement;
    /// Its options.
    fn options() -> RequireOptions {
        RequireOptions::default()
    }
}

/// The guard the `requires_*` macros add to a handler. It fails with 401 when
/// nobody is logged in and 403 when the user lacks the rights; as a Rocket
/// sentinel it stops the launch when the handler names a permission token
/// that was not declared.
pub struct Required<M>(PhantomData<M>);

#[rocket::async_trait]
impl<'r, M: RequirementSpec> FromRequest<'r> for Required<M> {
    type Error = Denied;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Denied> {
        match check(req, M::requirement(), &M::options()).await {
            Ok(()) => Outcome::Success(Required(PhantomData)),
            Err(denied) => Outcome::Error((denied.status(), denied)),
        }
    }
}

/// The permission tokens declared to the [`AuthManager`](crate::AuthManager).
pub(crate) struct Declared(pub BTreeSet<String>);

impl Declared {
    /// The tokens `requirement` names that are not declared.
    pub fn missing<'a>(&self, requirement: &'a Requirement) -> Vec<&'a str> {
        requirement
            .tokens()
            .into_iter()
            .filter(|t| !self.0.contains(*t))
            .collect()
    }
}

/// The tokens of `requirement` that are not declared, or `None` when kegauth is not attached.
fn undeclared<'a>(rocket: &Rocket<Ignite>, requirement: &'a Requirement) -> Option<Vec<&'a str>> {
    Some(rocket.state::<Declared>()?.missing(requirement))
}

impl<M: RequirementSpec> Sentinel for Required<M> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        record_handler::<M>();
        let Some(missing) = undeclared(rocket, M::requirement()) else {
            log::error!(
                "kegauth: handler `{}` has a requirement but the AuthManager is not attached",
                M::HANDLER
            );
            return true;
        };
        for token in &missing {
            log::error!(
                "kegauth: handler `{}` requires permission `{token}`, which is not declared",
                M::HANDLER
            );
        }
        let loaders = unregistered_loaders(rocket, &M::options());
        for name in &loaders {
            log::error!(
                "kegauth: handler `{}` accepts request loader {name}, which is not registered",
                M::HANDLER
            );
        }
        !missing.is_empty() || !loaders.is_empty()
    }
}

/// The loaders `options` names that are not registered on the AuthManager
/// (which is attached: the sentinel checks that first).
fn unregistered_loaders(rocket: &Rocket<Ignite>, options: &RequireOptions) -> Vec<&'static str> {
    rocket
        .state::<Loaders>()
        .map_or_else(Vec::new, |loaders| loaders.missing(options.request_loaders))
}

#[derive(Clone)]
struct RequireHandler {
    inner: Box<dyn Handler>,
    requirement: Arc<Requirement>,
    options: RequireOptions,
}

#[rocket::async_trait]
impl Handler for RequireHandler {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> rocket::route::Outcome<'r> {
        if let Err(denied) = check(req, &self.requirement, &self.options).await {
            return rocket::route::Outcome::Error(denied.status());
        }
        self.inner.handle(req, data).await
    }
}

/// Put a requirement on a whole set of routes (keg-auth's blueprint decorator).
///
/// ```
/// # use kegauth::requirements::{require, Requirement};
/// #[rocket::get("/reports")]
/// fn reports() -> &'static str { "reports" }
/// let routes = require(rocket::routes![reports], Requirement::from("reports-view"));
/// assert!(routes[0].name.as_deref().unwrap().starts_with("reports [kegauth #"));
/// ```
///
/// Each route's name is tagged with the requirement, so that the
/// [`AuthManager`](crate::AuthManager) can refuse to launch when a mounted
/// route set names a permission token that was not declared.
pub fn require(routes: Vec<Route>, requirement: impl Into<Requirement>) -> Vec<Route> {
    require_with(routes, requirement, RequireOptions::default())
}

/// [`require`] with options (custom failure handlers, excluded methods).
pub fn require_with(
    routes: Vec<Route>,
    requirement: impl Into<Requirement>,
    options: RequireOptions,
) -> Vec<Route> {
    let requirement = Arc::new(requirement.into());
    let id = register_rule(RouteRule::Fixed(requirement.clone(), options));
    routes
        .into_iter()
        .map(|mut route| {
            tag_route(&mut route, id);
            route.handler = Box::new(RequireHandler {
                inner: route.handler,
                requirement: requirement.clone(),
                options,
            });
            route
        })
        .collect()
}

mod everywhere;
mod routes;
pub use everywhere::RequireEverywhere;
pub(crate) use everywhere::{GlobalRules, OriginalUri, DENIED_PATH};
pub(crate) use routes::*;
