//! What each mounted route requires: the rules that [`require`](super::require),
//! the `#[requires_*]` attributes and the CRUD views register, kept by route
//! so that launch checks, the route report and the menus read them.

use super::*;

/// What a route set (or a CRUD view's route) requires, kept for launch
/// checks, the route report and menus.
#[derive(Clone)]
pub(crate) enum RouteRule {
    /// A requirement fixed when the routes were built.
    Fixed(Arc<Requirement>, RequireOptions),
    /// An admin section's action: what the AuthManager was told, read from
    /// its managed state.
    Admin(
        crate::authz::admin_rules::Section,
        crate::authz::admin_rules::Action,
    ),
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

pub(super) fn record_handler<M: RequirementSpec>() {
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
