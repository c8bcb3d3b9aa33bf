//! Passkeys and security keys (WebAuthn, with `passkeys = true`): register
//! them on the account page, sign in with a passkey from the login page, or
//! use one as a login's second step.
//!
//! Each ceremony is two posts of one form: the page's script (`passkeys.js`)
//! first posts the form to `…/options` and gets the options for
//! `navigator.credentials` as JSON (the server keeps the challenge in the
//! session cookie), then puts the browser's answer into the form's
//! `credential` field and submits it; the answer is a page or a redirect
//! with flash messages, like every other form of kegauth's. Both posts carry
//! the CSRF token.

use crate::authn::session::Flash;
use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
use crate::core::error::Error;
use crate::core::next::safe_next;
use crate::core::passkeys::{Ceremony, PasskeyKind, Purpose, StoredPasskey};
use crate::core::paths::{LOGIN_PATH, TWO_FACTOR_PATH};
use crate::services::passkeys::{Refused, RelyingParty};
use crate::web::views::two_factor::{self as tf, CodeForm, FirstStep};
use crate::web::views::{csrf_failure, Ctx, Page};
use rocket::form::{Form, FromForm};
use rocket::http::{ContentType, Status};
use rocket::{get, post, Route};
use serde_json::json;

/// The script that runs the ceremonies in the browser (served at
/// [`PASSKEY_SCRIPT_PATH`](crate::core::paths::PASSKEY_SCRIPT_PATH)).
const SCRIPT: &str = include_str!("passkeys.js");

/// The fields of the passkey forms.
#[derive(FromForm)]
pub struct PasskeyForm<'r> {
    csrf_token: Option<&'r str>,
    /// The browser's answer (`credential.toJSON()`), on the second post.
    credential: Option<&'r str>,
    /// A new passkey's name.
    name: Option<&'r str>,
    /// `passkey` or `security-key`.
    kind: Option<&'r str>,
    /// Where to go after a passkey login.
    next: Option<&'r str>,
    /// A fresh code or the password, to add a passkey to an account that has
    /// a second factor already.
    code: Option<&'r str>,
    password: Option<&'r str>,
}

impl<'r> PasskeyForm<'r> {
    fn reauth(&self) -> CodeForm<'r> {
        CodeForm {
            code: self.code,
            password: self.password,
            csrf_token: self.csrf_token,
        }
    }
}

/// The answer to an options post: the options as JSON, or a refusal (a
/// status, and a JSON `{"error": message}` the script shows when there is
/// something to say).
#[derive(rocket::Responder)]
pub enum Options {
    /// The options for `navigator.credentials`.
    Json((ContentType, String)),
    /// Refused.
    Refused(Status),
    /// Refused, with a message for the person.
    Said((Status, (ContentType, String))),
    /// Failed.
    Failed(Page),
}

impl Options {
    fn said(status: Status, message: &str) -> Self {
        Options::Said((
            status,
            (ContentType::JSON, json!({ "error": message }).to_string()),
        ))
    }
}

fn options_of(state: String, json: serde_json::Value, purpose: Purpose, ctx: &Ctx<'_>) -> Options {
    ctx.session.set_ceremony(Ceremony { purpose, state });
    Options::Json((ContentType::JSON, json.to_string()))
}

fn relying_party(ctx: &Ctx<'_>) -> Result<RelyingParty, Status> {
    match ctx.config.relying_party() {
        Ok(Some(rp)) => Ok(rp),
        _ => Err(Status::NotFound),
    }
}

/// The relying party, once the form's CSRF token checked out: else 404
/// (passkeys are off) or 403.
fn checked(ctx: &Ctx<'_>, csrf: Option<&str>) -> Result<RelyingParty, Status> {
    let rp = relying_party(ctx)?;
    if !ctx.session.csrf_matches(csrf.unwrap_or_default()) {
        return Err(Status::Forbidden);
    }
    Ok(rp)
}

/// The ceremony the session holds for `purpose`, taken out; `None` when it
/// holds none or another.
fn take_ceremony(ctx: &Ctx<'_>, purpose: Purpose) -> Option<String> {
    ctx.session
        .take_ceremony()
        .filter(|c| c.purpose == purpose)
        .map(|c| c.state)
}

fn refused_log(why: &str) {
    log::info!(target: crate::core::AUDIT, "a passkey was refused: {why}");
}

