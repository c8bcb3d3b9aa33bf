//! A small app over the kegauth routes, the demo's user, permissions and
//! pages, on SQLite or PostgreSQL: for tests that must run on more than one backend.

use super::demo::{self, User};
use kegauth::session::Session;
use kegauth::{AuthDb, AuthManagerBuilder, Backend, OptionalUser, Store};
use rocket::figment::Figment;
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{get, routes, Build, Rocket};
use rocket_db_pools::Database;

#[get("/test-set-next?<to>")]
fn set_next(to: &str, session: Session<'_>) {
    session.set_next(to);
}

#[get("/whoami")]
fn whoami(user: OptionalUser<User>) -> String {
    match user.0 {
        Some(u) => format!("Logged in as {}", u.email),
        None => "Not logged in".into(),
    }
}

// The demo's protected pages as plain text (the demo's own render
// templates through rocket_dyn_templates, which this app does not attach).
/// Any logged-in user.
#[kegauth::requires_user]
#[get("/secret1")]
fn secret1(user: kegauth::AuthUser<User>) -> String {
    format!("secret1 for {}", user.email)
}

/// Users with auth-manage.
#[kegauth::requires_permissions(demo::AUTH_MANAGE)]
#[get("/manage")]
fn manage() -> &'static str {
    "manage"
}

/// Users with permission1 or permission2.
#[kegauth::requires_permissions(kegauth::has_any(demo::PERMISSION1, demo::PERMISSION2))]
#[get("/secret2")]
fn secret2() -> &'static str {
    "secret2"
}

/// Users with both permission1 and permission2, or with permission3.
#[kegauth::requires_permissions(kegauth::has_any(
    kegauth::has_all(demo::PERMISSION1, demo::PERMISSION2),
    demo::PERMISSION3
))]
#[get("/secret-nested")]
fn secret_nested() -> &'static str {
    "secret-nested"
}

#[get("/flashes")]
fn flashes(session: Session<'_>) -> String {
    session
        .take_flashes()
        .iter()
        .map(|f| format!("{}: {}", f.category, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Database)]
#[database("main")]
pub struct SqliteDb(sqlx::SqlitePool);

#[derive(Database)]
#[database("main")]
pub struct PgDb(sqlx::PgPool);

#[derive(Database)]
#[database("main")]
pub struct MySqlDb(sqlx::MySqlPool);

/// Run `work` to its end on a small runtime of its own, on a thread of its
/// own: `Drop` runs outside async.
fn run_apart(work: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(work);
        }
    })
    .join();
}

/// What to remove after a test.
pub enum Cleanup {
    File(std::path::PathBuf),
    Schema(String, String),
    /// A MySQL database (server URL, name).
    Database(String, String),
    /// A PostgreSQL database (server URL, name).
    PgDatabase(String, String),
    /// Nothing (another app of the test owns the database).
    Nothing,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database(url, name) => {
                let (url, name) = (url.clone(), name.clone());
                run_apart(async move {
                    if let Ok(pool) = sqlx::MySqlPool::connect(&url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE {name}"))
                            .execute(&pool)
                            .await;
                    }
                });
            }
            Cleanup::PgDatabase(url, name) => {
                let (url, name) = (url.clone(), name.clone());
                run_apart(async move {
                    if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                            .execute(&pool)
                            .await;
                    }
                });
            }
            Cleanup::Nothing => {}
            Cleanup::Schema(url, schema) => {
                let (url, schema) = (url.clone(), schema.clone());
                run_apart(async move {
                    if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                            .execute(&pool)
                            .await;
                    }
                });
            }
        }
    }
}

/// A backend the login tests run on.
pub trait TestBackend: 'static {
    type Db: Database + AuthDb;
    /// A database URL for one test, or None when the backend is not configured.
    async fn database() -> Option<(String, Cleanup)>;
}

pub struct OnSqlite;
pub struct OnPostgres;
pub struct OnMysql;

