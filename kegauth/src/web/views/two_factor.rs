//! Second factors: a login's second step (`/login/verify`) and the account
//! page (`/account/two-factor`: turn TOTP on with a QR code, recovery codes,
//! turn it off). No JavaScript: the QR code is an inline SVG.

use crate::authn::session::Flash;
use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
use crate::core::entity::AttemptType;
use crate::core::paths::{LOGIN_PATH, TWO_FACTOR_PATH, TWO_FACTOR_VERIFY_PATH};

/// Where the account's passkeys are added (and removed, under `/<id>/delete`).
const PASSKEYS_PATH: &str = "/account/passkeys";
use crate::core::store::two_factor::SecondFactor;
use crate::core::two_factor::{PendingLogin, TwoFactorMode, PENDING_LOGIN_SECS};
use crate::web::views::{csrf_failure, html, Ctx, Page};
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::{get, post, Route};
use serde_json::json;

/// A login whose first step (password, LDAP, OAuth) went through.
pub(crate) struct FirstStep<'a> {
    pub user_id: i64,
    pub session_key: String,
    pub login_id: &'a str,
    /// Where to go after the login, if the request said (else the session's
    /// `next`, else the after-login endpoint).
    pub next: Option<String>,
    /// The first step's attempt, counted a success once the login is done.
    pub gate: Option<crate::core::attempts::Gate>,
    /// `password`, `ldap` or `oauth`.
    pub method: &'static str,
    /// What the audit trail says of the login.
    pub detail: serde_json::Value,
    /// "Remember me" was ticked.
    pub remember: bool,
}

/// Finish a login whose first step went through: the second step when the
/// user has a second factor and logins by this method take it; else the
/// session, and the enrolment page first when the user must enrol.
pub(crate) async fn finish_login(ctx: &Ctx<'_>, step: FirstStep<'_>) -> Page {
    match finish(ctx, step).await {
        Ok(page) => page,
        Err(e) => Page::Error(e),
    }
}

async fn finish(ctx: &Ctx<'_>, step: FirstStep<'_>) -> crate::core::error::Result<Page> {
    let target = step
        .next
        .or_else(|| ctx.session.take_next())
        .unwrap_or_else(|| ctx.endpoints.after_login.clone());
    let service = ctx.auth.0.two_factor();
    if ctx.config.second_step_for(step.method) && service.enabled(step.user_id).await? {
        ctx.session.begin_second_step(PendingLogin {
            user_id: step.user_id,
            session_key: step.session_key,
            login_id: step.login_id.to_string(),
            next: Some(target),
            until: service.now_secs() + PENDING_LOGIN_SECS,
            method: step.method.to_string(),
            gate: match step.gate {
                Some(crate::core::attempts::Gate::Open(id)) => Some(id),
                _ => None,
            },
            remember: step.remember,
        });
        return Ok(Page::redirect(TWO_FACTOR_VERIFY_PATH.to_string()));
    }
    if let Some(gate) = step.gate {
        ctx.auth.0.attempt_succeeded(gate).await?;
    }
    let login = Login {
        user_id: step.user_id,
        session_key: &step.session_key,
        remember: step.remember,
    };
    log_in(ctx, login, step.detail, Vec::new()).await?;
    after_login(ctx, step.user_id, target).await
}

/// Who logs in, and whether to remember the session.
struct Login<'a> {
    user_id: i64,
    session_key: &'a str,
    remember: bool,
}

