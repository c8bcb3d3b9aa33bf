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

use crate::loaders::{LoaderId, Loaders, RouteLoaders};
use crate::permissions::PermissionDef;
use crate::session::Session;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::route::{Handler, Route};
use rocket::{Data, Ignite, Rocket, Sentinel};
use std::any::Any;
use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

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

/// The request's user, type-erased, with their permissions loaded on first use.
pub(crate) struct Principal {
    pub user: Arc<AnyUser>,
    permissions: OnceLock<Arc<BTreeSet<String>>>,
}

impl Principal {
    pub fn new(user: Arc<AnyUser>) -> Self {
        Principal {
            user,
            permissions: OnceLock::new(),
        }
    }

    /// The user's permission tokens, loaded on first use (the status to fail
    /// with when kegauth is not attached or the database fails).
    pub async fn permissions(&self, req: &Request<'_>) -> Result<&BTreeSet<String>, Status> {
        if let Some(p) = self.permissions.get() {
            return Ok(p);
        }
        let Some(auth) = req.rocket().state::<crate::service::Auth>() else {
            return Err(Status::InternalServerError);
        };
        match auth.0.permissions_of(&*self.user).await {
            // Two guards of one request loading at once both read the same
            // rows; the first to finish is kept.
            Ok(p) => Ok(self.permissions.get_or_init(|| p)),
            Err(e) => {
                log::error!("kegauth: loading permissions failed: {e}");
                Err(e.status())
            }
        }
    }
}

/// What [`session_principal`] found: the user (if any) or the status to fail with.
pub(crate) type SessionPrincipal = Result<Option<Principal>, Status>;

/// The request's principal, if any, or the status to fail with. Principals
/// live in request-local storage (the session's, or each loader's outcome),
/// so they are lent, never allocated or counted per request.
pub(crate) type PrincipalRef<'r> = Result<Option<&'r Principal>, Status>;

/// The request's session user, loaded once per request (kept with the
/// request's session data, see [`crate::session::RequestLocal`]).
///
/// A plain `OnceLock`, set after the load, rather than an async once-cell:
/// on the hot path (a session cache hit) nothing awaits, and an async cell
/// takes and closes a semaphore on every request (about 250 instructions and
/// 24 instruction-cache misses of the check's 280, by callgrind). Two guards
/// of one request loading at once (they never do: Rocket runs a route's
/// guards one after another) would both read the same user; the first is
/// kept. [`Principal::permissions`] loads the same way.
pub(crate) async fn session_principal<'r>(req: &'r Request<'_>) -> PrincipalRef<'r> {
    let local = crate::session::RequestLocal::of(req);
    let found = match local.principal.get() {
        Some(found) => found,
        None => {
            let found = load_session_principal(req, local).await;
            local.principal.get_or_init(|| found)
        }
    };
    found.as_ref().map(Option::as_ref).map_err(|s| *s)
}

async fn load_session_principal(
    req: &Request<'_>,
    local: &crate::session::RequestLocal,
) -> SessionPrincipal {
    let (Some(session), Some(auth)) = (
        Session::with_local(req, local),
        req.rocket().state::<crate::service::Auth>(),
    ) else {
        log::error!("kegauth: the AuthManager fairing is not attached");
        return Err(Status::InternalServerError);
    };
    let data = session.current();
    let Some(key) = data.session_key.as_deref() else {
        return Ok(None);
    };
    // A session cache hit needs no future.
    if let Some(user) = auth.0.cached_active_user(key) {
        return Ok(Some(Principal::new(user)));
    }
    match auth.0.active_user(key).await {
        Ok(user) => Ok(user.map(Principal::new)),
        Err(e) => {
            log::error!("kegauth: loading the session user failed: {e}");
            Err(e.status())
        }
    }
}

/// The request's principal: the session user, else the first user a request
/// loader finds (of `loaders()` when the route restricts them; asked only
/// when the session has no user, the common case costs nothing).
pub(crate) async fn principal_with<'r>(
    req: &'r Request<'_>,
    loaders: impl FnOnce() -> Option<&'static [LoaderId]>,
) -> PrincipalRef<'r> {
    match session_principal(req).await {
        Ok(None) => crate::loaders::load_principal(req, loaders()).await,
        other => other,
    }
}

