//! The kegauth demo: a Rocket app with email-login users (plus a `name`
//! column) and three permissions, on an embedded SQLite file.
//!
//! Its pages are `rocket_dyn_templates` templates in `templates/`, which all
//! extend one layout (`templates/layout.html.j2`); kegauth's pages extend it
//! too (`base_template = "layout"` in `Rocket.toml`), rendered by the same
//! engine (`kegauth::dyn_templates`). In debug builds a change to a template
//! shows on the next request.
//!
//! ```sh
//! cargo run --example demo      # then open http://localhost:8000/
//! ```
//!
//! Mail (verification and forgot-password links) is written as `.eml` files to
//! `mail-outbox/` next to `Rocket.toml` (`[default.kegauth.mail]`); switch it
//! to `transport = "smtp"` to send real mail.
//!
//! The database URL comes from `Rocket.toml` (`[default.databases.main]`).
//! For PostgreSQL or MySQL, build with `--features demo-postgres` or
//! `--features demo-mysql` (the pool type below) and set the URL, e.g.
//! `ROCKET_DATABASES='{main={url="postgres://..."}}'`.

use kegauth::dyn_templates::{Layout, LayoutPage};
use kegauth::loaders::{api_token_header, ApiTokenOptions};
use kegauth::mail::AuthMailManager;
use kegauth::nav::{NavItem, NavUrl};
use kegauth::prelude::*;
use rocket::serde::json::{json, Value};
use rocket::{get, post, routes, Build, Rocket, State};
use rocket_db_pools::Database;
use rocket_dyn_templates::context;

/// The app's database, shared with kegauth.
#[derive(Database)]
#[database("main")]
#[cfg(not(any(feature = "demo-postgres", feature = "demo-mysql")))]
pub struct Db(sqlx::SqlitePool);

/// The app's database, shared with kegauth.
#[derive(Database)]
#[database("main")]
#[cfg(feature = "demo-postgres")]
pub struct Db(sqlx::PgPool);

/// The app's database, shared with kegauth.
#[derive(Database)]
#[database("main")]
#[cfg(all(feature = "demo-mysql", not(feature = "demo-postgres")))]
pub struct Db(sqlx::MySqlPool);

/// The demo's users: keg-auth's `users` table, logging in by email, with a `name`.
#[derive(Debug, Clone, AuthEntity)]
#[auth(user, table = "users", login = "email")]
pub struct User {
    pub id: i64,
    pub email: String,
    #[auth(cli_arg)]
    pub name: Option<String>,
    /// The SHA-256 of the user's API token (keg-auth's `UserTokenMixin.token`).
    #[auth(api_token)]
    pub token: Option<Vec<u8>>,
    #[auth(core)]
    pub core: UserCore,
}

kegauth::permissions! {
    AUTH_MANAGE = "auth-manage": "manage users, groups, bundles, and view permissions";
    PERMISSION1 = "permission1": "access view Foo";
    PERMISSION2 = "permission2": "access the Bar area";
    PERMISSION3 = "permission3": "access the Baz area";
    PROJECTS_VIEW = "projects-view": "see the projects";
    PROJECTS_EDIT = "projects-edit": "add, change and delete projects";
}

/// The demo's own table, with kegauth's grid and forms from the derive
/// (`/projects`; see README, "CRUD pages for your own tables").
#[derive(Debug, Clone, Default, kegauth::Crud)]
#[crud(
    table = "projects",
    path = "/projects",
    name = "Project",
    plural = "Projects",
    rules
)]
#[crud(require(
    list = "projects-view",
    add = "projects-edit",
    edit = "projects-edit",
    delete = "projects-edit"
))]
pub struct Project {
    pub id: i64,
    #[crud(list, sort, filter, label, form, required, max_len = 100)]
    pub name: String,
    #[crud(list, sort, form, select)]
    pub status: ProjectStatus,
    #[crud(list, sort, form, title = "Due date")]
    pub due: Option<chrono::NaiveDate>,
    #[crud(list, form)]
    pub active: bool,
}

/// The demo's checks and defaults for a project (`rules` above).
impl kegauth::crud::CrudRules for Project {
    /// A new project is active.
    fn blank() -> Self {
        Project {
            active: true,
            ..Default::default()
        }
    }

    fn validate(&self, errors: &mut kegauth::crud::FieldErrors) {
        if self.status == ProjectStatus::Done && self.due.is_none() {
            let message = "A project that is done has a due date.".to_string();
            errors.entry("due".into()).or_default().push(message);
        }
    }
}

