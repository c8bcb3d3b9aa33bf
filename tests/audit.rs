//! The audit trail as data (issue 38): rows chained by hash on
//! SQLite, PostgreSQL and MySQL; listing by user, kind and time; a changed,
//! removed or inserted row found by the verification; purging keeps the
//! chain verifiable; concurrent writers keep one line.

use crate::common;

use crate::common::{Ctx, User};
use chrono::TimeDelta;
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

use crate::common::web::{app_configured, App, TestBackend};
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
    /// The kinds handed so far (flush the app's auditor first).
    fn kinds(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.clone())
            .collect()
    }
}

/// The test app with a [`Kept`] sink, and the sink.
async fn app_with_sink<B: TestBackend>(
) -> Option<(App<<B::Db as kegauth::AuthDb>::Backend>, Arc<Kept>)> {
    let kept = Arc::new(Kept::default());
    let sink = kept.clone();
    let app = app_configured::<B>(
        rocket::Config::figment(),
        move |b| b.audit_sink(sink),
        |r| r,
    )
    .await?;
    Some((app, kept))
}

on_three_backends!(logins_are_recorded_and_a_lost_table_fails_no_login);

/// A failed and a successful login become rows (with the client's address,
/// never the password) and reach the app's sink; with the table gone, the
/// login still works, the sink still gets the event, and the log says the
/// row was not written.
async fn logins_are_recorded_and_a_lost_table_fails_no_login<B: TestBackend>() {
    common::logs::install();
    let Some((app, kept)) = app_with_sink::<B>().await else {
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
    let mut rows = app.audit_events(&AuditFilter::default()).await;
    // The factory set ann's password first.
    assert_eq!(
        kept.kinds(),
        ["password-set", "login-failure", "login-success"]
    );
    rows.retain(|r| r.event.kind.starts_with("login-"));
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
    app.flush_audit().await;
    assert_eq!(kept.kinds().len(), 4, "the sink still hears of it");
    let logged = common::logs::lines();
    assert!(
        logged
            .iter()
            .any(|l| l.contains("audit event not written to the table")
                && l.contains("login-success")),
        "{logged:?}"
    );
}

on_three_backends!(csrf_and_cross_site_refusals_are_recorded);

/// A form without its CSRF token and one posted from another site are
/// refused (403) and recorded, with the path and the client's address.
async fn csrf_and_cross_site_refusals_are_recorded<B: TestBackend>() {
    // Before any Rocket starts: the log capture must win over Rocket's logger.
    common::logs::install();
    let Some((app, kept)) = app_with_sink::<B>().await else {
        return;
    };
    let from = "203.0.113.8:4000".parse().ok();
    let fields = [("login_id", "ann@example.com"), ("password", "x")];
    let r = app.post_form_from("/login", &fields, &[], from).await;
    assert_eq!(r.status(), rocket::http::Status::Forbidden);
    drop(r);
    let csrf = app.csrf().await;
    let fields = [
        ("login_id", "a@example.com"),
        ("password", "x"),
        ("csrf_token", &csrf),
    ];
    let r = app
        .post_form_from("/login", &fields, &[("Sec-Fetch-Site", "cross-site")], from)
        .await;
    assert_eq!(r.status(), rocket::http::Status::Forbidden);
    drop(r);
    let rows = app.audit_events(&AuditFilter::default()).await;
    assert_eq!(
        kept.kinds(),
        [kinds::CSRF_REFUSED, kinds::CROSS_SITE_REFUSED]
    );
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.event.outcome, Outcome::Refused);
        assert_eq!(row.event.client_ip.as_deref(), Some("203.0.113.8"));
        assert_eq!(row.event.detail["path"], "/login");
    }
}

// ----- what each part of kegauth records (issue 38, second part) -----------------------------

use crate::common::smtp::SmtpServer;
use crate::common::web::body;
use kegauth::admin::Section;
use kegauth::audit::AuditRecord;
use kegauth::crud::Action;
use rocket::http::Status;

on_three_backends!(
    account_events_name_the_user,
    admin_changes_are_recorded_with_the_fields_changed,
    the_audit_page_filters_sorts_pages_and_exports,
    the_audit_page_has_its_own_requirement,
);