/// Record the login (its session row first, then the audit event) and start
/// the session.
async fn log_in(
    ctx: &Ctx<'_>,
    login: Login<'_>,
    detail: serde_json::Value,
    more: Vec<Flash>,
) -> crate::core::error::Result<()> {
    let Login {
        user_id,
        session_key,
        remember,
    } = login;
    let days = ctx.config.remember_me_days;
    let now = ctx.auth.0.two_factor().now_secs();
    let remember_until = (remember && days > 0).then(|| now + i64::from(days) * 86_400);
    let ip = ctx.ip.map(|ip| ip.to_string());
    let new = crate::core::store::sessions::NewSession {
        user_id,
        session_key,
        remember_until: remember_until
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.naive_utc()),
        user_agent: ctx.user_agent,
        client_ip: ip.as_deref(),
    };
    let id = ctx
        .auth
        .0
        .account()
        .start(new, ctx.config.session_limits())
        .await?;
    ctx.audit(
        AuditEvent::new(kinds::LOGIN_SUCCESS, Outcome::Success)
            .actor(user_id)
            .subject(Subject::User(user_id))
            .detail(detail),
    );
    let mut flashes = vec![Flash {
        category: "success".into(),
        message: ctx.templates.t("login-success"),
    }];
    flashes.extend(more);
    let row = crate::authn::session::SessionRow { id, remember_until };
    ctx.session.log_in(session_key, &row, flashes);
    Ok(())
}

/// Where a logged-in user goes: `target`, or the enrolment page first (the
/// target kept for after it) when they must enrol.
async fn after_login(
    ctx: &Ctx<'_>,
    user_id: i64,
    target: String,
) -> crate::core::error::Result<Page> {
    if must_enrol(ctx, user_id).await? {
        ctx.session.set_must_enrol(true);
        ctx.session.set_next(&target);
        ctx.session
            .flash("warning", &ctx.templates.t("two-factor-must-enrol"));
        return Ok(Page::redirect(TWO_FACTOR_PATH.to_string()));
    }
    Ok(Page::redirect(target))
}

/// Whether user `user_id` must have a second factor: `two_factor =
/// "required"`, or a permission of `two_factor_required_for` (never with
/// `two_factor = "off"`).
pub(super) async fn required_for(ctx: &Ctx<'_>, user_id: i64) -> crate::core::error::Result<bool> {
    let config = ctx.config;
    Ok(match config.two_factor {
        TwoFactorMode::Off => false,
        TwoFactorMode::Required => true,
        TwoFactorMode::Optional => {
            !config.two_factor_required_for.is_empty()
                && ctx
                    .auth
                    .0
                    .two_factor()
                    .holds_any(user_id, &config.two_factor_required_for)
                    .await?
        }
    })
}

/// Whether the user who just logged in must enrol first and has not: the
/// session then sends them to the enrolment page.
async fn must_enrol(ctx: &Ctx<'_>, user_id: i64) -> crate::core::error::Result<bool> {
    Ok(required_for(ctx, user_id).await? && !ctx.auth.0.two_factor().enabled(user_id).await?)
}

pub(super) async fn render_verify(ctx: &Ctx<'_>, status: Status, error: Option<String>) -> Page {
    let t = &ctx.templates;
    // The passkey button, when the waiting user has one.
    let passkey = match ctx.session.pending_login() {
        Some(p) if ctx.config.passkeys_on() => {
            match ctx.auth.0.two_factor().passkeys(p.user_id).await {
                Ok(keys) => !keys.is_empty(),
                Err(e) => return Page::Error(e),
            }
        }
        _ => false,
    };
    let mut flashes = ctx.session.take_flashes();
    if let Some(message) = error {
        flashes.push(Flash {
            category: "error".into(),
            message,
        });
    }
    html(
        status,
        t.render(
            "kegauth/two-factor-verify.html",
            &t.t("two-factor-verify-title"),
            json!({
                "verify_url": TWO_FACTOR_VERIFY_PATH,
                "login_url": LOGIN_PATH,
                "passkey": passkey,
                "passkey_script": super::passkey_script(),
                "csrf_token": ctx.session.csrf_token(),
                "flashes": flashes,
            }),
        ),
    )
}

