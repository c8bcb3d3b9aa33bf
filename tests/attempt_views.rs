//! Attempt limiting through the views, on SQLite and PostgreSQL, with an
//! injected clock: login, forgot and reset lock at the limit, refuse the right
//! answer during the lockout, open again after it; CSRF failures and form
//! errors are logged with the source address; the IP option spans inputs; two
//! app instances on one database share the count. SECURITY-CHECKLIST rows
//! 10-14.

use crate::common::demo::User;
use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{
    app_configured, body, csrf_in, form_body, location, rocket_for, App, OnPostgres, PgDb,
    TestBackend,
};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use kegauth::attempts::Gate;
use kegauth::clock::ManualClock;
use kegauth::entity::Attempt;
use kegauth::mail::AuthMailManager;
use kegauth::{AttemptType, Backend};
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use std::net::SocketAddr;
use std::sync::Arc;

const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "not the password";

on_sqlite_and_postgres!(
    login_locks_at_the_limit_even_for_the_right_password,
    a_login_success_resets_the_count,
    the_per_account_ceiling_holds_across_addresses,
    the_ip_limit_spans_login_ids,
    a_trusted_proxy_names_the_client,
    csrf_failures_and_form_errors_are_logged,
    nothing_is_limited_when_disabled,
    forgot_locks_and_sends_nothing_during_the_lockout,
    forgot_works_while_login_is_locked,
    forgot_logs_csrf_failures_and_form_errors,
    reset_counts_every_try,
    launch_needs_the_attempt_table_when_limiting,
);

pub(crate) fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

pub(crate) fn addr(ip: &str) -> Option<SocketAddr> {
    Some(SocketAddr::new(ip.parse().unwrap(), 40000))
}

/// An app with a limit of 3 (timespan 600 s, lockout 3600 s), a manual clock
/// and, when `smtp` is given, mail.
pub(crate) async fn limited_app<B: TestBackend>(
    figment: Figment,
    smtp: Option<&SmtpServer>,
) -> Option<(App<<B::Db as kegauth::AuthDb>::Backend>, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(t0()));
    let base = match smtp {
        Some(smtp) => smtp.figment().merge(figment),
        None => figment,
    };
    let figment = base.merge(("kegauth.attempt_limit", 3));
    let mail = smtp.is_some();
    let c = clock.clone();
    let app = app_configured::<B>(
        figment,
        move |b| {
            let b = b.clock(c);
            if mail {
                b.mail(AuthMailManager::from_config())
            } else {
                b
            }
        },
        |r| r,
    )
    .await?;
    Some((app, clock))
}

async fn plain<B: TestBackend>(
) -> Option<(App<<B::Db as kegauth::AuthDb>::Backend>, Arc<ManualClock>)> {
    limited_app::<B>(rocket::Config::figment(), None).await
}

