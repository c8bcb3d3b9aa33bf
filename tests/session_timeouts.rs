//! Session timeouts, on SQLite and PostgreSQL, with an injected clock: a
//! session ends after 30 idle minutes and 12 hours after the login however
//! busy it is, counted from times inside the encrypted cookie (a copied cookie
//! ends too); the last-seen time is rewritten at most once a minute; both
//! timeouts can be turned off. SECURITY-CHECKLIST row 20.

use crate::common::web::{app_configured, location, App, TestBackend};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use kegauth::audit::{kinds, AuditFilter};
use kegauth::clock::{Clock, ManualClock};
use rocket::figment::Figment;
use rocket::http::{Cookie, Status};
use std::sync::Arc;

on_sqlite_and_postgres!(
    an_idle_session_ends_after_thirty_minutes,
    a_busy_session_ends_twelve_hours_after_the_login,
    the_last_seen_time_is_rewritten_at_most_once_a_minute,
    timeouts_can_be_turned_off,
    a_rights_change_of_ones_own_keeps_the_login_time,
);

type TimedApp<B> = (
    App<<<B as TestBackend>::Db as kegauth::AuthDb>::Backend>,
    Arc<ManualClock>,
);

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

/// An app on a manual clock, with `ann@example.com` logged in at `t0`.
async fn logged_in<B: TestBackend>(figment: Figment) -> Option<TimedApp<B>> {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = clock.clone();
    let app = app_configured::<B>(figment, move |b| b.clock(c), |r| r).await?;
    let ann = app.user("ann@example.com", None).await;
    app.log_in_as(&ann).await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    Some((app, clock))
}

/// The client's session cookie (name and encrypted value).
fn session_cookie<DB: kegauth::Backend>(app: &App<DB>) -> Cookie<'static> {
    app.client
        .cookies()
        .iter()
        .find(|c| c.name().ends_with("kegauth"))
        .map(|c| Cookie::new(c.name().to_owned(), c.value().to_owned()))
        .expect("a session cookie")
}

/// Who the app takes a request with `cookie` (and no other) for.
async fn who_with<DB: kegauth::Backend>(app: &App<DB>, cookie: &Cookie<'static>) -> String {
    let r = app
        .client
        .get("/whoami")
        .cookie(cookie.clone())
        .dispatch()
        .await;
    r.into_string().await.unwrap_or_default()
}

/// Advance the clock by `hours`, with a request every 20 minutes that finds
/// the session still logged in.
async fn stay_busy<DB: kegauth::Backend>(app: &App<DB>, clock: &ManualClock, hours: i64) {
    for _ in 0..(hours * 3) {
        clock.advance(TimeDelta::minutes(20));
        assert!(app.who().await.starts_with("Logged in as"));
    }
}

