//! The mail-driven views: forgot password, reset password and verify account
//! (keg-auth's URLs and form field names). They answer 404 when no mail
//! manager is configured or the redirect authenticator is in use.

use crate::authn::service::TokenCheck;
use crate::authn::session::Session;
use crate::core::attempts::Gate;
use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
use crate::core::entity::AttemptType;
use crate::services::accounts::{FORGOT_PASSWORD_PATH, RESET_PASSWORD_PATH, VERIFY_ACCOUNT_PATH};
use crate::services::templates::Templates;
use crate::web::catchers::LOGIN_PATH;
use crate::web::endpoints::Endpoints;
use crate::web::views::{csrf_failure, html, Ctx, Page};
use rocket::form::{Form, FromForm};
use rocket::http::{Header, Status};
use rocket::response::Responder;
use rocket::{get, post, Route};
use serde_json::json;
use std::collections::BTreeMap;

/// Longest email address accepted (RFC 5321 path limit).
const MAX_EMAIL_BYTES: usize = 254;

/// A page that must not be cached or leak its URL (which holds a token) in a
/// `Referer` header.
#[derive(Responder)]
pub struct Sensitive {
    page: Page,
    cache: Header<'static>,
    referrer: Header<'static>,
}

impl From<Page> for Sensitive {
    fn from(page: Page) -> Self {
        Sensitive {
            page,
            cache: Header::new("Cache-Control", "no-store"),
            referrer: Header::new("Referrer-Policy", "no-referrer"),
        }
    }
}

fn render_forgot(
    templates: &Templates,
    session: &Session<'_>,
    email: &str,
    errors: BTreeMap<&'static str, Vec<String>>,
) -> Page {
    html(
        Status::Ok,
        templates.render(
            "kegauth/forgot-password.html",
            &templates.t("forgot-title"),
            json!({
                "forgot_url": FORGOT_PASSWORD_PATH,
                "login_url": LOGIN_PATH,
                "csrf_token": session.csrf_token(),
                "email": email,
                "errors": errors,
                "flashes": session.take_flashes(),
            }),
        ),
    )
}

#[get("/forgot-password")]
fn forgot_get(ctx: Ctx<'_>) -> Page {
    if !ctx.mail_views() {
        return Page::Status(Status::NotFound);
    }
    render_forgot(&ctx.templates, &ctx.session, "", BTreeMap::new())
}

/// The fields of the forgot-password form.
#[derive(FromForm)]
pub struct ForgotForm<'r> {
    email: Option<&'r str>,
    csrf_token: Option<&'r str>,
}

#[post("/forgot-password", data = "<form>")]
async fn forgot_post(form: Form<ForgotForm<'_>>, ctx: Ctx<'_>) -> Page {
    let Ctx {
        session,
        templates,
        auth,
        endpoints,
        ..
    } = &ctx;
    if !ctx.mail_views() {
        return Page::Status(Status::NotFound);
    }
    let email = form.email.unwrap_or_default().trim();
    // Every try is logged, CSRF failures and form errors included.
    let gate = match ctx.open_attempt(AttemptType::Forgot, email).await {
        Ok(gate) => gate,
        Err(e) => return Page::Error(e),
    };
    if !session.csrf_matches(form.csrf_token.unwrap_or_default()) {
        return csrf_failure(templates);
    }
    let mut errors = BTreeMap::new();
    if email.is_empty() {
        errors.insert("email", vec![templates.t("field-required")]);
    } else if email.len() > MAX_EMAIL_BYTES || email.parse::<lettre::Address>().is_err() {
        errors.insert("email", vec![templates.t("invalid-email")]);
    }
    if !errors.is_empty() {
        session.flash("error", &templates.t("form-has-errors"));
        return render_forgot(templates, session, email, errors);
    }
    if gate.is_locked() {
        session.flash("error", &templates.t("forgot-too-many"));
        return render_forgot(templates, session, email, errors);
    }
    match auth.0.forgot(email, templates.tr().lang()).await {
        // A success (a mail went out) starts the count again.
        Ok(Some(user_id)) => {
            if let Err(e) = auth.0.attempt_succeeded(gate).await {
                return Page::Error(e);
            }
            ctx.audit(
                AuditEvent::new(kinds::PASSWORD_RESET_REQUESTED, Outcome::Success)
                    .subject(Subject::User(user_id)),
            );
        }
        Ok(None) => {}
        Err(e) => return Page::Error(e),
    }
    // The same answer whether or not the address belongs to an account.
    session.flash("success", &templates.t("forgot-sent"));
    Page::redirect(endpoints.after_forgot.clone())
}

