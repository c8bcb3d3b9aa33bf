//! kegauth's views: login and logout (keg-auth's URLs and form field names).

pub(crate) mod account;
#[cfg(feature = "mail")]
pub(crate) mod accounts;
pub(crate) mod assets;
pub(crate) mod login;
#[cfg(feature = "oauth")]
pub(crate) mod oauth;
pub(crate) mod page;
#[cfg(feature = "passkeys")]
pub(crate) mod passkeys;
pub(crate) mod two_factor;

use rocket::{routes, Route};

pub(crate) use page::{csrf_failure, html, page_headers, page_templates, passkey_script, Ctx};
pub use page::{HtmlPage, Page};

/// kegauth's routes: mount them at `/` (`.mount("/", kegauth::routes())`).
///
/// `GET/POST /login`, `HEAD /login` (405), `GET /logout` (a confirm form),
/// `POST /logout` (CSRF-checked), `GET /login/<profile>` and
/// `GET /oauth-authorize/<profile>` (the OAuth profiles of [`crate::oauth`];
/// 404 for any other name), and, when a mail manager is configured,
/// `GET/POST /forgot-password`, `GET/POST /reset-password/<user_id>/<token>`
/// and `GET/POST /verify-account/<user_id>/<token>` (404 without one); and
/// the admin pages ([`crate::admin`]): `/users`, `/groups`, `/bundles` with
/// their `add`, `<id>/edit` and `<id>/delete` pages, and `/permissions`.
pub fn routes() -> Vec<Route> {
    let mut all = routes![
        login::login_get,
        login::login_head,
        login::login_post,
        login::logout_get,
        login::logout_post
    ];
    #[cfg(feature = "mail")]
    all.extend(accounts::routes());
    #[cfg(feature = "oauth")]
    all.extend(oauth::routes());
    all.extend(two_factor::routes());
    all.extend(account::routes());
    #[cfg(feature = "passkeys")]
    all.extend(passkeys::routes());
    all.extend(assets::routes());
    // The login, logout and token pages are open by design; the route report says so.
    let id = crate::authz::requirements::register_rule(
        crate::authz::requirements::RouteRule::KegauthPage,
    );
    for route in &mut all {
        crate::authz::requirements::tag_route(route, id);
    }
    all.extend(crate::web::admin::routes());
    all
}
