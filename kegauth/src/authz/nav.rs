//! Permission-aware navigation menus (keg-auth's `NavItem` and `NavURL`).
//!
//! A menu is a list of [`NavItem`]s: links ([`NavItem::link`] to a
//! [`NavUrl`]) and groups of items ([`NavItem::group`]). A link shows only
//! when the current user may open its target, which kegauth reads from the
//! target route itself (`#[requires_user]`, `#[requires_permissions]`,
//! [`require`](crate::require) on its route set, the admin and CRUD pages, a
//! [`RequireEverywhere`](crate::RequireEverywhere)): no requirement is
//! written twice. A group shows when one of its items shows.
//!
//! Menus are registered on the [`AuthManager`](crate::AuthManager) by name.
//! Every link must point at a mounted `GET` route, or the launch stops.
//! kegauth's own pages show the menu named `main` (`kegauth/base.html`);
//! an app's handlers take the [`Nav`] guard and render a menu with the
//! `kegauth/nav.html` macro ([`Nav::render`]) or their own template
//! ([`Nav::menu`]).
//!
//! ```no_run
//! use kegauth::nav::{Nav, NavItem, NavUrl};
//! use rocket::response::content::RawHtml;
//! # use rocket_db_pools::Database;
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
//! # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
//! kegauth::permissions! { REPORTS = "reports"; AUTH_MANAGE = "auth-manage"; }
//!
//! #[rocket::get("/")]
//! fn home(nav: Nav<'_>) -> kegauth::Result<RawHtml<String>> {
//!     Ok(RawHtml(format!("<nav>{}</nav><h1>Home</h1>", nav.render("main")?)))
//! }
//!
//! #[kegauth::requires_permissions(REPORTS)]
//! #[rocket::get("/reports")]
//! fn reports() -> &'static str { "reports" }
//!
//! fn app() -> rocket::Rocket<rocket::Build> {
//!     let main = vec![
//!         NavItem::link("Home", NavUrl::new(rocket::uri!(home))),
//!         // Shown to users with `reports`: read from #[requires_permissions].
//!         NavItem::link("Reports", NavUrl::new(rocket::uri!(reports))),
//!         NavItem::group("Admin", [
//!             NavItem::link("Users", NavUrl::new("/users")),
//!             NavItem::link("Groups", NavUrl::new("/groups")),
//!         ])
//!         .nav_group("admin"),
//!         NavItem::link("Log in", NavUrl::new("/login").requires_anonymous()),
//!     ];
//!     rocket::build()
//!         .attach(Db::init())
//!         .attach(kegauth::AuthManager::<Db, User>::builder()
//!             .permissions(PERMISSIONS)
//!             .menu("main", main)
//!             .build())
//!         .mount("/", kegauth::routes())
//!         .mount("/", rocket::routes![home, reports])
//! }
//! ```
//!
//! Which links a session may see is kept per session key for
//! `nav_cache_secs` (default 300). Logging in or out clears it, and so does
//! every write the store makes to users, memberships or permissions; rights
//! changed by other means (another instance, the app's own SQL) show in
//! menus when the entry expires. Menus only hide links: the routes still
//! check every request.

