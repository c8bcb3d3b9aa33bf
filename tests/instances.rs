//! Several instances on one database (README, "Running several instances").
//!
//! In this process: instances launched at the same moment on a fresh
//! database all come up, on the three backends (the launch lock); on
//! PostgreSQL a change made through one instance is refused by another at
//! once although both cache sessions for a minute (the revocation channel),
//! also across a lost listening connection.
//!
//! As processes: three demos on one PostgreSQL database (the demo built with
//! `--features demo-postgres`, named by KEGAUTH_DEMO_POSTGRES_BIN), started
//! at the same moment on an empty database (with `auth schema --apply` run
//! beside them); a session made on one is good on
//! the others, a permission taken away through the admin page of one is
//! refused by the others within 100 ms, a login storm with one of them
//! killed (SIGKILL) loses no event a survivor answered and leaves the audit
//! chain intact, and failed logins spread over the three lock the login on
//! all. Three demos also launch together on MariaDB (KEGAUTH_DEMO_MYSQL_BIN)
//! and on SQLite. Without the binaries these are skipped with a notice
//! (under `CI=true`, they fail).

use crate::common::demo::{self, User};
use crate::common::demo_process::{built_demo, Demo, DEMO_MYSQL_VAR, DEMO_POSTGRES_VAR};
use crate::common::web::{
    app_at, rocket_for, until_listening, Cleanup, OnPostgres, PgDb, TestBackend,
};
use crate::common::{random_secret, TempDb};
use kegauth::{AuthDb, Link, Store};
use rocket::http::Status;
use std::time::{Duration, Instant};

/// What a change made on one instance may take to be refused on another.
const REVOCATION_TARGET: Duration = Duration::from_millis(100);

/// Sessions cached for a minute: a change refused sooner was heard, not expired.
const LONG_CACHE: &str = "session_cache_secs=60";

// ----- launches ------------------------------------------------------------------------------

