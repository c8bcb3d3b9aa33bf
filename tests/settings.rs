//! Settings that no other test exercised, each through the pages, on SQLite
//! and PostgreSQL, each test failing when its setting is ignored:
//! `forgot_attempt_limit`, `forgot_attempt_timespan` and
//! `forgot_attempt_lockout`; `reset_attempt_timespan` and
//! `reset_attempt_lockout`; `token_expire_mins` other than its default.
//! (`http_methods_excluded` on one route is in requirements.rs,
//! `purge-attempts --attempt-type` in cli.rs.)

use crate::attempt_views::{addr, flash_in, limited_app};
use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{body, location, App, TestBackend};
use chrono::TimeDelta;
use kegauth::Backend;
use rocket::http::Status;

const PASSWORD: &str = "correct horse battery staple";
const NEW: &str = "new password one";
const OTHER: &str = "another new password";
const LOCKED: &str = "Too many failed attempts.";
const RESET_LOCKED: &str = "Too many password reset attempts.";

on_sqlite_and_postgres!(
    forgot_has_its_own_limit_timespan_and_lockout,
    reset_has_its_own_timespan_and_lockout,
    reset_links_last_token_expire_mins,
);

/// Forgot-password with limit 2 in 30 s and a 120 s lockout, while every
/// other kind keeps limit 3 in 600 s and 3600 s.
async fn forgot_has_its_own_limit_timespan_and_lockout<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let figment = rocket::Config::figment()
        .merge(("kegauth.forgot_attempt_limit", 2))
        .merge(("kegauth.forgot_attempt_timespan", 30))
        .merge(("kegauth.forgot_attempt_lockout", 120));
    let Some((app, clock)) = limited_app::<B>(figment, Some(&smtp)).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let forgot = |from: &'static str| {
        let app = &app;
        move |email: &'static str| async move {
            let r = app.forgot_from(email, &[], addr(from)).await;
            let status = r.status();
            let page = body(r).await;
            app.flashes().await;
            (status, page)
        }
    };

    // Timespan: two failures 31 s apart are not two in 30 s.
    let from_a = forgot("203.0.113.40");
    from_a("x@example.com").await;
    clock.advance(TimeDelta::seconds(31));
    from_a("y@example.com").await;
    let (status, page) = from_a("ann@example.com").await;
    assert_eq!(status, Status::SeeOther, "not locked: {}", flash_in(&page));
    smtp.wait_for(1).await;

    // Limit: two failures in a row lock (the general limit is 3).
    let from_b = forgot("203.0.113.41");
    for who in ["p@example.com", "q@example.com"] {
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(from_b(who).await.0, Status::SeeOther);
    }
    let (status, page) = from_b("ann@example.com").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(flash_in(&page), LOCKED);

    // Lockout: 120 s after the last counted failure it opens again (the
    // general lockout is an hour).
    clock.advance(TimeDelta::seconds(121));
    let (status, page) = from_b("ann@example.com").await;
    assert_eq!(status, Status::SeeOther, "open again: {}", flash_in(&page));
    smtp.wait_for(2).await;
}

/// Reset-password with tries counted over 30 s and a 120 s lockout (limit 3
/// as everywhere).
async fn reset_has_its_own_timespan_and_lockout<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let figment = rocket::Config::figment()
        .merge(("kegauth.reset_attempt_timespan", 30))
        .merge(("kegauth.reset_attempt_lockout", 120));
    let Some((app, clock)) = limited_app::<B>(figment, Some(&smtp)).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let link = app.store.reset_password_url(&ann).unwrap();
    let path = link.strip_prefix(ORIGIN).unwrap().to_string();

    // Timespan: two tries, then a third 31 s later, are not three in 30 s:
    // the right answer goes through.
    for _ in 0..2 {
        try_reset(&app, &path, NEW, "does not match").await;
        clock.advance(TimeDelta::seconds(1));
    }
    clock.advance(TimeDelta::seconds(30));
    try_reset(&app, &path, NEW, "does not match").await;
    clock.advance(TimeDelta::seconds(1));
    let (status, page) = try_reset(&app, &path, NEW, NEW).await;
    assert_eq!(status, Status::SeeOther, "not locked: {}", flash_in(&page));

    // Lockout, on a new link once those tries are long past: three tries in
    // a row lock, and 120 s later (the general lockout is an hour) it works.
    clock.advance(TimeDelta::seconds(600));
    let ann = app.store.user(ann.id).await.unwrap().unwrap();
    let link = app.store.reset_password_url(&ann).unwrap();
    let path = link.strip_prefix(ORIGIN).unwrap().to_string();
    for _ in 0..3 {
        try_reset(&app, &path, OTHER, "does not match").await;
        clock.advance(TimeDelta::seconds(1));
    }
    let (status, page) = try_reset(&app, &path, OTHER, OTHER).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(flash_in(&page), RESET_LOCKED);
    clock.advance(TimeDelta::seconds(121));
    let (status, page) = try_reset(&app, &path, OTHER, OTHER).await;
    assert_eq!(status, Status::SeeOther, "open again: {}", flash_in(&page));
    let r = app.login_from("ann@example.com", OTHER, None, &[]).await;
    assert_eq!(r.status(), Status::SeeOther, "the new password works");
}

/// Post the reset form at `path`: the status and the page.
async fn try_reset<DB: Backend>(
    app: &App<DB>,
    path: &str,
    password: &str,
    confirm: &str,
) -> (Status, String) {
    let r = app.set_password_at(path, password, confirm).await;
    (r.status(), body(r).await)
}

/// `token_expire_mins = 30`: a reset link opens at 29 minutes and is refused
/// at 31 (the default is 240).
async fn reset_links_last_token_expire_mins<B: TestBackend>() {
    let figment = rocket::Config::figment().merge(("kegauth.token_expire_mins", 30));
    let smtp = SmtpServer::start();
    let Some((app, clock)) = limited_app::<B>(figment, Some(&smtp)).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let link = app.store.reset_password_url(&ann).unwrap();
    let path = link.strip_prefix(ORIGIN).unwrap().to_string();
    clock.advance(TimeDelta::minutes(29));
    let r = app.client.get(path.as_str()).dispatch().await;
    assert_eq!(r.status(), Status::Ok, "valid for 30 minutes");
    drop(r);
    clock.advance(TimeDelta::minutes(2));
    let r = app.client.get(path.as_str()).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/forgot-password");
    drop(r);
    assert!(
        app.flashes().await.contains("invalid or expired"),
        "the expired-link message"
    );
}
