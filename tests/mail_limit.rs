//! The per-address mail limit (`mail_limit`, `mail_limit_timespan`) on
//! SQLite, PostgreSQL and MySQL, against a real SMTP server on loopback:
//! forgot-password posts past the limit send nothing and look the same; other
//! addresses and later windows are not affected; an operator's own mail is
//! not limited.

use crate::common::smtp::SmtpServer;
use crate::common::web::{app_configured, location, App, TestBackend};
use kegauth::audit::{kinds, AuditFilter};
use kegauth::clock::ManualClock;
use kegauth::mail::AuthMailManager;
use kegauth::Backend;
use rocket::http::Status;
use std::sync::Arc;

on_three_backends!(
    forgot_password_sends_at_most_the_limit_per_address,
    resent_verification_mails_are_limited_but_an_operators_are_not,
);

on_all_backends!(two_instances_racing_take_exactly_the_limit);

/// 20 requests at once over two instances (two pools on one database): the
/// table's key lets exactly the limit through.
async fn two_instances_racing_take_exactly_the_limit<DB: Backend>(ctx: crate::common::Ctx<DB>) {
    let one = ctx.store.clone().with_mail_limit(3, 900);
    let two = kegauth::Store::<DB, crate::common::User>::new(ctx.new_pool().await)
        .with_mail_limit(3, 900);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move {
                store
                    .reserve_mail("ann@example.com", "reset-password")
                    .await
                    .expect("a reservation")
            })
        })
        .collect();
    let mut taken = 0;
    for task in tasks {
        taken += usize::from(task.await.expect("the task"));
    }
    assert_eq!(taken, 3);
}

fn t0() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("a date")
}

/// An app sending through `smtp`, on a manual clock, with `settings`.
async fn mail_app<B: TestBackend>(
    smtp: &SmtpServer,
    settings: &[(&str, u32)],
) -> Option<(App<<B::Db as kegauth::AuthDb>::Backend>, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(t0()));
    let mut figment = smtp.figment();
    for (key, value) in settings {
        figment = figment.merge((format!("kegauth.{key}"), *value));
    }
    let c = clock.clone();
    let app = app_configured::<B>(
        figment,
        move |b| b.clock(c).mail(AuthMailManager::from_config()),
        |r| r,
    )
    .await?;
    Some((app, clock))
}

/// The `mail-held` events so far, once `n` of them are recorded (mail goes
/// out off the request path).
async fn held<DB: Backend>(app: &App<DB>, n: usize) -> usize {
    let mut count = 0;
    for _ in 0..500 {
        app.flush_audit().await;
        count = app
            .store
            .audit_events(&AuditFilter::default().kind(kinds::MAIL_HELD))
            .await
            .expect("the audit trail")
            .len();
        if count >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    count
}

/// Mail sent to `to` so far, after the sending tasks had time to finish.
async fn mails_to(smtp: &SmtpServer, to: &str) -> usize {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    smtp.received()
        .iter()
        .filter(|m| m.to == [to.to_string()])
        .count()
}

async fn forgot_password_sends_at_most_the_limit_per_address<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some((app, clock)) = mail_app::<B>(&smtp, &[]).await else {
        return;
    };
    app.user("ann@example.com", Some("an old password")).await;
    app.user("bob@example.com", Some("an old password")).await;

    // 30 requests for one address: the default limit (3) goes out, the rest
    // is held back, and every answer is the same.
    let mut answers = Vec::new();
    for _ in 0..30 {
        let r = app.forgot_from("ann@example.com", &[], None).await;
        answers.push((r.status(), location(&r), app.flashes().await));
    }
    assert_eq!(answers[0].0, Status::SeeOther);
    assert_eq!(
        answers[0].2,
        "success: Please check your email for the link to change your password."
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(held(&app, 27).await, 27);
    smtp.wait_for(3).await;
    assert_eq!(mails_to(&smtp, "ann@example.com").await, 3);

    // Another address has its own limit.
    app.forgot_from("bob@example.com", &[], None).await;
    smtp.wait_for(4).await;
    assert_eq!(mails_to(&smtp, "bob@example.com").await, 1);

    // The next window (15 minutes later) sends again, up to the limit.
    clock.advance(chrono::TimeDelta::seconds(900));
    for _ in 0..4 {
        app.forgot_from("ANN@example.com", &[], None).await;
    }
    assert_eq!(held(&app, 28).await, 28);
    smtp.wait_for(7).await;
    assert_eq!(mails_to(&smtp, "ann@example.com").await, 6);
    let event = app
        .store
        .audit_events(&AuditFilter::default().kind(kinds::MAIL_HELD))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(event.event.detail["mail"], "reset-password");
}

async fn resent_verification_mails_are_limited_but_an_operators_are_not<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some((app, _clock)) = mail_app::<B>(&smtp, &[("mail_limit", 1)]).await else {
        return;
    };
    let mut carl = kegauth::testing::Factory::new(app.store.clone())
        .user("carl@example.com")
        .create()
        .await
        .unwrap();
    carl.core.is_verified = false;
    app.store.update_user(&mut carl).await.unwrap();
    app.login_superuser("admin@example.com").await;
    let path = format!("/users/{}/resend-verification", carl.id);
    let mut flashes = Vec::new();
    for _ in 0..3 {
        let r = app.submit(&path, &[]).await;
        assert_eq!(r.status(), Status::SeeOther);
        flashes.push(app.flashes().await);
    }
    assert!(flashes.iter().all(|f| *f == flashes[0]), "{flashes:?}");
    assert!(flashes[0].starts_with("success:"), "{flashes:?}");
    assert_eq!(held(&app, 2).await, 2);
    assert_eq!(mails_to(&smtp, "carl@example.com").await, 1);
    // What an operator does (the CLI's create-user, an app's own call) is
    // not a stranger's request: no limit.
    app.store.send_verification_mail(&carl).await.unwrap();
    smtp.wait_for(2).await;
    assert_eq!(mails_to(&smtp, "carl@example.com").await, 2);
}
