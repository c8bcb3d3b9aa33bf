//! What protection costs a request, in process (Rocket's local client, no
//! network), on SQLite (always) and PostgreSQL (when `KEGAUTH_TEST_POSTGRES_URL`
//! is set), with the session cache off and on:
//!
//! - `public`: an unprotected handler;
//! - `session`: the same handler behind `#[requires_user]`, with a session cookie;
//! - `permission`: behind `#[requires_permissions]`, for a user whose rights
//!   come through 50 groups (each with 2 permissions and a 2-permission bundle);
//! - `jwt`: behind `#[requires_user]`, with a bearer token instead of a cookie;
//! - `user_permissions`: resolving that user's rights from the store alone.
//!
//! It also prints the SQL statements each kind of request sends.
//! Run: `cargo bench -p kegauth-benches --bench requests`. `benches/load.sh` measures over HTTP with wrk.

use criterion::{criterion_group, criterion_main, Criterion};
use kegauth::loaders::{registered_loader, JwtRequestLoader};
use kegauth::prelude::*;
use kegauth::Backend;
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_db_pools::Database;

mod common;
use common::{PgDb, SqliteDb, User};

const GROUPS: usize = 50;

#[get("/public")]
fn public() -> &'static str {
    "page"
}

#[requires_user]
#[get("/session")]
fn session() -> &'static str {
    "page"
}

#[requires_permissions("p-49-1")]
#[get("/permission")]
fn permission() -> &'static str {
    "page"
}

/// Permissions `p-<group>-<n>`: 2 direct and 2 through a bundle, per group.
fn permission_defs() -> Vec<kegauth::PermissionDef> {
    (0..GROUPS)
        .flat_map(|g| (0..4).map(move |n| format!("p-{g}-{n}")))
        .map(|t| kegauth::PermissionDef::new(Box::leak(t.into_boxed_str()), None))
        .collect()
}

struct Setup {
    client: Client,
    cookie: rocket::http::Cookie<'static>,
    jwt: String,
}

async fn setup<D: Database + AuthDb>(url: &str, cache_secs: u32) -> Setup {
    let figment = common::figment(url)
        .merge(("kegauth.session_cache_secs", cache_secs))
        .merge(("kegauth.cookie_secure", false));
    let defs: &'static [kegauth::PermissionDef] = Box::leak(permission_defs().into_boxed_slice());
    let rocket = rocket::build()
        .configure(figment)
        .attach(D::init())
        .attach(
            AuthManager::<D, User>::builder()
                .permissions(defs)
                .request_loader(JwtRequestLoader::default())
                .create_schema(true)
                .build(),
        )
        .mount("/", routes![public, session, permission, log_in])
        .register("/", kegauth::catchers());
    let client = Client::untracked(rocket).await.expect("launch");
    let store = client
        .rocket()
        .state::<StoreOf<D, User>>()
        .expect("store")
        .clone();
    let mut user = User {
        id: 0,
        email: format!("bench-{:x}@example.com", rand::random::<u32>()),
        core: UserCore::new(),
    };
    user.core.is_verified = true;
    store.insert_user(&mut user).await.expect("user");
    for g in 0..GROUPS {
        let mut group = kegauth::entity::Group {
            id: 0,
            name: format!("group-{g}-{:x}", rand::random::<u32>()),
        };
        store.insert_group(&mut group).await.expect("group");
        let mut bundle = kegauth::entity::Bundle {
            id: 0,
            name: format!("bundle-{g}-{:x}", rand::random::<u32>()),
        };
        store.insert_bundle(&mut bundle).await.expect("bundle");
        let direct = store
            .permission_ids(&[format!("p-{g}-0"), format!("p-{g}-1")])
            .await
            .expect("ids");
        let bundled = store
            .permission_ids(&[format!("p-{g}-2"), format!("p-{g}-3")])
            .await
            .expect("ids");
        store
            .set_links(Link::GroupPermissions, group.id, &direct)
            .await
            .expect("links");
        store
            .set_links(Link::BundlePermissions, bundle.id, &bundled)
            .await
            .expect("links");
        store
            .set_links(Link::GroupBundles, group.id, &[bundle.id])
            .await
            .expect("links");
        store
            .add_link(Link::UserGroups, user.id, group.id)
            .await
            .expect("membership");
    }
    let user = store.user(user.id).await.expect("read").expect("user");
    let jwt = registered_loader::<JwtRequestLoader, _>(client.rocket())
        .expect("jwt")
        .create_access_token(&user)
        .expect("token");
    let new = kegauth::store::sessions::NewSession {
        user_id: user.id,
        session_key: &user.core.session_key,
        ..Default::default()
    };
    let row = store
        .start_session(&new, Default::default())
        .await
        .expect("session row");
    let r = client
        .get(format!(
            "/bench-login?key={}&row={row}",
            user.core.session_key
        ))
        .dispatch()
        .await;
    let cookie = r
        .cookies()
        .get("kegauth")
        .expect("session cookie")
        .clone()
        .into_owned();
    drop(r);
    // The set-up's audit events (rotated sessions, the JWT) written before
    // anything is measured or counted.
    client
        .rocket()
        .state::<kegauth::audit::Auditor>()
        .expect("the auditor")
        .flush()
        .await;
    Setup {
        client,
        cookie,
        jwt,
    }
}