/// A project's status: stored as text, chosen from a select.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProjectStatus {
    #[default]
    Planned,
    Running,
    Done,
}

impl ProjectStatus {
    const ALL: [(ProjectStatus, &'static str, &'static str); 3] = [
        (ProjectStatus::Planned, "planned", "Planned"),
        (ProjectStatus::Running, "running", "Running"),
        (ProjectStatus::Done, "done", "Done"),
    ];
}

impl kegauth::entity::FieldValue for ProjectStatus {
    const KIND: kegauth::entity::Kind = kegauth::entity::Kind::Text;
    fn to_value(&self) -> kegauth::entity::Value {
        let stored = Self::ALL
            .iter()
            .find(|(s, _, _)| s == self)
            .map_or("planned", |(_, v, _)| v);
        kegauth::entity::Value::Text(stored.into())
    }
    fn from_value(value: kegauth::entity::Value) -> Result<Self, kegauth::entity::ValueError> {
        match value {
            kegauth::entity::Value::Text(text) => Self::parse_input(&text),
            other => Err(kegauth::entity::ValueError(format!(
                "not a status: {other:?}"
            ))),
        }
    }
    fn parse_input(input: &str) -> Result<Self, kegauth::entity::ValueError> {
        Self::ALL
            .iter()
            .find(|(_, v, _)| *v == input)
            .map(|(s, _, _)| *s)
            .ok_or_else(|| kegauth::entity::ValueError(format!("`{input}` is not a status")))
    }
}

impl kegauth::crud::Choices for ProjectStatus {
    fn choices() -> Vec<(String, String)> {
        Self::ALL
            .iter()
            .map(|(_, v, l)| (v.to_string(), l.to_string()))
            .collect()
    }
}

/// The store the `AuthManager` manages for this app.
pub type DemoStore = StoreOf<Db, User>;

/// The demo's main menu: each link shows only to users who may open it
/// (read from the target route), and kegauth's own pages show it too.
pub fn main_menu() -> Vec<NavItem> {
    vec![
        NavItem::link("Home", NavUrl::new(rocket::uri!(home))),
        NavItem::group(
            "Secrets",
            [
                NavItem::link("Secret 1", NavUrl::new(rocket::uri!(secret1))),
                NavItem::link("Secret 2", NavUrl::new(rocket::uri!(secret2))),
                NavItem::link("Nested", NavUrl::new(rocket::uri!(secret_nested))),
            ],
        )
        .nav_group("secrets"),
        NavItem::group(
            "Admin",
            [
                NavItem::link("Users", NavUrl::new("/users")),
                NavItem::link("Groups", NavUrl::new("/groups")),
                NavItem::link("Bundles", NavUrl::new("/bundles")),
                NavItem::link("Permissions", NavUrl::new("/permissions")),
            ],
        )
        .nav_group("admin"),
        NavItem::link("Projects", NavUrl::new("/projects")),
        NavItem::link("Account", NavUrl::new("/account").requires_user()),
        NavItem::link(
            "Two-factor",
            NavUrl::new("/account/two-factor").requires_user(),
        ),
        NavItem::link("Log in", NavUrl::new("/login").requires_anonymous()),
        NavItem::link("Log out", NavUrl::new("/logout").requires_user()),
    ]
}

/// The home page (`templates/home.html.j2`): who is logged in, and the
/// permissions declared in code, as synced to the database.
#[get("/")]
async fn home(
    store: &State<DemoStore>,
    user: OptionalUser<User>,
    layout: Layout<'_>,
) -> kegauth::Result<LayoutPage> {
    let permissions: Vec<Value> = store
        .permissions()
        .await?
        .iter()
        .map(|p| json!({ "token": p.token(), "description": p.description() }))
        .collect();
    let user_count = store.users().await?.len();
    let email = user.0.as_ref().map(|u| u.email.as_str());
    layout.render(
        "home",
        "kegauth demo",
        context! { email, user_count, permissions },
    )
}

/// One of the demo's small pages (`templates/secret.html.j2`): `text` under
/// `title`.
fn secret_page(layout: &Layout<'_>, title: &str, text: &str) -> kegauth::Result<LayoutPage> {
    layout.render("secret", title, context! { text })
}

/// The same page as `/secret1` (a greeting formatted for a name),
/// unprotected: the load benchmark compares the two, so only the protection
/// may differ.
#[get("/public")]
pub fn public(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    secret_page(&layout, "Public", &format!("public for {ANONYMOUS}"))
}