use crate::authn::principal::{principal, session_principal};
use crate::authn::session::Session;
use crate::authz::requirements::Requirement;
use crate::services::templates::Templates;
use rocket::http::{uri::Origin, Method, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::{Orbit, Rocket, Route};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where a menu link goes, and who sees it.
///
/// ```
/// use kegauth::nav::NavUrl;
/// # kegauth::permissions! { REPORTS = "reports"; }
/// // Shown to whoever may open /reports (what its route requires).
/// let reports = NavUrl::new("/reports");
/// // Shown to users with `reports`, whatever the route says.
/// let explicit = NavUrl::new("/reports?week=1").requires_permissions(REPORTS);
/// // Shown to visitors who are not logged in.
/// let login = NavUrl::new("/login").requires_anonymous();
/// ```
#[derive(Clone, Debug)]
pub struct NavUrl {
    href: String,
    rule: UrlRule,
}

#[derive(Clone, Debug)]
enum UrlRule {
    /// What the target route requires.
    Route,
    /// This, instead of the route's requirement.
    Requires(Requirement),
    /// Only visitors who are not logged in.
    Anonymous,
}

impl NavUrl {
    /// A link to `uri`: a path on this app, such as `"/reports"` or
    /// `rocket::uri!(reports)`, served by a mounted `GET` route.
    pub fn new(uri: impl std::fmt::Display) -> Self {
        NavUrl {
            href: uri.to_string(),
            rule: UrlRule::Route,
        }
    }

    /// Show the link to users who meet `requirement` (a token, a declared
    /// permission, `has_all`/`has_any`, a check on the user) instead of what
    /// the target route requires. Its tokens must be declared.
    pub fn requires_permissions(mut self, requirement: impl Into<Requirement>) -> Self {
        self.rule = UrlRule::Requires(requirement.into());
        self
    }

    /// Show the link to any logged-in user, whatever the route requires.
    pub fn requires_user(mut self) -> Self {
        self.rule = UrlRule::Requires(Requirement::User);
        self
    }

    /// Show the link only to visitors who are not logged in (a "Log in" link).
    pub fn requires_anonymous(mut self) -> Self {
        self.rule = UrlRule::Anonymous;
        self
    }

    /// The link's target.
    pub fn href(&self) -> &str {
        &self.href
    }
}

/// A menu entry: a link or a group of entries.
///
/// ```
/// use kegauth::nav::{NavItem, NavUrl};
/// let menu = vec![
///     NavItem::link("Home", NavUrl::new("/")).icon_class("fa fa-home"),
///     NavItem::group("Reports", [
///         NavItem::link("Daily", NavUrl::new("/reports/daily")),
///         NavItem::link("Weekly", NavUrl::new("/reports/weekly")).code("weekly"),
///     ])
///     .nav_group("reports")
///     .class("reports-menu"),
/// ];
/// assert_eq!(menu[1].label(), "Reports");
/// ```
#[derive(Clone, Debug)]
pub struct NavItem {
    label: String,
    node: Node,
    nav_group: Option<String>,
    icon_class: Option<String>,
    class: Option<String>,
    code: Option<String>,
}

#[derive(Clone, Debug)]
enum Node {
    Link(NavUrl),
    Group(Vec<NavItem>),
}

impl NavItem {
    fn new(label: &str, node: Node) -> Self {
        NavItem {
            label: label.to_string(),
            node,
            nav_group: None,
            icon_class: None,
            class: None,
            code: None,
        }
    }

    /// A link labelled `label`.
    pub fn link(label: &str, url: NavUrl) -> Self {
        Self::new(label, Node::Link(url))
    }

    /// A group labelled `label`, shown when one of its items shows.
    pub fn group(label: &str, items: impl IntoIterator<Item = NavItem>) -> Self {
        Self::new(label, Node::Group(items.into_iter().collect()))
    }

    /// The group's name (the default template gives it the HTML id
    /// `nav-group-<name>`).
    pub fn nav_group(mut self, name: &str) -> Self {
        self.nav_group = Some(name.to_string());
        self
    }

    /// A CSS class for an icon shown before the label.
    pub fn icon_class(mut self, class: &str) -> Self {
        self.icon_class = Some(class.to_string());
        self
    }

    /// A CSS class for the entry.
    pub fn class(mut self, class: &str) -> Self {
        self.class = Some(class.to_string());
        self
    }

    /// A code for templates and tests to find the entry by (`data-code`).
    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_string());
        self
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// One visible menu entry, as templates get it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MenuEntry {
    /// The label.
    pub label: String,
    /// The link's target; `None` for a group.
    pub href: Option<String>,
    /// The link is the current page (`aria-current="page"`).
    pub current: bool,
    /// The link is the current page or a page below it; a group holds such
    /// a link (the default template opens it).
    pub active: bool,
    /// A group's visible entries.
    pub children: Vec<MenuEntry>,
    /// See [`NavItem::nav_group`].
    pub nav_group: Option<String>,
    /// See [`NavItem::icon_class`].
    pub icon_class: Option<String>,
    /// See [`NavItem::class`].
    pub class: Option<String>,
    /// See [`NavItem::code`].
    pub code: Option<String>,
}

/// A registered menu entry, with links numbered across all menus.
struct Entry {
    item: NavItem,
    kind: Kind,
}

enum Kind {
    Link(usize),
    Group(Vec<Entry>),
}

/// A link, resolved to its route at launch.
struct Link {
    href: String,
    /// The href's path, for current-page marking.
    path: String,
    rule: UrlRule,
    route: Route,
    /// What the route requires, read on first use (guards are known once
    /// the app is ignited).
    requirement: OnceLock<Option<Requirement>>,
}