/// The pending login, if it still stands; otherwise it is dropped and the
/// answer is the login page with a message.
pub(super) async fn pending_or_login(ctx: &Ctx<'_>) -> Result<PendingLogin, Page> {
    let service = ctx.auth.0.two_factor();
    let Some(pending) = ctx.session.pending_login() else {
        return Err(Page::redirect(LOGIN_PATH.to_string()));
    };
    match service.pending_holds(&pending).await {
        Ok(true) => Ok(pending),
        Ok(false) => {
            ctx.session.end_second_step();
            ctx.session
                .flash("error", &ctx.templates.t("two-factor-expired"));
            Err(Page::redirect(LOGIN_PATH.to_string()))
        }
        Err(e) => Err(Page::Error(e)),
    }
}

#[get("/login/verify")]
async fn verify_get(ctx: Ctx<'_>) -> Page {
    match pending_or_login(&ctx).await {
        Ok(_) => render_verify(&ctx, Status::Ok, None).await,
        Err(page) => page,
    }
}

/// The fields of the second-step and account forms.
#[derive(FromForm)]
pub struct CodeForm<'r> {
    pub(super) code: Option<&'r str>,
    pub(super) password: Option<&'r str>,
    pub(super) csrf_token: Option<&'r str>,
}

#[post("/login/verify", data = "<form>")]
async fn verify_post(form: Form<CodeForm<'_>>, ctx: Ctx<'_>) -> Page {
    // Before anything answers: a post from another site learns nothing.
    let (pending, gate) = match second_step(&ctx, form.csrf_token).await {
        Ok(step) => step,
        Err(page) => return page,
    };
    let t = &ctx.templates;
    let code = form.code.unwrap_or_default().trim();
    if code.is_empty() {
        return render_verify(&ctx, Status::Ok, Some(t.t("field-required"))).await;
    }
    if gate.is_locked() {
        return locked_out(&ctx, &pending).await;
    }
    let service = ctx.auth.0.two_factor();
    let checked = match service.check(pending.user_id, code).await {
        Ok(c) => c,
        Err(e) => return Page::Error(e),
    };
    let event = AuditEvent::new(
        kinds::TWO_FACTOR_CHECKED,
        if checked.is_some() {
            Outcome::Success
        } else {
            Outcome::Refused
        },
    )
    .actor(pending.user_id)
    .subject(Subject::User(pending.user_id))
    .detail(json!({ "method": pending.method }));
    ctx.audit(event);
    let Some(factor) = checked else {
        return render_verify(&ctx, Status::Ok, Some(t.t("two-factor-wrong-code"))).await;
    };
    let mut more = Vec::new();
    let used = match factor {
        SecondFactor::Totp => "totp",
        SecondFactor::RecoveryCode { left } => {
            more.push(Flash {
                category: if left <= 2 { "warning" } else { "info" }.into(),
                message: t.t_args("two-factor-recovery-left", &[("count", left.to_string())]),
            });
            "recovery-code"
        }
    };
    complete_second_step(&ctx, pending, gate, used, more).await
}

/// A second-step post's common start: the CSRF check, the pending login,
/// and its try (counted with the password's, under the login id typed).
pub(super) async fn second_step(
    ctx: &Ctx<'_>,
    csrf: Option<&str>,
) -> Result<(PendingLogin, crate::core::attempts::Gate), Page> {
    // Before anything answers: a post from another site learns nothing.
    if !ctx.session.csrf_matches(csrf.unwrap_or_default()) {
        return Err(csrf_failure(&ctx.templates));
    }
    let pending = pending_or_login(ctx).await?;
    let gate = ctx
        .open_attempt(AttemptType::Login, &pending.login_id)
        .await
        .map_err(Page::Error)?;
    Ok((pending, gate))
}

/// A second-step try while the login is locked out: audited, and said.
pub(super) async fn locked_out(ctx: &Ctx<'_>, pending: &PendingLogin) -> Page {
    ctx.audit(
        AuditEvent::new(kinds::LOGIN_LOCKOUT, Outcome::Refused)
            .subject(Subject::User(pending.user_id)),
    );
    render_verify(ctx, Status::Ok, Some(ctx.templates.t("login-too-many"))).await
}

