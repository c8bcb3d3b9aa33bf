//! The account page (`/account`): change your password, your email address
//! (through a link mailed to the new one) or username, and see and end your
//! sessions. The second factors have their page beside it
//! (`/account/two-factor`).

#[cfg(feature = "mail")]
use crate::authn::account_api::EmailConfirm;
use crate::authn::account_api::{LoginChange, PasswordChange, Profile};
use crate::authn::authenticators::Authenticator;
use crate::authn::session::Flash;
use crate::core::entity::{AttemptType, LoginKind};
use crate::core::paths::{ACCOUNT_PATH, TWO_FACTOR_PATH};
use crate::core::store::sessions::SessionRecord;
use crate::web::views::{csrf_failure, html, Ctx, Page};
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::{get, post, Route};
use serde_json::json;
use std::collections::BTreeMap;

/// Field errors of the page's forms, by field name.
type Errors = BTreeMap<&'static str, Vec<String>>;

/// The logged-in user, or the login page (coming back here after it).
async fn profile(ctx: &Ctx<'_>) -> Result<Profile, Page> {
    let to_login = || Page::redirect(crate::core::paths::login_then(ACCOUNT_PATH));
    let Some(key) = ctx.session.session_key() else {
        return Err(to_login());
    };
    match ctx.auth.0.account().profile(&key).await {
        Ok(Some(profile)) => Ok(profile),
        Ok(None) => Err(to_login()),
        Err(e) => Err(Page::Error(e)),
    }
}

/// "Firefox 133 · Linux", from a `User-Agent`.
fn device(tr: &crate::services::i18n::Translator, user_agent: Option<&str>) -> (String, String) {
    let unknown = || tr.t("account-session-unknown");
    let Some(found) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua)) else {
        return (unknown(), unknown());
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let major = found.version.split('.').next().unwrap_or_default();
    let browser = match (known(found.name), known(major)) {
        (true, true) => format!("{} {major}", found.name),
        (true, false) => found.name.to_string(),
        _ => unknown(),
    };
    let system = if known(found.os) {
        found.os.to_string()
    } else {
        unknown()
    };
    (browser, system)
}

/// A session as the list shows it.
fn session_json(
    tr: &crate::services::i18n::Translator,
    record: &SessionRecord,
    current: Option<&str>,
) -> serde_json::Value {
    let (browser, system) = device(tr, record.user_agent.as_deref());
    let when = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
    json!({
        "id": record.id,
        "browser": browser,
        "system": system,
        "client_ip": record.client_ip.clone().unwrap_or_else(|| tr.t("account-session-unknown")),
        "started": when(record.created_at),
        "last_seen": when(record.last_seen_at),
        "remembered": record.remembered(),
        "current": current == Some(record.id.as_str()),
    })
}

/// A user's live sessions as the account page and the admin's edit page
/// list them (`current`: this device's, marked).
pub(crate) async fn sessions_of(
    ctx: &Ctx<'_>,
    user_id: i64,
    current: Option<&str>,
) -> crate::core::error::Result<Vec<serde_json::Value>> {
    let records = ctx
        .auth
        .0
        .account()
        .list(user_id, ctx.config.session_limits())
        .await?;
    let tr = ctx.templates.tr();
    Ok(records
        .iter()
        .map(|r| session_json(tr, r, current))
        .collect())
}

/// What the page's forms were sent with, to show again with their errors.
#[derive(Default)]
struct Sent<'a> {
    login_id: Option<&'a str>,
    errors: Errors,
    flashes: Vec<Flash>,
}

/// Whether passwords are this app's to change (not the directory's, not a
/// redirect login's).
fn local_passwords(ctx: &Ctx<'_>) -> bool {
    ctx.authenticator == Authenticator::Keg
}

/// Whether the user may change their login id here: with a password to
/// confirm it (without one, an OAuth user's, a stolen session could move
/// the account to an address of the thief's and reset a password there).
fn login_changes(ctx: &Ctx<'_>, profile: &Profile) -> bool {
    local_passwords(ctx)
        && profile.has_password
        && match ctx.auth.0.login_kind() {
            LoginKind::Email => ctx.auth.0.mail_enabled(),
            LoginKind::Username => ctx.config.allow_username_change,
        }
}