/// Who `/public` greets.
const ANONYMOUS: &str = "anyone@example.com";

/// Any logged-in user.
#[requires_user]
#[get("/secret1")]
pub fn secret1(user: AuthUser<User>, layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    secret_page(&layout, "Secret 1", &format!("secret1 for {}", user.email))
}

/// Users with auth-manage.
#[requires_permissions(AUTH_MANAGE)]
#[get("/manage")]
pub fn manage(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    secret_page(&layout, "Manage", "manage")
}

/// Users with permission1 or permission2.
#[requires_permissions(has_any(PERMISSION1, PERMISSION2))]
#[get("/secret2")]
pub fn secret2(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    secret_page(&layout, "Secret 2", "secret2")
}

/// Users with both permission1 and permission2, or with permission3.
#[requires_permissions(has_any(has_all(PERMISSION1, PERMISSION2), PERMISSION3))]
#[get("/secret-nested")]
pub fn secret_nested(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    secret_page(&layout, "Nested", "secret-nested")
}

/// An access token (JWT) for the user logged in through the browser session,
/// to send as `Authorization: Bearer <token>`. A token cannot mint another
/// (`SessionUser`), so a stolen one dies when it expires.
#[requires_user]
#[post("/api/token")]
pub fn api_token(jwt: &JwtRequestLoader, user: SessionUser<User>) -> kegauth::Result<Value> {
    let token = jwt.create_access_token(&*user)?;
    let expires_in = jwt.lifetime().map_or(0, |t| t.num_seconds());
    Ok(json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in }))
}

/// A new API token for the session user, replacing the previous one; shown once.
#[requires_user]
#[post("/api/api-token")]
pub async fn api_api_token(
    store: &State<DemoStore>,
    user: SessionUser<User>,
) -> kegauth::Result<Value> {
    let mut user = User::clone(&user);
    let raw = store
        .reset_auth_token(&mut user, &ApiTokenOptions::default())
        .await?;
    Ok(json!({ "header": "X-Auth-Token", "value": api_token_header(&user.email, &raw) }))
}

/// Who the request is from: API clients only (a bearer JWT or an API token).
#[requires_user(request_loaders = [JwtRequestLoader, TokenRequestLoader])]
#[get("/api/me")]
pub fn api_me(user: AuthUser<User>) -> Value {
    json!({ "id": user.id, "email": user.email, "name": user.name })
}

/// permission1 or permission2, over the API.
#[requires_permissions(has_any(PERMISSION1, PERMISSION2), request_loaders = [JwtRequestLoader, TokenRequestLoader])]
#[get("/api/secret2")]
pub fn api_secret2() -> Value {
    json!({ "secret": "secret2" })
}

/// The demo's API routes (they need the JWT and token request loaders).
pub fn api_routes() -> Vec<rocket::Route> {
    routes![api_token, api_api_token, api_me, api_secret2]
}

/// The demo app, unlaunched (the tests build it with their own configuration).
pub fn rocket() -> Rocket<Build> {
    rocket_with_mail(AuthMailManager::from_config())
}

/// The demo app sending its mail through `mail` (its tests keep mail in
/// memory with `kegauth::testing::CapturedMail`).
pub fn rocket_with_mail(mail: AuthMailManager) -> Rocket<Build> {
    rocket::build()
        .attach(Db::init())
        // rocket_dyn_templates' Template fairing, with kegauth's pages in it
        // (before the AuthManager, which then renders with it).
        .attach(kegauth::dyn_templates::fairing())
        .attach(
            AuthManager::<Db, User>::builder()
                .permissions(PERMISSIONS)
                .mail(mail)
                .request_loader(JwtRequestLoader::default())
                .request_loader(TokenRequestLoader::default())
                .create_schema(true)
                // keg-auth's own tables have a token column only where the
                // user class had UserTokenMixin: the demo runs on them too.
                .optional_api_token_column(true)
                .menu("main", main_menu())
                .build(),
        )
        .mount(
            "/",
            routes![home, public, secret1, secret2, secret_nested, manage],
        )
        .mount("/", api_routes())
        .mount("/", kegauth::routes())
        .mount("/", Project::crud().routes())
        // The projects table, made at launch like kegauth's own (after the
        // AuthManager, which manages the store).
        .attach(rocket::fairing::AdHoc::try_on_ignite(
            "projects table",
            |rocket| async {
                let made = match rocket.state::<DemoStore>() {
                    Some(store) => store.create_record_table::<Project>().await,
                    None => Ok(()),
                };
                match made {
                    Ok(()) => Ok(rocket),
                    Err(e) => {
                        rocket::error!("the projects table: {e}");
                        Err(rocket)
                    }
                }
            },
        ))
        .register("/", kegauth::catchers())
}

