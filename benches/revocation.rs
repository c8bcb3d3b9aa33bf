//! How long a rights change made on one instance stays unseen by another
//! (README, "Running several instances").
//!
//! Two instances of one app, each with its own pool and its own listening
//! connection, on a fresh PostgreSQL database (`KEGAUTH_TEST_POSTGRES_URL`),
//! with the default session cache (one second). 200 times: a user is granted
//! permission `p` on A, logs in on B and opens the page that requires it (B
//! now caches the user and their rights); then A takes `p` away, and B is
//! polled until it refuses. The delay runs from A's write returning to B's
//! first refusal, so it includes one request on B: the time of one request on
//! B is printed beside it (measured in the same run), and the delay as a
//! share of the cache period, which bounds it on the other backends.
//!
//! Run: `cargo bench -p kegauth-benches --bench revocation`.

use kegauth::prelude::*;
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_db_pools::Database;
use std::time::{Duration, Instant};

mod common;
use common::{PgDb, User};

const CHANGES: usize = 200;

#[requires_permissions("p")]
#[get("/p")]
fn page() -> &'static str {
    "page"
}

#[get("/bench-login?<key>")]
async fn log_in(
    key: &str,
    session: kegauth::session::Session<'_>,
    store: &rocket::State<kegauth::StoreOf<PgDb, User>>,
) {
    let Ok(Some(user)) = store.user_by_session_key(key).await else {
        return;
    };
    let new = kegauth::store::sessions::NewSession {
        user_id: user.id,
        session_key: key,
        ..Default::default()
    };
    let Ok(id) = store.start_session(&new, Default::default()).await else {
        return;
    };
    let row = kegauth::session::SessionRow {
        id,
        remember_until: None,
    };
    session.log_in(key, &row, Vec::new());
}

async fn instance(url: &str, secret: &[u8]) -> Client {
    static DEFS: &[kegauth::PermissionDef] = &[kegauth::PermissionDef::new("p", None)];
    let figment = common::figment(url)
        .merge(("secret_key", secret.to_vec()))
        .merge(("kegauth.cookie_secure", false));
    let rocket = rocket::build()
        .configure(figment)
        .attach(PgDb::init())
        .attach(
            AuthManager::<PgDb, User>::builder()
                .permissions(DEFS)
                .create_schema(true)
                .build(),
        )
        .mount("/", routes![page, log_in])
        .register("/", kegauth::catchers());
    Client::tracked(rocket).await.expect("launch")
}

/// A database of this run's own on the server at `url`: its URL.
async fn fresh_database(url: &str) -> (String, String) {
    let name = format!("kb_revocation_{:x}", rand::random::<u32>());
    let admin = sqlx::PgPool::connect(url).await.expect("connect");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create database");
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let server = &base[..base.rfind('/').expect("a database in the URL")];
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    (format!("{server}/{name}{query}"), name)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(server: &str) {
    let (url, name) = fresh_database(server).await;
    let secret: [u8; 32] = rand::random();
    let a = instance(&url, &secret).await;
    let b = instance(&url, &secret).await;
    let store = a
        .rocket()
        .state::<StoreOf<PgDb, User>>()
        .expect("store")
        .clone();
    let p = store.permission_ids(&["p"]).await.expect("p");
    let mut user = User {
        id: 0,
        email: "bench@example.com".into(),
        core: UserCore::new(),
    };
    user.core.is_verified = true;
    store.insert_user(&mut user).await.expect("user");
    // Both instances listen before the first change.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut delays = Vec::with_capacity(CHANGES);
    let mut requests = Vec::new();
    for _ in 0..CHANGES {
        store
            .set_links(Link::UserPermissions, user.id, &p)
            .await
            .expect("grant");
        let key = store
            .user(user.id)
            .await
            .expect("read")
            .expect("user")
            .core
            .session_key;
        b.get(format!("/bench-login?key={key}")).dispatch().await;
        let started = Instant::now();
        while b.get("/p").dispatch().await.status() != rocket::http::Status::Ok {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "never granted on B"
            );
        }
        store
            .set_links(Link::UserPermissions, user.id, &[])
            .await
            .expect("take away");
        let changed = Instant::now();
        loop {
            let asked = Instant::now();
            let status = b.get("/p").dispatch().await.status();
            requests.push(asked.elapsed());
            if status != rocket::http::Status::Ok {
                break;
            }
        }
        delays.push(changed.elapsed());
    }
    drop((a, b));
    delays.sort_unstable();
    requests.sort_unstable();
    let request = percentile(&requests, 0.5);
    let (p50, p99, max) = (
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays[delays.len() - 1],
    );
    let cache = Duration::from_secs(u64::from(kegauth::config::DEFAULT_SESSION_CACHE_SECS));
    println!("revocation delay, A's write to B's refusal, {CHANGES} changes, PostgreSQL:");
    println!(
        "  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target: p99 under 100 ms)",
        ms(p50),
        ms(p99),
        ms(max)
    );
    println!(
        "  one request on B (median of {} polls, same run): {:.3} ms; p99 = {:.1} requests; \
         p99 = {:.2}% of the session cache period ({} s, the bound on SQLite and MySQL)",
        requests.len(),
        ms(request),
        p99.as_secs_f64() / request.as_secs_f64(),
        p99.as_secs_f64() / cache.as_secs_f64() * 100.0,
        cache.as_secs()
    );
    let admin = sqlx::PgPool::connect(server).await.expect("connect");
    let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await;
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let Ok(server) = std::env::var("KEGAUTH_TEST_POSTGRES_URL") else {
        println!(
            "notice: KEGAUTH_TEST_POSTGRES_URL is not set; the revocation bench needs PostgreSQL"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(&server));
}