async fn render(ctx: &Ctx<'_>, profile: &Profile, sent: Sent<'_>) -> Page {
    let t = &ctx.templates;
    let current = ctx.session.record();
    let sessions = match sessions_of(ctx, profile.user_id, current.as_deref()).await {
        Ok(s) => s,
        Err(e) => return Page::Error(e),
    };
    let mut flashes = ctx.session.take_flashes();
    flashes.extend(sent.flashes);
    let email = ctx.auth.0.login_kind() == LoginKind::Email;
    html(
        Status::Ok,
        t.render(
            "kegauth/account.html",
            &t.t("account-title"),
            json!({
                "account_url": ACCOUNT_PATH,
                "two_factor_url": ctx.config.two_factor_on().then_some(TWO_FACTOR_PATH),
                "csrf_token": ctx.session.csrf_token(),
                "login_id": profile.login_id,
                "login_label": t.t(if email { "login-email" } else { "login-username" }),
                "login_kind": if email { "email" } else { "username" },
                "new_login_id": sent.login_id.unwrap_or_default(),
                "password_form": local_passwords(ctx) && profile.has_password,
                "login_form": login_changes(ctx, profile),
                "sessions": sessions,
                "errors": sent.errors,
                "flashes": flashes,
            }),
        ),
    )
}

#[get("/account")]
async fn account_get(ctx: Ctx<'_>) -> Page {
    match profile(&ctx).await {
        Ok(profile) => render(&ctx, &profile, Sent::default()).await,
        Err(page) => page,
    }
}

fn error_flash(message: String) -> Flash {
    Flash {
        category: "error".into(),
        message,
    }
}

/// The logged-in user a form post comes from, once its CSRF token passed;
/// else the page that refuses (the login page, or the CSRF failure).
async fn posted(ctx: &Ctx<'_>, csrf_token: Option<&str>) -> Result<Profile, Page> {
    let profile = profile(ctx).await?;
    if !ctx.session.csrf_matches(csrf_token.unwrap_or_default()) {
        return Err(csrf_failure(&ctx.templates));
    }
    Ok(profile)
}

/// Count a try of the current password in the login attempt limiter (a
/// stolen session must not make it a password oracle): the gate to mark a
/// success, or, locked out, the page again (with what was `sent`) saying so.
async fn open_gate(
    ctx: &Ctx<'_>,
    profile: &Profile,
    sent: &mut Sent<'_>,
) -> Result<crate::core::attempts::Gate, Page> {
    let gate = ctx
        .open_attempt(AttemptType::Login, &profile.login_id)
        .await
        .map_err(Page::Error)?;
    if gate.is_locked() {
        sent.flashes
            .push(error_flash(ctx.templates.t("login-too-many")));
        return Err(render(ctx, profile, std::mem::take(sent)).await);
    }
    Ok(gate)
}

#[derive(FromForm)]
struct PasswordForm<'r> {
    csrf_token: Option<&'r str>,
    current_password: Option<&'r str>,
    password: Option<&'r str>,
    confirm: Option<&'r str>,
}

#[post("/account/password", data = "<form>")]
async fn password_post(form: Form<PasswordForm<'_>>, ctx: Ctx<'_>) -> Page {
    let profile = match posted(&ctx, form.csrf_token).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if !(local_passwords(&ctx) && profile.has_password) {
        return Page::Status(Status::NotFound);
    }
    let t = &ctx.templates;
    let (current, new) = (
        form.current_password.unwrap_or_default(),
        form.password.unwrap_or_default(),
    );
    let mut errors = Errors::new();
    for (field, value) in [("current_password", current), ("password", new)] {
        if value.is_empty() {
            errors.insert(field, vec![t.t("field-required")]);
        }
    }
    if !new.is_empty() && form.confirm.unwrap_or_default() != new {
        errors.insert("confirm", vec![t.t("passwords-must-match")]);
    }
    let mut sent = Sent::default();
    if errors.is_empty() {
        let gate = match open_gate(&ctx, &profile, &mut sent).await {
            Ok(gate) => gate,
            Err(page) => return page,
        };
        let lang = t.tr().lang().to_string();
        let change = ctx
            .auth
            .0
            .account()
            .change_password(profile.user_id, current, new, &lang)
            .await;
        match change {
            Ok(PasswordChange::WrongCurrent) => {
                errors.insert("current_password", vec![t.t("account-wrong-password")]);
            }
            Ok(PasswordChange::Rejected(problems)) => {
                errors.insert("password", problems);
            }
            Ok(PasswordChange::Done { session_key }) => {
                if let Err(e) = ctx.auth.0.attempt_succeeded(gate).await {
                    return Page::Error(e);
                }
                return finish_password_change(&ctx, &profile, &session_key).await;
            }
            Err(e) => return Page::Error(e),
        }
    }
    sent.errors = errors;
    sent.flashes.push(error_flash(t.t("form-has-errors")));
    render(&ctx, &profile, sent).await
}

