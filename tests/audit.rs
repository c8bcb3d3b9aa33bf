//! The audit trail as data (issue 38, first part): rows chained by hash on
//! SQLite, PostgreSQL and MySQL; listing by user, kind and time; a changed,
//! removed or inserted row found by the verification; purging keeps the
//! chain verifiable; concurrent writers keep one line.

mod common;

use chrono::TimeDelta;
use common::{Ctx, User};
use kegauth::audit::{kinds, AuditEvent, AuditFilter, Outcome, Subject, GENESIS};
use kegauth::clock::{Clock, ManualClock};
use kegauth::prelude::*;
use kegauth::Backend;
use std::sync::Arc;

on_all_backends!(
    events_are_chained_and_listed,
    a_changed_or_removed_row_breaks_the_chain,
    purging_records_itself_and_keeps_the_chain,
    concurrent_writers_keep_one_line,
    bad_events_are_invalid_not_errors,
);

fn login(user: i64, ok: bool) -> AuditEvent {
    let (kind, outcome) = if ok {
        (kinds::LOGIN_SUCCESS, Outcome::Success)
    } else {
        (kinds::LOGIN_FAILURE, Outcome::Refused)
    };
    AuditEvent::new(kind, outcome)
        .subject(Subject::User(user))
        .client_ip("198.51.100.7")
        .detail(serde_json::json!({ "method": "password" }))
}

async fn exec<DB: Backend>(ctx: &Ctx<DB>, sql: &str) {
    let pool = ctx.new_pool().await;
    let mut conn = pool.acquire().await.expect("conn");
    DB::execute(&mut conn, sql, Vec::new())
        .await
        .expect("statement");
}

async fn events_are_chained_and_listed<DB: Backend>(ctx: Ctx<DB>) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now().naive_utc()));
    let store = ctx.store.clone().with_clock(clock.clone());
    let first = store.record_audit(&login(1, false)).await.unwrap();
    assert_eq!(first.prev_hash, GENESIS);
    clock.advance(TimeDelta::minutes(5));
    let second = store.record_audit(&login(1, true)).await.unwrap();
    assert_eq!(second.prev_hash, first.hash);
    let admin = AuditEvent::new(kinds::ADMIN_EDIT, Outcome::Success)
        .actor(2)
        .subject(Subject::Group(9))
        .detail(serde_json::json!({ "fields": ["name"] }));
    store.record_audit(&admin).await.unwrap();

    let all = store.audit_events(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].event.kind, "admin-edit", "newest first");
    assert_eq!(all[2], first);
    assert_eq!(all[2].event.client_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(all[2].event.detail["method"], "password");

    let ones = store
        .audit_events(&AuditFilter::default().user(1))
        .await
        .unwrap();
    assert_eq!(ones.len(), 2);
    let by_two = store
        .audit_events(&AuditFilter::default().user(2))
        .await
        .unwrap();
    assert_eq!(by_two.len(), 1, "the actor's events too");
    let failures = store
        .audit_events(&AuditFilter::default().kind(kinds::LOGIN_FAILURE))
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    let since = store
        .audit_events(&AuditFilter::default().since(clock.now() - TimeDelta::minutes(1)))
        .await
        .unwrap();
    assert_eq!(since.len(), 2);
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!((report.rows, report.first_broken), (3, None));
}

async fn a_changed_or_removed_row_breaks_the_chain<DB: Backend>(ctx: Ctx<DB>) {
    let store = &ctx.store;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(store.record_audit(&login(i, i % 2 == 0)).await.unwrap().id);
    }
    exec(
        &ctx,
        &format!(
            "UPDATE kegauth_audit_events SET client_ip = '192.0.2.1' WHERE id = {}",
            ids[2]
        ),
    )
    .await;
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_broken,
        Some(ids[2]),
        "a changed field"
    );
    exec(
        &ctx,
        &format!("DELETE FROM kegauth_audit_events WHERE id = {}", ids[2]),
    )
    .await;
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_broken,
        Some(ids[3]),
        "a removed row"
    );
    exec(
        &ctx,
        &format!("DELETE FROM kegauth_audit_events WHERE id <= {}", ids[1]),
    )
    .await;
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_broken,
        Some(ids[3]),
        "removing the oldest rows without a purge record"
    );
}

async fn purging_records_itself_and_keeps_the_chain<DB: Backend>(ctx: Ctx<DB>) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now().naive_utc()));
    let store = ctx.store.clone().with_clock(clock.clone());
    for i in 0..3 {
        store.record_audit(&login(i, true)).await.unwrap();
    }
    clock.advance(TimeDelta::days(40));
    let kept = store.record_audit(&login(7, true)).await.unwrap();
    let deleted = store
        .purge_audit(clock.now() - TimeDelta::days(30), Some(1))
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    let all = store.audit_events(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].event.kind, kinds::AUDIT_PURGED);
    assert_eq!(all[0].event.actor, Some(1));
    assert_eq!(all[0].event.detail["deleted"], 3);
    assert_eq!(all[1], kept);
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!((report.rows, report.first_broken), (2, None));

    // Everything purged: the purge record alone still verifies.
    clock.advance(TimeDelta::days(40));
    store.purge_audit(clock.now(), None).await.unwrap();
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!((report.rows, report.first_broken), (1, None));
}