/// The demo's secret key: `secret_key` from the configuration, else one kept
/// in `kegauth-demo.secret` next to `Rocket.toml` (made on first run), so that
/// sessions and mailed links survive a restart and the CLI signs links the
/// server accepts.
fn with_secret(app: Rocket<Build>) -> Rocket<Build> {
    // Rocket's defaults hold a zero key, so "configured" means "not zero".
    let configured = app
        .figment()
        .extract::<rocket::Config>()
        .is_ok_and(|config| !config.secret_key.is_zero());
    if configured {
        return app;
    }
    let path = std::path::Path::new("kegauth-demo.secret");
    let key = match std::fs::read_to_string(path) {
        Ok(key) => key.trim().to_string(),
        Err(_) => {
            use base64::Engine as _;
            let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
            if let Err(e) = write_private(path, &key) {
                eprintln!(
                    "demo: cannot keep the secret key in {}: {e}",
                    path.display()
                );
            }
            key
        }
    };
    let figment = app.figment().clone().merge(("secret_key", key));
    app.configure(figment)
}

/// Write a file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The demo's SQLite database in WAL mode (kept in the file): readers (a
/// protected page loading its user, with the session cache off) then never
/// wait for a writer (every login records its time), which in SQLite's
/// default rollback journal they do, for the length of each commit.
/// Measured with `benches/load.sh`, /secret1's p99 while 20 clients log in
/// fell from 4.04x to 2.61x its idle p99.
#[cfg(not(any(feature = "demo-postgres", feature = "demo-mysql")))]
fn sqlite_wal(app: Rocket<Build>) -> Rocket<Build> {
    app.attach(rocket::fairing::AdHoc::try_on_ignite(
        "SQLite WAL",
        |rocket| async move {
            let Some(db) = Db::fetch(&rocket) else {
                return Err(rocket);
            };
            // Another instance launching on the same file holds its write
            // lock for a moment (kegauth's launch lock): try again meanwhile.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                match sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&db.0)
                    .await
                {
                    Ok(_) => return Ok(rocket),
                    Err(e) if is_locked(&e) && std::time::Instant::now() < deadline => {
                        rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        eprintln!("demo: cannot put the SQLite database in WAL mode: {e}");
                        return Err(rocket);
                    }
                }
            }
        },
    ))
}

/// SQLITE_BUSY: the database file is locked by another connection.
#[cfg(not(any(feature = "demo-postgres", feature = "demo-mysql")))]
fn is_locked(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// PostgreSQL and MySQL: nothing to do.
#[cfg(any(feature = "demo-postgres", feature = "demo-mysql"))]
fn sqlite_wal(app: Rocket<Build>) -> Rocket<Build> {
    app
}

/// The demo's own commands in the `auth` group, beside kegauth's (keg-auth's
/// `auth_manager.cli_group`): `cargo run --example demo -- auth list-users`.
#[derive(clap::Subcommand)]
enum DemoCommands {
    /// List the users: login, enabled, superuser (tab-separated).
    ListUsers {
        /// Only this user (an error when there is none).
        #[arg(long)]
        login: Option<String>,
    },
}

impl kegauth::cli::AppCommands for DemoCommands {
    async fn run(self, cx: kegauth::cli::AppContext<'_>) -> Result<(), kegauth::cli::AppError> {
        let store = cx.store::<Db, User>()?;
        match self {
            DemoCommands::ListUsers { login } => {
                let users = match login {
                    Some(login) => match store.user_by_login(&login).await? {
                        Some(user) => vec![user],
                        None => return Err(format!("no user with the login {login}").into()),
                    },
                    None => store.users().await?,
                };
                for u in users {
                    println!(
                        "{}\t{}\t{}",
                        u.email, u.core.is_enabled, u.core.is_superuser
                    );
                }
            }
        }
        Ok(())
    }
}

/// `cargo run --example demo` serves the demo; `cargo run --example demo --
/// auth ...` runs kegauth's commands and the demo's (`auth --help` lists them).
#[rocket::main]
async fn main() -> std::process::ExitCode {
    kegauth::cli::run_or_launch_with::<Db, User, DemoCommands>(|| sqlite_wal(with_secret(rocket())))
        .await
}