impl TestBackend for OnMysql {
    type Db = MySqlDb;
    async fn database() -> Option<(String, Cleanup)> {
        let url = super::backend_url(super::MYSQL_VAR)?;
        let name = format!("kt_web_{:x}", rand::random::<u64>());
        let admin = sqlx::MySqlPool::connect(&url)
            .await
            .expect("connect to MySQL");
        sqlx::query(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .execute(&admin)
            .await
            .expect("create database");
        // The same server, the new database: replace the URL's path.
        Some((
            with_database(&url, "mysql://", &name),
            Cleanup::Database(url, name),
        ))
    }
}

impl TestBackend for OnSqlite {
    type Db = SqliteDb;
    async fn database() -> Option<(String, Cleanup)> {
        let path =
            std::env::temp_dir().join(format!("kegauth-login-{:x}.sqlite", rand::random::<u64>()));
        Some((
            format!("sqlite://{}?mode=rwc", path.display()),
            Cleanup::File(path),
        ))
    }
}

impl OnPostgres {
    /// A database of its own (not a schema in the shared one): for tests
    /// whose instances talk to each other through the database (`NOTIFY`
    /// reaches every schema of a database) or count its connections.
    pub async fn fresh_database() -> Option<(String, Cleanup)> {
        let url = super::backend_url(super::POSTGRES_VAR)?;
        let name = format!("kt_db_{:x}", rand::random::<u64>());
        let admin = sqlx::PgPool::connect(&url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create database");
        Some((
            with_database(&url, "postgres://", &name),
            Cleanup::PgDatabase(url, name),
        ))
    }
}

/// `url` (of a server, `scheme` its start) with its database replaced by `name`.
fn with_database(url: &str, scheme: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let server = match base.rfind('/') {
        Some(i) if i > scheme.len() => &base[..i],
        _ => base,
    };
    format!("{server}/{name}{query}")
}

impl TestBackend for OnPostgres {
    type Db = PgDb;
    async fn database() -> Option<(String, Cleanup)> {
        let url = super::backend_url(super::POSTGRES_VAR)?;
        let schema = format!("kt_login_{:x}", rand::random::<u64>());
        let admin = sqlx::PgPool::connect(&url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("create schema");
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
        Some((scoped, Cleanup::Schema(url, schema)))
    }
}

pub fn rocket_for<D: Database + AuthDb>(
    url: &str,
    figment: Figment,
    configure: impl FnOnce(AuthManagerBuilder<D, User>) -> AuthManagerBuilder<D, User>,
) -> Rocket<Build> {
    rocket_around::<D>(rocket::build(), url, figment, configure)
}

/// The test app, built on `start` (which holds the fairings that must come
/// before kegauth's, like `kegauth::dyn_templates`).
pub fn rocket_around<D: Database + AuthDb>(
    start: Rocket<Build>,
    url: &str,
    figment: Figment,
    configure: impl FnOnce(AuthManagerBuilder<D, User>) -> AuthManagerBuilder<D, User>,
) -> Rocket<Build> {
    let figment = figment.merge(("databases.main.url", url));
    let manager = configure(
        kegauth::AuthManager::<D, User>::builder()
            .permissions(demo::PERMISSIONS)
            .create_schema(true),
    );
    start
        .configure(figment)
        .attach(D::init())
        .attach(manager.build())
        .mount("/", kegauth::routes())
        .mount("/", routes![set_next, whoami, flashes])
        .mount(
            kegauth::testing::TEST_ROUTES,
            kegauth::testing::test_routes(),
        )
        .mount("/", routes![secret1, secret2, secret_nested, manage])
        .register("/", kegauth::catchers())
}

pub struct App<DB: Backend> {
    pub client: Client,
    pub store: Store<DB, User>,
    pub url: String,
    _cleanup: Cleanup,
}

pub async fn app_configured<B: TestBackend>(
    figment: Figment,
    configure: impl FnOnce(AuthManagerBuilder<B::Db, User>) -> AuthManagerBuilder<B::Db, User>,
    extend: fn(Rocket<Build>) -> Rocket<Build>,
) -> Option<App<<B::Db as AuthDb>::Backend>> {
    let (url, cleanup) = B::database().await?;
    Some(app_at::<B::Db>(url, cleanup, figment, configure, extend).await)
}

/// An app on the database at `url` (`cleanup` removes it after the test).
pub async fn app_at<D: Database + AuthDb>(
    url: String,
    cleanup: Cleanup,
    figment: Figment,
    configure: impl FnOnce(AuthManagerBuilder<D, User>) -> AuthManagerBuilder<D, User>,
    extend: fn(Rocket<Build>) -> Rocket<Build>,
) -> App<D::Backend> {
    let rocket = extend(rocket_for::<D>(&url, figment, configure));
    app_of(rocket, url, cleanup).await
}

/// The test app `rocket` (on the database at `url`), launched.
pub async fn app_of<DB: Backend>(rocket: Rocket<Build>, url: String, cleanup: Cleanup) -> App<DB> {
    super::before_launch();
    let client = Client::tracked(rocket).await.expect("launch");
    let store = client
        .rocket()
        .state::<Store<DB, User>>()
        .expect("store")
        .clone();
    App {
        client,
        store,
        url,
        _cleanup: cleanup,
    }
}

/// An app with kegauth's mail manager, configured by `figment` (an SMTP
/// server's settings, say).
pub async fn mail_app_with<B: TestBackend>(
    figment: Figment,
) -> Option<App<<B::Db as AuthDb>::Backend>> {
    app_configured::<B>(
        figment,
        |b| b.mail(kegauth::mail::AuthMailManager::from_config()),
        |r| r,
    )
    .await
}

pub async fn app_with<B: TestBackend>(figment: Figment) -> Option<App<<B::Db as AuthDb>::Backend>> {
    app_configured::<B>(figment, |b| b, |r| r).await
}

pub async fn app<B: TestBackend>() -> Option<App<<B::Db as AuthDb>::Backend>> {
    app_with::<B>(rocket::Config::figment()).await
}

/// `mod <test> { sqlite, postgres }` for generic `async fn <test><B: TestBackend>()`.
#[macro_export]
macro_rules! on_sqlite_and_postgres {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[rocket::async_test]
            async fn sqlite() {
                super::$test::<$crate::common::web::OnSqlite>().await
            }
            #[rocket::async_test]
            async fn postgres() {
                super::$test::<$crate::common::web::OnPostgres>().await
            }
        }
    )*};
}