/// Four instances, each with a pool of its own, launched at the same moment
/// on a database without kegauth's tables: all come up, and the permissions
/// are there once each.
async fn instances_launched_together_all_come_up<B: TestBackend>() {
    let Some((url, _cleanup)) = B::database().await else {
        return;
    };
    crate::common::before_launch();
    let launches: Vec<_> = (0..4)
        .map(|_| {
            let rocket = rocket_for::<B::Db>(&url, rocket::Config::figment(), |b| b);
            tokio::spawn(async move {
                rocket::local::asynchronous::Client::untracked(rocket)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for (i, launch) in launches.into_iter().enumerate() {
        launch
            .await
            .expect("the launch task")
            .unwrap_or_else(|e| panic!("instance {i} did not launch: {e}"));
    }
    let pool = sqlx::Pool::<<B::Db as AuthDb>::Backend>::connect(&url)
        .await
        .expect("connect");
    let store = Store::<<B::Db as AuthDb>::Backend, User>::new(pool);
    let tokens: Vec<String> = store
        .permissions()
        .await
        .expect("permissions")
        .iter()
        .map(|p| kegauth::entity::PermissionEntity::token(p).to_string())
        .collect();
    let declared: Vec<&str> = demo::PERMISSIONS.iter().map(|p| p.token).collect();
    let mut sorted = declared.clone();
    sorted.sort_unstable();
    assert_eq!(tokens, sorted);
}

on_three_backends!(instances_launched_together_all_come_up);

// ----- revocations (PostgreSQL) --------------------------------------------------------------

/// End every listening connection on `url`'s database, as a database
/// restart or a network cut would.
async fn cut_listeners(url: &str) {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \
         current_database() AND application_name = 'kegauth-revocations'",
    )
    .execute(&pool)
    .await
    .expect("pg_terminate_backend");
    pool.close().await;
}

type PgApp = crate::common::web::App<<PgDb as AuthDb>::Backend>;

/// Two instances, A and B, on one fresh PostgreSQL database, each caching
/// sessions for a minute and both listening for each other's changes;
/// `configure` and `extend` apply to both. `None` without PostgreSQL.
async fn two_instances(
    configure: impl Fn(
        kegauth::AuthManagerBuilder<PgDb, User>,
    ) -> kegauth::AuthManagerBuilder<PgDb, User>,
    extend: fn(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
) -> Option<(PgApp, PgApp)> {
    let (url, cleanup) = OnPostgres::fresh_database().await?;
    let figment = || rocket::Config::figment().merge(("kegauth.session_cache_secs", 60));
    let a = app_at::<PgDb>(url.clone(), cleanup, figment(), &configure, extend).await;
    let b = app_at::<PgDb>(url.clone(), Cleanup::Nothing, figment(), &configure, extend).await;
    until_listening(&url, 2).await;
    Some((a, b))
}

/// Poll `path` on `app` until it is not 200: how long that took (or a
/// failure after `within`).
async fn refused_after<DB: kegauth::Backend>(
    app: &crate::common::web::App<DB>,
    path: &str,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if app.status(path).await != Status::Ok {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{path} still answers 200 after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[rocket::async_test]
async fn a_change_on_one_instance_is_refused_on_another_at_once() {
    let Some((a, b)) = two_instances(|b| b, |r| r).await else {
        return;
    };

    let ann = a.login_with("ann@example.com", &["permission1"]).await;
    b.log_in_as(&ann).await;
    assert_eq!(b.status("/secret2").await, Status::Ok, "cached on B now");
    a.store
        .set_links(Link::UserPermissions, ann.id, &[])
        .await
        .expect("take permission1 away on A");
    let delay = refused_after(&b, "/secret2", Duration::from_secs(5)).await;
    eprintln!("refused on B {delay:?} after the change on A");
    assert!(delay < REVOCATION_TARGET, "{delay:?}");

    // The listening connections are cut: each instance bypasses its cache
    // until it listens again, then hears again.
    for round in 0..2 {
        let bob = a
            .login_with(&format!("bob{round}@example.com"), &["permission1"])
            .await;
        b.log_in_as(&bob).await;
        assert_eq!(b.status("/secret2").await, Status::Ok);
        if round == 0 {
            cut_listeners(&a.url).await;
        } else {
            until_listening(&a.url, 2).await;
        }
        let mut disabled = a.store.user(bob.id).await.unwrap().expect("bob");
        a.store
            .set_enabled(&mut disabled, false)
            .await
            .expect("disable bob");
        let delay = refused_after(&b, "/secret2", Duration::from_secs(5)).await;
        eprintln!("round {round}: refused on B {delay:?} after the change on A");
        assert!(delay < REVOCATION_TARGET, "round {round}: {delay:?}");
    }
}

/// A session ended through one instance (the sessions list, or an admin) is
/// refused by another at once, although the other serves its user from a
/// cache that holds for a minute.
#[rocket::async_test]
async fn an_ended_session_is_refused_on_another_instance_at_once() {
    let Some((a, b)) = two_instances(|b| b, |r| r).await else {
        return;
    };

    let ann = a.login_with("ann@example.com", &[]).await;
    b.log_in_as(&ann).await;
    assert_eq!(b.status("/secret1").await, Status::Ok, "cached on B now");
    assert_eq!(b.status("/secret1").await, Status::Ok);
    let rows = a
        .store
        .user_sessions(ann.id, &ann.core.session_key, Default::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one session on each instance");
    // End B's session (the row its cookie names) on A; A's own goes on.
    let cookie = b
        .client
        .cookies()
        .get_private("__Host-kegauth")
        .expect("B's session cookie");
    let data: kegauth::session::SessionData = serde_json::from_str(cookie.value()).unwrap();
    let on_b = data.record.expect("the session's row");
    assert!(rows.iter().any(|r| r.id == on_b));
    assert!(a.store.end_session(ann.id, &on_b).await.unwrap());
    let delay = refused_after(&b, "/secret1", Duration::from_secs(5)).await;
    eprintln!("an ended session refused on B {delay:?} after the end on A");
    assert!(delay < REVOCATION_TARGET, "{delay:?}");
    assert_eq!(
        a.status("/secret1").await,
        Status::Ok,
        "the other session lives"
    );
}

/// An API token replaced through one instance is refused by another at once,
/// although the other serves its user from a cache that holds for a minute.
#[rocket::async_test]
async fn a_replaced_api_token_is_refused_on_another_instance_at_once() {
    use kegauth::loaders::{
        api_token_header, ApiTokenOptions, JwtRequestLoader, TokenRequestLoader,
    };
    let loaders = |b: kegauth::AuthManagerBuilder<PgDb, User>| {
        b.request_loader(JwtRequestLoader::default())
            .request_loader(TokenRequestLoader::default())
    };
    let routes = |r: rocket::Rocket<rocket::Build>| r.mount("/", rocket::routes![demo::api_me]);
    let Some((a, b)) = two_instances(loaders, routes).await else {
        return;
    };

    let mut ann = a.user("ann@example.com", None).await;
    let options = ApiTokenOptions::default();
    let raw = a.store.reset_auth_token(&mut ann, &options).await.unwrap();
    let header = api_token_header(&ann.email, &raw);
    assert_eq!(
        b.token_status("/api/me", &header).await,
        Status::Ok,
        "cached on B now"
    );
    assert_eq!(b.token_status("/api/me", &header).await, Status::Ok);
    a.store.reset_auth_token(&mut ann, &options).await.unwrap();
    let started = Instant::now();
    while b.token_status("/api/me", &header).await == Status::Ok {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the old token still works on B"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let delay = started.elapsed();
    eprintln!("the old API token refused on B {delay:?} after the new one on A");
    assert!(delay < REVOCATION_TARGET, "{delay:?}");
}

// ----- three processes -----------------------------------------------------------------------

/// Three demos started at the same moment on the (empty) database at `url`,
/// and `auth schema --apply` beside them: all listening, the command done.
async fn three_demos(bin: &std::path::Path, url: &str, secret: &str, settings: &str) -> Vec<Demo> {
    let spawned: Vec<Demo> = (0..3)
        .map(|_| Demo::spawn(bin.to_path_buf(), url, secret, settings))
        .collect();
    let schema = spawned[0]
        .auth_command()
        .args(["auth", "schema", "--apply"])
        .stdin(std::process::Stdio::null())
        .output();
    let mut ready = Vec::new();
    for demo in spawned {
        ready.push(demo.ready().await);
    }
    let schema = schema.expect("run auth schema --apply");
    assert!(
        schema.status.success(),
        "auth schema --apply beside three launches: {}",
        String::from_utf8_lossy(&schema.stderr)
    );
    for demo in &ready {
        assert_eq!(demo.status(&Demo::browser(), "/login").await, 200);
    }
    ready
}

/// Stop unless no demo logged an error or a 500.
fn assert_no_errors(demos: &[Demo]) {
    for demo in demos {
        let log = demo.server.log();
        assert!(
            !log.lines()
                .any(|l| l.starts_with("Error:") || l.contains("500 Internal")),
            "{} logged an error:\n{log}",
            demo.base
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_demos_launch_together_on_mariadb() {
    let Some(bin) = built_demo(
        DEMO_MYSQL_VAR,
        "demo-mysql",
        "the three-instance launch on MariaDB",
    ) else {
        return;
    };
    let Some((url, _cleanup)) = crate::common::web::OnMysql::database().await else {
        return;
    };
    let demos = three_demos(&bin, &url, &random_secret(), "").await;
    assert_no_errors(&demos);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_demos_launch_together_on_sqlite() {
    let db = TempDb::new();
    let demos = three_demos(&crate::common::demo_bin(), &db.url(), &random_secret(), "").await;
    assert_no_errors(&demos);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_demos_share_one_postgres_database() {
    let Some(bin) = built_demo(
        DEMO_POSTGRES_VAR,
        "demo-postgres",
        "the three-instance test on PostgreSQL",
    ) else {
        return;
    };
    let Some((url, _cleanup)) = OnPostgres::fresh_database().await else {
        return;
    };
    let demos = three_demos(&bin, &url, &random_secret(), &format!(",{LONG_CACHE}")).await;
    until_listening(&url, 3).await;
    let store = Store::<sqlx::Postgres, User>::new(sqlx::PgPool::connect(&url).await.unwrap());
    let factory = kegauth::testing::Factory::new(store.clone());
    let password = "Shared-instances-9";
    let make = |email: &str| factory.user(email).password(password);
    make("admin@example.com")
        .superuser()
        .create()
        .await
        .unwrap();
    let ann = make("ann@example.com")
        .permissions(&["permission1"])
        .create()
        .await
        .unwrap();
    make("carol@example.com").create().await.unwrap();
    make("dan@example.com").create().await.unwrap();

    // A session made on one opens a protected page on the others.
    let (anns, status, _) = demos[0].login("ann@example.com", password).await;
    assert_eq!(status, 303);
    for demo in &demos {
        assert_eq!(demo.status(&anns, "/secret2").await, 200, "{}", demo.base);
    }

    // Taken away through the admin page of the first, refused on the others.
    let (admin, status, _) = demos[0].login("admin@example.com", password).await;
    assert_eq!(status, 303);
    let edit = format!("/users/{}/edit", ann.id);
    let posted = demos[0]
        .submit(
            &admin,
            &edit,
            &edit,
            &[("email", "ann@example.com"), ("is_enabled", "true")],
        )
        .await;
    assert_eq!(posted, 303, "the edit is saved");
    let changed = Instant::now();
    for demo in &demos[1..] {
        loop {
            if demo.status(&anns, "/secret2").await != 200 {
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(5),
                "still 200 on {}",
                demo.base
            );
        }
    }
    let delay = changed.elapsed();
    eprintln!("refused on both other instances {delay:?} after the admin page saved");
    assert!(delay < REVOCATION_TARGET, "{delay:?}");

    // A login storm over the three, one of them killed in the middle: the
    // events the survivors answered are all recorded, and the chain holds.
    let mut demos = demos;
    let answered = storm(&mut demos, "carol@example.com", password).await;
    let recorded = wait_for_logins(&store, "carol@example.com", answered).await;
    eprintln!("storm: {answered} logins answered by the survivors, {recorded} recorded");
    assert!(answered >= 20, "the survivors answered {answered} logins");
    assert!(
        recorded >= answered,
        "{recorded} recorded of {answered} answered"
    );
    let verify = crate::common::run_auth(demos[0].auth_command(), &["audit", "verify"], "");
    assert!(
        verify.status.success(),
        "auth audit verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // Failed logins spread over the (two surviving) instances lock the login on all.
    let survivors = &demos[..2];
    let browser = Demo::browser();
    for i in 0..15 {
        let (status, _) = survivors[i % 2]
            .log_in_with(&browser, "dan@example.com", "wrong-password-1")
            .await;
        assert_eq!(status, 200, "failed login {i} shows the form again");
    }
    for demo in survivors {
        let (status, _) = demo
            .log_in_with(&Demo::browser(), "dan@example.com", password)
            .await;
        assert_eq!(status, 200, "dan is locked out on {}", demo.base);
    }
    assert_no_errors(survivors);
}

/// 60 logins over the demos, 6 at a time; after 20, the last demo is killed.
/// How many logins a surviving demo answered with success.
async fn storm(demos: &mut [Demo], email: &str, password: &str) -> usize {
    let bases: Vec<String> = demos.iter().map(|d| d.base.clone()).collect();
    let survivors: Vec<String> = bases[..bases.len() - 1].to_vec();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(String, bool)>();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let (bases, next, done_tx) = (bases.clone(), next.clone(), done_tx.clone());
        let (email, password) = (email.to_string(), password.to_string());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= 60 {
                    return;
                }
                let base = &bases[i % bases.len()];
                let ok = log_in_at(base, &email, &password).await;
                let _ = done_tx.send((base.clone(), ok));
            }
        }));
    }
    drop(done_tx);
    let mut answered = 0;
    let mut seen = 0;
    let last = demos.len() - 1;
    while let Some((base, ok)) = done_rx.recv().await {
        seen += 1;
        if seen == 20 {
            demos[last].server.kill();
        }
        if ok && survivors.contains(&base) {
            answered += 1;
        }
    }
    for worker in workers {
        worker.await.expect("a storm worker");
    }
    answered
}

/// One login through the form at `base`: whether it succeeded (a refused
/// connection, from the killed demo, is a failure).
async fn log_in_at(base: &str, email: &str, password: &str) -> bool {
    let browser = Demo::browser();
    let Ok(page) = browser.get(format!("{base}/login")).send().await else {
        return false;
    };
    let Ok(page) = page.text().await else {
        return false;
    };
    let csrf = crate::common::web::csrf_in(&page);
    let answer = browser
        .post(format!("{base}/login"))
        .form(&[
            ("login_id", email),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await;
    answer.is_ok_and(|a| a.status().as_u16() == 303)
}

/// Wait (up to 10 s) until `email`'s successful logins recorded in the
/// audit trail reach `n`: how many there are.
async fn wait_for_logins(store: &Store<sqlx::Postgres, User>, email: &str, n: usize) -> usize {
    let user = store.user_by_login(email).await.unwrap().expect("the user");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let recorded: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE kind = 'login-success' AND actor_id = $1",
            kegauth::ddl::AUDIT_EVENTS
        ))
        .bind(user.id)
        .fetch_one(store.pool())
        .await
        .expect("count audit events");
        let recorded = recorded as usize;
        if recorded >= n || Instant::now() > deadline {
            return recorded;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