/// Which links a session may see.
struct Cached {
    generation: u64,
    at: Instant,
    visible: Arc<[bool]>,
}

/// Entries kept at most; past it, expired entries go, then everything.
const CAPACITY: usize = 10_000;

/// Which links a user sees, and the path: what a page's `menus` depends on.
type MenusKey = (Arc<[bool]>, String);

/// Menu values kept at most (one per set of links seen and path).
const VALUES_CAPACITY: usize = 1_000;

/// The app's menus (managed state).
pub struct Menus {
    menus: Vec<(String, Vec<Entry>)>,
    links: Vec<Link>,
    ttl: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    /// Every menu as templates get it (`menus`), by the links seen and the
    /// current path: made once, then shared by every page that shows it.
    values: Mutex<HashMap<MenusKey, minijinja::Value>>,
}

impl std::fmt::Debug for Menus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Menus")
            .field(
                "names",
                &self.menus.iter().map(|m| &m.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Whether a route path pattern (`/users/<id>/edit`, `/static/<path..>`)
/// matches a concrete path.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/').filter(|s| !s.is_empty());
    let mut have = path.split('/').filter(|s| !s.is_empty());
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), h) if w.starts_with('<') && w.ends_with("..>") => {
                let _ = h;
                return true;
            }
            (Some(w), Some(_)) if w.starts_with('<') && w.ends_with('>') => {}
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// The GET route that serves `path` (the lowest rank first, as Rocket tries them).
fn route_for<'a>(routes: impl Iterator<Item = &'a Route>, path: &str) -> Option<&'a Route> {
    routes
        .filter(|r| r.method == Method::Get && pattern_matches(r.uri.path(), path))
        .min_by_key(|r| r.rank)
}

impl Menus {
    /// Resolve `menus` against the mounted `routes`: every link must be a
    /// local path served by a GET route, every explicit token declared.
    pub(crate) fn build(
        menus: &[(String, Vec<NavItem>)],
        routes: &[&Route],
        declared: &crate::authz::requirements::Declared,
        ttl: Duration,
    ) -> Result<Self, Vec<String>> {
        let mut links = Vec::new();
        let mut problems = Vec::new();
        let mut out = Vec::new();
        for (i, (name, items)) in menus.iter().enumerate() {
            if menus[..i].iter().any(|(other, _)| other == name) {
                problems.push(format!("menu `{name}` is registered twice"));
            }
            let entries = Self::entries(name, items, routes, declared, &mut links, &mut problems);
            out.push((name.clone(), entries));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Menus {
            menus: out,
            links,
            ttl,
            cache: Mutex::new(HashMap::new()),
            values: Mutex::new(HashMap::new()),
        })
    }

    fn entries(
        menu: &str,
        items: &[NavItem],
        routes: &[&Route],
        declared: &crate::authz::requirements::Declared,
        links: &mut Vec<Link>,
        problems: &mut Vec<String>,
    ) -> Vec<Entry> {
        let mut out = Vec::new();
        for item in items {
            let kind = match &item.node {
                Node::Group(children) => {
                    if children.is_empty() {
                        problems.push(format!(
                            "menu `{menu}`: group `{}` has no items",
                            item.label
                        ));
                    }
                    Kind::Group(Self::entries(
                        menu, children, routes, declared, links, problems,
                    ))
                }
                Node::Link(url) => {
                    let place = format!("menu `{menu}`: link `{}` to `{}`", item.label, url.href);
                    let path = match Origin::parse(&url.href) {
                        Ok(origin) if url.href.starts_with('/') && !url.href.starts_with("//") => {
                            origin.path().to_string()
                        }
                        _ => {
                            problems.push(format!("{place}: not a path on this app"));
                            continue;
                        }
                    };
                    if let UrlRule::Requires(requirement) = &url.rule {
                        for token in declared.missing(requirement) {
                            problems.push(format!(
                                "{place} requires permission `{token}`, which is not declared"
                            ));
                        }
                    }
                    let Some(route) = route_for(routes.iter().copied(), &path) else {
                        problems.push(format!("{place}: no mounted GET route serves it"));
                        continue;
                    };
                    links.push(Link {
                        href: url.href.clone(),
                        path,
                        rule: url.rule.clone(),
                        route: route.clone(),
                        requirement: OnceLock::new(),
                    });
                    Kind::Link(links.len() - 1)
                }
            };
            out.push(Entry {
                item: item.clone(),
                kind,
            });
        }
        out
    }

