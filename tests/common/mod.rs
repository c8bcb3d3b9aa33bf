//! Shared test harness: a fresh database per test on each backend.
//!
//! SQLite always runs (a temporary file). PostgreSQL and MySQL run when
//! `KEGAUTH_TEST_POSTGRES_URL` / `KEGAUTH_TEST_MYSQL_URL` are set; each test gets its
//! own schema (PostgreSQL) or database (MySQL), dropped afterwards. Without the
//! variable the test passes with a notice on stderr, except under `CI=true`,
//! where a missing backend fails the test.
#![allow(dead_code)]

use kegauth::prelude::*;
use kegauth::Backend;
use rand::Rng;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, MySql, Pool, Postgres, Sqlite};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

/// bcrypt hash of `LEGACY_PASSWORD`, made by passlib 1.7.4 (keg-auth's hasher).
pub const LEGACY_BCRYPT: &str = "$2b$12$OEfONKNWVEbrkhW1kt17SuPerGrk7vJO49S66DbSRqfgIwczpc8F2";
/// passlib pbkdf2-sha256 hash of `LEGACY_PASSWORD`.
pub const LEGACY_PBKDF2: &str =
    "$pbkdf2-sha256$29000$sNb6v1dqjVFKKaVUSqmVsg$/GpE5BABlWn.BlPfSyowSiP3lojT20HcHlxWl2/jeCs";
/// The password of the legacy hashes.
pub const LEGACY_PASSWORD: &str = "correct horse battery staple";

/// The demo app (its `User` is the test app's user: keg-auth's `users` table,
/// email login, plus `name`).
#[path = "../../examples/demo.rs"]
pub mod demo;
pub mod demo_process;
pub use demo::User;

pub mod keg_auth;
pub mod ldap;
pub mod logs;
pub mod oauth2;
pub mod oidc;
pub mod process;
pub mod smtp;

/// keg-auth's `users` table (its test app's `User`: email login plus `name`).
/// The demo's user adds an API token column; keg-auth keeps that in
/// `users_with_token` (see `TokenUser` in tests/keg_auth_schema.rs).
#[derive(Debug, AuthEntity)]
#[auth(user, table = "users", login = "email")]
pub struct KegUser {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    #[auth(core)]
    pub core: UserCore,
}

/// keg-auth's `users_with_token` table (its test app's `UserTokenMixin`
/// user): a hashed API token column.
#[derive(Debug, Clone, AuthEntity)]
#[auth(user, table = "users_with_token", login = "email")]
pub struct KegTokenUser {
    pub id: i64,
    pub email: String,
    #[auth(api_token)]
    pub token: Option<Vec<u8>>,
    #[auth(core)]
    pub core: UserCore,
}

/// Turn TOTP on for `user_id` with the code of the current step (by the
/// system clock): the secret and that step (the next code to use is the
/// next step's).
pub async fn turn_on_totp<DB: Backend, E: kegauth::EntitySet>(
    store: &Store<DB, E>,
    user_id: i64,
) -> (kegauth::two_factor::TotpSecret, i64) {
    let secret = store.begin_totp(user_id).await.expect("begin");
    let step = chrono::Utc::now().timestamp() / kegauth::two_factor::TOTP_STEP_SECS;
    store
        .confirm_totp(user_id, &secret.code_at(step))
        .await
        .expect("confirm")
        .expect("the right code");
    (secret, step)
}

#[macro_use]
pub mod web;

impl User {
    /// An unsaved user with a fresh core.
    pub fn new(email: &str) -> Self {
        User {
            id: 0,
            email: email.to_string(),
            name: None,
            token: None,
            core: UserCore::new(),
        }
    }
}

/// For a browser's request to a protected page: assert the 302 to the login
/// page and return its `next`, decoded.
pub async fn login_redirect_next(
    client: &rocket::local::asynchronous::Client,
    path: &str,
) -> String {
    let r = client
        .get(path)
        .header(rocket::http::Accept::HTML)
        .dispatch()
        .await;
    assert_eq!(r.status(), rocket::http::Status::Found, "{path}");
    let location = r
        .headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string();
    let next = location
        .strip_prefix("/login?next=")
        .unwrap_or_else(|| panic!("{path}: to the login page, not {location}"));
    percent_encoding::percent_decode_str(next)
        .decode_utf8()
        .map(|n| n.into_owned())
        .unwrap_or_else(|e| panic!("{path}: next is not UTF-8: {e}"))
}

/// A temporary SQLite database file, removed (with its WAL files) when dropped.
pub struct TempDb(pub PathBuf);

impl TempDb {
    pub fn new() -> Self {
        TempDb(std::env::temp_dir().join(format!("{}.sqlite", unique_name())))
    }