#[post("/account/passkeys/options", data = "<form>")]
async fn register_options(form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Options {
    let rp = match relying_party(&ctx) {
        Ok(rp) => rp,
        Err(status) => return Options::Refused(status),
    };
    let (id, login) = match tf::account_post(&ctx, form.csrf_token).await {
        Ok(u) => u,
        // The CSRF page, or the login page for a visitor not logged in.
        Err(page) => return Options::Failed(page),
    };
    let Some(kind) = form.kind.and_then(PasskeyKind::parse) else {
        return Options::Refused(Status::BadRequest);
    };
    let name = form.name.unwrap_or_default().trim();
    if name.is_empty() || name.chars().count() > crate::core::passkeys::NAME_MAX_CHARS {
        return Options::said(Status::BadRequest, &ctx.templates.t("passkey-name-invalid"));
    }
    let service = ctx.auth.0.two_factor();
    // Adding to an account that has a second factor takes a fresh code or
    // the password (a stolen session cannot add its own passkey).
    match service.enabled(id).await {
        Ok(false) => {}
        Ok(true) => match tf::reauthenticated(&ctx, id, &login, &form.reauth()).await {
            Ok(true) => {}
            Ok(false) => {
                // Said here, not on the next page.
                let said = ctx.session.take_flashes();
                let message = said.last().map(|f| f.message.as_str()).unwrap_or_default();
                return Options::said(Status::Forbidden, message);
            }
            Err(page) => return Options::Failed(page),
        },
        Err(e) => return Options::Failed(Page::Error(e)),
    }
    let existing = match service.passkeys(id).await {
        Ok(p) => p,
        Err(e) => return Options::Failed(Page::Error(e)),
    };
    // Said before the browser asks anything of its user.
    if existing.len() >= crate::core::store::passkeys::MAX_PASSKEYS_PER_USER {
        return Options::said(Status::BadRequest, &ctx.templates.t("passkey-too-many"));
    }
    let handle = match service.passkey_handle(id).await {
        Ok(h) => h,
        Err(e) => return Options::Failed(Page::Error(e)),
    };
    match rp.begin_registration(kind, &handle, &login, &existing) {
        Ok((state, json)) => options_of(state, json, Purpose::Register { user: id, kind }, &ctx),
        Err(e) => Options::Failed(Page::Error(e)),
    }
}

#[post("/account/passkeys", data = "<form>")]
async fn register(form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Page {
    let rp = match relying_party(&ctx) {
        Ok(rp) => rp,
        Err(status) => return Page::Status(status),
    };
    let (id, login) = match tf::account_post(&ctx, form.csrf_token).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let t = &ctx.templates;
    let back = |key: &str| {
        ctx.session.flash("error", &t.t(key));
        Page::redirect(TWO_FACTOR_PATH.to_string())
    };
    let ceremony = ctx.session.take_ceremony();
    let Some((state, kind)) = ceremony.and_then(|c| match c.purpose {
        Purpose::Register { user, kind } if user == id => Some((c.state, kind)),
        _ => None,
    }) else {
        return back("passkey-expired");
    };
    let new = match rp.finish_registration(&state, form.credential.unwrap_or_default()) {
        Ok(new) => new,
        Err(why) => {
            refused_log(&why.0);
            return back("passkey-refused");
        }
    };
    let service = ctx.auth.0.two_factor();
    let status = match service.status(id).await {
        Ok(s) => s,
        Err(e) => return Page::Error(e),
    };
    if status.passkeys >= crate::core::store::passkeys::MAX_PASSKEYS_PER_USER {
        return back("passkey-too-many");
    }
    let name = form.name.unwrap_or_default();
    match service.add_passkey(id, name, kind, &new).await {
        Ok(_) => {}
        Err(Error::Conflict(_)) => return back("passkey-already-registered"),
        Err(Error::Invalid(_)) => return back("passkey-name-invalid"),
        Err(e) => return Page::Error(e),
    }
    ctx.session.set_must_enrol(false);
    ctx.session.flash("success", &t.t("passkey-added"));
    // A first second factor comes with recovery codes, shown once.
    if !status.enabled() || status.recovery_codes_left == 0 {
        return match service.regenerate(id).await {
            Ok(codes) => tf::render_account(&ctx, id, &login, Some(codes)).await,
            Err(e) => Page::Error(e),
        };
    }
    Page::redirect(TWO_FACTOR_PATH.to_string())
}

#[post("/account/passkeys/<passkey>/delete", data = "<form>")]
async fn delete(passkey: i64, form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Page {
    if relying_party(&ctx).is_err() {
        return Page::Status(Status::NotFound);
    }
    // Like turning TOTP off: a fresh code or the password first.
    let (id, _) = match tf::reauthenticated_user(&ctx, &form.reauth()).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let t = &ctx.templates;
    let service = ctx.auth.0.two_factor();
    let status = match service.status(id).await {
        Ok(s) => s,
        Err(e) => return Page::Error(e),
    };
    let last = !status.totp && status.passkeys == 1;
    if let Err(page) = tf::may_drop(&ctx, id, last).await {
        return page;
    }
    match service.delete_passkey(id, passkey).await {
        Ok(true) => {
            if last {
                // No second factor left: its recovery codes go too.
                if let Err(e) = service.disable(id, false).await {
                    return Page::Error(e);
                }
            }
            ctx.session.flash("success", &t.t("passkey-removed"));
        }
        Ok(false) => ctx.session.flash("error", &t.t("passkey-not-found")),
        Err(e) => return Page::Error(e),
    }
    Page::redirect(TWO_FACTOR_PATH.to_string())
}

#[post("/login/passkey/options", data = "<form>")]
async fn login_options(form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Options {
    let rp = match checked(&ctx, form.csrf_token) {
        Ok(rp) => rp,
        Err(Status::Forbidden) => return Options::Failed(csrf_failure(&ctx.templates)),
        Err(status) => return Options::Refused(status),
    };
    match rp.begin_login() {
        Ok((state, json)) => options_of(state, json, Purpose::Login, &ctx),
        Err(e) => Options::Failed(Page::Error(e)),
    }
}

/// The stored credential a browser's answer names, if it is registered.
async fn named_credential(
    ctx: &Ctx<'_>,
    id: Result<Vec<u8>, Refused>,
) -> Result<Option<StoredPasskey>, Page> {
    let Ok(id) = id else {
        return Ok(None);
    };
    ctx.auth
        .0
        .two_factor()
        .passkey_by_credential(&id)
        .await
        .map_err(Page::Error)
}

/// Record the use of `stored` with its new `sign_state`: false when another
/// request used the same state first.
async fn record_use(
    ctx: &Ctx<'_>,
    stored: &StoredPasskey,
    sign_state: &[u8],
) -> Result<bool, Page> {
    ctx.auth
        .0
        .two_factor()
        .record_passkey_use(stored.id, &stored.sign_state, sign_state)
        .await
        .map_err(Page::Error)
}

#[post("/login/passkey", data = "<form>")]
async fn login(form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Page {
    let rp = match checked(&ctx, form.csrf_token) {
        Ok(rp) => rp,
        Err(Status::Forbidden) => return csrf_failure(&ctx.templates),
        Err(status) => return Page::Status(status),
    };
    let t = &ctx.templates;
    let next = form.next.and_then(safe_next);
    let refused = |why: &str, user: Option<i64>| {
        refused_log(why);
        let mut event = AuditEvent::new(kinds::LOGIN_FAILURE, Outcome::Refused)
            .detail(json!({ "reason": why, "method": "passkey" }));
        event.subject = user.map(Subject::User);
        ctx.audit(event);
        ctx.session.flash("error", &t.t("passkey-refused"));
        Page::redirect(match &next {
            Some(n) => crate::core::paths::login_then(n),
            None => LOGIN_PATH.to_string(),
        })
    };
    let Some(state) = take_ceremony(&ctx, Purpose::Login) else {
        return refused("no passkey login was begun (or it was used)", None);
    };
    let answer = form.credential.unwrap_or_default();
    let stored = match named_credential(&ctx, RelyingParty::login_credential(answer)).await {
        Ok(Some(s)) => s,
        Ok(None) => return refused("unknown credential", None),
        Err(page) => return page,
    };
    let sign_state = match rp.finish_login(&state, answer, &stored) {
        Ok(s) => s,
        Err(why) => return refused(&why.0, Some(stored.user_id)),
    };
    match record_use(&ctx, &stored, &sign_state).await {
        Ok(true) => {}
        Ok(false) => return refused("the assertion was used already", Some(stored.user_id)),
        Err(page) => return page,
    }
    let (session_key, login_id) = match ctx.auth.0.two_factor().active_user(stored.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return refused("the user is not active", Some(stored.user_id)),
        Err(e) => return Page::Error(e),
    };
    let step = FirstStep {
        user_id: stored.user_id,
        session_key,
        login_id: &login_id,
        next,
        gate: None,
        remember: false,
        method: "passkey",
        detail: json!({ "login": login_id, "method": "passkey", "passkey": stored.id }),
    };
    tf::finish_login(&ctx, step).await
}

#[post("/login/verify/passkey/options", data = "<form>")]
async fn verify_options(form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Options {
    let rp = match checked(&ctx, form.csrf_token) {
        Ok(rp) => rp,
        Err(Status::Forbidden) => return Options::Failed(csrf_failure(&ctx.templates)),
        Err(status) => return Options::Refused(status),
    };
    let Ok(pending) = tf::pending_or_login(&ctx).await else {
        return Options::Refused(Status::Forbidden);
    };
    let keys = match ctx.auth.0.two_factor().passkeys(pending.user_id).await {
        Ok(k) => k,
        Err(e) => return Options::Failed(Page::Error(e)),
    };
    if keys.is_empty() {
        return Options::Refused(Status::BadRequest);
    }
    match rp.begin_second_step(&keys) {
        Ok((state, json)) => options_of(
            state,
            json,
            Purpose::SecondStep {
                user: pending.user_id,
            },
            &ctx,
        ),
        Err(e) => Options::Failed(Page::Error(e)),
    }
}

#[post("/login/verify/passkey", data = "<form>")]
async fn verify(form: Form<PasskeyForm<'_>>, ctx: Ctx<'_>) -> Page {
    let rp = match relying_party(&ctx) {
        Ok(rp) => rp,
        Err(status) => return Page::Status(status),
    };
    let (pending, gate) = match tf::second_step(&ctx, form.csrf_token).await {
        Ok(step) => step,
        Err(page) => return page,
    };
    let t = &ctx.templates;
    if gate.is_locked() {
        return tf::locked_out(&ctx, &pending).await;
    }
    let user = pending.user_id;
    let checked = match take_ceremony(&ctx, Purpose::SecondStep { user }) {
        None => Err("no passkey step was begun (or it was used)".to_string()),
        Some(state) => {
            let answer = form.credential.unwrap_or_default();
            match named_credential(&ctx, RelyingParty::second_step_credential(answer)).await {
                Err(page) => return page,
                Ok(Some(stored)) if stored.user_id == user => {
                    match rp.finish_second_step(&state, answer, &stored) {
                        Ok(sign_state) => match record_use(&ctx, &stored, &sign_state).await {
                            Ok(true) => Ok(stored.id),
                            Ok(false) => Err("the assertion was used already".into()),
                            Err(page) => return page,
                        },
                        Err(why) => Err(why.0),
                    }
                }
                Ok(_) => Err("not one of the user's credentials".into()),
            }
        }
    };
    let event = AuditEvent::new(
        kinds::TWO_FACTOR_CHECKED,
        if checked.is_ok() {
            Outcome::Success
        } else {
            Outcome::Refused
        },
    )
    .actor(user)
    .subject(Subject::User(user))
    .detail(json!({ "method": pending.method, "second_factor": "passkey" }));
    ctx.audit(event);
    match checked {
        Ok(_) => {
            tf::complete_second_step(&ctx, pending, gate, "passkey", Vec::<Flash>::new()).await
        }
        Err(why) => {
            refused_log(&why);
            tf::render_verify(&ctx, Status::Ok, Some(t.t("passkey-refused"))).await
        }
    }
}

#[get("/kegauth/passkeys.js")]
fn script() -> (ContentType, &'static str) {
    (ContentType::JavaScript, SCRIPT)
}

/// The passkey routes (each answers 404 while `passkeys` is off).
pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![
        register_options,
        register,
        delete,
        login_options,
        login,
        verify_options,
        verify,
        script
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_path_is_the_route() {
        assert_eq!(
            crate::core::paths::PASSKEY_SCRIPT_PATH,
            "/kegauth/passkeys.js"
        );
        assert!(super::SCRIPT.contains("data-kegauth-passkey"));
    }
}