    /// Forget what the session holding `key` may see (on login and logout).
    pub(crate) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn requirement(&self, link: &Link, rocket: &Rocket<Orbit>) -> Option<Requirement> {
        link.requirement
            .get_or_init(|| crate::authz::access::route_access(rocket, &link.route).requirement)
            .clone()
    }

    /// Which links anonymous visitors see; with `fallback`, those shown to
    /// anybody (when the user could not be loaded).
    fn anonymous(&self, rocket: &Rocket<Orbit>, fallback: bool) -> Arc<[bool]> {
        self.links
            .iter()
            .map(|link| match &link.rule {
                UrlRule::Anonymous => !fallback,
                UrlRule::Requires(_) => false,
                UrlRule::Route => self.requirement(link, rocket).is_none(),
            })
            .collect()
    }

    /// Which links the request's user may see.
    async fn visible(&self, req: &Request<'_>) -> Arc<[bool]> {
        let rocket = req.rocket();
        let from_session = match session_principal(req).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => None,
            Err(status) => {
                log::error!("kegauth: the menu shows public links only ({status})");
                return self.anonymous(rocket, true);
            }
        };
        let key = from_session
            .as_ref()
            .and_then(|_| Session::of(req)?.session_key());
        let principal = match from_session {
            Some(p) => p,
            None => match principal(req).await {
                Ok(Some(p)) => p,
                Ok(None) => return self.anonymous(rocket, false),
                Err(status) => {
                    log::error!("kegauth: the menu shows public links only ({status})");
                    return self.anonymous(rocket, true);
                }
            },
        };
        let Some(auth) = rocket.state::<crate::authn::service::Auth>() else {
            return self.anonymous(rocket, true);
        };
        let generation = auth.0.write_generation();
        if let Some(key) = &key
            && let Some(hit) = self
                .lock()
                .get(key.as_str())
                .filter(|c| c.generation == generation && c.at.elapsed() < self.ttl)
        {
            return hit.visible.clone();
        }
        let requirements: Vec<Option<Requirement>> = self
            .links
            .iter()
            .map(|link| match &link.rule {
                UrlRule::Anonymous => None,
                UrlRule::Requires(r) => Some(r.clone()),
                UrlRule::Route => self.requirement(link, rocket),
            })
            .collect();
        let empty = std::collections::BTreeSet::new();
        let permissions = if requirements
            .iter()
            .flatten()
            .any(Requirement::needs_permissions)
        {
            match principal.permissions(req).await {
                Ok(p) => p,
                Err(status) => {
                    log::error!("kegauth: the menu shows public links only ({status})");
                    return self.anonymous(rocket, true);
                }
            }
        } else {
            &empty
        };
        let visible: Arc<[bool]> = self
            .links
            .iter()
            .zip(&requirements)
            .map(|(link, requirement)| match (&link.rule, requirement) {
                (UrlRule::Anonymous, _) => false,
                (_, None) => true,
                (_, Some(r)) => r.eval(&*principal.user, permissions),
            })
            .collect();
        if let (Some(key), false) = (key, self.ttl.is_zero()) {
            let mut cache = self.lock();
            if cache.len() >= CAPACITY {
                cache.retain(|_, c| c.at.elapsed() < self.ttl);
                if cache.len() >= CAPACITY {
                    cache.clear();
                }
            }
            // A write since `generation` was read leaves this entry stale at once.
            cache.insert(
                key,
                Cached {
                    generation,
                    at: Instant::now(),
                    visible: visible.clone(),
                },
            );
        }
        visible
    }

    fn tree(&self, entries: &[Entry], visible: &[bool], path: &str) -> Vec<MenuEntry> {
        let mut out = Vec::new();
        for entry in entries {
            let item = &entry.item;
            let (href, current, active, children) = match &entry.kind {
                Kind::Link(i) => {
                    if !visible.get(*i).copied().unwrap_or(false) {
                        continue;
                    }
                    let link = &self.links[*i];
                    let current = link.path == path;
                    let below = link.path != "/"
                        && path
                            .strip_prefix(link.path.as_str())
                            .is_some_and(|rest| rest.starts_with('/'));
                    (
                        Some(link.href.clone()),
                        current,
                        current || below,
                        Vec::new(),
                    )
                }
                Kind::Group(children) => {
                    let children = self.tree(children, visible, path);
                    if children.is_empty() {
                        continue;
                    }
                    let active = children.iter().any(|c| c.active);
                    (None, false, active, children)
                }
            };
            out.push(MenuEntry {
                label: item.label.clone(),
                href,
                current,
                active,
                children,
                nav_group: item.nav_group.clone(),
                icon_class: item.icon_class.clone(),
                class: item.class.clone(),
                code: item.code.clone(),
            });
        }
        out
    }

    fn menu(&self, name: &str, visible: &[bool], path: &str) -> Option<Vec<MenuEntry>> {
        let (_, entries) = self.menus.iter().find(|(n, _)| n == name)?;
        Some(self.tree(entries, visible, path))
    }
}