/// The flash of a re-rendered form page.
pub(crate) fn flash_in(page: &str) -> String {
    let start = page
        .find("class=\"flash flash-")
        .map(|i| &page[i..])
        .unwrap_or("");
    start
        .split('>')
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub(crate) async fn attempts<DB: Backend>(app: &App<DB>) -> Vec<Attempt> {
    app.store.attempts().await.unwrap()
}

async fn log_out<DB: Backend>(app: &App<DB>) {
    let page = body(app.client.get("/logout").dispatch().await).await;
    let csrf = csrf_in(&page);
    let r = app.post_form("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), Status::SeeOther);
    app.flashes().await;
}

async fn login_locks_at_the_limit_even_for_the_right_password<B: TestBackend>() {
    let Some((app, clock)) = plain::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let mut wrong_page = String::new();
    for _ in 0..3 {
        let r = app.login_from("ann@example.com", WRONG, None, &[]).await;
        assert_eq!(r.status(), Status::Ok);
        wrong_page = body(r).await;
        assert_eq!(flash_in(&wrong_page), "Invalid login or password.");
        clock.advance(TimeDelta::seconds(10));
    }
    // At the limit the right password is refused, and the page cannot be told
    // from a wrong password's (row 13).
    let r = app.login_from("Ann@Example.com", PASSWORD, None, &[]).await;
    assert_eq!(r.status(), Status::Ok);
    let locked_page = body(r).await;
    assert_eq!(
        locked_page.replace("Ann@Example.com", "ann@example.com"),
        wrong_page
    );
    assert_eq!(app.who().await, "Not logged in");
    let rows = attempts(&app).await;
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .all(|a| a.core.attempt_type == Some(AttemptType::Login)
            && a.core.user_input == "ann@example.com"
            && !a.core.success));
    assert_eq!(
        rows.iter()
            .map(|a| a.core.is_during_lockout)
            .collect::<Vec<_>>(),
        [false, false, false, true]
    );
    // Still locked just before the lockout ends (it runs from the third failure).
    clock.advance(TimeDelta::seconds(3600 - 10 - 1));
    app.login_from("ann@example.com", PASSWORD, None, &[]).await;
    assert_eq!(app.who().await, "Not logged in");
    // After it, the right password works and is logged as a success (row 11).
    clock.advance(TimeDelta::seconds(2));
    let r = app.login_from("ann@example.com", PASSWORD, None, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    let last = attempts(&app).await.pop().unwrap();
    assert!(last.core.success && !last.core.is_during_lockout);
}

async fn a_login_success_resets_the_count<B: TestBackend>() {
    let Some((app, clock)) = plain::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    for round in 0..3 {
        for _ in 0..2 {
            app.login_from("ann@example.com", WRONG, None, &[]).await;
            clock.advance(TimeDelta::seconds(5));
        }
        let r = app.login_from("ann@example.com", PASSWORD, None, &[]).await;
        assert_eq!(r.status(), Status::SeeOther, "round {round}");
        assert_eq!(app.who().await, "Logged in as ann@example.com");
        log_out(&app).await;
        clock.advance(TimeDelta::seconds(5));
    }
    // Six failures in the timespan, but never three since a success.
    let rows = attempts(&app).await;
    assert_eq!(rows.iter().filter(|a| !a.core.success).count(), 6);
    assert_eq!(rows.iter().filter(|a| a.core.success).count(), 3);
}

async fn the_per_account_ceiling_holds_across_addresses<B: TestBackend>() {
    let Some((app, _clock)) = plain::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    // Rotating the peer address and a forged X-Forwarded-For does not help (row 12).
    for (i, from) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let forged = [("X-Forwarded-For", ["1.1.1.1", "2.2.2.2", "3.3.3.3"][i])];
        app.login_from("ann@example.com", WRONG, addr(from), &forged)
            .await;
    }
    let r = app
        .login_from("ann@example.com", PASSWORD, addr("198.51.100.4"), &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(app.who().await, "Not logged in");
    let ips: Vec<_> = attempts(&app)
        .await
        .into_iter()
        .map(|a| a.core.source_ip.unwrap_or_default())
        .collect();
    assert_eq!(
        ips,
        [
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            "198.51.100.4"
        ]
    );
}

async fn the_ip_limit_spans_login_ids<B: TestBackend>() {
    let Some((app, _clock)) = plain::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let attacker = addr("203.0.113.9");
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        app.login_from(who, WRONG, attacker, &[]).await;
    }
    // A fourth login id from the same address is refused...
    app.login_from("ann@example.com", PASSWORD, attacker, &[])
        .await;
    assert_eq!(app.who().await, "Not logged in");
    // ...but not from another address.
    let r = app
        .login_from("ann@example.com", PASSWORD, addr("192.0.2.20"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as ann@example.com");

    // Without the IP option, only the input counts.
    let figment = rocket::Config::figment().merge(("kegauth.attempt_ip_limit", false));
    let Some((app, _clock)) = limited_app::<B>(figment, None).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        app.login_from(who, WRONG, attacker, &[]).await;
    }
    let r = app
        .login_from("ann@example.com", PASSWORD, attacker, &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
}

async fn a_trusted_proxy_names_the_client<B: TestBackend>() {
    let figment = rocket::Config::figment().merge(("kegauth.trusted_proxies", ["10.0.0.0/8"]));
    let Some((app, _clock)) = limited_app::<B>(figment, None).await else {
        return;
    };
    let xff = [("X-Forwarded-For", "6.6.6.6, 203.0.113.50, 10.1.1.1")];
    app.login_from("x@example.com", WRONG, addr("10.0.0.2"), &xff)
        .await;
    // A client that is not a trusted proxy cannot name another address.
    app.login_from("y@example.com", WRONG, addr("192.0.2.8"), &xff)
        .await;
    app.login_from("z@example.com", WRONG, None, &[]).await;
    let ips: Vec<_> = attempts(&app)
        .await
        .into_iter()
        .map(|a| a.core.source_ip)
        .collect();
    assert_eq!(
        ips,
        [
            Some("203.0.113.50".to_string()),
            Some("192.0.2.8".to_string()),
            None
        ]
    );
}

async fn csrf_failures_and_form_errors_are_logged<B: TestBackend>() {
    let Some((app, _clock)) = plain::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let from = addr("198.51.100.77");
    let r = app
        .post_form_from(
            "/login",
            &[
                ("login_id", "ann@example.com"),
                ("password", PASSWORD),
                ("csrf_token", "forged"),
            ],
            &[],
            from,
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = app.login_from("ann@example.com", "", from, &[]).await;
    assert_eq!(r.status(), Status::Ok);
    assert!(body(r).await.contains("This field is required."));
    let rows = attempts(&app).await;
    assert_eq!(rows.len(), 2);
    for a in &rows {
        assert_eq!(a.core.user_input, "ann@example.com");
        assert_eq!(a.core.source_ip.as_deref(), Some("198.51.100.77"));
        assert!(!a.core.success && !a.core.is_during_lockout);
    }
    // They count: one more failure locks the account.
    app.login_from("ann@example.com", WRONG, None, &[]).await;
    app.login_from("ann@example.com", PASSWORD, None, &[]).await;
    assert_eq!(app.who().await, "Not logged in");
}

async fn nothing_is_limited_when_disabled<B: TestBackend>() {
    let figment = rocket::Config::figment().merge(("kegauth.attempt_limit_enabled", false));
    let Some((app, _clock)) = limited_app::<B>(figment, None).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    for _ in 0..5 {
        app.login_from("ann@example.com", WRONG, addr("203.0.113.1"), &[])
            .await;
    }
    let r = app
        .login_from("ann@example.com", PASSWORD, addr("203.0.113.1"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(attempts(&app).await.is_empty(), "nothing logged");
}

async fn forgot_locks_and_sends_nothing_during_the_lockout<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some((app, clock)) = limited_app::<B>(rocket::Config::figment(), Some(&smtp)).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let from = addr("203.0.113.30");
    // A mail that goes out is a success and starts the count again.
    for _ in 0..2 {
        app.forgot_from("nobody@example.com", &[], from).await;
        clock.advance(TimeDelta::seconds(1));
    }
    let r = app.forgot_from("ann@example.com", &[], from).await;
    assert_eq!(r.status(), Status::SeeOther);
    smtp.wait_for(1).await;
    app.flashes().await;
    // Three failures in a row lock the address (row 14).
    for who in ["x@example.com", "y@example.com", "z@example.com"] {
        clock.advance(TimeDelta::seconds(1));
        let r = app.forgot_from(who, &[], from).await;
        assert_eq!(r.status(), Status::SeeOther);
        app.flashes().await;
    }
    let r = app.forgot_from("ann@example.com", &[], from).await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert_eq!(flash_in(&page), "Too many failed attempts.");
    assert!(page.contains(r#"value="ann@example.com""#), "{page}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 1, "no mail during the lockout");
    let last = attempts(&app).await.pop().unwrap();
    assert_eq!(last.core.attempt_type, Some(AttemptType::Forgot));
    assert!(last.core.is_during_lockout);

    clock.advance(TimeDelta::seconds(3601));
    let r = app.forgot_from("ann@example.com", &[], from).await;
    assert_eq!(r.status(), Status::SeeOther);
    smtp.wait_for(2).await;
}

async fn forgot_works_while_login_is_locked<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some((app, _clock)) = limited_app::<B>(rocket::Config::figment(), Some(&smtp)).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    for _ in 0..4 {
        app.login_from("ann@example.com", WRONG, None, &[]).await;
    }
    app.login_from("ann@example.com", PASSWORD, None, &[]).await;
    assert_eq!(app.who().await, "Not logged in");
    // The owner can still reset the password (row 13's trade-off).
    let r = app.forgot_from("ann@example.com", &[], None).await;
    assert_eq!(r.status(), Status::SeeOther);
    let mail = smtp.wait_for(1).await.remove(0);
    assert!(mail.link().starts_with(ORIGIN));
}

async fn forgot_logs_csrf_failures_and_form_errors<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some((app, _clock)) = limited_app::<B>(rocket::Config::figment(), Some(&smtp)).await else {
        return;
    };
    let from = addr("198.51.100.5");
    let r = app
        .post_form_from(
            "/forgot-password",
            &[("email", "ann@example.com"), ("csrf_token", "forged")],
            &[],
            from,
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = app.forgot_from("not an address", &[], from).await;
    assert_eq!(r.status(), Status::Ok);
    assert!(body(r).await.contains("Invalid email address."));
    let rows = attempts(&app).await;
    assert_eq!(
        rows.iter()
            .map(|a| (a.core.user_input.as_str(), a.core.source_ip.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("ann@example.com", Some("198.51.100.5")),
            ("not an address", Some("198.51.100.5"))
        ]
    );
    assert!(rows
        .iter()
        .all(|a| a.core.attempt_type == Some(AttemptType::Forgot) && !a.core.success));
}

async fn reset_counts_every_try<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some((app, clock)) = limited_app::<B>(rocket::Config::figment(), Some(&smtp)).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let link = app.store.reset_password_url(&ann).unwrap();
    let path = link.strip_prefix(ORIGIN).unwrap().to_string();
    // Posts without the right token are not tries: they cannot use up Ann's.
    for _ in 0..4 {
        let forged = format!("/reset-password/{}/forged", ann.id);
        let r = app.set_password_at(&forged, "a", "a").await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/forgot-password");
    }
    assert!(attempts(&app).await.is_empty());
    // Every try with the token counts, form errors included.
    for _ in 0..3 {
        let r = app
            .set_password_at(&path, "new password one", "does not match")
            .await;
        assert_eq!(r.status(), Status::Ok);
        clock.advance(TimeDelta::seconds(1));
    }
    let r = app
        .set_password_at(&path, "new password one", "new password one")
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(
        flash_in(&body(r).await),
        "Too many password reset attempts."
    );
    let ann_now = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(ann_now.core.password, ann.core.password, "unchanged");
    let rows = attempts(&app).await;
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .all(|a| a.core.attempt_type == Some(AttemptType::Reset)
            && a.core.user_input == "ann@example.com"));
    assert!(rows[3].core.is_during_lockout);

    // After the lockout the link (still within its 4 hours) works.
    clock.advance(TimeDelta::seconds(3600));
    let r = app
        .set_password_at(&path, "new password one", "new password one")
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let last = attempts(&app).await.pop().unwrap();
    assert!(last.core.success);
    let r = app
        .login_from("ann@example.com", "new password one", None, &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
}

async fn launch_needs_the_attempt_table_when_limiting<B: TestBackend>() {
    let Some((url, _cleanup)) = B::database().await else {
        return;
    };
    // Only the user tables: the attempt table is missing.
    let ignite = |enabled: bool| {
        let figment = rocket::Config::figment().merge(("kegauth.attempt_limit_enabled", enabled));
        rocket_for::<B::Db>(&url, figment, |b| b.create_schema(false))
    };
    {
        let client = Client::tracked(rocket_for::<B::Db>(
            &url,
            rocket::Config::figment().merge(("kegauth.attempt_limit_enabled", false)),
            |b| b.create_schema(true),
        ))
        .await
        .expect("launch");
        let store = client
            .rocket()
            .state::<kegauth::Store<<B::Db as kegauth::AuthDb>::Backend, User>>()
            .unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        <<B::Db as kegauth::AuthDb>::Backend as Backend>::execute(
            &mut conn,
            "DROP TABLE attempts",
            Vec::new(),
        )
        .await
        .unwrap();
    }
    let Err(err) = Client::tracked(ignite(true)).await else {
        panic!("launched without an attempt table");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f[0].name == "kegauth"),
        "{err}"
    );
    // With limiting off it launches.
    assert!(Client::tracked(ignite(false)).await.is_ok());
}

/// Two instances of the app on one PostgreSQL database share the count.
#[rocket::async_test]
async fn two_instances_share_the_count_on_postgres() {
    let Some((url, _cleanup)) = OnPostgres::database().await else {
        return;
    };
    let clock = Arc::new(ManualClock::new(t0()));
    let launch = |clock: Arc<ManualClock>| {
        let figment = rocket::Config::figment().merge(("kegauth.attempt_limit", 3));
        Client::tracked(rocket_for::<PgDb>(&url, figment, move |b| {
            b.clock(clock).create_schema(true)
        }))
    };
    let a = launch(clock.clone()).await.expect("instance a");
    let b = launch(clock.clone()).await.expect("instance b");
    let store = a
        .rocket()
        .state::<kegauth::Store<sqlx::Postgres, User>>()
        .unwrap()
        .clone();
    let mut ann = User::new("ann@example.com");
    ann.core.is_verified = true;
    store.insert_user(&mut ann).await.unwrap();
    store.set_password(&mut ann, PASSWORD).await.unwrap();

    async fn try_login(client: &Client, password: &str) -> Status {
        let page = body(client.get("/login").dispatch().await).await;
        let form = form_body(&[
            ("login_id", "ann@example.com"),
            ("password", password),
            ("csrf_token", &csrf_in(&page)),
        ]);
        client
            .post("/login")
            .header(rocket::http::ContentType::Form)
            .body(form)
            .dispatch()
            .await
            .status()
    }
    assert_eq!(try_login(&a, WRONG).await, Status::Ok);
    assert_eq!(try_login(&b, WRONG).await, Status::Ok);
    assert_eq!(try_login(&a, WRONG).await, Status::Ok);
    // The third failure happened across both: each refuses the right password.
    assert_eq!(try_login(&b, PASSWORD).await, Status::Ok);
    assert_eq!(try_login(&a, PASSWORD).await, Status::Ok);
    let b_store = b
        .rocket()
        .state::<kegauth::Store<sqlx::Postgres, User>>()
        .unwrap();
    let gate = b_store
        .open_attempt(AttemptType::Login, "ann@example.com", None)
        .await
        .unwrap();
    assert_eq!(gate, Gate::Locked);
    assert_eq!(store.attempts().await.unwrap().len(), 6);
    clock.advance(TimeDelta::seconds(3601));
    assert_eq!(try_login(&b, PASSWORD).await, Status::SeeOther);
}