/// `mod <test> { sqlite, postgres, mysql }` for generic `async fn <test><B: TestBackend>()`.
#[macro_export]
macro_rules! on_three_backends {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[rocket::async_test]
            async fn sqlite() {
                super::$test::<$crate::common::web::OnSqlite>().await
            }
            #[rocket::async_test]
            async fn postgres() {
                super::$test::<$crate::common::web::OnPostgres>().await
            }
            #[rocket::async_test]
            async fn mysql() {
                super::$test::<$crate::common::web::OnMysql>().await
            }
        }
    )*};
}

/// The path of kegauth's test route that logs in the user holding `key`
/// (`kegauth::testing::test_routes`, mounted by every test app).
pub fn login_path(key: &str) -> String {
    format!("{}/login?key={key}", kegauth::testing::TEST_ROUTES)
}

/// The page as a browser reads it: HTML character references decoded
/// (MiniJinja escapes `/` as `&#x2f;` in attribute values, for example).
/// The page's text with HTML entities read back and the grids' cell labels
/// (`<td data-label="..">`, for the phone layout) left out, so that tests
/// read cells as `<td>..</td>`. Use `into_string` for the raw page.
pub async fn body(r: LocalResponse<'_>) -> String {
    let raw = without_cell_labels(&r.into_string().await.unwrap_or_default());
    raw.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `html` without the ` data-label="..."` attributes of its grid cells.
fn without_cell_labels(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(" data-label=\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " data-label=\"".len()..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

pub fn location(r: &LocalResponse<'_>) -> String {
    r.headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string()
}

/// A urlencoded form body.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The CSRF token in a page's form.
pub fn csrf_in(page: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).expect("a csrf_token field") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

impl<DB: Backend> App<DB> {
    /// A verified user, with a password if given.
    pub async fn user(&self, email: &str, password: Option<&str>) -> User {
        let factory = kegauth::testing::Factory::new(self.store.clone());
        let user = factory.user(email);
        match password {
            Some(p) => user.password(p),
            None => user,
        }
        .create()
        .await
        .expect("a user")
    }

    /// Log `user` in on the client, without the login form.
    pub async fn log_in_as(&self, user: &User) {
        let r = self
            .client
            .get(login_path(&user.core.session_key))
            .dispatch()
            .await;
        assert_eq!(r.status(), rocket::http::Status::Ok);
    }

    /// A verified user holding `tokens` directly, logged in on the client.
    pub async fn login_with(&self, email: &str, tokens: &[&str]) -> User {
        let u = kegauth::testing::Factory::new(self.store.clone())
            .user(email)
            .permissions(tokens)
            .create()
            .await
            .expect("a user");
        self.log_in_as(&u).await;
        u
    }

    /// A superuser, logged in on the client.
    pub async fn login_superuser(&self, email: &str) -> User {
        let u = kegauth::testing::Factory::new(self.store.clone())
            .user(email)
            .superuser()
            .create()
            .await
            .expect("a superuser");
        self.log_in_as(&u).await;
        u
    }

    /// A browser GET (`Accept: text/html`) of `path`.
    pub async fn browse(&self, path: &str) -> LocalResponse<'_> {
        self.browse_with(path, &[]).await
    }

    /// A browser GET of `path` with extra request headers.
    pub async fn browse_with(
        &self,
        path: &str,
        headers: &[(&'static str, &'static str)],
    ) -> LocalResponse<'_> {
        let mut request = self
            .client
            .get(path.to_string())
            .header(rocket::http::Accept::HTML);
        for (name, value) in headers {
            request = request.header(rocket::http::Header::new(*name, *value));
        }
        request.dispatch().await
    }

    /// The status of a browser GET.
    pub async fn status(&self, path: &str) -> rocket::http::Status {
        self.browse(path).await.status()
    }

    /// The status of an API GET.
    pub async fn api_status(&self, path: &str) -> rocket::http::Status {
        self.api_get(path).await.status()
    }

    /// The status of a GET sending this `X-Auth-Token`.
    pub async fn token_status(&self, path: &str, header: &str) -> rocket::http::Status {
        let r = self
            .client
            .get(path.to_string())
            .header(rocket::http::Header::new(
                "X-Auth-Token",
                header.to_string(),
            ))
            .dispatch()
            .await;
        r.status()
    }

    /// An API client's GET (`Accept: application/json`).
    pub async fn api_get(&self, path: &str) -> LocalResponse<'_> {
        self.client
            .get(path.to_string())
            .header(rocket::http::Accept::JSON)
            .dispatch()
            .await
    }

    /// The CSRF token of the login page's form.
    pub async fn csrf(&self) -> String {
        csrf_in(&body(self.client.get("/login").dispatch().await).await)
    }

    /// Log in through the login form.
    pub async fn login(&self, login_id: &str, password: &str) -> LocalResponse<'_> {
        self.login_from(login_id, password, None, &[]).await
    }

    /// Log in through the login form from `remote`, with extra headers.
    pub async fn login_from(
        &self,
        login_id: &str,
        password: &str,
        remote: Option<std::net::SocketAddr>,
        headers: &[(&'static str, &'static str)],
    ) -> LocalResponse<'_> {
        let csrf = self.csrf().await;
        self.post_form_from(
            "/login",
            &[
                ("login_id", login_id),
                ("password", password),
                ("csrf_token", &csrf),
            ],
            headers,
            remote,
        )
        .await
    }

    /// POST a urlencoded form to `path`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        self.post_form_with(path, fields, &[]).await
    }

    /// POST a urlencoded form to `path` with extra request headers.
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&'static str, &'static str)],
    ) -> LocalResponse<'_> {
        self.post_form_from(path, fields, headers, None).await
    }

    /// POST a urlencoded form to `path` with extra request headers, from
    /// `remote` (no peer address when `None`).
    pub async fn post_form_from(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&'static str, &'static str)],
        remote: Option<std::net::SocketAddr>,
    ) -> LocalResponse<'_> {
        let mut request = self
            .client
            .post(path.to_string())
            .header(rocket::http::ContentType::Form)
            .body(form_body(fields));
        for (name, value) in headers {
            request = request.header(rocket::http::Header::new(*name, *value));
        }
        if let Some(remote) = remote {
            request = request.remote(remote);
        }
        request.dispatch().await
    }

    /// POST the forgot-password form (with the session's CSRF token) from
    /// `remote`, with extra headers.
    pub async fn forgot_from(
        &self,
        email: &str,
        headers: &[(&'static str, &'static str)],
        remote: Option<std::net::SocketAddr>,
    ) -> LocalResponse<'_> {
        let page = body(self.client.get("/forgot-password").dispatch().await).await;
        let csrf = csrf_in(&page);
        self.post_form_from(
            "/forgot-password",
            &[("email", email), ("csrf_token", &csrf)],
            headers,
            remote,
        )
        .await
    }

    /// POST a reset or verify form at `path` (with the session's CSRF token).
    pub async fn set_password_at(
        &self,
        path: &str,
        password: &str,
        confirm: &str,
    ) -> LocalResponse<'_> {
        let csrf = self.csrf().await;
        self.post_form(
            path,
            &[
                ("password", password),
                ("confirm", confirm),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }

    /// POST a form at `path` with the session's CSRF token.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        let csrf = self.csrf().await;
        let mut all = fields.to_vec();
        all.push(("csrf_token", &csrf));
        self.post_form(path, &all).await
    }

    /// Wait until the app's auditor has written (and handed to its sinks)
    /// every event it was given.
    pub async fn flush_audit(&self) {
        self.client
            .rocket()
            .state::<kegauth::audit::Auditor>()
            .expect("the auditor")
            .flush()
            .await;
    }

    /// The audit events `filter` selects (newest first), once the app's
    /// auditor has written every event it was given.
    pub async fn audit_events(
        &self,
        filter: &kegauth::audit::AuditFilter,
    ) -> Vec<kegauth::audit::AuditRecord> {
        self.flush_audit().await;
        self.store.audit_events(filter).await.expect("audit events")
    }

    /// The flash messages waiting in the session ("category: message" lines).
    pub async fn flashes(&self) -> String {
        body(self.client.get("/flashes").dispatch().await).await
    }

    /// "Logged in as <email>" or "Not logged in".
    pub async fn who(&self) -> String {
        body(self.client.get("/whoami").dispatch().await).await
    }
}

