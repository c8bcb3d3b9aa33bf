//! What the benches share: their databases and user entity.

use kegauth::prelude::*;
use rocket_db_pools::Database;

/// The SQLite database of a bench app.
#[derive(Database)]
#[database("main")]
pub struct SqliteDb(sqlx::SqlitePool);

/// The PostgreSQL database of a bench app.
#[derive(Database)]
#[database("main")]
pub struct PgDb(sqlx::PgPool);

/// keg-auth's `users` table, email login.
#[derive(AuthEntity)]
#[auth(user, table = "users", login = "email")]
pub struct User {
    pub id: i64,
    pub email: String,
    #[auth(core)]
    pub core: UserCore,
}

/// A bench app's settings: its database, no log, and a key for this run only
/// (release builds need one). Rocket's defaults, not the demo's `Rocket.toml`
/// (whose `[kegauth.mail]` needs a feature the benches leave out).
pub fn figment(url: &str) -> rocket::figment::Figment {
    rocket::figment::Figment::from(rocket::Config::default())
        .merge(("databases.main.url", url))
        .merge(("log_level", "off"))
        .merge(("secret_key", rand::random::<[u8; 32]>().to_vec()))
}