/// The second step went through with `used` (`totp`, `recovery-code`,
/// `passkey`): the login's attempts count as successes, the session starts.
pub(super) async fn complete_second_step(
    ctx: &Ctx<'_>,
    pending: PendingLogin,
    gate: crate::core::attempts::Gate,
    used: &str,
    more: Vec<Flash>,
) -> Page {
    for gate in [
        Some(gate),
        pending.gate.map(crate::core::attempts::Gate::Open),
    ]
    .into_iter()
    .flatten()
    {
        if let Err(e) = ctx.auth.0.attempt_succeeded(gate).await {
            return Page::Error(e);
        }
    }
    let detail =
        json!({ "login": pending.login_id, "method": pending.method, "second_factor": used });
    let login = Login {
        user_id: pending.user_id,
        session_key: &pending.session_key,
        remember: pending.remember,
    };
    if let Err(e) = log_in(ctx, login, detail, more).await {
        return Page::Error(e);
    }
    let target = pending
        .next
        .unwrap_or_else(|| ctx.endpoints.after_login.clone());
    // Someone who logs in with a second factor has enrolled.
    Page::redirect(target)
}

/// The logged-in user's id and login id, or the login redirect.
pub(super) async fn account_user(ctx: &Ctx<'_>) -> Result<(i64, String), Page> {
    let to_login = || Page::redirect(crate::core::paths::login_then(TWO_FACTOR_PATH));
    if !ctx.config.two_factor_on() {
        return Err(Page::Status(Status::NotFound));
    }
    let Some(key) = ctx.session.session_key() else {
        return Err(to_login());
    };
    match ctx.auth.0.two_factor().account(&key).await {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(to_login()),
        Err(e) => Err(Page::Error(e)),
    }
}

/// What the enrolment form shows of a new TOTP `secret`: its QR code, the
/// secret typed in, and the `otpauth://` URI.
#[cfg(feature = "two-factor")]
fn enrolment_of(
    ctx: &Ctx<'_>,
    login: &str,
    secret: &crate::core::two_factor::TotpSecret,
) -> crate::core::error::Result<serde_json::Value> {
    let issuer = if ctx.config.email_site_name.is_empty() {
        ctx.config
            .server_name
            .clone()
            .unwrap_or_else(|| "kegauth".into())
    } else {
        ctx.config.email_site_name.clone()
    };
    let uri = secret.otpauth_uri(&issuer, login);
    let qr = crate::services::two_factor::qr_svg(&uri)?;
    Ok(json!({ "qr_svg": qr, "secret": secret.base32(), "uri": uri }))
}

/// Without the `two-factor` feature no secret is ever pending.
#[cfg(not(feature = "two-factor"))]
fn enrolment_of(
    _ctx: &Ctx<'_>,
    _login: &str,
    _secret: &crate::core::two_factor::TotpSecret,
) -> crate::core::error::Result<serde_json::Value> {
    Err(crate::core::config::missing_feature(
        "second factors",
        "two-factor",
    ))
}