#[get("/bench-login?<key>&<row>")]
fn log_in(key: &str, row: &str, session: kegauth::session::Session<'_>) {
    let row = kegauth::session::SessionRow {
        id: row.to_string(),
        remember_until: None,
    };
    session.log_in(key, &row, Vec::new());
}

async fn get(s: &Setup, path: &str, how: &str) -> rocket::http::Status {
    let mut req = s.client.get(path.to_string());
    match how {
        "session" => req = req.cookie(s.cookie.clone()),
        "jwt" => req = req.header(Header::new("Authorization", format!("Bearer {}", s.jwt))),
        _ => {}
    }
    req.dispatch().await.status()
}

const CASES: [(&str, &str, &str); 4] = [
    // The unprotected page gets the same cookie: only the protection differs.
    ("public", "/public", "session"),
    ("session", "/session", "session"),
    ("permission", "/permission", "session"),
    ("jwt", "/session", "jwt"),
];

fn bench_backend<D: Database + AuthDb>(c: &mut Criterion, name: &str, url: &str)
where
    D::Backend: Backend,
{
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for cache in [0u32, 60] {
        let s = rt.block_on(setup::<D>(url, cache));
        for (case, path, how) in CASES {
            let before = kegauth::backend::statements_sent();
            // Twice: the first request fills the cache when it is on.
            for _ in 0..2 {
                assert_eq!(rt.block_on(get(&s, path, how)).code, 200, "{case}");
            }
            let per_two = kegauth::backend::statements_sent() - before;
            let before = kegauth::backend::statements_sent();
            rt.block_on(get(&s, path, how));
            let steady = kegauth::backend::statements_sent() - before;
            eprintln!(
                "statements {name} cache={cache}s {case}: first two requests {per_two}, then {steady} per request"
            );
        }
        let mut group = c.benchmark_group(format!("requests/{name}/cache-{cache}s"));
        for (case, path, how) in CASES {
            group.bench_function(case, |b| b.to_async(&rt).iter(|| get(&s, path, how)));
        }
        group.finish();
        if cache == 0 {
            let store = s
                .client
                .rocket()
                .state::<StoreOf<D, User>>()
                .expect("store")
                .clone();
            let user = rt
                .block_on(store.users())
                .expect("users")
                .into_iter()
                .next()
                .expect("user");
            let n = rt
                .block_on(store.user_permissions(&user))
                .expect("rights")
                .len();
            assert_eq!(n, GROUPS * 4);
            c.bench_function(&format!("user_permissions/{name}/{GROUPS}-groups"), |b| {
                b.to_async(&rt).iter(|| store.user_permissions(&user))
            });
        }
    }
}

fn benches(c: &mut Criterion) {
    let path =
        std::env::temp_dir().join(format!("kegauth-bench-{:x}.sqlite", rand::random::<u64>()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    bench_backend::<SqliteDb>(c, "sqlite", &url);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    if let Ok(pg) = std::env::var("KEGAUTH_TEST_POSTGRES_URL") {
        let schema = format!("kegauth_bench_{:x}", rand::random::<u32>());
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let admin = rt.block_on(sqlx::PgPool::connect(&pg)).expect("connect");
        rt.block_on(sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin))
            .expect("schema");
        let sep = if pg.contains('?') { '&' } else { '?' };
        let url = format!("{pg}{sep}options=-c%20search_path%3D{schema}");
        bench_backend::<PgDb>(c, "postgres", &url);
        let _ = rt.block_on(sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin));
    } else {
        eprintln!("notice: KEGAUTH_TEST_POSTGRES_URL is not set; PostgreSQL is not benchmarked");
    }
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(group);
