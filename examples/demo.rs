//! The kegauth demo: a Rocket app with email-login users (plus a `name`
//! column) and three permissions, on an embedded SQLite file.
//!
//! ```sh
//! cargo run --example demo      # then open http://127.0.0.1:8000/
//! ```
//!
//! The database URL comes from `Rocket.toml` (`[default.databases.main]`);
//! point it at PostgreSQL or MySQL by changing the pool type below and the URL
//! (or set `ROCKET_DATABASES='{main={url="..."}}'`).

use kegauth::prelude::*;
use rocket::response::content::RawHtml;
use rocket::{get, routes, Build, Rocket, State};
use rocket_db_pools::Database;

/// The app's database, shared with kegauth.
#[derive(Database)]
#[database("main")]
pub struct Db(sqlx::SqlitePool);

/// The demo's users: keg-auth's `users` table, logging in by email, with a `name`.
#[derive(Debug, AuthEntity)]
#[auth(user, table = "users", login = "email")]
pub struct User {
    pub id: i64,
    pub email: String,
    #[auth(cli_arg)]
    pub name: Option<String>,
    #[auth(core)]
    pub core: UserCore,
}

kegauth::permissions! {
    AUTH_MANAGE = "auth-manage": "manage users, groups, bundles, and view permissions";
    PERMISSION1 = "permission1": "access view Foo";
    PERMISSION2 = "permission2": "access the Bar area";
}

/// The store the `AuthManager` manages for this app.
pub type DemoStore = StoreOf<Db, User>;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[get("/")]
async fn home(store: &State<DemoStore>) -> Result<RawHtml<String>, kegauth::Error> {
    let permissions = store.permissions().await?;
    let users = store.users().await?.len();
    let items: String = permissions
        .iter()
        .map(|p| {
            format!(
                "<li><code>{}</code> {}</li>",
                escape(p.token()),
                escape(p.description().unwrap_or_default())
            )
        })
        .collect();
    Ok(RawHtml(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>kegauth demo</title></head>\
         <body><h1>kegauth demo</h1><p>{users} user(s).</p>\
         <h2>Permissions</h2><ul id=\"permissions\">{items}</ul></body></html>"
    )))
}

/// The demo app, unlaunched (the tests build it with their own configuration).
pub fn rocket() -> Rocket<Build> {
    rocket::build()
        .attach(Db::init())
        .attach(
            AuthManager::<Db, User>::builder()
                .permissions(PERMISSIONS)
                .create_schema(true)
                .build(),
        )
        .mount("/", routes![home])
        .register("/", kegauth::catchers())
}

#[rocket::launch]
fn launch() -> _ {
    rocket()
}
