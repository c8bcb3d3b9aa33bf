//! Faults (SECURITY-CHECKLIST, issue 15): the database going away during a
//! login or a protected request is a clean 503 page, never a panic or a 500,
//! and the app recovers when it comes back; a dead SMTP server on "forgot
//! password" answers like a sent mail, logs a clear error and keeps the
//! attempt. The PostgreSQL outage goes through a TCP proxy that the test
//! closes (every connection and the port) and reopens; the killed backends
//! are real `pg_terminate_backend` calls.

use crate::common;

use crate::common::smtp::SmtpServer;
use crate::common::web::{app_at, body, location, mail_app_with, OnPostgres, PgDb, TestBackend};
use rocket::http::Status;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PASSWORD: &str = "correct horse battery staple";

/// A TCP forwarder to the database that can be cut (every connection closed,
/// the port refusing) and restored on the same port.
struct Proxy {
    addr: SocketAddr,
    target: String,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    async fn to(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let addr = listener.local_addr().expect("its address");
        let mut proxy = Proxy {
            addr,
            target: target.to_string(),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when the task is aborted) closes every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        }));
    }

    /// Close every connection and the port.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listen again on the same port.
    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind the port");
        self.serve(listener);
    }
}

/// A database URL cut around its `host[:port]`: what comes before
/// (`scheme://user@`), the host and port as written, and what follows.
fn split_url(url: &str) -> (&str, &str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let host_at = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    (&url[..host_at], &url[host_at..end], &url[end..])
}

/// `host:port` of a database URL.
fn authority(url: &str) -> String {
    let (_, host_port, _) = split_url(url);
    if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    }
}

/// `url` pointed at `addr` instead of its own host and port.
fn through(url: &str, addr: SocketAddr) -> String {
    let (before, _, after) = split_url(url);
    format!("{before}{addr}{after}")
}

fn settings() -> rocket::figment::Figment {
    // A short wait for a connection, so an outage answers within a second;
    // and no session cache, so every request below goes to the database (with
    // the default cache, a request within a second of the last one is answered
    // from memory and never meets the outage).
    rocket::Config::figment()
        .merge(("databases.main.connect_timeout", 1))
        .merge(("kegauth.session_cache_secs", 0))
}

#[test]
fn database_urls_are_rewritten_to_the_proxy() {
    let addr: SocketAddr = "127.0.0.1:6000".parse().unwrap();
    let url = "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dx";
    assert_eq!(authority(url), "127.0.0.1:5432");
    assert_eq!(
        through(url, addr),
        "postgres://postgres@127.0.0.1:6000/test?options=-c%20search_path%3Dx"
    );
    assert_eq!(authority("postgres://localhost/test"), "localhost:5432");
}