    /// The URL for `databases.main.url`.
    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.display())
    }

    /// Where the demo's file mail transport writes during this test.
    pub fn mail_dir(&self) -> PathBuf {
        self.0.with_extension("mail")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
        let _ = std::fs::remove_dir_all(self.mail_dir());
    }
}

/// The workspace's folder (this package is its `tests/`): where `Rocket.toml`,
/// `templates/` and the demo are.
pub fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// Before a test app launches: in the binary that reads the log
/// (`logged.rs`), the log capture becomes the logger first.
pub fn before_launch() {
    if crate::CAPTURE_LOGS {
        logs::install();
    }
}

/// The demo binary `cargo test` built next to the running test.
pub fn demo_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let bin = debug.join("examples").join("demo");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --example demo` (plain `cargo test` builds it)",
        bin.display()
    );
    bin
}

/// The demo binary as a command on `db`, its mail written to `db`'s outbox,
/// with `secret` as Rocket's secret key and more `[kegauth]` settings in
/// Rocket's env syntax (`key=value, ...`).
pub fn demo_command(db: &TempDb, secret: &str, settings: &str) -> std::process::Command {
    let kegauth = format!(
        "{{mail={{dir=\"{}\"}},{settings}}}",
        db.mail_dir().display()
    );
    let mut command = std::process::Command::new(demo_bin());
    command
        .current_dir(root())
        .env(
            "ROCKET_DATABASES",
            format!("{{main={{url=\"{}\"}}}}", db.url()),
        )
        .env("ROCKET_KEGAUTH", kegauth)
        .env("ROCKET_SECRET_KEY", secret)
        // The CLI speaks the terminal's language: English unless a test says otherwise.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C");
    command
}

/// Run `demo auth <args>` (see [`demo_command`]) with `stdin` piped in.
pub fn demo_auth(
    db: &TempDb,
    secret: &str,
    settings: &str,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    run_auth(demo_command(db, secret, settings), args, stdin)
}

/// Run `command auth <args>` with `stdin` piped in.
pub fn run_auth(
    mut command: std::process::Command,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = command
        .arg("auth")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the demo binary (built by cargo test)");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("the demo exits")
}

/// A random secret key for Rocket, base64.
pub fn random_secret() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

/// The demo app, built by `build` on a fresh SQLite file, launched on a tracked client.
pub struct DemoApp {
    pub client: rocket::local::asynchronous::Client,
    pub store: demo::DemoStore,
    pub db: TempDb,
}

/// The demo on `db` with `figment`'s settings (what the launch tests start from).
pub fn demo_rocket(
    db: &TempDb,
    figment: rocket::figment::Figment,
) -> rocket::Rocket<rocket::Build> {
    demo::rocket().configure(
        figment
            .merge(("databases.main.url", db.url()))
            .merge(("kegauth.mail.dir", db.mail_dir())),
    )
}

impl DemoApp {
    /// Launch the demo with `figment`'s settings, changed by `extend` (extra routes, fairings).
    pub async fn launch(
        figment: rocket::figment::Figment,
        extend: impl FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
    ) -> Self {
        let db = TempDb::new();
        before_launch();
        let client =
            rocket::local::asynchronous::Client::tracked(extend(demo_rocket(&db, figment)))
                .await
                .expect("the demo launches");
        let store = client
            .rocket()
            .state::<demo::DemoStore>()
            .expect("the store is managed")
            .clone();
        DemoApp { client, store, db }
    }
}

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What a test gets: a store on a fresh database, and a way to open more
/// pools on the same database (a second app instance).
pub struct Ctx<DB: Backend> {
    pub store: Store<DB, User>,
    connect: Connect<DB>,
}

impl<DB: Backend> Ctx<DB> {
    /// Another pool on the same database.
    pub async fn new_pool(&self) -> Pool<DB> {
        (self.connect)().await
    }
}

fn unique_name() -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("kt_{n:016x}")
}

/// The variable naming the PostgreSQL test server.
pub const POSTGRES_VAR: &str = "KEGAUTH_TEST_POSTGRES_URL";
/// The variable naming the MySQL/MariaDB test server.
pub const MYSQL_VAR: &str = "KEGAUTH_TEST_MYSQL_URL";

/// The backend's URL, or None (with a notice) when it is not configured.
/// Under `CI=true` a missing backend is a failure.
pub fn backend_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {var} is not set: the backend tests must run in CI");
            }
            // Written straight to stderr so the notice shows past the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "notice: {var} is not set; skipping this backend (see README)"
            );
            None
        }
    }
}

/// Run `test` after the future finishes or panics, then clean up, then re-raise.
async fn run_and_clean<T, C>(test: T, cleanup: C)
where
    T: Future<Output = ()> + Send + 'static,
    C: Future<Output = ()>,
{
    let outcome = tokio::spawn(test).await;
    cleanup.await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

/// Make a store on `connect`'s pool with the schema created, run the test, clean up.
async fn run_on<DB, F, Fut, C>(connect: Connect<DB>, test: F, cleanup: C)
where
    DB: Backend,
    F: FnOnce(Ctx<DB>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
    C: Future<Output = ()>,
{
    let pool = connect().await;
    let store = Store::new(pool.clone());
    store.create_schema().await.expect("create schema");
    let fut = test(Ctx { store, connect });
    run_and_clean(fut, async {
        pool.close().await;
        cleanup.await;
    })
    .await;
}

type Options<DB> = <<DB as sqlx::Database>::Connection as sqlx::Connection>::Options;
type Connect<DB> = Arc<dyn Fn() -> BoxFut<Pool<DB>> + Send + Sync>;

fn connector<DB: Backend>(opts: Options<DB>) -> Connect<DB> {
    Arc::new(move || {
        let opts = opts.clone();
        Box::pin(async move {
            sqlx::pool::PoolOptions::<DB>::new()
                .max_connections(4)
                .connect_with(opts)
                .await
                .expect("connect to the test database")
        }) as BoxFut<Pool<DB>>
    })
}

async fn admin_execute<DB: Backend>(admin: &Pool<DB>, sql: &str) -> Result<u64, sqlx::Error> {
    let mut conn = admin.acquire().await?;
    DB::execute(&mut conn, sql, Vec::new()).await
}

/// A database server: where to find it and how to make a namespace per test.
struct Server<DB: Backend> {
    var: &'static str,
    create: fn(&str) -> String,
    drop: fn(&str) -> String,
    scoped: fn(Options<DB>, &str) -> Options<DB>,
}

async fn with_server<DB, F, Fut>(server: Server<DB>, test: F)
where
    DB: Backend,
    F: FnOnce(Ctx<DB>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = backend_url(server.var) else {
        return;
    };
    let base = Options::<DB>::from_str(&url)
        .unwrap_or_else(|e| panic!("{} is not a valid URL: {e}", server.var))
        .disable_statement_logging();
    let admin = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .connect_with(base.clone())
        .await
        .expect("connect to the database server");
    let name = unique_name();
    admin_execute(&admin, &(server.create)(&name))
        .await
        .expect("create the test namespace");
    let connect = connector::<DB>((server.scoped)(base, &name));
    run_on(connect, test, async {
        let _ = admin_execute(&admin, &(server.drop)(&name)).await;
    })
    .await;
}

pub async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Ctx<Sqlite>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TempDb::new();
    let opts = SqliteConnectOptions::new()
        .filename(&db.0)
        .create_if_missing(true)
        .disable_statement_logging();
    run_on(connector::<Sqlite>(opts), test, async move {
        drop(db);
    })
    .await;
}

pub async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Ctx<Postgres>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = Server::<Postgres> {
        var: POSTGRES_VAR,
        create: |n| format!("CREATE SCHEMA {n}"),
        drop: |n| format!("DROP SCHEMA {n} CASCADE"),
        scoped: |opts, n| opts.options([("search_path", n)]),
    };
    with_server(server, test).await;
}

pub async fn with_mysql<F, Fut>(test: F)
where
    F: FnOnce(Ctx<MySql>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = Server::<MySql> {
        var: MYSQL_VAR,
        create: |n| format!("CREATE DATABASE {n} CHARACTER SET utf8mb4"),
        drop: |n| format!("DROP DATABASE {n}"),
        scoped: |opts, n| opts.database(n),
    };
    with_server(server, test).await;
}

/// Generate `mod <test> { sqlite, postgres, mysql }` test functions for generic
/// `async fn <test><DB: Backend>(ctx: Ctx<DB>)` functions.
#[macro_export]
macro_rules! on_all_backends {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::with_sqlite(super::$test::<sqlx::Sqlite>).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::with_postgres(super::$test::<sqlx::Postgres>).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                $crate::common::with_mysql(super::$test::<sqlx::MySql>).await
            }
        }
    )*};
}

/// Every value of a bytes `column` of `table` in `ctx`'s database, read
/// straight from the table (what is stored, not what the store shows).
pub async fn table_bytes<DB: Backend>(ctx: &Ctx<DB>, table: &str, column: &str) -> Vec<Vec<u8>> {
    use kegauth::backend::OutCol;
    use kegauth::entity::{Kind, Value};
    let pool = ctx.new_pool().await;
    let mut conn = pool.acquire().await.expect("a connection");
    let sql = format!("SELECT {column} FROM {table}");
    let rows = DB::fetch(&mut conn, &sql, Vec::new(), &[OutCol { kind: Kind::Bytes }])
        .await
        .expect("read the table");
    drop(conn);
    pool.close().await;
    rows.into_iter()
        .filter_map(|mut r| match r.pop() {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        })
        .collect()
}