/// Which links of the app's menus the request's user sees, worked out once
/// per request.
struct RequestMenus(Arc<[bool]>);

/// The menus as the request's user sees them (a request guard).
///
/// ```
/// use kegauth::nav::Nav;
/// #[rocket::get("/menu.json")]
/// fn menu(nav: Nav<'_>) -> rocket::serde::json::Json<Vec<kegauth::nav::MenuEntry>> {
///     rocket::serde::json::Json(nav.menu("main").unwrap_or_default())
/// }
/// ```
pub struct Nav<'r> {
    menus: &'r Menus,
    templates: &'r Templates,
    visible: Arc<[bool]>,
    path: String,
}

impl Nav<'_> {
    /// The visible entries of menu `name` (`None` when no such menu is registered).
    pub fn menu(&self, name: &str) -> Option<Vec<MenuEntry>> {
        self.menus.menu(name, &self.visible, &self.path)
    }

    /// Every menu's visible entries, by name (what kegauth's pages get as `menus`).
    pub fn all(&self) -> BTreeMap<String, Vec<MenuEntry>> {
        self.menus
            .menus
            .iter()
            .map(|(name, entries)| {
                (
                    name.clone(),
                    self.menus.tree(entries, &self.visible, &self.path),
                )
            })
            .collect()
    }

    /// [`all`](Self::all) as a template value, made once per (links seen,
    /// path) and reused: a page's `menus` costs a lookup, not a rebuild.
    pub(crate) fn all_value(&self) -> minijinja::Value {
        let key = (self.visible.clone(), self.path.clone());
        let lock = || self.menus.values.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = lock().get(&key) {
            return value.clone();
        }
        let value = crate::services::template_menus::MenusValue::value(
            minijinja::Value::from_serialize(self.all()),
        );
        let mut values = lock();
        // Paths are the app's to choose (`/users/7/edit`): bounded, forgotten when full.
        if values.len() >= VALUES_CAPACITY {
            values.clear();
        }
        values.insert(key, value.clone());
        value
    }

    /// Menu `name` as HTML, by the `render_menu` macro of `kegauth/nav.html`
    /// (an error when no such menu is registered).
    pub fn render(&self, name: &str) -> crate::core::error::Result<String> {
        let entries = self.menu(name).ok_or_else(|| {
            crate::core::error::Error::Config(format!("no menu is registered as `{name}`"))
        })?;
        self.templates.render_menu(name, &entries)
    }
}

/// The menus for `req`: `None` when kegauth is not attached.
pub(crate) async fn nav_of<'r>(req: &'r Request<'_>) -> Option<Nav<'r>> {
    let rocket = req.rocket();
    let (menus, templates) = (rocket.state::<Menus>()?, rocket.state::<Templates>()?);
    let visible = req
        .local_cache_async(async { RequestMenus(menus.visible(req).await) })
        .await
        .0
        .clone();
    Some(Nav {
        menus,
        templates,
        visible,
        path: req.uri().path().to_string(),
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Nav<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match nav_of(req).await {
            Some(nav) => Outcome::Success(nav),
            None => {
                log::error!("kegauth: the AuthManager fairing is not attached");
                Outcome::Error((Status::InternalServerError, ()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_rocket_segments() {
        assert!(pattern_matches("/", "/"));
        assert!(pattern_matches("/users", "/users/"));
        assert!(pattern_matches("/users/<id>/edit", "/users/7/edit"));
        assert!(!pattern_matches("/users/<id>/edit", "/users/7"));
        assert!(!pattern_matches("/users", "/users/7"));
        assert!(pattern_matches("/static/<path..>", "/static/a/b.css"));
        assert!(pattern_matches("/static/<path..>", "/static"));
        assert!(!pattern_matches("/static/<path..>", "/other"));
    }
}
