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
