//! kegauth's views: login and logout (keg-auth's URLs and form field names).

#[cfg(feature = "mail")]
pub(crate) mod accounts;
#[cfg(feature = "oauth")]
pub(crate) mod oauth;
#[cfg(feature = "passkeys")]
pub(crate) mod passkeys;
pub(crate) mod two_factor;

use crate::authn::authenticators::Authenticator;
use crate::authn::service::{Auth, LoginFailure};
use crate::authn::service::{LoggedIn, Refused};
use crate::authn::session::{Flash, Session};
use crate::core::attempts::Gate;
use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
use crate::core::client_ip::ProxyPolicy;
use crate::core::config::Config;
use crate::core::entity::AttemptType;
use crate::core::entity::LoginKind;
use crate::core::next::safe_next;
use crate::core::paths::LOGIN_PATH;
use crate::core::templates::Templates;
use crate::core::AUDIT;
use crate::web::endpoints::Endpoints;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::{self, FromRequest, Request};
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use rocket::{get, head, post, routes, Route};
use serde_json::json;
use std::collections::BTreeMap;
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
    let templates = &templates.with_lang(&crate::core::i18n::language_of(req));
    match crate::authz::nav::nav_of(req).await {
        Some(nav) => match serde_json::to_value(nav.all()) {
            Ok(menus) => templates.with_menus(menus),
            Err(_) => templates.clone(),
        },
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
}

impl Ctx<'_> {
    /// How the login form checks passwords, for the audit trail.
    fn method(&self) -> &'static str {
        match self.authenticator {
            Authenticator::Ldap => "ldap",
            _ => "password",
        }
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

/// The fields of the login form (all optional so that a missing one is a form
/// error, not a 422).
#[derive(FromForm)]
pub struct LoginForm<'r> {
    login_id: Option<&'r str>,
    password: Option<&'r str>,
    csrf_token: Option<&'r str>,
    next: Option<&'r str>,
}

struct LoginPage<'a> {
    login_id: &'a str,
    next: Option<String>,
    flashes: Vec<Flash>,
    errors: BTreeMap<&'static str, Vec<String>>,
    /// 200, or 503 when the authenticator's service did not answer.
    status: Status,
}

fn render_login(ctx: &Ctx<'_>, page: LoginPage<'_>) -> Page {
    let Ctx {
        templates,
        auth,
        session,
        ..
    } = ctx;
    let kind = auth.0.login_kind();
    let providers: Vec<_> = ctx
        .oauth
        .links(page.next.as_deref())
        .into_iter()
        .map(|(label, url)| {
            json!({
                "url": url,
                "text": templates.t_args("oauth-login-with", &[("provider", label)]),
            })
        })
        .collect();
    html(
        page.status,
        templates.render(
            "kegauth/login.html",
            &templates.t("login-title"),
            json!({
                "login_url": LOGIN_PATH,
                "csrf_token": session.csrf_token(),
                "next": page.next,
                "login_id": page.login_id,
                "login_kind": match kind { LoginKind::Email => "email", LoginKind::Username => "username" },
                "login_label": templates.t(match kind {
                    LoginKind::Email => "login-email",
                    LoginKind::Username => "login-username",
                }),
                "errors": page.errors,
                "flashes": page.flashes,
                "forgot_url": auth.0.mail_enabled().then_some(crate::core::accounts::FORGOT_PASSWORD_PATH),
                "providers": providers,
                "passkey_login": ctx.config.passkeys_on(),
                "passkey_script": passkey_script(),
            }),
        ),
    )
}

#[get("/login?<next>")]
fn login_get(next: Option<&str>, ctx: Ctx<'_>) -> Page {
    let Ctx {
        session, config, ..
    } = &ctx;
    if ctx.authenticator == Authenticator::Redirect {
        if let Some(next) = next {
            session.set_next(next);
        }
        return match &config.redirect_login_target {
            Some(target) => Page::redirect(target.clone()),
            None => Page::Status(Status::NotFound),
        };
    }
    let page = LoginPage {
        login_id: "",
        next: next.and_then(safe_next),
        flashes: session.take_flashes(),
        errors: BTreeMap::new(),
        status: Status::Ok,
    };
    render_login(&ctx, page)
}

