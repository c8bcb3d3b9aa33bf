//! The OAuth routes: `GET /login/<profile>` starts a profile's login and
//! `GET /oauth-authorize/<profile>` is where the provider sends the browser
//! back. What they check is in [`crate::oauth`]
//! (`authn/authenticators/oauth.rs`); these views keep the pending login in a
//! private cookie, log the user in and say why a login was refused.

use crate::authn::authenticators::oauth::{
    domain_of, identify, Identity, OAuth, Profile, Refusal, PENDING_SECS,
};
use crate::authn::authenticators::Authenticator;
use crate::authn::service::{LoggedIn, LoginFailure, Refused};
use crate::core::audit::{kinds, AuditEvent, Outcome as AuditOutcome, Subject};
use crate::core::config::Config;
use crate::core::error::Error;
use crate::core::paths::LOGIN_PATH;
use crate::core::AUDIT;
use crate::web::views::page::ip_text;
use crate::web::views::{html, Ctx, Page};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::{get, routes, Route, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

/// What the browser carries to the provider and back, in a private cookie.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The profile.
    p: String,
    /// The state.
    s: String,
    /// The nonce.
    n: String,
    /// The PKCE verifier.
    v: String,
    /// Where to go after login.
    x: Option<String>,
    /// When the login started (Unix seconds, by the session clock).
    t: i64,
}

fn pending_cookie(config: &Config) -> &'static str {
    if config.cookie_secure {
        "__Host-kegauth-oauth"
    } else {
        "kegauth-oauth"
    }
}

#[get("/login/<profile>?<next>")]
async fn oauth_start(
    profile: &str,
    next: Option<&str>,
    oauth: &State<OAuth>,
    config: &State<Config>,
    cookies: &CookieJar<'_>,
    clock: &State<crate::authn::session::SessionState>,
) -> Page {
    let Some(p) = oauth.profile(profile) else {
        return Page::Status(Status::NotFound);
    };
    let started = match p.start(&oauth.http).await {
        Ok(started) => started,
        Err(e) => return Page::Error(e),
    };
    let pending = Pending {
        p: p.name.clone(),
        s: started.state,
        n: started.nonce,
        v: started.verifier,
        x: next.and_then(crate::core::next::safe_next),
        t: clock.now_secs(),
    };
    let Ok(value) = serde_json::to_string(&pending) else {
        return Page::Error(Error::Invalid("cannot start the login".into()));
    };
    cookies.add_private(
        Cookie::build((pending_cookie(config), value))
            .path("/")
            .http_only(true)
            // Lax: the provider's redirect back is a top-level GET from its site.
            .same_site(SameSite::Lax)
            .secure(config.cookie_secure)
            .max_age(rocket::time::Duration::seconds(PENDING_SECS)),
    );
    Page::redirect(started.url)
}

/// The pending login, removed from the browser whatever it holds: each one
/// is good for one callback.
fn take_pending(cookies: &CookieJar<'_>, config: &Config) -> Option<Pending> {
    let name = pending_cookie(config);
    let pending = cookies
        .get_private(name)
        .and_then(|c| serde_json::from_str(c.value()).ok());
    cookies.remove_private(Cookie::build(name).path("/"));
    pending
}

