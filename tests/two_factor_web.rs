//! The second step of a login and the account page, through the browser's
//! eyes, on SQLite, PostgreSQL and MySQL: the password alone opens no session,
//! the code does (once), `next` survives the step, a password change or five
//! minutes end it, wrong codes lock the login out; recovery codes; the
//! enrolment a permission requires; an admin's reset; `two_factor = "off"`.

use crate::common;

use crate::common::web::{app_configured, body, location, App, TestBackend};
use kegauth::clock::{Clock, ManualClock};
use kegauth::two_factor::{TotpSecret, TOTP_STEP_SECS};
use kegauth::Backend;
use rocket::figment::Figment;
use rocket::http::Status;
use std::sync::Arc;

const PASSWORD: &str = "correct horse battery staple";

/// An app on a manual clock, 15 s into a TOTP step, with `settings`.
async fn app_at<B: TestBackend>(
    settings: &[(&str, serde_json::Value)],
) -> Option<(App<<B::Db as kegauth::AuthDb>::Backend>, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::from_timestamp(1_767_225_615, 0)
            .expect("a time")
            .naive_utc(),
    ));
    let mut figment: Figment = rocket::Config::figment();
    for (key, value) in settings {
        figment = figment.merge((format!("kegauth.{key}"), value.clone()));
    }
    let c = clock.clone();
    let app = app_configured::<B>(figment, move |b| b.clock(c), |r| r).await?;
    Some((app, clock))
}

fn step(clock: &ManualClock) -> i64 {
    clock.unix_secs().div_euclid(TOTP_STEP_SECS)
}

/// Ann, with a password and TOTP on (enrolled at the current step).
async fn enrolled<DB: Backend>(
    app: &App<DB>,
    clock: &ManualClock,
) -> (common::User, TotpSecret, Vec<String>) {
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let secret = app.store.begin_totp(ann.id).await.expect("begin");
    let codes = app
        .store
        .confirm_totp(ann.id, &secret.code_at(step(clock)))
        .await
        .expect("confirm")
        .expect("the right code");
    (ann, secret, codes)
}

async fn whoami<DB: Backend>(app: &App<DB>) -> String {
    app.who().await
}

/// The audit events about `user_id`.
async fn events_of<DB: Backend>(app: &App<DB>, user_id: i64) -> Vec<kegauth::audit::AuditEvent> {
    let filter = kegauth::audit::AuditFilter {
        user: Some(user_id),
        ..Default::default()
    };
    app.audit_events(&filter)
        .await
        .into_iter()
        .map(|r| r.event)
        .collect()
}

