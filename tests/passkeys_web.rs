//! Passkeys' server side through the test client, on SQLite, PostgreSQL and
//! MySQL: what the options say, and that every answer a browser could get
//! wrong (garbage, an answer without its ceremony, a forged CSRF token, a
//! user who is not logged in, an account that needs re-authentication) is a
//! page with a message or a refusal, never a 500 and never a session. The
//! ceremonies themselves run in Chromium (tests/browser.rs).

use crate::common::web::{app_configured, body, location, App, TestBackend};
use kegauth::Backend;
use rocket::figment::Figment;
use rocket::http::Status;

const PASSWORD: &str = "correct horse battery staple";

async fn passkey_app<B: TestBackend>() -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    passkey_app_with::<B>(rocket::Config::figment()).await
}

/// The app with passkeys on, at app.example.com, over `figment`.
async fn passkey_app_with<B: TestBackend>(
    figment: Figment,
) -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    let figment = figment
        .merge(("kegauth.passkeys", true))
        .merge(("kegauth.server_name", "app.example.com"));
    app_configured::<B>(figment, |b| b, |r| r).await
}

/// A credential as a registration would give it (its bytes are opaque to
/// the store): credential id `byte` x 32.
fn passkey(byte: u8) -> kegauth::passkeys::NewPasskey {
    kegauth::passkeys::NewPasskey {
        credential_id: vec![byte; 32],
        user_handle: vec![byte; 16],
        public_key: vec![1],
        sign_state: vec![0; 7],
        transports: 0,
    }
}

/// POST `fields` (with the session's CSRF token) to `path`: status and body.
async fn post<DB: Backend>(app: &App<DB>, path: &str, fields: &[(&str, &str)]) -> (Status, String) {
    let r = app.submit(path, fields).await;
    (r.status(), body(r).await)
}

