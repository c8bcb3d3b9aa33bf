//! What every kegauth page shares: the page responders and their headers,
//! the request context (`Ctx`) the views take, and small helpers.

use crate::authn::authenticators::Authenticator;
use crate::authn::client_ip::ProxyPolicy;
use crate::authn::service::Auth;
use crate::authn::session::Session;
use crate::core::attempts::Gate;
use crate::core::config::Config;
use crate::core::entity::AttemptType;
use crate::core::AUDIT;
use crate::services::templates::Templates;
use crate::web::endpoints::Endpoints;
use rocket::http::Status;
use rocket::request::{self, FromRequest, Request};
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use serde_json::json;
use std::net::IpAddr;

/// The logout page's path.
pub use crate::core::paths::LOGOUT_PATH;

/// A rendered kegauth page, with the headers every one of them carries:
/// `X-Content-Type-Options: nosniff`, and no framing by other sites
/// (`Content-Security-Policy: frame-ancestors 'none'` and, for older
/// browsers, `X-Frame-Options: DENY`) against clickjacking of the login and
/// admin forms.
///
/// Rocket's Shield (attached to every Rocket first) sets
/// `X-Content-Type-Options` and `X-Frame-Options: SAMEORIGIN` itself, after
/// the responder, and logs a warning for each header a response already has
/// (two warnings per page, at every log level but "off"). So the page only
/// marks the request, and the `AuthManager` fairing, whose `on_response`
/// runs after Shield's, sets those two over Shield's ([`page_headers`]).
pub struct HtmlPage {
    status: Status,
    body: String,
}

impl HtmlPage {
    pub(crate) fn new(status: Status, body: String) -> Self {
        HtmlPage { status, body }
    }
}

impl<'r> Responder<'r, 'static> for HtmlPage {
    fn respond_to(self, req: &'r Request<'_>) -> rocket::response::Result<'static> {
        req.local_cache(|| KegauthPage(true));
        let mut response = (self.status, RawHtml(self.body)).respond_to(req)?;
        response.set_raw_header("Content-Security-Policy", "frame-ancestors 'none'");
        Ok(response)
    }
}

/// Set on a request that a kegauth page ([`HtmlPage`]) answered.
struct KegauthPage(bool);

/// The headers of a kegauth page that Rocket's Shield sets too, set over
/// Shield's after it ran (the `AuthManager`'s `on_response`); other
/// responses are left alone.
pub(crate) fn page_headers(req: &Request<'_>, response: &mut rocket::Response<'_>) {
    if req.local_cache(|| KegauthPage(false)).0 {
        response.set_raw_header("X-Content-Type-Options", "nosniff");
        response.set_raw_header("X-Frame-Options", "DENY");
    }
}

/// A kegauth page, a redirect, or an error.
#[derive(Responder)]
pub enum Page {
    /// A rendered page.
    Html(Box<HtmlPage>),
    /// A redirect (303 See Other).
    Redirect(Box<Redirect>),
    /// A bare status (404 for the password views under the redirect authenticator).
    Status(Status),
    /// An error.
    Error(crate::core::error::Error),
    /// A CSV or Excel download (a CRUD grid's export).
    Export(crate::web::crud::ExportFile),
}

impl Page {
    pub(crate) fn redirect(to: String) -> Self {
        Page::Redirect(Box::new(Redirect::to(to)))
    }
}

impl From<crate::core::error::Error> for Page {
    fn from(e: crate::core::error::Error) -> Self {
        Page::Error(e)
    }
}

pub(crate) fn html(status: Status, body: crate::core::error::Result<String>) -> Page {
    match body {
        Ok(body) => Page::Html(Box::new(HtmlPage::new(status, body))),
        Err(e) => Page::Error(e),
    }
}

/// A client address for the audit log.
pub(crate) fn ip_text(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string())
}

/// The 403 page for a missing or wrong CSRF token.
pub(crate) fn csrf_failure(templates: &Templates) -> Page {
    log::info!(target: AUDIT, "a form failed the CSRF check");
    html(
        Status::Forbidden,
        templates.render(
            "kegauth/forbidden.html",
            &templates.t("forbidden-title"),
            json!({ "message": templates.t("form-expired") }),
        ),
    )
}