/// The password changed and the user's key rotated: this session goes on
/// under the new key, every other one has ended (and its row goes).
async fn finish_password_change(ctx: &Ctx<'_>, profile: &Profile, session_key: &str) -> Page {
    let flash = Flash {
        category: "success".into(),
        message: ctx.templates.t("account-password-changed"),
    };
    if let Err(e) = ctx.rekey(session_key, vec![flash]).await {
        return Page::Error(e);
    }
    if let Some(row) = ctx.session.record()
        && let Err(e) = ctx.auth.0.account().end_others(profile.user_id, &row).await
    {
        return Page::Error(e);
    }
    Page::redirect(ACCOUNT_PATH.to_string())
}

#[derive(FromForm)]
struct LoginForm<'r> {
    csrf_token: Option<&'r str>,
    current_password: Option<&'r str>,
    login_id: Option<&'r str>,
}

#[post("/account/login", data = "<form>")]
async fn login_post(form: Form<LoginForm<'_>>, ctx: Ctx<'_>) -> Page {
    let profile = match posted(&ctx, form.csrf_token).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if !login_changes(&ctx, &profile) {
        return Page::Status(Status::NotFound);
    }
    let t = &ctx.templates;
    let (current, new) = (
        form.current_password.unwrap_or_default(),
        form.login_id.unwrap_or_default().trim(),
    );
    let mut sent = Sent {
        login_id: Some(new),
        ..Sent::default()
    };
    if current.is_empty() {
        sent.errors
            .insert("current_password", vec![t.t("field-required")]);
    }
    if new.is_empty() {
        sent.errors.insert("login_id", vec![t.t("field-required")]);
    }
    if sent.errors.is_empty() {
        let gate = match open_gate(&ctx, &profile, &mut sent).await {
            Ok(gate) => gate,
            Err(page) => return page,
        };
        let lang = t.tr().lang().to_string();
        let change = ctx
            .auth
            .0
            .account()
            .change_login(profile.user_id, current, new, &lang)
            .await;
        let message = match change {
            Ok(LoginChange::WrongCurrent) => {
                sent.errors
                    .insert("current_password", vec![t.t("account-wrong-password")]);
                None
            }
            Ok(LoginChange::Invalid(problem)) => Some(problem.field_message(t.tr())),
            Ok(LoginChange::Same) => Some(t.t("account-login-same")),
            Ok(LoginChange::Taken) => Some(t.t("account-login-taken")),
            Ok(LoginChange::UseProvider(provider)) => {
                Some(t.t_args("account-login-provider", &[("provider", provider)]))
            }
            Ok(done @ (LoginChange::Changed | LoginChange::LinkSent)) => {
                if let Err(e) = ctx.auth.0.attempt_succeeded(gate).await {
                    return Page::Error(e);
                }
                let key = if done == LoginChange::Changed {
                    "account-username-changed"
                } else {
                    "account-email-link-sent"
                };
                let message = t.t_args(key, &[("address", new.to_string())]);
                ctx.session.flash("success", &message);
                return Page::redirect(ACCOUNT_PATH.to_string());
            }
            Err(e) => return Page::Error(e),
        };
        if let Some(message) = message {
            sent.errors.insert("login_id", vec![message]);
        }
    }
    sent.flashes.push(error_flash(t.t("form-has-errors")));
    render(&ctx, &profile, sent).await
}

#[derive(FromForm)]
struct CsrfForm<'r> {
    csrf_token: Option<&'r str>,
}

#[post("/account/sessions/<id>/end", data = "<form>")]
async fn end_post(id: &str, form: Form<CsrfForm<'_>>, ctx: Ctx<'_>) -> Page {
    let profile = match posted(&ctx, form.csrf_token).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let this = ctx.session.record().is_some_and(|row| row == id);
    match ctx.auth.0.account().end(profile.user_id, id).await {
        Ok(true) if this => {
            // Ending this device's own session is a logout.
            ctx.session.log_out();
            ctx.session
                .flash("success", &ctx.templates.t("logout-done"));
            Page::redirect(crate::core::paths::LOGIN_PATH.to_string())
        }
        Ok(true) => {
            ctx.session
                .flash("success", &ctx.templates.t("account-session-ended"));
            Page::redirect(ACCOUNT_PATH.to_string())
        }
        // Not theirs, or ended already.
        Ok(false) => Page::Status(Status::NotFound),
        Err(e) => Page::Error(e),
    }
}