async fn concurrent_writers_keep_one_line<DB: Backend>(ctx: Ctx<DB>) {
    let other: Store<DB, User> = Store::new(ctx.new_pool().await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 {
            ctx.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            store.record_audit(&login(i, true)).await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("recorded");
    }
    let report = ctx.store.verify_audit_chain().await.unwrap();
    assert_eq!((report.rows, report.first_broken), (20, None));
}

async fn bad_events_are_invalid_not_errors<DB: Backend>(ctx: Ctx<DB>) {
    let store = &ctx.store;
    let big = serde_json::json!({ "x": "a".repeat(9000) });
    for event in [
        AuditEvent::new("", Outcome::Success),
        AuditEvent::new("k".repeat(65), Outcome::Success),
        AuditEvent::new(kinds::LOGOUT, Outcome::Success).client_ip("1".repeat(65)),
        AuditEvent::new(kinds::LOGOUT, Outcome::Success).detail(big),
    ] {
        assert!(
            matches!(
                store.record_audit(&event).await,
                Err(kegauth::Error::Invalid(_))
            ),
            "{event:?}"
        );
    }
    assert!(store
        .audit_events(&AuditFilter::default())
        .await
        .unwrap()
        .is_empty());
}

// ----- recording from requests ---------------------------------------------------------------

use common::web::{app_configured, TestBackend};
use std::sync::Mutex;

/// A sink that keeps what it is handed.
#[derive(Default)]
struct Kept(Mutex<Vec<AuditEvent>>);

impl kegauth::audit::AuditSink for Kept {
    fn record(&self, event: &AuditEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Kept {
    /// The kinds handed so far, waiting up to 5 s for `n` of them.
    async fn kinds(&self, n: usize) -> Vec<String> {
        for _ in 0..500 {
            let kinds: Vec<String> = self
                .0
                .lock()
                .unwrap()
                .iter()
                .map(|e| e.kind.clone())
                .collect();
            if kinds.len() >= n {
                return kinds;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.clone())
            .collect()
    }
}

on_sqlite_and_postgres!(logins_are_recorded_and_a_lost_table_fails_no_login);

/// A failed and a successful login become rows (with the client's address,
/// never the password) and reach the app's sink; with the table gone, the
/// login still works, the sink still gets the event, and the log says the
/// row was not written.
async fn logins_are_recorded_and_a_lost_table_fails_no_login<B: TestBackend>() {
    common::logs::install();
    let kept = Arc::new(Kept::default());
    let sink = kept.clone();
    let Some(app) = app_configured::<B>(
        rocket::Config::figment(),
        move |b| b.audit_sink(sink),
        |r| r,
    )
    .await
    else {
        return;
    };
    app.user("ann@example.com", Some("Correct-horse-9")).await;
    let r = app.login("ann@example.com", "wrong-password-1").await;
    assert_eq!(r.status(), rocket::http::Status::Ok);
    drop(r);
    let from = "203.0.113.5:4000".parse().ok();
    let r = app
        .login_from("ann@example.com", "Correct-horse-9", from, &[])
        .await;
    assert_eq!(r.status(), rocket::http::Status::SeeOther);
    drop(r);
    assert_eq!(kept.kinds(2).await, ["login-failure", "login-success"]);
    let rows = app
        .store
        .audit_events(&AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].event.detail["login"], "ann@example.com");
    assert_eq!(rows[0].event.client_ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(rows[1].event.detail["reason"], "WrongPassword");
    assert!(!format!("{rows:?}").contains("Correct-horse-9"));
    assert!(!format!("{rows:?}").contains("wrong-password-1"));

    // The table gone (a cut connection looks the same to the writer).
    let mut conn = app.store.pool().acquire().await.unwrap();
    <<B::Db as kegauth::AuthDb>::Backend as Backend>::execute(
        &mut conn,
        "DROP TABLE kegauth_audit_events",
        Vec::new(),
    )
    .await
    .unwrap();
    drop(conn);
    let r = app.login("ann@example.com", "Correct-horse-9").await;
    assert_eq!(
        r.status(),
        rocket::http::Status::SeeOther,
        "the login is not held up"
    );
    drop(r);
    assert_eq!(kept.kinds(3).await.len(), 3, "the sink still hears of it");
    let logged = common::logs::lines();
    assert!(
        logged
            .iter()
            .any(|l| l.contains("audit event not written to the table")
                && l.contains("login-success")),
        "{logged:?}"
    );
}