/// The test app rendering through rocket_dyn_templates
/// (`kegauth::dyn_templates`, attached before the AuthManager), with
/// kegauth's mail manager, configured by `figment` and `configure`; `extend`
/// adds routes. The app's own engine callback adds a `shout` filter and a
/// `banner` template made from a string.
pub async fn shared_app_with<B: TestBackend>(
    figment: Figment,
    configure: impl FnOnce(AuthManagerBuilder<B::Db, User>) -> AuthManagerBuilder<B::Db, User>,
    extend: fn(Rocket<Build>) -> Rocket<Build>,
) -> Option<App<<B::Db as AuthDb>::Backend>> {
    let (url, cleanup) = B::database().await?;
    let start = rocket::build().attach(kegauth::dyn_templates::try_custom(|engines| {
        engines
            .minijinja
            .add_filter("shout", |s: String| s.to_uppercase());
        engines
            .minijinja
            .add_template_owned("banner", "<p class=\"banner\">{{ text }}</p>".to_string())?;
        Ok(())
    }));
    let rocket = rocket_around::<B::Db>(start, &url, figment, |b| {
        configure(b.mail(kegauth::mail::AuthMailManager::from_config()))
    });
    Some(app_of(extend(rocket), url, cleanup).await)
}

/// How many kegauth revocation listeners listen on the database at `url`.
async fn listeners(url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'kegauth-revocations' AND query LIKE 'LISTEN%'",
    )
    .fetch_one(&pool)
    .await
    .expect("pg_stat_activity");
    pool.close().await;
    n
}

/// Wait until `n` listeners listen on `url`'s database.
pub async fn until_listening(url: &str, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while listeners(url).await != n {
        assert!(
            std::time::Instant::now() < deadline,
            "{n} listeners are not listening"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