#[post("/account/sessions/end-others", data = "<form>")]
async fn end_others_post(form: Form<CsrfForm<'_>>, ctx: Ctx<'_>) -> Page {
    let profile = match posted(&ctx, form.csrf_token).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Some(row) = ctx.session.record() else {
        return Page::redirect(ACCOUNT_PATH.to_string());
    };
    match ctx.auth.0.account().end_others(profile.user_id, &row).await {
        Ok(n) => {
            let message = ctx
                .templates
                .t_args("account-sessions-ended", &[("count", n.to_string())]);
            ctx.session.flash("success", &message);
            Page::redirect(ACCOUNT_PATH.to_string())
        }
        Err(e) => Page::Error(e),
    }
}

/// The address in a confirm-email link (base64url), if it decodes.
#[cfg(feature = "mail")]
fn link_address(encoded: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok().filter(|a| a.len() <= 254)
}

/// The confirm-email page: the address and a button (a mail scanner that
/// opens the link changes nothing), or what is wrong with the link.
#[cfg(feature = "mail")]
async fn confirm(ctx: &Ctx<'_>, user_id: i64, encoded: &str, token: &str, apply: bool) -> Page {
    let t = &ctx.templates;
    if !(local_passwords(ctx) && ctx.auth.0.mail_enabled()) {
        return Page::Status(Status::NotFound);
    }
    let Some(address) = link_address(encoded) else {
        return Page::Status(Status::NotFound);
    };
    let found = ctx
        .auth
        .0
        .account()
        .confirm_email(user_id, &address, token, apply)
        .await;
    let outcome = match found {
        Ok(EmailConfirm::Valid { address }) => {
            return html(
                Status::Ok,
                t.render(
                    "kegauth/confirm-email.html",
                    &t.t("account-confirm-title"),
                    json!({
                        "address": address,
                        "csrf_token": ctx.session.csrf_token(),
                        "flashes": ctx.session.take_flashes(),
                    }),
                ),
            )
        }
        Ok(EmailConfirm::Done) => (
            "success",
            t.t_args("account-email-changed", &[("address", address)]),
        ),
        Ok(EmailConfirm::Invalid) => ("error", t.t("account-confirm-invalid")),
        Ok(EmailConfirm::Taken) => ("error", t.t("account-login-taken")),
        Err(e) => return Page::Error(e),
    };
    // Said on the account page, or on the login page to a browser that is
    // not logged in.
    ctx.session.flash(outcome.0, &outcome.1);
    let to = if ctx.session.session_key().is_some() {
        ACCOUNT_PATH
    } else {
        crate::core::paths::LOGIN_PATH
    };
    Page::redirect(to.to_string())
}

#[cfg(feature = "mail")]
#[get("/account/email/<user_id>/<address>/<token>")]
async fn confirm_get(
    user_id: i64,
    address: &str,
    token: &str,
    ctx: Ctx<'_>,
) -> super::accounts::Sensitive {
    confirm(&ctx, user_id, address, token, false).await.into()
}

#[cfg(feature = "mail")]
#[post("/account/email/<user_id>/<address>/<token>", data = "<form>")]
async fn confirm_post(
    user_id: i64,
    address: &str,
    token: &str,
    form: Form<CsrfForm<'_>>,
    ctx: Ctx<'_>,
) -> super::accounts::Sensitive {
    if !ctx
        .session
        .csrf_matches(form.csrf_token.unwrap_or_default())
    {
        return csrf_failure(&ctx.templates).into();
    }
    confirm(&ctx, user_id, address, token, true).await.into()
}

pub(crate) fn routes() -> Vec<Route> {
    let all = rocket::routes![
        account_get,
        password_post,
        login_post,
        end_post,
        end_others_post
    ];
    #[cfg(feature = "mail")]
    let all = {
        let mut all = all;
        all.extend(rocket::routes![confirm_get, confirm_post]);
        all
    };
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_names_its_browser_and_system() {
        let tr = crate::services::i18n::Translator::english();
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        let (browser, system) = device(&tr, Some(firefox));
        assert_eq!(browser, "Firefox 133");
        assert_eq!(system, "Linux");
        let (browser, system) = device(&tr, Some("curl/8.5.0"));
        assert!(!browser.is_empty() && !system.is_empty());
        let unknown = tr.t("account-session-unknown");
        assert_eq!(device(&tr, None), (unknown.clone(), unknown));
    }

    #[cfg(feature = "mail")]
    #[test]
    fn a_link_address_decodes_or_is_refused() {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("new@example.com");
        assert_eq!(link_address(&encoded).as_deref(), Some("new@example.com"));
        assert_eq!(link_address("not base64!"), None);
        let long = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("a".repeat(300));
        assert_eq!(link_address(&long), None);
    }
}