async fn logout<DB: Backend>(app: &App<DB>) {
    let r = app.submit("/logout", &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Not logged in");
}

async fn verify<DB: Backend>(app: &App<DB>, code: &str) -> (Status, String, String) {
    let r = app.submit("/login/verify", &[("code", code)]).await;
    let (status, to) = (r.status(), location(&r));
    (status, to, body(r).await)
}

async fn password_then_code<B: TestBackend>() {
    let Some((app, clock)) = app_at::<B>(&[]).await else {
        return;
    };
    let (ann, secret, _) = enrolled(&app, &clock).await;
    // The password alone: the second step, no session.
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(
        (r.status(), location(&r)),
        (Status::SeeOther, "/login/verify".into())
    );
    assert_eq!(whoami(&app).await, "Not logged in");
    assert_eq!(
        app.status("/secret1").await.class(),
        rocket::http::StatusClass::Redirection,
        "no session yet"
    );
    // A wrong code, then the code of the step that confirmed the enrolment
    // (used already): refused, still no session.
    let (status, _, page) = verify(&app, "000000").await;
    assert_eq!(status, Status::Ok);
    assert!(
        page.contains("That code is not right, or was already used."),
        "{page}"
    );
    let (_, _, page) = verify(&app, &secret.code_at(step(&clock))).await;
    assert!(page.contains("That code is not right"), "a used step");
    assert_eq!(whoami(&app).await, "Not logged in");
    // The next step's code: logged in, where the login would have gone.
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let (status, to, _) = verify(&app, &secret.code_at(step(&clock))).await;
    assert_eq!((status, to.as_str()), (Status::SeeOther, "/"));
    assert_eq!(whoami(&app).await, "Logged in as ann@example.com");
    assert!(app.flashes().await.contains("success"));
    // The same code once more, on a new login: refused (replay).
    logout(&app).await;
    app.login("ann@example.com", PASSWORD).await;
    let (_, _, page) = verify(&app, &secret.code_at(step(&clock))).await;
    assert!(page.contains("That code is not right"));
    // `next` survives the step.
    logout(&app).await;
    let _ = app.client.get("/login?next=/secret2").dispatch().await;
    let csrf = app.csrf().await;
    let r = app
        .post_form(
            "/login?next=/secret2",
            &[
                ("login_id", "ann@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(location(&r), "/login/verify");
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let (_, to, _) = verify(&app, &secret.code_at(step(&clock))).await;
    assert_eq!(to, "/secret2");
    // The audit trail says how.
    let events = events_of(&app, ann.id).await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == "login-success" && e.detail["second_factor"] == "totp"),
        "{events:?}"
    );
    assert!(events
        .iter()
        .any(|e| e.kind == "two-factor-checked" && e.outcome == kegauth::audit::Outcome::Refused));
}

async fn the_second_step_ends<B: TestBackend>() {
    let Some((app, clock)) = app_at::<B>(&[]).await else {
        return;
    };
    let (ann, secret, _) = enrolled(&app, &clock).await;
    // Five minutes pass.
    app.login("ann@example.com", PASSWORD).await;
    clock.advance(chrono::TimeDelta::seconds(301));
    let (status, to, _) = verify(&app, &secret.code_at(step(&clock))).await;
    assert_eq!((status, to.as_str()), (Status::SeeOther, "/login"));
    assert!(app.flashes().await.contains("took too long"));
    assert_eq!(whoami(&app).await, "Not logged in");
    // The password changes meanwhile (another tab, an admin).
    app.login("ann@example.com", PASSWORD).await;
    let mut ann = app.store.user(ann.id).await.unwrap().unwrap();
    app.store
        .set_password(&mut ann, "another long passphrase")
        .await
        .unwrap();
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let (_, to, _) = verify(&app, &secret.code_at(step(&clock))).await;
    assert_eq!(to, "/login");
    assert_eq!(whoami(&app).await, "Not logged in");
    // Without a pending login the page sends to the login page.
    let r = app.client.get("/login/verify").dispatch().await;
    assert_eq!(location(&r), "/login");
}

async fn wrong_codes_lock_the_login_out<B: TestBackend>() {
    let settings = [("login_attempt_limit", serde_json::json!(3))];
    let Some((app, clock)) = app_at::<B>(&settings).await else {
        return;
    };
    let (_, secret, _) = enrolled(&app, &clock).await;
    app.login("ann@example.com", PASSWORD).await;
    // The password step counts until the login is done: with two wrong
    // codes that makes three failures.
    for _ in 0..2 {
        verify(&app, "123456").await;
    }
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let (status, _, page) = verify(&app, &secret.code_at(step(&clock))).await;
    assert_eq!(status, Status::Ok);
    assert!(
        page.contains("Too many"),
        "locked out even with the right code: {page}"
    );
    assert_eq!(whoami(&app).await, "Not logged in");
}

async fn recovery_codes_log_in_once<B: TestBackend>() {
    let Some((app, clock)) = app_at::<B>(&[]).await else {
        return;
    };
    let (_, _, codes) = enrolled(&app, &clock).await;
    app.login("ann@example.com", PASSWORD).await;
    let (status, to, _) = verify(&app, &codes[3]).await;
    assert_eq!((status, to.as_str()), (Status::SeeOther, "/"));
    assert!(app.flashes().await.contains("You have 9 left."));
    logout(&app).await;
    app.login("ann@example.com", PASSWORD).await;
    let (_, _, page) = verify(&app, &codes[3]).await;
    assert!(page.contains("That code is not right"), "used once");
}

/// `two_factor_required_for = ["auth-manage"]`: a manager without a second
/// factor is sent to enrol after login and from every protected page, enrols
/// on the page (QR code, then a code), sees the recovery codes once, then
/// goes on; and cannot turn it off.
async fn a_permission_requires_enrolment<B: TestBackend>() {
    let settings = [(
        "two_factor_required_for",
        serde_json::json!(["auth-manage"]),
    )];
    let Some((app, clock)) = app_at::<B>(&settings).await else {
        return;
    };
    let mut kim = kegauth::testing::Factory::new(app.store.clone())
        .user("kim@example.com")
        .password(PASSWORD)
        .permissions(&["auth-manage"])
        .create()
        .await
        .unwrap();
    let r = app.login("kim@example.com", PASSWORD).await;
    assert_eq!(location(&r), "/account/two-factor");
    let r = app.browse("/manage").await;
    assert_eq!(location(&r), "/account/two-factor");
    assert_eq!(
        app.status("/whoami").await,
        Status::Ok,
        "unprotected pages still open"
    );
    // Enrol on the page.
    let page = body(app.browse("/account/two-factor").await).await;
    assert!(page.contains("must use two-factor"), "{page}");
    app.submit("/account/two-factor/begin", &[]).await;
    let page = body(app.browse("/account/two-factor").await).await;
    assert!(
        page.contains("<svg") && !page.contains("otpauth"),
        "an inline QR code"
    );
    let key = page
        .split("id=\"two-factor-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the key to type in");
    let bytes = data_encoding::BASE32_NOPAD
        .decode(key.as_bytes())
        .expect("base32");
    let secret = TotpSecret::from_bytes(&bytes).unwrap();
    let r = app
        .submit(
            "/account/two-factor/confirm",
            &[("code", &secret.code_at(step(&clock)))],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert_eq!(
        page.matches("<li><code>").count(),
        10,
        "ten recovery codes, shown once"
    );
    assert!(page.contains("id=\"two-factor-continue\" href=\"/\""));
    assert_eq!(app.status("/manage").await, Status::Ok);
    let page = body(app.browse("/account/two-factor").await).await;
    assert!(!page.contains("<li><code>"), "not shown again");
    assert!(
        !page.contains("two-factor-disable-form"),
        "required: no way to turn it off"
    );
    let r = app
        .submit("/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(location(&r), "/account/two-factor");
    assert!(app.store.two_factor_status(kim.id).await.unwrap().enabled());
    kim = app.store.user(kim.id).await.unwrap().unwrap();
    assert!(kim.core.is_enabled);
}

/// The user's own page: new recovery codes and turning it off need a fresh
/// code or the password.
async fn the_account_page_needs_a_code_or_the_password<B: TestBackend>() {
    let Some((app, clock)) = app_at::<B>(&[]).await else {
        return;
    };
    let (ann, secret, codes) = enrolled(&app, &clock).await;
    app.log_in_as(&ann).await;
    let page = body(app.browse("/account/two-factor").await).await;
    assert!(
        page.contains("Two-factor authentication is on.")
            && page.contains("10 recovery codes left.")
    );
    let r = app
        .submit(
            "/account/two-factor/recovery-codes",
            &[("password", "wrong")],
        )
        .await;
    assert_eq!(location(&r), "/account/two-factor");
    assert!(app.flashes().await.contains("not right"));
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let r = app
        .submit(
            "/account/two-factor/recovery-codes",
            &[("code", &secret.code_at(step(&clock)))],
        )
        .await;
    let page = body(r).await;
    assert_eq!(page.matches("<li><code>").count(), 10);
    assert!(!page.contains(&codes[0]));
    let r = app.submit("/account/two-factor/disable", &[]).await;
    assert_eq!(location(&r), "/account/two-factor");
    assert!(
        app.store.two_factor_status(ann.id).await.unwrap().enabled(),
        "nothing given"
    );
    app.submit("/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert!(!app.store.two_factor_status(ann.id).await.unwrap().enabled());
    // Off: the password alone logs in again.
    logout(&app).await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(location(&r), "/");
    // Anonymous: to the login page, back here after.
    logout(&app).await;
    let r = app.client.get("/account/two-factor").dispatch().await;
    assert_eq!(location(&r), "/login?next=%2Faccount%2Ftwo%2Dfactor");
}

/// An admin resets a user's second factor: gone, and their sessions end.
async fn an_admin_resets_a_second_factor<B: TestBackend>() {
    let Some((app, clock)) = app_at::<B>(&[]).await else {
        return;
    };
    let (ann, _, _) = enrolled(&app, &clock).await;
    let admin = app.login_superuser("root@example.com").await;
    let page = body(app.browse("/users").await).await;
    assert!(
        page.contains(&format!("/users/{}/reset-two-factor", ann.id)),
        "{page}"
    );
    assert!(
        !page.contains(&format!("/users/{}/reset-two-factor", admin.id)),
        "not enrolled"
    );
    let r = app
        .submit(&format!("/users/{}/reset-two-factor", ann.id), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(app
        .flashes()
        .await
        .contains("Two-factor authentication was reset"));
    assert!(!app.store.two_factor_status(ann.id).await.unwrap().enabled());
    let after = app.store.user(ann.id).await.unwrap().unwrap();
    assert_ne!(
        after.core.session_key, ann.core.session_key,
        "Ann's sessions ended"
    );
    let events = events_of(&app, ann.id).await;
    assert!(events.iter().any(|e| e.kind == "two-factor-disabled"));
    assert!(events.iter().any(|e| e.kind == "sessions-rotated"));
}

/// `two_factor = "off"`: no account page, and one step even for an enrolled user.
async fn off_means_one_step<B: TestBackend>() {
    let Some((app, clock)) = app_at::<B>(&[("two_factor", serde_json::json!("off"))]).await else {
        return;
    };
    let (ann, _, _) = enrolled(&app, &clock).await;
    app.log_in_as(&ann).await;
    assert_eq!(app.status("/account/two-factor").await, Status::NotFound);
    logout(&app).await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(location(&r), "/");
}

on_three_backends!(
    password_then_code,
    the_second_step_ends,
    wrong_codes_lock_the_login_out,
    recovery_codes_log_in_once,
    a_permission_requires_enrolment,
    the_account_page_needs_a_code_or_the_password,
    an_admin_resets_a_second_factor,
    off_means_one_step,
);

/// An app that owns its migrations and lacks the second-factor tables stops
/// at launch with what to do, unless `two_factor = "off"`.
#[rocket::async_test]
async fn missing_tables_stop_the_launch_unless_two_factor_is_off() {
    use crate::common::web::{rocket_for, OnSqlite, SqliteDb};
    let (url, _cleanup) = OnSqlite::database().await.expect("SQLite always runs");
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let store: kegauth::Store<sqlx::Sqlite, common::User> = kegauth::Store::new(pool.clone());
    store.create_schema().await.unwrap();
    sqlx::query("DROP TABLE kegauth_recovery_codes")
        .execute(&pool)
        .await
        .unwrap();
    let err = rocket::local::asynchronous::Client::tracked(rocket_for::<SqliteDb>(
        &url,
        rocket::Config::figment(),
        |b| b.create_schema(false),
    ))
    .await
    .expect_err("no recovery codes table");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
    let message = store
        .check_two_factor_tables()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("kegauth_recovery_codes") && message.contains("two_factor = \"off\""),
        "{message}"
    );
    let off = rocket::Config::figment().merge(("kegauth.two_factor", "off"));
    rocket::local::asynchronous::Client::tracked(rocket_for::<SqliteDb>(&url, off, |b| {
        b.create_schema(false)
    }))
    .await
    .expect("off needs no tables");
}