/// The account page: what is on, and the forms; `codes` are new recovery
/// codes to show (once).
pub(super) async fn render_account(
    ctx: &Ctx<'_>,
    user_id: i64,
    login: &str,
    codes: Option<Vec<String>>,
) -> Page {
    let t = &ctx.templates;
    let service = ctx.auth.0.two_factor();
    let status = match service.status(user_id).await {
        Ok(s) => s,
        Err(e) => return Page::Error(e),
    };
    if status.enabled() {
        // Enrolled (perhaps in another session): nothing left to require.
        ctx.session.set_must_enrol(false);
    }
    let mut enrolment = serde_json::Value::Null;
    if status.totp_pending {
        match service.pending(user_id).await {
            Ok(Some(secret)) => match enrolment_of(ctx, login, &secret) {
                Ok(shown) => enrolment = shown,
                Err(e) => return Page::Error(e),
            },
            Ok(None) => {}
            Err(e) => return Page::Error(e),
        }
    }
    let required = match required_for(ctx, user_id).await {
        Ok(r) => r,
        Err(e) => return Page::Error(e),
    };
    let passkeys: Vec<_> = match service.passkeys(user_id).await {
        Ok(keys) => keys
            .into_iter()
            .map(|p| {
                let kind = t.t(match p.kind {
                    crate::core::passkeys::PasskeyKind::Passkey => "passkey-kind-passkey",
                    crate::core::passkeys::PasskeyKind::SecurityKey => "passkey-kind-security-key",
                });
                json!({ "id": p.id, "name": p.name, "kind": kind })
            })
            .collect(),
        Err(e) => return Page::Error(e),
    };
    html(
        Status::Ok,
        t.render(
            "kegauth/two-factor.html",
            &t.t("two-factor-title"),
            json!({
                "account_url": TWO_FACTOR_PATH,
                "csrf_token": ctx.session.csrf_token(),
                "totp": status.totp,
                "recovery_codes_left": status.recovery_codes_left,
                "enrolment": enrolment,
                "continue_url": codes.as_ref().map(|_| ctx
                    .session
                    .take_next()
                    .unwrap_or_else(|| ctx.endpoints.after_login.clone())),
                "codes": codes,
                "required": required,
                "passkeys_on": ctx.config.passkeys_on(),
                "passkeys": passkeys,
                "passkeys_url": PASSKEYS_PATH,
                "passkey_script": super::passkey_script(),
                "flashes": ctx.session.take_flashes(),
            }),
        ),
    )
}

#[get("/account/two-factor")]
async fn account_get(ctx: Ctx<'_>) -> Page {
    match account_user(&ctx).await {
        Ok((id, login)) => render_account(&ctx, id, &login, None).await,
        Err(page) => page,
    }
}

/// The account forms' common start: the CSRF check, then the user.
pub(super) async fn account_post(ctx: &Ctx<'_>, csrf: Option<&str>) -> Result<(i64, String), Page> {
    if !ctx.session.csrf_matches(csrf.unwrap_or_default()) {
        return Err(csrf_failure(&ctx.templates));
    }
    account_user(ctx).await
}

#[post("/account/two-factor/begin", data = "<form>")]
async fn begin_post(form: Form<CodeForm<'_>>, ctx: Ctx<'_>) -> Page {
    let (id, _) = match account_post(&ctx, form.csrf_token).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    match ctx.auth.0.two_factor().begin(id).await {
        Ok(_) => {}
        Err(crate::core::error::Error::Conflict(_)) => {
            ctx.session
                .flash("info", &ctx.templates.t("two-factor-already-on"));
        }
        Err(e) => return Page::Error(e),
    }
    Page::redirect(TWO_FACTOR_PATH.to_string())
}

#[post("/account/two-factor/confirm", data = "<form>")]
async fn confirm_post(form: Form<CodeForm<'_>>, ctx: Ctx<'_>) -> Page {
    let (id, login) = match account_post(&ctx, form.csrf_token).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let gate = match ctx.open_attempt(AttemptType::Login, &login).await {
        Ok(gate) => gate,
        Err(e) => return Page::Error(e),
    };
    let t = &ctx.templates;
    if gate.is_locked() {
        ctx.session.flash("error", &t.t("login-too-many"));
        return Page::redirect(TWO_FACTOR_PATH.to_string());
    }
    let code = form.code.unwrap_or_default();
    match ctx.auth.0.two_factor().confirm(id, code).await {
        Ok(Some(codes)) => {
            if let Err(e) = ctx.auth.0.attempt_succeeded(gate).await {
                return Page::Error(e);
            }
            ctx.session.set_must_enrol(false);
            ctx.session.flash("success", &t.t("two-factor-enabled"));
            render_account(&ctx, id, &login, Some(codes)).await
        }
        Ok(None) => {
            ctx.session.flash("error", &t.t("two-factor-wrong-code"));
            Page::redirect(TWO_FACTOR_PATH.to_string())
        }
        Err(e) => Page::Error(e),
    }
}