async fn registration_options_and_bad_answers<B: TestBackend>() {
    let Some(app) = passkey_app::<B>().await else {
        return;
    };
    // Not logged in: the login page.
    let r = app
        .submit(
            "/account/passkeys/options",
            &[("kind", "passkey"), ("name", "Laptop")],
        )
        .await;
    assert_eq!(
        (r.status(), location(&r)),
        (
            Status::SeeOther,
            "/login?next=%2Faccount%2Ftwo%2Dfactor".into()
        )
    );
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    app.log_in_as(&ann).await;
    // A forged token, a kind that does not exist, no name: refused.
    let r = app
        .post_form(
            "/account/passkeys/options",
            &[
                ("kind", "passkey"),
                ("name", "Laptop"),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    for fields in [
        [("kind", "yubikey"), ("name", "Laptop")],
        [("kind", "passkey"), ("name", "  ")],
    ] {
        let (status, _) = post(&app, "/account/passkeys/options", &fields).await;
        assert_eq!(status, Status::BadRequest, "{fields:?}");
    }
    // The options: bound to server_name's host, a user handle that is not
    // the user id, user verification for a passkey.
    let (status, options) = post(
        &app,
        "/account/passkeys/options",
        &[("kind", "passkey"), ("name", "Laptop")],
    )
    .await;
    assert_eq!(status, Status::Ok);
    let options: serde_json::Value = serde_json::from_str(&options).expect("JSON");
    assert_eq!(options["rp"]["id"], "app.example.com");
    assert_eq!(options["user"]["name"], "ann@example.com");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        options["user"]["id"].as_str().map(str::len),
        Some(22),
        "16 random bytes"
    );
    // Garbage for an answer: a message, nothing registered.
    let r = app
        .submit(
            "/account/passkeys",
            &[("name", "Laptop"), ("credential", "{\"id\":1}")],
        )
        .await;
    assert_eq!(
        (r.status(), location(&r)),
        (Status::SeeOther, "/account/two-factor".into())
    );
    assert!(app
        .flashes()
        .await
        .contains("The passkey was not accepted."));
    assert!(app
        .store
        .clone()
        .with_passkeys(true)
        .passkeys(ann.id)
        .await
        .unwrap()
        .is_empty());
    // The ceremony was used: the same answer again has none to match.
    let r = app
        .submit(
            "/account/passkeys",
            &[("name", "Laptop"), ("credential", "{}")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app.flashes().await.contains("The passkey request expired."));
    // The account page offers the form.
    let page = body(app.browse("/account/two-factor").await).await;
    assert!(
        page.contains("id=\"passkey-add-form\"") && page.contains("/kegauth/passkeys.js"),
        "{page}"
    );
    let script = app.browse("/kegauth/passkeys.js").await;
    assert_eq!(script.status(), Status::Ok);
    assert!(body(script).await.contains("parseCreationOptionsFromJSON"));
    // At most 20 each: the 21st is refused before the browser is asked.
    let store = app.store.clone().with_passkeys(true);
    for i in 0..20u8 {
        let passkey = passkey(i);
        let kind = kegauth::passkeys::PasskeyKind::Passkey;
        store
            .add_passkey(ann.id, "Key", kind, &passkey)
            .await
            .unwrap();
    }
    let fields = [
        ("kind", "passkey"),
        ("name", "One more"),
        ("password", PASSWORD),
    ];
    let (status, said) = post(&app, "/account/passkeys/options", &fields).await;
    assert_eq!(status, Status::BadRequest);
    assert!(said.contains("at most 20 passkeys"), "{said}");
}

async fn an_account_with_a_second_factor_needs_the_password_to_add_one<B: TestBackend>() {
    let Some(app) = passkey_app::<B>().await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let secret = app.store.begin_totp(ann.id).await.unwrap();
    let now = app.store.now().and_utc().timestamp();
    let code = secret.code_at(now.div_euclid(kegauth::two_factor::TOTP_STEP_SECS));
    app.store
        .confirm_totp(ann.id, &code)
        .await
        .unwrap()
        .expect("on");
    app.log_in_as(&ann).await;
    let fields = [("kind", "security-key"), ("name", "Key")];
    let (status, said) = post(&app, "/account/passkeys/options", &fields).await;
    assert_eq!(status, Status::Forbidden, "no password");
    assert_eq!(said, r#"{"error":"The code or password is not right."}"#);
    assert_eq!(
        app.flashes().await,
        "",
        "said once, not again on the next page"
    );
    let mut with_password = fields.to_vec();
    with_password.push(("password", PASSWORD));
    let (status, options) = post(&app, "/account/passkeys/options", &with_password).await;
    assert_eq!(status, Status::Ok);
    let options: serde_json::Value = serde_json::from_str(&options).expect("JSON");
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "discouraged"
    );
}

/// Removing a passkey takes a fresh code or the password, and only the
/// owner's; the last one takes the recovery codes with it.
async fn removing_a_passkey_needs_the_password<B: TestBackend>() {
    let Some(app) = passkey_app::<B>().await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let bob = app.user("bob@example.com", Some(PASSWORD)).await;
    let store = app.store.clone().with_passkeys(true);
    let mut ids = Vec::new();
    for (user, byte) in [(&ann, 1u8), (&bob, 2)] {
        let passkey = passkey(byte);
        let kind = kegauth::passkeys::PasskeyKind::SecurityKey;
        ids.push(
            store
                .add_passkey(user.id, "Key", kind, &passkey)
                .await
                .unwrap(),
        );
    }
    store.regenerate_recovery_codes(ann.id).await.unwrap();
    app.log_in_as(&ann).await;
    let delete = |id: i64| format!("/account/passkeys/{id}/delete");
    let r = app.submit(&delete(ids[0]), &[]).await;
    assert_eq!(
        (r.status(), location(&r)),
        (Status::SeeOther, "/account/two-factor".into())
    );
    assert!(app
        .flashes()
        .await
        .contains("The code or password is not right."));
    let r = app.submit(&delete(ids[1]), &[("password", PASSWORD)]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app
        .flashes()
        .await
        .contains("That passkey is not one of yours."));
    assert_eq!(
        store.passkeys(bob.id).await.unwrap().len(),
        1,
        "bob's stays"
    );
    let r = app.submit(&delete(ids[0]), &[("password", PASSWORD)]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app.flashes().await.contains("Passkey removed."));
    assert!(store.passkeys(ann.id).await.unwrap().is_empty());
    let status = store.two_factor_status(ann.id).await.unwrap();
    assert_eq!(
        status.recovery_codes_left, 0,
        "no second factor left: no codes"
    );
}

/// A user who must have a second factor may drop any but the last: TOTP
/// while a passkey is left, not the passkey once it is alone.
async fn the_last_second_factor_stays_when_required<B: TestBackend>() {
    let figment = rocket::Config::figment().merge(("kegauth.two_factor", "required"));
    let Some(app) = passkey_app_with::<B>(figment).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let store = app.store.clone().with_passkeys(true);
    let secret = store.begin_totp(ann.id).await.unwrap();
    let now = store.now().and_utc().timestamp();
    let code = secret.code_at(now.div_euclid(kegauth::two_factor::TOTP_STEP_SECS));
    store
        .confirm_totp(ann.id, &code)
        .await
        .unwrap()
        .expect("on");
    let kind = kegauth::passkeys::PasskeyKind::Passkey;
    let id = store
        .add_passkey(ann.id, "Laptop", kind, &passkey(1))
        .await
        .unwrap();
    app.log_in_as(&ann).await;
    let r = app
        .submit("/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app
        .flashes()
        .await
        .contains("The authenticator app is removed"));
    assert!(!store.totp_enabled(ann.id).await.unwrap(), "TOTP went");
    let path = format!("/account/passkeys/{id}/delete");
    let r = app.submit(&path, &[("password", PASSWORD)]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app.flashes().await.contains("it cannot be turned off"));
    assert_eq!(
        store.passkeys(ann.id).await.unwrap().len(),
        1,
        "the passkey stays"
    );
}

async fn passkey_login_refuses_bad_answers<B: TestBackend>() {
    let Some(app) = passkey_app::<B>().await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let page = body(app.browse("/login").await).await;
    assert!(page.contains("id=\"passkey-login-form\""), "{page}");
    // An answer without its ceremony, then garbage after one.
    let r = app.submit("/login/passkey", &[("credential", "{}")]).await;
    assert_eq!(
        (r.status(), location(&r)),
        (Status::SeeOther, "/login".into())
    );
    assert!(app
        .flashes()
        .await
        .contains("The passkey was not accepted."));
    let (status, options) = post(&app, "/login/passkey/options", &[]).await;
    assert_eq!(status, Status::Ok);
    let options: serde_json::Value = serde_json::from_str(&options).expect("JSON");
    assert_eq!(options["rpId"], "app.example.com");
    assert_eq!(options["userVerification"], "required");
    assert_eq!(
        options["allowCredentials"],
        serde_json::json!([]),
        "discoverable"
    );
    let r = app
        .submit(
            "/login/passkey",
            &[("credential", "not json"), ("next", "/secret1")],
        )
        .await;
    assert_eq!(
        (r.status(), location(&r)),
        (Status::SeeOther, "/login?next=%2Fsecret1".into())
    );
    assert_eq!(app.who().await, "Not logged in");
    // A forged token.
    let r = app
        .post_form("/login/passkey/options", &[("csrf_token", "forged")])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = app
        .post_form(
            "/login/passkey",
            &[("csrf_token", "forged"), ("credential", "{}")],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    // The second step's options: only for a pending login of a user with a passkey.
    let (status, _) = post(&app, "/login/verify/passkey/options", &[]).await;
    assert_eq!(status, Status::Forbidden, "no login pending");
    let r = app
        .submit("/login/verify/passkey", &[("credential", "{}")])
        .await;
    assert_eq!(
        (r.status(), location(&r)),
        (Status::SeeOther, "/login".into())
    );
    assert_eq!(app.who().await, "Not logged in");
    let _ = ann;
    let failures = app
        .audit_events(&kegauth::audit::AuditFilter {
            kind: Some(kegauth::audit::kinds::LOGIN_FAILURE.into()),
            ..Default::default()
        })
        .await;
    assert_eq!(failures.len(), 2, "both refusals are in the audit trail");
    assert!(failures
        .iter()
        .all(|r| r.event.detail["method"] == "passkey"));
}

async fn passkeys_off_answer_404<B: TestBackend>() {
    // (The repository's Rocket.toml, which the test apps read, turns them on.)
    let off = rocket::Config::figment().merge(("kegauth.passkeys", false));
    let Some(app) = app_configured::<B>(off, |b| b, |r| r).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    for path in [
        "/login/passkey/options",
        "/login/passkey",
        "/login/verify/passkey/options",
    ] {
        let r = app.submit(path, &[]).await;
        assert_eq!(r.status(), Status::NotFound, "{path}");
    }
    app.log_in_as(&ann).await;
    let r = app
        .submit(
            "/account/passkeys/options",
            &[("kind", "passkey"), ("name", "x")],
        )
        .await;
    assert_eq!(r.status(), Status::NotFound);
    let page = body(app.browse("/login").await).await;
    assert!(!page.contains("passkey-login-form"));
}

on_three_backends!(
    registration_options_and_bad_answers,
    removing_a_passkey_needs_the_password,
    the_last_second_factor_stays_when_required,
    an_account_with_a_second_factor_needs_the_password_to_add_one,
    passkey_login_refuses_bad_answers,
    passkeys_off_answer_404,
);

/// Passkeys need a domain name for `server_name`: otherwise the launch
/// stops and says why (unless `two_factor = "off"` turns them off).
#[rocket::async_test]
async fn passkeys_need_a_domain_name_unless_two_factor_is_off() {
    let config = |pairs: &[(&str, serde_json::Value)]| {
        let mut figment = Figment::new().merge(("kegauth.passkeys", true));
        for (k, v) in pairs {
            figment = figment.merge((format!("kegauth.{k}"), v.clone()));
        }
        kegauth::config::Config::from_figment(&figment)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let no_name = config(&[]).unwrap_err();
    assert!(no_name.contains("passkeys need server_name"), "{no_name}");
    let ip = config(&[("server_name", "127.0.0.1:8000".into())]).unwrap_err();
    assert!(ip.contains("IP addresses"), "{ip}");
    // `two_factor = "off"` turns them off too: nothing to check.
    config(&[("two_factor", "off".into())]).expect("off");
    config(&[("server_name", "localhost:8000".into())]).expect("a domain name");
}
