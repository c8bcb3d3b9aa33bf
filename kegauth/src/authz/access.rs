//! What each mounted route requires, read from the same places the checks
//! come from: `#[requires_user]` / `#[requires_permissions]` on the handler,
//! [`require`](crate::require) on its route set, the admin and
//! [`CrudView`](crate::crud::CrudView) routes, and a
//! [`RequireEverywhere`](crate::RequireEverywhere) fairing.
//!
//! Guards in a handler's signature ([`AuthUser`](crate::AuthUser),
//! [`Permission`](crate::Permission)) still protect their route, but Rocket
//! does not let a library see which guards a route has, so the report lists
//! such a route as requiring nothing. Put `#[requires_user]` or
//! `#[requires_permissions]` on every protected handler and the report, and
//! menus, know about it.
//!
//! [`route_report`] lists every route of a launched (or ignited) app with its
//! requirement: the deny-by-default audit that `myapp auth routes` prints.
//! Menus ([`crate::nav`]) read the same answers to hide what a user may not open.
//!
//! ```
//! use kegauth::access::{render_report, route_report};
//! # use rocket_db_pools::Database;
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
//! # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
//! #[kegauth::requires_user]
//! #[rocket::get("/private")]
//! fn private() -> &'static str { "private" }
//!
//! #[rocket::get("/public")]
//! fn public() -> &'static str { "public" }
//!
//! # rocket::async_test(async {
//! let rocket = rocket::custom(rocket::Config::figment()
//!         .merge(("databases.main.url", "sqlite::memory:"))
//!         .merge(("kegauth.cookie_secure", false)))
//!     .attach(Db::init())
//!     .attach(kegauth::AuthManager::<Db, User>::builder().create_schema(true).build())
//!     .mount("/", rocket::routes![private, public])
//!     .ignite().await.unwrap();
//! let report = route_report(&rocket);
//! let open: Vec<String> = report.iter().filter(|r| r.is_open()).map(|r| r.uri.clone()).collect();
//! assert_eq!(open, ["/public"]);
//! assert!(render_report(&report).contains("GET     /private  login"));
//! # });
//! ```

use crate::authz::requirements::{
    handler_rule, route_rule, untagged_name, GlobalRules, RequireOptions, Requirement, RouteRule,
};
use crate::core::config::Config;
use rocket::http::Method;
use rocket::{Phase, Rocket, Route};

/// What one mounted route requires.
#[derive(Clone, Debug)]
pub struct RouteAccess {
    /// The route's method.
    pub method: Method,
    /// Its full path pattern (with the mount point), e.g. `/users/<id>/edit`.
    pub uri: String,
    /// Its handler's name, if it has one.
    pub name: Option<String>,
    /// What a request must satisfy; `None` when anyone may open it.
    pub requirement: Option<Requirement>,
    /// The request loaders it is restricted to (type names), if it names any.
    pub loaders: Option<Vec<&'static str>>,
    /// One of kegauth's own pages that are open by design (login, logout,
    /// forgot, reset and verify).
    pub kegauth_page: bool,
    /// Annotated handlers of this name, method and path exist in more than
    /// one module, so which one runs here is unknown: `requirement` holds all
    /// of theirs (menus then show the link only to users who meet them all).
    pub ambiguous: bool,
}

impl RouteAccess {
    /// Whether anyone, logged in or not, may open the route.
    pub fn is_open(&self) -> bool {
        self.requirement.is_none()
    }
}

/// Whether a requirement with `options` is checked for `method`.
fn applies(method: Method, options: &RequireOptions, config: Option<&Config>) -> bool {
    let skipped = match options.http_methods_excluded {
        Some(list) => list.iter().any(|m| m.eq_ignore_ascii_case(method.as_str())),
        None => config.is_some_and(|c| {
            c.http_methods_excluded
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method.as_str()))
        }),
    };
    !skipped
}

/// One requirement for all `layers`: the `login` layers drop out when
/// another layer exists (every requirement needs a logged-in user).
fn combine(mut layers: Vec<Requirement>) -> Option<Requirement> {
    if layers.len() > 1 {
        layers.retain(|r| !matches!(r, Requirement::User));
        if layers.is_empty() {
            layers.push(Requirement::User);
        }
    }
    match layers.len() {
        0 => None,
        1 => layers.pop(),
        _ => Some(Requirement::All(layers)),
    }
}

