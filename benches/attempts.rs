//! What attempt limiting costs a login when the attempts table is large.
//!
//! For SQLite (always) and PostgreSQL (when `KEGAUTH_TEST_POSTGRES_URL` is
//! set), it measures, first on an empty attempts table and then with
//! 1,000,000 rows of other people's attempts spread over the last week:
//!
//! - `login`: a whole browser login through Rocket (GET the form, POST it;
//!   argon2id at OWASP settings dominates);
//! - `gate`: `Store::open_attempt` alone (the lockout check and its log row).
//!
//! Run: `cargo bench -p kegauth-benches --bench attempts` (add the PostgreSQL URL to include it).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use kegauth::prelude::*;
use kegauth::{AttemptType, Backend};
use rocket::http::ContentType;
use rocket::local::asynchronous::Client;
use rocket_db_pools::Database;
use std::net::SocketAddr;
use std::time::Duration;

mod common;
use common::{PgDb, SqliteDb, User};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple";
const ROWS: u32 = 1_000_000;

/// Where the bench's requests come from (an address with history in the big table).
fn remote() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40000))
}

async fn launch<D: Database + AuthDb>(url: &str) -> Client {
    let figment = common::figment(url);
    let rocket = rocket::build()
        .configure(figment)
        .attach(D::init())
        .attach(
            AuthManager::<D, User>::builder()
                .create_schema(true)
                .build(),
        )
        .mount("/", kegauth::routes());
    let client = Client::tracked(rocket).await;
    match client {
        Ok(client) => client,
        Err(e) => panic!("launch: {e}"),
    }
}

fn store<D: AuthDb>(client: &Client) -> StoreOf<D, User> {
    client
        .rocket()
        .state::<StoreOf<D, User>>()
        .expect("the store")
        .clone()
}

/// A whole browser login: the form, then the POST; asserts it worked.
async fn login(client: &Client) {
    let page = client.get("/login").dispatch().await;
    let page = page.into_string().await.unwrap_or_default();
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).expect("a csrf_token field") + marker.len();
    let csrf = page[start..].split('"').next().unwrap_or_default();
    let enc = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let body = format!(
        "login_id={}&password={}&csrf_token={}",
        enc(EMAIL),
        enc(PASSWORD),
        enc(csrf)
    );
    let r = client
        .post("/login")
        .header(ContentType::Form)
        .remote(remote())
        .body(body)
        .dispatch()
        .await;
    assert_eq!(r.status().code, 303, "the login must succeed");
}

fn bench_backend<D: Database + AuthDb>(c: &mut Criterion, name: &str, url: &str, fill: &'static str)
where
    D::Backend: Backend,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = rt.block_on(launch::<D>(url));
    let store = store::<D>(&client);
    rt.block_on(async {
        let mut user = User {
            id: 0,
            email: EMAIL.into(),
            core: UserCore::new(),
        };
        user.core.is_verified = true;
        store.insert_user(&mut user).await.expect("insert user");
        store
            .set_password(&mut user, PASSWORD)
            .await
            .expect("password");
    });
    // The gate's own tries come from another address (also in the big table),
    // so that they never lock the logins out.
    let ip = Some(std::net::IpAddr::from([10, 0, 0, 2]));
    for rows in ["0 rows", "1M rows"] {
        if rows == "1M rows" {
            let started = std::time::Instant::now();
            rt.block_on(async {
                let mut conn = store.pool().acquire().await.expect("a connection");
                for stmt in fill.split(";\n") {
                    let stmt = stmt.replace("{ROWS}", &ROWS.to_string());
                    <D::Backend as Backend>::execute(&mut conn, &stmt, Vec::new())
                        .await
                        .expect("fill the attempts table");
                }
            });
            eprintln!(
                "{name}: {ROWS} attempt rows written in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let mut group = c.benchmark_group(format!("{name}/{rows}"));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(8));
        group.bench_function("login", |b| {
            b.to_async(&rt).iter(|| login(&client));
        });
        group.bench_function("gate", |b| {
            // Another input, so the login above never locks.
            b.to_async(&rt).iter(|| async {
                store
                    .open_attempt(AttemptType::Login, "gate@example.com", ip)
                    .await
                    .expect("the gate")
            });
        });
        group.finish();
    }
    drop(client);
}

/// 1M rows: 100,000 inputs, 65,536 addresses (10.0.0.1 among them), the three
/// kinds, one in seven a success, spread over the last 7 days.
const SQLITE_FILL: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
INSERT INTO attempts (user_input, datetime_utc, attempt_type, is_during_lockout, success, source_ip) \
SELECT 'user' || (i % 100000) || '@example.com', \
strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i % 604800) || ' seconds') || '000', \
CASE i % 3 WHEN 0 THEN 'login' WHEN 1 THEN 'forgot' ELSE 'reset' END, \
0, i % 7 = 0, '10.0.' || ((i / 256) % 256) || '.' || (i % 256) FROM n;
ANALYZE";

const POSTGRES_FILL: &str = "INSERT INTO attempts (user_input, datetime_utc, attempt_type, is_during_lockout, success, source_ip) \
SELECT 'user' || (i % 100000) || '@example.com', \
timezone('utc', now()) - (i % 604800) * interval '1 second', \
(ARRAY['login', 'forgot', 'reset'])[i % 3 + 1]::ka_attempt_types, \
false, i % 7 = 0, '10.0.' || ((i / 256) % 256) || '.' || (i % 256) FROM generate_series(1, {ROWS}) AS i;
ANALYZE attempts";

fn attempts(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("kegauth-bench-{}.sqlite", std::process::id()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    bench_backend::<SqliteDb>(c, "sqlite", &url, SQLITE_FILL);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    let Ok(pg) = std::env::var("KEGAUTH_TEST_POSTGRES_URL") else {
        eprintln!("postgres: skipped (set KEGAUTH_TEST_POSTGRES_URL to include it)");
        return;
    };
    let schema = format!("kegauth_bench_{}", std::process::id());
    let admin = |sql: String| {
        let pg = pg.clone();
        tokio::runtime::Runtime::new()
            .expect("a runtime")
            .block_on(async move {
                let pool = sqlx::PgPool::connect(&pg).await.expect("PostgreSQL");
                sqlx::query(&sql).execute(&pool).await.expect("admin SQL");
            })
    };
    admin(format!("CREATE SCHEMA {schema}"));
    let sep = if pg.contains('?') { '&' } else { '?' };
    let url = format!("{pg}{sep}options=-c%20search_path%3D{schema}");
    bench_backend::<PgDb>(c, "postgres", &url, POSTGRES_FILL);
    admin(format!("DROP SCHEMA {schema} CASCADE"));
}

criterion_group!(benches, attempts);
criterion_main!(benches);