/// A fresh code or the password, for the forms that change a second factor
/// already on (counted by the attempt limiter like a login).
pub(super) async fn reauthenticated(
    ctx: &Ctx<'_>,
    id: i64,
    login: &str,
    form: &CodeForm<'_>,
) -> Result<bool, Page> {
    let gate = ctx
        .open_attempt(AttemptType::Login, login)
        .await
        .map_err(Page::Error)?;
    if gate.is_locked() {
        ctx.session
            .flash("error", &ctx.templates.t("login-too-many"));
        return Ok(false);
    }
    let service = ctx.auth.0.two_factor();
    let code = form.code.unwrap_or_default().trim();
    let password = form.password.unwrap_or_default();
    let ok = if !code.is_empty() {
        service
            .check(id, code)
            .await
            .map_err(Page::Error)?
            .is_some()
    } else if !password.is_empty() {
        service
            .password_matches(id, password)
            .await
            .map_err(Page::Error)?
    } else {
        false
    };
    if ok {
        ctx.auth
            .0
            .attempt_succeeded(gate)
            .await
            .map_err(Page::Error)?;
    } else {
        ctx.session
            .flash("error", &ctx.templates.t("two-factor-reauth-failed"));
    }
    Ok(ok)
}

/// The account user, once the CSRF token and a fresh code or the password
/// checked out (the forms that change a second factor already on); else the
/// answer to give.
pub(super) async fn reauthenticated_user(
    ctx: &Ctx<'_>,
    form: &CodeForm<'_>,
) -> Result<(i64, String), Page> {
    let (id, login) = account_post(ctx, form.csrf_token).await?;
    if reauthenticated(ctx, id, &login, form).await? {
        Ok((id, login))
    } else {
        Err(Page::redirect(TWO_FACTOR_PATH.to_string()))
    }
}

#[post("/account/two-factor/recovery-codes", data = "<form>")]
async fn recovery_post(form: Form<CodeForm<'_>>, ctx: Ctx<'_>) -> Page {
    let (id, login) = match reauthenticated_user(&ctx, &form).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    match ctx.auth.0.two_factor().regenerate(id).await {
        Ok(codes) => {
            ctx.session
                .flash("success", &ctx.templates.t("two-factor-codes-regenerated"));
            render_account(&ctx, id, &login, Some(codes)).await
        }
        Err(e) => Page::Error(e),
    }
}

#[post("/account/two-factor/disable", data = "<form>")]
async fn disable_post(form: Form<CodeForm<'_>>, ctx: Ctx<'_>) -> Page {
    let (id, _) = match reauthenticated_user(&ctx, &form).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let t = &ctx.templates;
    // Passkeys left: TOTP is not the last second factor.
    let last = match ctx.auth.0.two_factor().status(id).await {
        Ok(status) => status.passkeys == 0,
        Err(e) => return Page::Error(e),
    };
    if let Err(page) = may_drop(&ctx, id, last).await {
        return page;
    }
    if let Err(e) = ctx.auth.0.two_factor().disable(id, false).await {
        return Page::Error(e);
    }
    let said = if last {
        "two-factor-disabled"
    } else {
        "two-factor-app-removed"
    };
    ctx.session.flash("success", &t.t(said));
    Page::redirect(TWO_FACTOR_PATH.to_string())
}

/// Whether user `id` may drop a second factor (the `last` one they have, or
/// not): not the last when they must have one; else the account page with
/// a message.
pub(super) async fn may_drop(ctx: &Ctx<'_>, id: i64, last: bool) -> Result<(), Page> {
    if last && required_for(ctx, id).await.map_err(Page::Error)? {
        ctx.session
            .flash("error", &ctx.templates.t("two-factor-cannot-disable"));
        return Err(Page::redirect(TWO_FACTOR_PATH.to_string()));
    }
    Ok(())
}

/// The second step and the account page.
pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![
        verify_get,
        verify_post,
        account_get,
        begin_post,
        confirm_post,
        recovery_post,
        disable_post
    ]
}