/// What `route` of `rocket` requires. `#[requires_*]` handlers are known once
/// Rocket has queried their guards at ignition; before that only route set,
/// CRUD and global requirements count.
pub fn route_access<P: Phase>(rocket: &Rocket<P>, route: &Route) -> RouteAccess {
    let config = rocket.state::<Config>();
    let path = route.uri.path();
    let mut layers = Vec::new();
    let mut loaders = None;
    let mut add = |requirement: Requirement, options: RequireOptions| {
        if applies(route.method, &options, config) {
            if let Some(ids) = options.request_loaders {
                loaders = Some(ids.iter().map(|id| id().type_name).collect());
            }
            layers.push(requirement);
        }
    };
    if let Some(rules) = rocket.state::<GlobalRules>() {
        for rule in rules.list() {
            if !rule.is_excepted(path) && path != crate::authz::requirements::DENIED_PATH {
                add((*rule.requirement).clone(), rule.options);
            }
        }
    }
    let rule = route_rule(route);
    let kegauth_page = matches!(rule, Some(RouteRule::KegauthPage));
    match rule {
        Some(RouteRule::Fixed(requirement, options)) => add((*requirement).clone(), options),
        Some(RouteRule::Admin(section, action)) => {
            let requirement = match rocket.state::<crate::authz::admin_rules::AdminRules>() {
                Some(rules) => rules.requirement(section, action),
                None => Requirement::from(crate::authz::admin_rules::AUTH_MANAGE),
            };
            add(requirement, RequireOptions::default());
        }
        Some(RouteRule::KegauthPage) | None => {}
    }
    let mut ambiguous = false;
    if let Some((requirement, options, several)) = handler_rule(route) {
        ambiguous = several;
        add(requirement, options);
    }
    RouteAccess {
        method: route.method,
        uri: route.uri.to_string(),
        name: untagged_name(route).map(str::to_string),
        requirement: combine(layers),
        loaders,
        kegauth_page,
        ambiguous,
    }
}

/// Every mounted route with its requirement, by path then method (kegauth's
/// internal route for global denials left out).
pub fn route_report<P: Phase>(rocket: &Rocket<P>) -> Vec<RouteAccess> {
    let mut report: Vec<RouteAccess> = rocket
        .routes()
        .filter(|r| r.uri.path() != crate::authz::requirements::DENIED_PATH)
        .map(|r| route_access(rocket, r))
        .collect();
    report.sort_by(|a, b| {
        (a.uri.as_str(), a.method.as_str()).cmp(&(b.uri.as_str(), b.method.as_str()))
    });
    report
}

/// The report as a table, ending with the routes that require nothing.
pub fn render_report(report: &[RouteAccess]) -> String {
    let requires = |r: &RouteAccess| {
        let text = requirement_text(r);
        if r.ambiguous {
            format!("{text} (AMBIGUOUS: rename one of the handlers)")
        } else {
            text
        }
    };
    let rows: Vec<[String; 4]> = report
        .iter()
        .map(|r| {
            [
                r.method.to_string(),
                r.uri.clone(),
                requires(r),
                r.name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(rows, report)
}

fn requirement_text(r: &RouteAccess) -> String {
    match (&r.requirement, &r.loaders) {
        (None, _) if r.kegauth_page => "none (kegauth page)".to_string(),
        (None, _) => "NONE".to_string(),
        (Some(req), None) => req.to_string(),
        (Some(req), Some(loaders)) => {
            let short: Vec<&str> = loaders
                .iter()
                .map(|n| n.rsplit("::").next().unwrap_or(n))
                .collect();
            format!("{req} via {}", short.join(", "))
        }
    }
}

/// `rows` under a header, columns aligned, then the summary of open routes.
fn table(rows: Vec<[String; 4]>, report: &[RouteAccess]) -> String {
    let header = [
        "METHOD".to_string(),
        "PATH".into(),
        "REQUIRES".into(),
        "HANDLER".into(),
    ];
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let open: Vec<String> = report
        .iter()
        .filter(|r| r.is_open() && !r.kegauth_page)
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect();
    let pages = report.iter().filter(|r| r.kegauth_page).count();
    out.push('\n');
    if pages > 0 {
        out.push_str(&format!(
            "{pages} of kegauth's own pages (login, logout, password, verification) are open by design.\n"
        ));
    }
    if open.is_empty() {
        out.push_str("Every other route has a requirement.\n");
    } else {
        out.push_str(&format!(
            "{} other routes require nothing that kegauth can see; check that each is meant \
             to be public (a guard in the handler's signature, such as AuthUser or Permission, \
             is not visible here: add #[requires_user] or #[requires_permissions]):\n",
            open.len()
        ));
        for route in open {
            out.push_str(&format!("  {route}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_layers_drop_out_beside_stronger_ones() {
        assert!(combine(vec![]).is_none());
        let one = combine(vec![Requirement::User, Requirement::User]);
        assert_eq!(one.map(|r| r.to_string()).as_deref(), Some("login"));
        let two = combine(vec![Requirement::User, "a".into(), "b".into()]);
        assert_eq!(
            two.map(|r| r.to_string()).as_deref(),
            Some(r#"has_all("a", "b")"#)
        );
    }
}