/// The user id in a link. Anything that is not a user id is answered like an
/// unknown one: 404 (not Rocket's 422 for a failed parameter).
pub struct UserId(i64);

impl<'a> rocket::request::FromParam<'a> for UserId {
    type Error = std::convert::Infallible;
    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        Ok(UserId(param.parse().unwrap_or(-1)))
    }
}

/// Which of the two token pages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenPage {
    Reset,
    Verify,
}

impl TokenPage {
    /// How the password was set, for the audit trail.
    fn via(self) -> &'static str {
        match self {
            TokenPage::Reset => "reset-link",
            TokenPage::Verify => "verify-link",
        }
    }

    fn path(self) -> &'static str {
        match self {
            TokenPage::Reset => RESET_PASSWORD_PATH,
            TokenPage::Verify => VERIFY_ACCOUNT_PATH,
        }
    }

    fn title(self, templates: &Templates) -> String {
        match self {
            TokenPage::Reset => templates.t("reset-title"),
            TokenPage::Verify => templates.t("verify-title"),
        }
    }

    fn submit_label(self, templates: &Templates) -> String {
        match self {
            TokenPage::Reset => templates.t("reset-button"),
            TokenPage::Verify => templates.t("verify-button"),
        }
    }

    fn done_message(self, templates: &Templates) -> String {
        match self {
            TokenPage::Reset => templates.t("reset-done"),
            TokenPage::Verify => templates.t("verify-done"),
        }
    }

    fn after(self, endpoints: &Endpoints) -> String {
        match self {
            TokenPage::Reset => endpoints.after_reset.clone(),
            TokenPage::Verify => endpoints.after_verify_account.clone(),
        }
    }
}

fn invalid_token(templates: &Templates, session: &Session<'_>) -> Page {
    session.flash("error", &templates.t("token-invalid"));
    Page::redirect(FORGOT_PASSWORD_PATH.to_string())
}

fn render_set_password(
    which: TokenPage,
    templates: &Templates,
    session: &Session<'_>,
    user_id: i64,
    token: &str,
    login_id: &str,
    errors: BTreeMap<&'static str, Vec<String>>,
) -> Page {
    html(
        Status::Ok,
        templates.render(
            "kegauth/set-password.html",
            &which.title(templates),
            json!({
                "action_url": format!("{}/{user_id}/{token}", which.path()),
                "csrf_token": session.csrf_token(),
                "login_id": login_id,
                "submit_label": which.submit_label(templates),
                "errors": errors,
                "flashes": session.take_flashes(),
            }),
        ),
    )
}

async fn token_get(which: TokenPage, user_id: i64, token: &str, ctx: Ctx<'_>) -> Page {
    if !ctx.mail_views() {
        return Page::Status(Status::NotFound);
    }
    let session = &ctx.session;
    match ctx.auth.0.check_token(user_id, token).await {
        Ok(TokenCheck::Valid(login_id)) => render_set_password(
            which,
            &ctx.templates,
            session,
            user_id,
            token,
            &login_id,
            BTreeMap::new(),
        ),
        Ok(TokenCheck::NoUser) => Page::Status(Status::NotFound),
        Ok(_) => invalid_token(&ctx.templates, session),
        Err(e) => Page::Error(e),
    }
}

/// The fields of the reset and verify forms.
#[derive(FromForm)]
pub struct SetPasswordForm<'r> {
    password: Option<&'r str>,
    confirm: Option<&'r str>,
    csrf_token: Option<&'r str>,
}

