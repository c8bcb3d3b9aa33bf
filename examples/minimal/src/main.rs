//! Password logins on SQLite with the smallest kegauth build. Then:
//! `cargo run -p kegauth-example-minimal -- auth create-user ann@example.com --no-mail`,
//! `... auth set-password ann@example.com`, and log in at http://localhost:8001/login.
use kegauth::prelude::*;
use rocket::figment::{providers::Env, Figment};
use rocket::{get, routes};
use rocket_db_pools::Database;

#[derive(Database)]
#[database("main")]
struct Db(sqlx::SqlitePool);

#[derive(AuthEntity)]
#[auth(user, table = "users", login = "email")]
struct User {
    id: i64,
    email: String,
    #[auth(core)]
    core: UserCore,
}

#[get("/")]
fn home(user: AuthUser<User>) -> String {
    format!("Hello, {}! (log out at /logout)", user.email)
}

fn app() -> rocket::Rocket<rocket::Build> {
    // Its own settings (not the demo's Rocket.toml); ROCKET_* variables override them.
    let figment = Figment::from(rocket::Config::default())
        .merge(("port", 8001))
        .merge((
            "databases.main.url",
            "sqlite://kegauth-minimal.sqlite?mode=rwc",
        ))
        .merge(Env::prefixed("ROCKET_").global());
    rocket::custom(figment)
        .attach(Db::init())
        .attach(
            AuthManager::<Db, User>::builder()
                .create_schema(true)
                .build(),
        )
        .mount("/", routes![home])
        .mount("/", kegauth::routes())
        .register("/", kegauth::catchers())
}

#[rocket::main]
async fn main() -> std::process::ExitCode {
    kegauth::cli::run_or_launch::<Db, User>(app).await
}