#[get("/oauth-authorize/<profile>?<code>&<state>&<error>&<iss>")]
#[allow(clippy::too_many_arguments)]
async fn oauth_callback(
    profile: &str,
    code: Option<&str>,
    state: Option<&str>,
    error: Option<&str>,
    iss: Option<&str>,
    oauth: &State<OAuth>,
    cookies: &CookieJar<'_>,
    clock: &State<crate::authn::session::SessionState>,
    ctx: Ctx<'_>,
) -> Page {
    let Some(p) = oauth.profile(profile) else {
        return Page::Status(Status::NotFound);
    };
    let pending = take_pending(cookies, ctx.config);
    let now = clock.now_secs();
    let outcome = match pending {
        None => {
            log::info!(target: AUDIT, "OAuth callback for `{}` without a pending login", p.name);
            Ok(Err(Refusal::Failed))
        }
        Some(pending) => {
            let state_ok =
                state.is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.s.as_bytes())));
            if pending.p != p.name || !state_ok {
                log::info!(target: AUDIT, "OAuth callback for `{}` with a state that does not match", p.name);
                Ok(Err(Refusal::Failed))
            } else if now - pending.t > PENDING_SECS || now < pending.t {
                log::info!(target: AUDIT, "OAuth callback for `{}` after the login expired", p.name);
                Ok(Err(Refusal::Failed))
            } else if iss.is_some_and(|iss| iss != p.issuer.as_str()) {
                // RFC 9207: the answer names another provider (a mix-up attack).
                log::info!(target: AUDIT, "OAuth callback for `{}` from another issuer {iss:?}", p.name);
                Ok(Err(Refusal::Failed))
            } else if let Some(error) = error {
                log::info!(target: AUDIT, "OpenID provider `{}` answered {error:?}", p.name);
                Ok(Err(Refusal::Refused))
            } else {
                match code.filter(|c| !c.is_empty()) {
                    None => Ok(Err(Refusal::Failed)),
                    Some(code) => identify(p, &oauth.http, &pending.n, &pending.v, code, clock)
                        .await
                        .map(|found| found.map(|identity| (identity, pending.x))),
                }
            }
        }
    };
    let (identity, next) = match outcome {
        Ok(Ok(found)) => found,
        Ok(Err(refusal)) => return refuse(&ctx, p, refusal, None),
        Err(e) => return Page::Error(e),
    };
    if !p.domains.is_empty() {
        let domain = domain_of(&identity.login_id).unwrap_or_default();
        if !p.domains.contains(&domain) {
            log::info!(target: AUDIT, "OAuth login through `{}` refused: domain {domain:?} is not in its filter", p.name);
            return refuse(&ctx, p, Refusal::WrongDomain(identity.login_id), None);
        }
    }
    let Identity { subject, login_id } = identity;
    let issuer = p.issuer.as_str();
    match ctx.auth.0.provider_login(issuer, &subject, &login_id).await {
        Ok(Ok(LoggedIn {
            user_id,
            session_key,
        })) => {
            log::info!(target: AUDIT, "OAuth login of {login_id:?} through `{}` succeeded from {}", p.name, ip_text(ctx.ip));
            let step = super::two_factor::FirstStep {
                user_id,
                session_key,
                login_id: &login_id,
                next,
                gate: None,
                remember: false,
                method: "oauth",
                detail: json!({ "login": login_id, "method": "oauth", "provider": p.name }),
            };
            super::two_factor::finish_login(&ctx, step).await
        }
        Ok(Err(Refused { failure, user_id })) => {
            log::info!(target: AUDIT, "OAuth login through `{}` refused ({failure:?})", p.name);
            refuse(&ctx, p, Refusal::Login(login_id, failure), user_id)
        }
        Err(e) => Page::Error(e),
    }
}

/// Say why the login did not happen: a flash on the login page, or (with the
/// redirect authenticator, whose `/login` would go straight back to the
/// provider) a page.
fn refuse(ctx: &Ctx<'_>, p: &Profile, refusal: Refusal, user_id: Option<i64>) -> Page {
    let reason = match &refusal {
        Refusal::Failed => "Failed".to_string(),
        Refusal::Refused => "RefusedByProvider".to_string(),
        Refusal::NoIdentity => "NoIdentity".to_string(),
        Refusal::WrongDomain(_) => "WrongDomain".to_string(),
        Refusal::Login(_, failure) => format!("{failure:?}"),
    };
    let mut event = AuditEvent::new(kinds::LOGIN_FAILURE, AuditOutcome::Refused)
        .detail(json!({ "reason": reason, "method": "oauth", "provider": p.name }));
    event.subject = user_id.map(Subject::User);
    ctx.audit(event);
    let t = &ctx.templates;
    let provider = || ("provider", p.label.clone());
    let message = match refusal {
        Refusal::Failed => t.t("oauth-failed"),
        Refusal::Refused => t.t_args("oauth-refused", &[provider()]),
        Refusal::NoIdentity => t.t_args("oauth-no-identity", &[provider()]),
        Refusal::WrongDomain(login) => t.t_args(
            "oauth-wrong-domain",
            &[
                provider(),
                ("login", login),
                ("domains", p.domains.join(", ")),
            ],
        ),
        Refusal::Login(login, LoginFailure::UnknownUser) => {
            t.t_args("oauth-no-account", &[("login", login)])
        }
        Refusal::Login(login, LoginFailure::OtherIdentity) => {
            t.t_args("oauth-other-identity", &[provider(), ("login", login)])
        }
        Refusal::Login(_, _) => t.t("login-disabled"),
    };
    if ctx.authenticator == Authenticator::Redirect {
        return html(
            Status::Forbidden,
            t.render(
                "kegauth/forbidden.html",
                &t.t("login-title"),
                json!({ "message": message }),
            ),
        );
    }
    ctx.session.flash("error", &message);
    Page::redirect(LOGIN_PATH.to_string())
}

/// The OAuth routes (part of [`crate::routes`]).
pub(crate) fn routes() -> Vec<Route> {
    routes![oauth_start, oauth_callback]
}