async fn token_post(
    which: TokenPage,
    user_id: i64,
    token: &str,
    form: &SetPasswordForm<'_>,
    ctx: Ctx<'_>,
) -> Page {
    let Ctx {
        session,
        templates,
        auth,
        endpoints,
        ..
    } = &ctx;
    if !ctx.mail_views() {
        return Page::Status(Status::NotFound);
    }
    // Only a valid link counts as a try: someone without the token cannot use
    // up the owner's reset attempts.
    let login_id = match auth.0.check_token(user_id, token).await {
        Ok(TokenCheck::Valid(login_id)) => login_id,
        Ok(TokenCheck::NoUser) => return Page::Status(Status::NotFound),
        Ok(_) => return invalid_token(templates, session),
        Err(e) => return Page::Error(e),
    };
    // keg-auth limits resets (every try counts), not account verification.
    let gate = match which {
        TokenPage::Reset => match ctx.open_attempt(AttemptType::Reset, &login_id).await {
            Ok(gate) => gate,
            Err(e) => return Page::Error(e),
        },
        TokenPage::Verify => Gate::Unlimited,
    };
    if !session.csrf_matches(form.csrf_token.unwrap_or_default()) {
        return csrf_failure(templates);
    }
    let password = form.password.unwrap_or_default();
    let confirm = form.confirm.unwrap_or_default();
    let mut errors: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    if password.is_empty() {
        errors.insert("password", vec![templates.t("field-required")]);
    }
    if confirm.is_empty() {
        errors.insert("confirm", vec![templates.t("field-required")]);
    } else if confirm != password {
        errors.insert("confirm", vec![templates.t("passwords-must-match")]);
    }
    if errors.is_empty() && gate.is_locked() {
        ctx.audit(
            AuditEvent::new(kinds::PASSWORD_SET, Outcome::Refused)
                .subject(Subject::User(user_id))
                .detail(serde_json::json!({ "via": which.via(), "reason": "locked-out" })),
        );
        session.flash("error", &templates.t("reset-too-many"));
        return render_set_password(which, templates, session, user_id, token, &login_id, errors);
    }
    if errors.is_empty() {
        match auth
            .0
            .use_token(user_id, token, password, templates.tr().lang())
            .await
        {
            Ok(TokenCheck::Done) => {
                if let Err(e) = auth.0.attempt_succeeded(gate).await {
                    return Page::Error(e);
                }
                let by_owner = |kind| {
                    AuditEvent::new(kind, Outcome::Success)
                        .actor(user_id)
                        .subject(Subject::User(user_id))
                };
                if which == TokenPage::Verify {
                    ctx.audit(by_owner(kinds::VERIFIED));
                }
                ctx.audit(by_owner(kinds::PASSWORD_SET).detail(json!({ "via": which.via() })));
                session.flash("success", &which.done_message(templates));
                return Page::redirect(which.after(endpoints));
            }
            Ok(TokenCheck::Rejected(_, problems)) => {
                errors.insert("password", problems);
            }
            Ok(TokenCheck::NoUser) => return Page::Status(Status::NotFound),
            Ok(_) => return invalid_token(templates, session),
            Err(e) => return Page::Error(e),
        }
    }
    session.flash("error", &templates.t("form-has-errors"));
    render_set_password(which, templates, session, user_id, token, &login_id, errors)
}

#[get("/reset-password/<user_id>/<token>")]
async fn reset_get(user_id: UserId, token: &str, ctx: Ctx<'_>) -> Sensitive {
    token_get(TokenPage::Reset, user_id.0, token, ctx)
        .await
        .into()
}

#[post("/reset-password/<user_id>/<token>", data = "<form>")]
async fn reset_post(
    user_id: UserId,
    token: &str,
    form: Form<SetPasswordForm<'_>>,
    ctx: Ctx<'_>,
) -> Sensitive {
    token_post(TokenPage::Reset, user_id.0, token, &form, ctx)
        .await
        .into()
}

#[get("/verify-account/<user_id>/<token>")]
async fn verify_get(user_id: UserId, token: &str, ctx: Ctx<'_>) -> Sensitive {
    token_get(TokenPage::Verify, user_id.0, token, ctx)
        .await
        .into()
}

#[post("/verify-account/<user_id>/<token>", data = "<form>")]
async fn verify_post(
    user_id: UserId,
    token: &str,
    form: Form<SetPasswordForm<'_>>,
    ctx: Ctx<'_>,
) -> Sensitive {
    token_post(TokenPage::Verify, user_id.0, token, &form, ctx)
        .await
        .into()
}

/// The mail-driven routes (part of [`crate::routes`]).
pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![
        forgot_get,
        forgot_post,
        reset_get,
        reset_post,
        verify_get,
        verify_post
    ]
}