/// kegauth's templates for a page of `req`: in its language, with its
/// user's menus.
pub(crate) async fn page_templates(req: &Request<'_>, templates: &Templates) -> Templates {
    let templates = &templates.with_lang(&crate::services::i18n::language_of(req));
    match crate::authz::nav::nav_of(req).await {
        Some(nav) => templates.with_menus(nav.all_value()),
        None => templates.clone(),
    }
}

/// What kegauth's form views need, as one request guard.
pub struct Ctx<'r> {
    pub(crate) session: Session<'r>,
    /// The templates, rendering with the menus as the request's user sees them.
    pub(crate) templates: Templates,
    pub(crate) auth: &'r Auth,
    pub(crate) authenticator: Authenticator,
    pub(crate) endpoints: &'r Endpoints,
    pub(crate) config: &'r Config,
    /// The OAuth profiles (for the login page's links).
    pub(crate) oauth: &'r crate::authn::authenticators::oauth::OAuth,
    /// The client's address, for attempt limiting.
    pub(crate) ip: Option<IpAddr>,
    /// Where audit events go.
    pub(crate) auditor: &'r crate::core::audit::Auditor,
    /// The browser's `User-Agent` (recorded with a login's session).
    pub(crate) user_agent: Option<&'r str>,
}

impl Ctx<'_> {
    /// How the login form checks passwords, for the audit trail.
    pub(crate) fn method(&self) -> &'static str {
        match self.authenticator {
            Authenticator::Ldap => "ldap",
            _ => "password",
        }
    }

    /// Carry the logged-in session on under the user's new session key
    /// (they changed their own rights or password, which rotated it): the
    /// cookie and the session's row. Their other sessions end.
    pub(crate) async fn rekey(
        &self,
        key: &str,
        flashes: Vec<crate::authn::session::Flash>,
    ) -> crate::core::error::Result<()> {
        if let Some(row) = self.session.record() {
            self.auth.0.account().rekey(&row, key).await?;
        }
        self.session.rekey(key, flashes);
        Ok(())
    }

    /// Record `event`, with the client's address, without waiting.
    pub(crate) fn audit(&self, mut event: crate::core::audit::AuditEvent) {
        event.client_ip = self.ip.map(|ip| ip.to_string());
        self.auditor.record(event);
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ctx<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let rocket = req.rocket();
        let parts = (
            Session::of(req),
            rocket.state::<Templates>(),
            rocket.state::<Auth>(),
            rocket.state::<Authenticator>(),
            rocket.state::<Endpoints>(),
            rocket.state::<Config>(),
            rocket.state::<ProxyPolicy>(),
            rocket.state::<crate::authn::authenticators::oauth::OAuth>(),
            rocket.state::<crate::core::audit::Auditor>(),
        );
        match parts {
            (
                Some(session),
                Some(templates),
                Some(auth),
                Some(authenticator),
                Some(endpoints),
                Some(config),
                Some(proxies),
                Some(oauth),
                Some(auditor),
            ) => request::Outcome::Success(Ctx {
                session,
                templates: page_templates(req, templates).await,
                auth,
                authenticator: *authenticator,
                endpoints,
                config,
                oauth,
                ip: proxies.client_ip_of(req),
                auditor,
                user_agent: req.headers().get_one("User-Agent"),
            }),
            _ => {
                log::error!("kegauth: the AuthManager fairing is not attached");
                request::Outcome::Error((Status::InternalServerError, ()))
            }
        }
    }
}

impl Ctx<'_> {
    /// Whether the mail views exist for this app.
    #[cfg(feature = "mail")]
    pub(crate) fn mail_views(&self) -> bool {
        self.authenticator == Authenticator::Keg && self.auth.0.mail_enabled()
    }

    /// Log a try of `kind` on `input` and say whether it is locked out
    /// ([`Store::open_attempt`](crate::Store::open_attempt)).
    pub(crate) async fn open_attempt(
        &self,
        kind: AttemptType,
        input: &str,
    ) -> crate::core::error::Result<Gate> {
        self.auth.0.open_attempt(kind, input, self.ip).await
    }
}

/// Where the passkey pages' script is served (none without the `passkeys`
/// feature).
pub(crate) fn passkey_script() -> Option<&'static str> {
    #[cfg(feature = "passkeys")]
    return Some(crate::core::paths::PASSKEY_SCRIPT_PATH);
    #[cfg(not(feature = "passkeys"))]
    None
}