/// keg-auth answers HEAD on the login page with 405 (Rocket would otherwise
/// answer it from the GET route).
#[head("/login")]
fn login_head() -> Status {
    Status::MethodNotAllowed
}

fn failure_message(
    templates: &Templates,
    auth: &Auth,
    config: &Config,
    failure: LoginFailure,
    login_id: &str,
) -> String {
    if failure == LoginFailure::UseProvider
        && let (Some(provider), Some(domain)) = (
            auth.0.provider_of(login_id),
            crate::authn::authenticators::oauth::domain_of(login_id),
        )
    {
        return templates.t_args(
            "login-use-provider",
            &[("provider", provider), ("domain", domain)],
        );
    }
    if !config.detailed_login_errors {
        return templates.t("login-failed");
    }
    match failure {
        LoginFailure::UnknownUser => {
            templates.t_args("login-no-account", &[("login", login_id.to_string())])
        }
        LoginFailure::WrongPassword | LoginFailure::UseProvider | LoginFailure::OtherIdentity => {
            templates.t("login-wrong-password")
        }
        LoginFailure::Disabled | LoginFailure::DisabledByDate => templates.t("login-disabled"),
        LoginFailure::Unverified => templates.t("login-unverified"),
    }
}

#[post("/login?<next>", data = "<form>")]
async fn login_post(next: Option<&str>, form: Form<LoginForm<'_>>, ctx: Ctx<'_>) -> Page {
    let Ctx {
        session,
        templates,
        auth,
        config,
        ..
    } = &ctx;
    if ctx.authenticator == Authenticator::Redirect {
        return Page::Status(Status::NotFound);
    }
    let login_id = form.login_id.unwrap_or_default().trim();
    let next = form.next.or(next).and_then(safe_next);
    let error = |message: String| Flash {
        category: "error".into(),
        message,
    };
    // The database or the directory did not answer: say so on the login page
    // (503), keeping what was typed and the flashes already taken.
    let unavailable = |e: crate::core::error::Error, next, mut flashes: Vec<Flash>| {
        log::error!("kegauth: login unavailable: {e}");
        flashes.push(error(templates.t("login-unavailable")));
        let page = LoginPage {
            login_id,
            next,
            flashes,
            errors: BTreeMap::new(),
            status: Status::ServiceUnavailable,
        };
        render_login(&ctx, page)
    };
    // Every try is logged, CSRF failures and form errors included.
    let gate = match ctx.open_attempt(AttemptType::Login, login_id).await {
        Ok(gate) => gate,
        Err(e) if e.status() == Status::ServiceUnavailable => {
            return unavailable(e, next, Vec::new())
        }
        Err(e) => return Page::Error(e),
    };
    if !session.csrf_matches(form.csrf_token.unwrap_or_default()) {
        return csrf_failure(templates);
    }
    let password = form.password.unwrap_or_default();
    let mut errors = BTreeMap::new();
    if login_id.is_empty() {
        errors.insert("login_id", vec![templates.t("field-required")]);
    }
    if password.is_empty() {
        errors.insert("password", vec![templates.t("field-required")]);
    }
    let mut flashes = session.take_flashes();
    if !errors.is_empty() {
        flashes.push(error(templates.t("form-has-errors")));
    } else if gate.is_locked() {
        log::info!(target: AUDIT, "login refused (locked out) from {}", ip_text(ctx.ip));
        ctx.audit(AuditEvent::new(kinds::LOGIN_LOCKOUT, Outcome::Refused));
        // Refused without checking the password, and (unless the app asked
        // for detailed errors) answered exactly like a wrong password.
        flashes.push(error(if config.detailed_login_errors {
            templates.t("login-too-many")
        } else {
            failure_message(
                templates,
                auth,
                config,
                LoginFailure::WrongPassword,
                login_id,
            )
        }));
    } else {
        match auth.0.authenticate(login_id, password).await {
            Ok(Ok(LoggedIn {
                user_id,
                session_key,
            })) => {
                log::info!(
                    target: AUDIT,
                    "login of {login_id:?} succeeded from {}",
                    ip_text(ctx.ip)
                );
                let step = two_factor::FirstStep {
                    user_id,
                    session_key,
                    login_id,
                    next,
                    gate: Some(gate),
                    method: ctx.method(),
                    detail: serde_json::json!({ "login": login_id, "method": ctx.method() }),
                };
                return two_factor::finish_login(&ctx, step).await;
            }
            Ok(Err(Refused { failure, user_id })) => {
                // Not the typed login id: people type passwords into it.
                log::info!(target: AUDIT, "login failed ({failure:?}) from {}", ip_text(ctx.ip));
                let mut event = AuditEvent::new(kinds::LOGIN_FAILURE, Outcome::Refused).detail(
                    serde_json::json!({ "reason": format!("{failure:?}"), "method": ctx.method() }),
                );
                event.subject = user_id.map(Subject::User);
                ctx.audit(event);
                flashes.push(error(failure_message(
                    templates, auth, config, failure, login_id,
                )))
            }
            Err(e) if e.status() == Status::ServiceUnavailable => {
                return unavailable(e, next, flashes)
            }
            Err(e) => return Page::Error(e),
        }
    }
    let page = LoginPage {
        login_id,
        next,
        flashes,
        errors,
        status: Status::Ok,
    };
    render_login(&ctx, page)
}