const PW: &str = "Correct-horse-9";
const NEW_PW: &str = "a new long password 7";

/// Every row, oldest first, once the app's auditor has written what it was given.
async fn rows<DB: Backend>(app: &App<DB>) -> Vec<AuditRecord> {
    let mut rows = app.audit_events(&AuditFilter::default().limit(1000)).await;
    rows.reverse();
    rows
}

/// The rows of `kind`.
fn of<'a>(rows: &'a [AuditRecord], kind: &str) -> Vec<&'a AuditRecord> {
    rows.iter().filter(|r| r.event.kind == kind).collect()
}

/// The one row of `kind`.
fn one<'a>(rows: &'a [AuditRecord], kind: &str) -> &'a AuditRecord {
    let found = of(rows, kind);
    assert_eq!(found.len(), 1, "{kind}: {rows:#?}");
    found[0]
}

/// Logins (with the user they were about), logout, forgot and reset
/// password, account verification, API tokens and JWTs become rows with
/// the user as actor or subject, and never a password or token.
async fn account_events_name_the_user<B: TestBackend>() {
    common::logs::install();
    let smtp = SmtpServer::start();
    let figment = smtp.figment().merge((
        "kegauth.jwt.secret",
        "YSAzMi1ieXRlIGp3dCBrZXkgZm9yIHRoZSB0ZXN0czogMDEyMzQ1Njc4OQ==",
    ));
    let Some(app) = app_configured::<B>(
        figment,
        |b| {
            b.mail(kegauth::mail::AuthMailManager::from_config())
                .request_loader(kegauth::loaders::JwtRequestLoader::default())
        },
        |r| r,
    )
    .await
    else {
        return;
    };
    let mut ann = app.user("ann@example.com", Some(PW)).await;
    let from = "203.0.113.5:4000".parse().ok();
    let r = app
        .login_from("ann@example.com", "wrong-password-1", from, &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    drop(r);
    let r = app.login("nobody@example.com", "wrong-password-2").await;
    assert_eq!(r.status(), Status::Ok);
    drop(r);
    let r = app.login_from("ann@example.com", PW, from, &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let r = app.submit("/logout", &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);

    // Forgot, then the reset link.
    let r = app.forgot_from("ann@example.com", &[], from).await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let ann_now = app.store.user(ann.id).await.unwrap().unwrap();
    let token = app.store.token_generate(&ann_now).unwrap();
    let r = app
        .set_password_at(
            &format!("/reset-password/{}/{token}", ann.id),
            NEW_PW,
            NEW_PW,
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);

    // An unverified user verifies through their link.
    let carl = kegauth::testing::Factory::new(app.store.clone())
        .user("carl@example.com")
        .unverified()
        .create()
        .await
        .unwrap();
    let token = app.store.token_generate(&carl).unwrap();
    let r = app
        .set_password_at(
            &format!("/verify-account/{}/{token}", carl.id),
            NEW_PW,
            NEW_PW,
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);

    // Tokens: an API token issued and revoked, a JWT issued.
    ann = app.store.user(ann.id).await.unwrap().unwrap();
    let raw = app
        .store
        .reset_auth_token(&mut ann, &kegauth::loaders::ApiTokenOptions::default())
        .await
        .unwrap();
    app.store.clear_auth_token(&mut ann).await.unwrap();
    let jwt = kegauth::loaders::registered_loader::<kegauth::loaders::JwtRequestLoader, _>(
        app.client.rocket(),
    )
    .expect("registered")
    .create_access_token(&ann)
    .unwrap();

    let rows = rows(&app).await;
    let failures = of(&rows, kinds::LOGIN_FAILURE);
    assert_eq!(failures.len(), 2, "{rows:#?}");
    assert_eq!(failures[0].event.subject, Some(Subject::User(ann.id)));
    assert_eq!(failures[0].event.client_ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(failures[0].event.detail["reason"], "WrongPassword");
    assert_eq!(failures[1].event.subject, None, "nobody by that login");
    let login = one(&rows, kinds::LOGIN_SUCCESS);
    assert_eq!(login.event.actor, Some(ann.id));
    assert_eq!(login.event.subject, Some(Subject::User(ann.id)));
    assert_eq!(login.event.detail["method"], "password");
    let logout = one(&rows, kinds::LOGOUT);
    assert_eq!(logout.event.actor, Some(ann.id));
    let forgot = one(&rows, kinds::PASSWORD_RESET_REQUESTED);
    assert_eq!(forgot.event.subject, Some(Subject::User(ann.id)));
    assert_eq!(forgot.event.client_ip.as_deref(), Some("203.0.113.5"));
    let mut set = of(&rows, kinds::PASSWORD_SET);
    // The factory's (through the store) first.
    assert_eq!(set[0].event.detail["via"], "app");
    set.remove(0);
    assert_eq!(set.len(), 2, "{rows:#?}");
    assert_eq!(
        (set[0].event.actor, set[0].event.detail["via"].as_str()),
        (Some(ann.id), Some("reset-link"))
    );
    assert_eq!(
        (set[1].event.actor, set[1].event.detail["via"].as_str()),
        (Some(carl.id), Some("verify-link"))
    );
    assert_eq!(
        one(&rows, kinds::VERIFIED).event.subject,
        Some(Subject::User(carl.id))
    );
    let issued = of(&rows, kinds::TOKEN_ISSUED);
    assert_eq!(issued.len(), 2, "{rows:#?}");
    assert_eq!(issued[0].event.detail["token"], "api");
    assert_eq!(issued[0].event.detail["via"], "app");
    assert_eq!(issued[1].event.detail["token"], "jwt");
    assert_eq!(issued[1].event.subject, Some(Subject::User(ann.id)));
    assert_eq!(
        one(&rows, kinds::TOKEN_REVOKED).event.subject,
        Some(Subject::User(ann.id))
    );
    let all = format!("{rows:?}");
    for secret in [PW, NEW_PW, "wrong-password-1", raw.as_str(), jwt.as_str()] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
    assert_eq!(
        app.store.verify_audit_chain().await.unwrap().first_broken,
        None
    );
}

async fn group_named<DB: Backend>(app: &App<DB>, name: &str) -> kegauth::entity::Group {
    let mut g = kegauth::entity::Group {
        id: 0,
        name: name.into(),
    };
    app.store.insert_group(&mut g).await.unwrap();
    g
}

/// Adding, editing and deleting a user through the admin pages records who
/// did it, to whom, and what changed (old and new values; a password only
/// as set), plus the rights changes that ended the user's sessions.
async fn admin_changes_are_recorded_with_the_fields_changed<B: TestBackend>() {
    common::logs::install();
    let Some(app) = common::web::app::<B>().await else {
        return;
    };
    let admin = app.login_with("admin@example.com", &["auth-manage"]).await;
    let staff = group_named(&app, "staff").await;
    let staff_id = staff.id.to_string();
    let r = app
        .submit(
            "/users/add",
            &[
                ("email", "bob@example.com"),
                ("name", "Bob"),
                ("is_enabled", "true"),
                ("password", PW),
                ("confirm", PW),
                ("group_ids", &staff_id),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let bob = app
        .store
        .user_by_login("bob@example.com")
        .await
        .unwrap()
        .unwrap();
    let edit = format!("/users/{}/edit", bob.id);
    // Saving the form unchanged records nothing.
    let same = [
        ("email", "bob@example.com"),
        ("name", "Bob"),
        ("is_enabled", "true"),
        ("group_ids", staff_id.as_str()),
    ];
    assert_eq!(app.submit(&edit, &same).await.status(), Status::SeeOther);
    // Renamed, disabled (the box unchecked), out of the group.
    let changed = [("email", "bob@example.com"), ("name", "Robert")];
    assert_eq!(app.submit(&edit, &changed).await.status(), Status::SeeOther);
    let r = app.submit(&format!("/users/{}/delete", bob.id), &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);

    let rows = rows(&app).await;
    let create = one(&rows, kinds::ADMIN_CREATE);
    assert_eq!(create.event.actor, Some(admin.id));
    assert_eq!(create.event.subject, Some(Subject::User(bob.id)));
    let c = &create.event.detail["changed"];
    assert_eq!(c["email"]["to"], "bob@example.com", "{c}");
    assert_eq!(c["group_ids"]["to"], serde_json::json!(["staff"]), "{c}");
    assert_eq!(c["password"], serde_json::json!({ "set": true }), "{c}");
    assert!(c.get("confirm").is_none(), "{c}");
    let set = one(&rows, kinds::PASSWORD_SET);
    assert_eq!(
        (set.event.actor, set.event.detail["via"].as_str()),
        (Some(admin.id), Some("admin"))
    );
    let edit = one(&rows, kinds::ADMIN_EDIT);
    let c = &edit.event.detail["changed"];
    assert_eq!(
        c["name"],
        serde_json::json!({ "from": "Bob", "to": "Robert" })
    );
    assert_eq!(
        c["is_enabled"],
        serde_json::json!({ "from": true, "to": false })
    );
    assert_eq!(
        c["group_ids"],
        serde_json::json!({ "from": ["staff"], "to": [] })
    );
    assert!(
        c.get("email").is_none() && c.get("password").is_none(),
        "{c}"
    );
    let delete = one(&rows, kinds::ADMIN_DELETE);
    assert_eq!(delete.event.subject, Some(Subject::User(bob.id)));
    assert_eq!(delete.event.detail["label"], "bob@example.com");
    let rotated = of(&rows, kinds::SESSIONS_ROTATED);
    assert!(
        rotated
            .iter()
            .any(|r| r.event.subject == Some(Subject::User(bob.id))
                && r.event.detail["change"] == "user"
                && r.event.detail["fields"] == serde_json::json!(["is_enabled"])),
        "{rotated:#?}"
    );
    assert!(
        rotated
            .iter()
            .any(|r| r.event.detail["users"] == serde_json::json!([bob.id])
                && r.event.detail["change"] != "user"),
        "the group change: {rotated:#?}"
    );
    assert!(!format!("{rows:?}").contains(PW));
}

/// Record `n` events of `kind` about `user`.
async fn seed<DB: Backend>(app: &App<DB>, n: usize, kind: &str, user: i64) {
    for _ in 0..n {
        app.store
            .record_audit(
                &AuditEvent::new(kind, Outcome::Refused)
                    .subject(Subject::User(user))
                    .client_ip("198.51.100.7"),
            )
            .await
            .unwrap();
    }
}

fn count_in(html: &str) -> String {
    html.split("total)")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `/audit` lists events newest first on the CRUD grid: filtered by user
/// (login id or #id) and kind, text-searched, sorted, paged (the links keep
/// the filters) and exported to CSV; a user's edit page links to theirs.
async fn the_audit_page_filters_sorts_pages_and_exports<B: TestBackend>() {
    common::logs::install();
    let Some(app) = common::web::app::<B>().await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PW)).await;
    let admin = app.login_with("admin@example.com", &["auth-manage"]).await;
    // Only the seeded events (not the set-up's own).
    rows(&app).await;
    let mut conn = app.store.pool().acquire().await.unwrap();
    <<B::Db as kegauth::AuthDb>::Backend as Backend>::execute(
        &mut conn,
        "DELETE FROM kegauth_audit_events",
        Vec::new(),
    )
    .await
    .unwrap();
    drop(conn);
    seed(&app, 30, kinds::LOGIN_FAILURE, ann.id).await;
    seed(&app, 1, kinds::LOGIN_SUCCESS, ann.id).await;
    app.store
        .record_audit(&AuditEvent::new(kinds::LOGOUT, Outcome::Success).actor(admin.id))
        .await
        .unwrap();

    let page = |path: String| {
        let app = &app;
        async move {
            let r = app.browse(&path).await;
            assert_eq!(r.status(), Status::Ok, "{path}");
            body(r).await
        }
    };
    let html = page("/audit".into()).await;
    assert!(html.contains("Audit events"), "{html}");
    assert_eq!(count_in(&html), "32");
    assert!(html.contains("Login failed") && html.contains("Refused"));
    assert!(html.contains(&format!("ann@example.com (#{})", ann.id)));
    let first_row = html.split("<tr data-id=").nth(1).unwrap_or_default();
    assert!(first_row.contains("Logout"), "newest first: {first_row}");

    let html = page("/audit?user=ann@example.com&kind=login-success".into()).await;
    assert_eq!(count_in(&html), "1");
    assert!(html.contains("Login succeeded"));
    let html = page(format!("/audit?user=%23{}", admin.id)).await;
    assert_eq!(count_in(&html), "1");
    let html = page("/audit?user=nobody@example.com".into()).await;
    assert!(html.contains("No records found."), "{html}");
    let html = page("/audit?kind=no-such-kind".into()).await;
    assert_eq!(count_in(&html), "32", "a kind not offered filters nothing");
    let html = page("/audit?filter=198.51.100".into()).await;
    assert_eq!(count_in(&html), "31", "text search in the client address");

    let html = page("/audit?sort=kind".into()).await;
    let first_row = html.split("<tr data-id=").nth(1).unwrap_or_default();
    assert!(first_row.contains("Login failed"), "{first_row}");
    let html = page("/audit?sort=-kind".into()).await;
    let first_row = html.split("<tr data-id=").nth(1).unwrap_or_default();
    assert!(first_row.contains("Logout"), "{first_row}");

    let html = page("/audit?kind=login-failure".into()).await;
    assert_eq!(html.matches("<tr data-id=").count(), 25);
    assert!(
        html.contains("href=\"/audit?kind=login-failure&amp;page=2\"")
            || html.contains("href=\"/audit?kind=login-failure&page=2\""),
        "{html}"
    );
    let html = page("/audit?kind=login-failure&page=2".into()).await;
    assert_eq!(html.matches("<tr data-id=").count(), 5);

    let r = app.browse("/audit?kind=login-failure&export_to=csv").await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(rocket::http::ContentType::CSV));
    let csv = r.into_string().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 31, "{csv}");
    assert!(
        lines[0].starts_with("Time (UTC),Event,Outcome,By,About,Client address,Detail"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("Login failed,Refused,,ann@example.com"),
        "{}",
        lines[1]
    );

    let html = page(format!("/users/{}/edit", ann.id)).await;
    assert!(
        html.contains(&format!("href=\"/audit?user={}\"", ann.id)),
        "{html}"
    );

    // A detail reads as key/value lines, escaped.
    app.store
        .record_audit(
            &AuditEvent::new(kinds::LOGOUT, Outcome::Success)
                .actor(admin.id)
                .detail(serde_json::json!({"reason": "<b>bold</b>", "count": 2})),
        )
        .await
        .unwrap();
    // (The raw page: `body` reads entities back.)
    let raw = app
        .browse("/audit")
        .await
        .into_string()
        .await
        .unwrap_or_default();
    assert!(
        raw.contains(
            "<td data-label=\"Detail\">count: 2\nreason: &lt;b&gt;bold&lt;&#x2f;b&gt;</td>"
        ),
        "{raw}"
    );

    // Someone without auth-manage.
    app.login_with("carl@example.com", &[]).await;
    assert_eq!(app.status("/audit").await, Status::Forbidden);
}

/// With its own requirement, `/audit` opens to that permission and not to
/// `auth-manage`, and only its holders see the link on the user page.
async fn the_audit_page_has_its_own_requirement<B: TestBackend>() {
    common::logs::install();
    let Some(app) = app_configured::<B>(
        rocket::Config::figment(),
        |b| b.admin_requirement(Section::Audit, Action::List, "permission1"),
        |r| r,
    )
    .await
    else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PW)).await;
    app.login_with("admin@example.com", &["auth-manage"]).await;
    assert_eq!(app.status("/audit").await, Status::Forbidden);
    let html = body(app.browse(&format!("/users/{}/edit", ann.id)).await).await;
    assert!(!html.contains("/audit?user="), "{html}");
    app.login_with("auditor@example.com", &["auth-manage", "permission1"])
        .await;
    assert_eq!(app.status("/audit").await, Status::Ok);
    let html = body(app.browse(&format!("/users/{}/edit", ann.id)).await).await;
    assert!(html.contains("/audit?user="), "{html}");
}