/// The loaders the current route accepts (`None`: every registered one).
fn route_loaders(req: &Request<'_>) -> Option<&'static [LoaderId]> {
    req.local_cache(|| RouteLoaders(None)).0
}

/// The request's principal, for guards (with the route's loader choice).
pub(crate) async fn principal<'r>(req: &'r Request<'_>) -> PrincipalRef<'r> {
    principal_with(req, || route_loaders(req)).await
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
            .state::<crate::config::Config>()
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

/// What a route set (or a CRUD view's route) requires, kept for launch
/// checks, the route report and menus.
#[derive(Clone)]
pub(crate) enum RouteRule {
    /// A requirement fixed when the routes were built.
    Fixed(Arc<Requirement>, RequireOptions),
    /// An admin section's action: what the AuthManager was told, read from
    /// its managed state.
    Admin(crate::admin::Section, crate::crud::Action),
    /// One of kegauth's own pages that must be open (login, logout, the
    /// password and verification pages).
    KegauthPage,
}

/// Route rules made in this process, by id (the tag in the route's name).
static ROUTE_RULES: std::sync::Mutex<Vec<RouteRule>> = std::sync::Mutex::new(Vec::new());

fn lock_rules() -> std::sync::MutexGuard<'static, Vec<RouteRule>> {
    ROUTE_RULES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keep `rule`; the id to tag routes with.
pub(crate) fn register_rule(rule: RouteRule) -> usize {
    let mut rules = lock_rules();
    rules.push(rule);
    rules.len() - 1
}

/// Tag `route`'s name with rule `id` (`name [kegauth #id]`).
pub(crate) fn tag_route(route: &mut Route, id: usize) {
    let name = route.name.as_deref().unwrap_or("route").to_string();
    route.name = Some(format!("{name} [kegauth #{id}]").into());
}

/// The name of `route` without kegauth's tag.
pub(crate) fn untagged_name(route: &Route) -> Option<&str> {
    let name = route.name.as_deref()?;
    Some(name.rsplit_once(" [kegauth #").map_or(name, |(n, _)| n))
}

/// The rule a route was tagged with.
pub(crate) fn route_rule(route: &Route) -> Option<RouteRule> {
    let id = route
        .name
        .as_deref()?
        .rsplit_once(" [kegauth #")
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .and_then(|id| id.parse::<usize>().ok())?;
    lock_rules().get(id).cloned()
}

/// `(route, problem)` for every mounted route whose rule names a permission
/// token not in `declared` or a request loader not in `loaders`.
pub(crate) fn undeclared_in_routes<'a>(
    routes: impl Iterator<Item = &'a Route>,
    declared: &Declared,
    loaders: &Loaders,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for route in routes {
        let Some(RouteRule::Fixed(req, options)) = route_rule(route) else {
            continue;
        };
        let here = || format!("{} {}", route.method, route.uri);
        for t in declared.missing(&req) {
            out.push((
                here(),
                format!("requires permission `{t}`, which is not declared"),
            ));
        }
        for name in loaders.missing(options.request_loaders) {
            out.push((
                here(),
                format!("accepts request loader {name}, which is not registered"),
            ));
        }
    }
    out
}

/// A handler's route: its name, method and path without the mount point.
type HandlerKey = (&'static str, String, String);

/// What one annotated handler requires, with the module it is in.
type HandlerRule = (&'static str, Requirement, RequireOptions);

/// What `#[requires_*]` handlers require, by route. Each records itself when
/// Rocket queries its guard as a sentinel at ignition, so an ignited app
/// knows every mounted annotated handler. (Rocket keeps a route's sentinels
/// to itself, so other guards in a signature, such as `AuthUser` or
/// `Permission`, cannot be tied to their route this way.) Handlers of the
/// same name and path in different modules share a key.
static HANDLERS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<HandlerKey, Vec<HandlerRule>>>,
> = std::sync::LazyLock::new(Default::default);

/// A route path without its query, without a trailing slash (but for `/`).
pub(crate) fn normal_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

fn record_handler<M: RequirementSpec>() {
    let (method, path) = M::ROUTE;
    if method.is_empty() {
        return;
    }
    let key = (M::HANDLER, method.to_ascii_uppercase(), normal_path(path));
    let mut handlers = HANDLERS.lock().unwrap_or_else(|p| p.into_inner());
    let rules = handlers.entry(key).or_default();
    if !rules.iter().any(|(module, ..)| *module == M::MODULE) {
        rules.push((M::MODULE, M::requirement().clone(), M::options()));
    }
}

/// What the `#[requires_*]` handler of `route` requires (once the app was
/// ignited). When handlers in several modules share the route's name,
/// method and path, which one this route runs is unknown: the answer is all
/// of their requirements, flagged as ambiguous.
pub(crate) fn handler_rule(route: &Route) -> Option<(Requirement, RequireOptions, bool)> {
    let name = untagged_name(route)?;
    let method = route.method.as_str();
    let path = normal_path(route.uri.unmounted_origin.path().as_str());
    let handlers = HANDLERS.lock().unwrap_or_else(|p| p.into_inner());
    let (_, rules) = handlers
        .iter()
        .find(|(k, _)| k.0 == name && k.1 == method && k.2 == path)?;
    match rules.as_slice() {
        [] => None,
        [(_, requirement, options)] => Some((requirement.clone(), *options, false)),
        several => Some((
            Requirement::All(several.iter().map(|(_, r, _)| r.clone()).collect()),
            several[0].2,
            true,
        )),
    }
}

/// The URI a client asked for, kept when a global requirement reroutes the request.
pub(crate) struct OriginalUri(pub Option<String>);

struct GlobalDenied(Status);

pub(crate) const DENIED_PATH: &str = "/__kegauth/denied";

#[derive(Clone)]
struct DeniedHandler;

#[rocket::async_trait]
impl Handler for DeniedHandler {
    async fn handle<'r>(
        &self,
        req: &'r Request<'_>,
        _data: Data<'r>,
    ) -> rocket::route::Outcome<'r> {
        let status = req.local_cache(|| GlobalDenied(Status::NotFound)).0;
        rocket::route::Outcome::Error(status)
    }
}

/// A requirement on every request (keg-auth's global request hook), as a
/// fairing. Attach it after the [`AuthManager`](crate::AuthManager).
///
/// kegauth's own pages (`/login`, `/logout`) and the paths given to
/// [`except`](Self::except) are not checked; neither are the methods in
/// `http_methods_excluded`.
///
/// ```no_run
/// # use kegauth::requirements::{RequireEverywhere, Requirement};
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// let fairing = RequireEverywhere::new(Requirement::check(|u: &User| u.email.ends_with("@corp.example")))
///     .except("/static")
///     .except("/health");
/// ```
pub struct RequireEverywhere {
    requirement: Arc<Requirement>,
    except: Vec<String>,
    options: RequireOptions,
}

/// A global requirement as the route report and menus see it.
#[derive(Clone)]
pub(crate) struct GlobalRule {
    pub requirement: Arc<Requirement>,
    except: Vec<String>,
    pub options: RequireOptions,
}

impl GlobalRule {
    /// Whether a request for `path` is left unchecked.
    pub fn is_excepted(&self, path: &str) -> bool {
        excepted(&self.except, path)
    }
}

/// Whether `path` is one of the `except` prefixes or below one.
fn excepted(except: &[String], path: &str) -> bool {
    except.iter().any(|prefix| {
        prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The global requirements of an app (managed state).
#[derive(Default)]
pub(crate) struct GlobalRules(pub std::sync::Mutex<Vec<GlobalRule>>);

impl GlobalRules {
    pub fn list(&self) -> Vec<GlobalRule> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl RequireEverywhere {
    /// Require `requirement` on every request.
    pub fn new(requirement: impl Into<Requirement>) -> Self {
        RequireEverywhere {
            requirement: Arc::new(requirement.into()),
            except: vec![
                crate::catchers::LOGIN_PATH.to_string(),
                crate::views::LOGOUT_PATH.to_string(),
                #[cfg(feature = "testing")]
                crate::testing::TEST_ROUTES.to_string(),
            ],
            options: RequireOptions::default(),
        }
    }

    /// Leave requests whose path is `prefix` or below it unchecked.
    pub fn except(mut self, prefix: &str) -> Self {
        self.except.push(prefix.trim_end_matches('/').to_string());
        self
    }

    /// Options (custom failure handlers, excluded methods).
    pub fn options(mut self, options: RequireOptions) -> Self {
        self.options = options;
        self
    }

    fn rule(&self) -> GlobalRule {
        GlobalRule {
            requirement: self.requirement.clone(),
            except: self.except.clone(),
            options: self.options,
        }
    }

    fn is_excepted(&self, path: &str) -> bool {
        excepted(&self.except, path)
    }
}

#[rocket::async_trait]
impl rocket::fairing::Fairing for RequireEverywhere {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "kegauth requirement on every request",
            kind: rocket::fairing::Kind::Ignite | rocket::fairing::Kind::Request,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<rocket::Build>) -> rocket::fairing::Result {
        let Some(declared) = rocket.state::<Declared>() else {
            log::error!("kegauth: attach RequireEverywhere after the AuthManager");
            return Err(rocket);
        };
        let missing: Vec<String> = declared
            .missing(&self.requirement)
            .into_iter()
            .map(String::from)
            .collect();
        if !missing.is_empty() {
            for t in missing {
                log::error!("kegauth: the global requirement names `{t}`, which is not declared");
            }
            return Err(rocket);
        }
        if let Some(rules) = rocket.state::<GlobalRules>() {
            rules
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.rule());
            return Ok(rocket);
        }
        let route = Route::new(rocket::http::Method::Get, DENIED_PATH, DeniedHandler);
        let rules = GlobalRules(std::sync::Mutex::new(vec![self.rule()]));
        Ok(rocket.manage(rules).mount("/", vec![route]))
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        if self.is_excepted(req.uri().path().as_str()) {
            return;
        }
        if let Err(denied) = check(req, &self.requirement, &self.options).await {
            let original = req.uri().to_string();
            req.local_cache(|| OriginalUri(Some(original)));
            req.local_cache(|| GlobalDenied(denied.status()));
            req.set_method(rocket::http::Method::Get);
            req.set_uri(rocket::http::uri::Origin::const_new(DENIED_PATH, None));
        }
    }
}