#[rocket::async_test]
async fn an_unreachable_database_is_a_503_page_and_the_app_recovers() {
    let Some((url, cleanup)) = OnPostgres::database().await else {
        return;
    };
    let mut proxy = Proxy::to(&authority(&url)).await;
    let app = app_at::<PgDb>(through(&url, proxy.addr), cleanup, settings(), |b| b, |r| r).await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    let csrf = app.csrf().await;
    let login = [
        ("login_id", "ann@example.com"),
        ("password", PASSWORD),
        ("csrf_token", csrf.as_str()),
    ];

    // A login while the database is away: the login page says so, with 503.
    proxy.cut().await;
    let r = app.post_form("/login", &login).await;
    assert_eq!(r.status(), Status::ServiceUnavailable);
    let page = body(r).await;
    assert!(page.contains("The login service is unavailable"), "{page}");
    assert!(
        page.contains(r#"value="ann@example.com""#),
        "what was typed is kept: {page}"
    );

    // Back: the same form logs in.
    proxy.restore().await;
    let r = app.post_form("/login", &login).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as ann@example.com");

    // A logged-in page while the database is away: kegauth's 503 page for a
    // browser (not "logged out"), JSON for an API client.
    proxy.cut().await;
    for path in ["/whoami", "/secret1", "/users"] {
        let r = app.browse(path).await;
        assert_eq!(r.status(), Status::ServiceUnavailable, "{path}");
        assert_eq!(r.headers().get_one("X-Frame-Options"), Some("DENY"));
        let page = body(r).await;
        assert!(
            page.contains("<title>Service unavailable"),
            "{path}: {page}"
        );
        assert!(page.contains("temporarily unavailable"), "{path}: {page}");
    }
    let r = app.api_get("/whoami").await;
    assert_eq!(r.status(), Status::ServiceUnavailable);
    assert_eq!(body(r).await, r#"{"error":"service unavailable"}"#);
    let r = app
        .browse_with("/whoami", &[("Accept-Language", "es")])
        .await;
    assert!(body(r).await.contains("no está disponible"));

    // Back: the session outlived the outage.
    proxy.restore().await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    assert_eq!(app.status("/secret1").await, Status::Ok);
}

/// The log lines that name `place` and contain `text`.
fn logged(place: &str, text: &str) -> Vec<String> {
    common::logs::lines()
        .into_iter()
        .filter(|l| l.contains(place) && l.contains(text))
        .collect()
}

/// The revocation listener (PostgreSQL) loses its connection with the
/// database: that is logged once, however many reconnections fail, and its
/// return once; meanwhile the app keeps answering from the database.
#[rocket::async_test]
async fn a_lost_revocation_listener_is_logged_once_and_reconnects() {
    let Some((url, cleanup)) = OnPostgres::database().await else {
        return;
    };
    let mut proxy = Proxy::to(&authority(&url)).await;
    let settings = settings().merge(("log_level", "normal"));
    let app = app_at::<PgDb>(through(&url, proxy.addr), cleanup, settings, |b| b, |r| r).await;
    let place = proxy.addr.to_string();
    let ann = app.login_with("ann@example.com", &[]).await;
    let wait_for = |text: &'static str| {
        let place = place.clone();
        async move {
            for _ in 0..100 {
                if !logged(&place, text).is_empty() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("not logged: {text}");
        }
    };

    proxy.cut().await;
    wait_for("the revocation listener lost its connection").await;
    // Several reconnections fail meanwhile (0.1, 0.2, 0.4, 0.8 s).
    tokio::time::sleep(Duration::from_millis(1800)).await;
    proxy.restore().await;
    wait_for("listening for revocations").await;
    assert_eq!(logged(&place, "lost its connection").len(), 1);
    assert!(
        logged(&place, "cannot listen").is_empty(),
        "failed retries are not logged"
    );
    assert_eq!(logged(&place, "listening for revocations").len(), 1);
    let line = &logged(&place, "lost its connection")[0];
    assert!(line.starts_with("WARN"), "{line}");
    assert!(line.contains("session cache is bypassed"), "{line}");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    let _ = ann;
}

/// The app's connections, by application name.
const APP_BACKENDS: &str = "SELECT pid FROM pg_stat_activity WHERE application_name = $1";

#[rocket::async_test]
async fn killed_database_connections_are_a_503_then_replaced() {
    let Some((url, cleanup)) = OnPostgres::database().await else {
        return;
    };
    let name = format!("kegauth_fault_{:x}", rand::random::<u32>());
    let app_url = format!("{url}&application_name={name}");
    let app = app_at::<PgDb>(app_url, cleanup, settings(), |b| b, |r| r).await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    assert_eq!(
        app.login("ann@example.com", PASSWORD).await.status(),
        Status::SeeOther
    );
    let admin = sqlx::PgPool::connect(&url).await.expect("connect");
    let kill = |pids: Vec<i32>| {
        let admin = admin.clone();
        async move {
            for pid in pids {
                sqlx::query("SELECT pg_terminate_backend($1)")
                    .bind(pid)
                    .execute(&admin)
                    .await
                    .expect("terminate");
            }
        }
    };

    // Idle connections killed: the next request gets a fresh one.
    let pids: Vec<i32> = sqlx::query_scalar(APP_BACKENDS)
        .bind(&name)
        .fetch_all(&admin)
        .await
        .expect("the app's backends");
    assert!(!pids.is_empty(), "the app holds connections");
    kill(pids).await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");

    // A connection killed in the middle of a query (it waits on a lock the
    // test holds): 503, not 500.
    let mut lock = admin.begin().await.expect("begin");
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock users");
    let waiting = async {
        for _ in 0..200 {
            let pids: Vec<i32> =
                sqlx::query_scalar(&format!("{APP_BACKENDS} AND wait_event_type = 'Lock'"))
                    .bind(&name)
                    .fetch_all(&admin)
                    .await
                    .expect("the app's waiting backends");
            if !pids.is_empty() {
                return kill(pids).await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the request never waited on the lock");
    };
    let (r, ()) = tokio::join!(app.browse("/whoami"), waiting);
    assert_eq!(r.status(), Status::ServiceUnavailable);
    assert!(body(r).await.contains("temporarily unavailable"));
    lock.rollback().await.expect("unlock");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
}

on_sqlite_and_postgres!(an_smtp_outage_on_forgot_answers_alike_logs_and_keeps_the_attempt);

async fn an_smtp_outage_on_forgot_answers_alike_logs_and_keeps_the_attempt<B: TestBackend>() {
    common::logs::install();
    let figment = SmtpServer::unreachable_figment().merge(("log_level", "normal"));
    let Some(app) = mail_app_with::<B>(figment).await else {
        return;
    };
    let email = format!("ann{:x}@example.com", rand::random::<u32>());
    let ann = app.user(&email, Some(PASSWORD)).await;

    let known = app.forgot_from(&email, &[], None).await;
    let (status, to) = (known.status(), location(&known));
    let flashes = app.flashes().await;
    let unknown = app.forgot_from("nobody@example.com", &[], None).await;
    assert_eq!(
        (status, to.as_str()),
        (unknown.status(), location(&unknown).as_str())
    );
    assert_eq!(
        flashes,
        app.flashes().await,
        "the same answer as for an unknown address"
    );
    assert!(flashes.contains("Please check your email"), "{flashes}");

    // The failure is in the log, clearly, once the background send gave up.
    let wanted = format!("reset mail to user {} failed", ann.id);
    let mut found = None;
    for _ in 0..100 {
        found = common::logs::lines()
            .into_iter()
            .find(|l| l.contains(&wanted));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = found.expect("the failed send is logged");
    assert!(line.starts_with("ERROR"), "{line}");
    assert!(line.to_lowercase().contains("connect"), "says why: {line}");

    let attempts = app.store.attempts().await.expect("attempts");
    let forgot: Vec<_> = attempts
        .iter()
        .filter(|a| a.core.user_input == email)
        .collect();
    assert_eq!(forgot.len(), 1, "{attempts:?}");
    assert_eq!(
        forgot[0].core.attempt_type,
        Some(kegauth::entity::AttemptType::Forgot)
    );
}