async fn an_idle_session_ends_after_thirty_minutes<B: TestBackend>() {
    let Some(timed) = logged_in::<B>(rocket::Config::figment()).await else {
        return;
    };
    let (app, clock) = &timed;
    // Active every 29 minutes: an hour and a half later, still logged in.
    for _ in 0..3 {
        clock.advance(TimeDelta::minutes(29));
        assert_eq!(app.who().await, "Logged in as ann@example.com");
    }
    let copied = session_cookie(app);
    let csrf = app.csrf().await;
    clock.advance(TimeDelta::minutes(30) + TimeDelta::seconds(1));
    // A protected page sends the browser to log in again, saying why.
    let r = app.browse("/secret1").await;
    assert_eq!(r.status(), Status::Found);
    assert!(location(&r).starts_with("/login"), "{}", location(&r));
    drop(r);
    assert_eq!(app.who().await, "Not logged in");
    assert_eq!(
        app.flashes().await,
        "info: Your session has expired. Please log in again."
    );
    // ... and the audit trail has it, at the app clock's time.
    let filter = AuditFilter::default().kind(kinds::SESSION_EXPIRED);
    let mut expired = Vec::new();
    for _ in 0..500 {
        expired = app.store.audit_events(&filter).await.unwrap();
        if !expired.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // The oldest is the request that found the timeout. (The redirect of
    // a refused guard does not carry the ended session's cookie, so the
    // next request ends it again: a second event, and known.)
    let first = expired.last().expect("a session-expired event");
    assert_eq!(first.event.detail["path"], "/secret1", "{expired:?}");
    assert_eq!(first.event.detail["timeout"], "idle");
    assert_eq!(first.event.at, Some(clock.now()));
    // A form shown before the timeout still posts (its CSRF token stays):
    // logging out then is not "forged".
    let r = app
        .post_form("/logout", &[("csrf_token", csrf.as_str())])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    // The cookie as it was before the timeout is dead too.
    assert_eq!(who_with(app, &copied).await, "Not logged in");
    // Logging in again works.
    let ann = app.store.user_by_login("ann@example.com").await.unwrap();
    app.log_in_as(&ann.expect("ann")).await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
}

async fn a_busy_session_ends_twelve_hours_after_the_login<B: TestBackend>() {
    let Some(timed) = logged_in::<B>(rocket::Config::figment()).await else {
        return;
    };
    let (app, clock) = &timed;
    stay_busy(app, clock, 12).await;
    // Exactly 12 hours: still in; one second more: out, though just used.
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(app.who().await, "Not logged in");
    assert!(app.flashes().await.contains("Your session has expired"));
}

async fn the_last_seen_time_is_rewritten_at_most_once_a_minute<B: TestBackend>() {
    let Some(timed) = logged_in::<B>(rocket::Config::figment()).await else {
        return;
    };
    let (app, clock) = &timed;
    let sets_cookie = |r: &rocket::local::asynchronous::LocalResponse<'_>| {
        r.headers().get("Set-Cookie").any(|v| v.contains("kegauth"))
    };
    clock.advance(TimeDelta::seconds(30));
    let r = app.client.get("/whoami").dispatch().await;
    assert!(!sets_cookie(&r), "no rewrite 30 s after the login");
    drop(r);
    clock.advance(TimeDelta::seconds(31));
    let r = app.client.get("/whoami").dispatch().await;
    assert!(sets_cookie(&r), "a rewrite 61 s after the login");
    drop(r);
    let r = app.client.get("/whoami").dispatch().await;
    assert!(!sets_cookie(&r), "no rewrite right after one");
}

async fn timeouts_can_be_turned_off<B: TestBackend>() {
    let figment = rocket::Config::figment()
        .merge(("kegauth.session_idle_timeout_secs", 0))
        .merge(("kegauth.session_absolute_timeout_secs", 0));
    let Some(timed) = logged_in::<B>(figment).await else {
        return;
    };
    let (app, clock) = &timed;
    clock.advance(TimeDelta::days(400));
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    // With the idle timeout off, requests leave the cookie alone.
    let r = app.client.get("/whoami").dispatch().await;
    assert_eq!(r.headers().get("Set-Cookie").count(), 0);
}

/// An admin who edits their own user is logged in again under their (new)
/// session key but keeps their login time: the absolute timeout still counts
/// from the login.
async fn a_rights_change_of_ones_own_keeps_the_login_time<B: TestBackend>() {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = clock.clone();
    let Some(app) =
        app_configured::<B>(rocket::Config::figment(), move |b| b.clock(c), |r| r).await
    else {
        return;
    };
    let boss = app.login_with("boss@example.com", &["auth-manage"]).await;
    stay_busy(&app, &clock, 11).await;
    let manage = app.store.permission_ids(&["auth-manage"]).await.unwrap()[0].to_string();
    let csrf = app.csrf().await;
    let r = app
        .post_form(
            &format!("/users/{}/edit", boss.id),
            &[
                ("csrf_token", csrf.as_str()),
                ("email", "boss@example.com"),
                ("is_enabled", "true"),
                ("permission_ids", manage.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther, "the edit is saved");
    drop(r);
    assert!(app.flashes().await.contains("success"));
    for _ in 0..3 {
        clock.advance(TimeDelta::minutes(19));
        assert_eq!(app.who().await, "Logged in as boss@example.com");
    }
    clock.advance(TimeDelta::minutes(3) + TimeDelta::seconds(1));
    assert_eq!(app.who().await, "Not logged in");
}