#[get("/logout")]
fn logout_get(ctx: Ctx<'_>) -> Page {
    let Ctx {
        session,
        templates,
        endpoints,
        ..
    } = &ctx;
    if session.session_key().is_none() {
        return Page::redirect(endpoints.after_logout.clone());
    }
    html(
        Status::Ok,
        templates.render(
            "kegauth/logout.html",
            &templates.t("logout-title"),
            json!({
                "logout_url": LOGOUT_PATH,
                "csrf_token": session.csrf_token(),
                "flashes": session.take_flashes(),
            }),
        ),
    )
}

/// The fields of the logout form.
#[derive(FromForm)]
pub struct LogoutForm<'r> {
    csrf_token: Option<&'r str>,
}

#[post("/logout", data = "<form>")]
async fn logout_post(form: Form<LogoutForm<'_>>, ctx: Ctx<'_>) -> Page {
    let Ctx {
        session,
        templates,
        auth,
        endpoints,
        ..
    } = &ctx;
    if !session.csrf_matches(form.csrf_token.unwrap_or_default()) {
        return csrf_failure(templates);
    }
    if let Some(key) = session.session_key() {
        // Rotate the key so that a copy of this cookie stops working too.
        match auth.0.revoke(&key).await {
            Ok(Some(user_id)) => ctx.audit(
                AuditEvent::new(kinds::LOGOUT, Outcome::Success)
                    .actor(user_id)
                    .subject(Subject::User(user_id)),
            ),
            Ok(None) => {}
            Err(e) => return Page::Error(e),
        }
    }
    session.log_out();
    session.flash("success", &templates.t("logout-done"));
    Page::redirect(endpoints.after_logout.clone())
}

/// Where the passkey pages' script is served (none without the `passkeys`
/// feature).
pub(crate) fn passkey_script() -> Option<&'static str> {
    #[cfg(feature = "passkeys")]
    return Some(passkeys::SCRIPT_PATH);
    #[cfg(not(feature = "passkeys"))]
    None
}

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
    let mut all = routes![login_get, login_head, login_post, logout_get, logout_post];
    #[cfg(feature = "mail")]
    all.extend(accounts::routes());
    #[cfg(feature = "oauth")]
    all.extend(oauth::routes());
    all.extend(two_factor::routes());
    #[cfg(feature = "passkeys")]
    all.extend(passkeys::routes());
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
