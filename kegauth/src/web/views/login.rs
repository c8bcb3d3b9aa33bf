//! The login and logout pages.

use crate::authn::authenticators::Authenticator;
use crate::authn::service::{Auth, LoginFailure};
use crate::authn::service::{LoggedIn, Refused};
use crate::authn::session::Flash;
use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
use crate::core::config::Config;
use crate::core::entity::AttemptType;
use crate::core::entity::LoginKind;
use crate::core::next::safe_next;
use crate::core::paths::LOGIN_PATH;
use crate::core::AUDIT;
use crate::services::templates::Templates;
use crate::web::views::page::*;
use crate::web::views::two_factor;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::{get, head, post};
use serde_json::json;
use std::collections::BTreeMap;

/// The fields of the login form (all optional so that a missing one is a form
/// error, not a 422).
#[derive(FromForm)]
pub struct LoginForm<'r> {
    login_id: Option<&'r str>,
    password: Option<&'r str>,
    csrf_token: Option<&'r str>,
    next: Option<&'r str>,
    /// The "remember me" box (any value: ticked).
    remember_me: Option<&'r str>,
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
                "forgot_url": auth.0.mail_enabled().then_some(crate::services::accounts::FORGOT_PASSWORD_PATH),
                "providers": providers,
                "passkey_login": ctx.config.passkeys_on(),
                "remember_me_days": ctx.config.remember_me_days,
                "passkey_script": passkey_script(),
            }),
        ),
    )
}

#[get("/login?<next>")]
pub(crate) fn login_get(next: Option<&str>, ctx: Ctx<'_>) -> Page {
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
pub(crate) fn login_head() -> Status {
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
pub(crate) async fn login_post(
    next: Option<&str>,
    form: Form<LoginForm<'_>>,
    ctx: Ctx<'_>,
) -> Page {
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
                    remember: form.remember_me.is_some_and(|v| !v.is_empty()),
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
pub(crate) fn logout_get(ctx: Ctx<'_>) -> Page {
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
pub(crate) async fn logout_post(form: Form<LogoutForm<'_>>, ctx: Ctx<'_>) -> Page {
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
        // End this device's session record, so that a copy of this cookie
        // stops working too; the user's other devices stay logged in. (A
        // session from before records: rotate the key, as before.)
        let ended = match session.record() {
            Some(row) => auth.0.account().log_out(&key, &row).await,
            None => auth.0.revoke(&key).await,
        };
        match ended {
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
