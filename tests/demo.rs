//! The demo app launches on SQLite with no other setup and serves its home page.

mod common;

use common::{demo, demo_rocket, TempDb};

use rocket::http::Status;
use rocket::local::asynchronous::Client;

#[rocket::async_test]
async fn demo_serves_the_home_page_with_synced_permissions() {
    let db = TempDb::new();
    let client = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect("the demo launches");
    let response = client.get("/").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.content_type(),
        Some(rocket::http::ContentType::HTML)
    );
    let body = response.into_string().await.expect("a body");
    for token in ["auth-manage", "permission1", "permission2", "permission3"] {
        assert!(
            body.contains(&format!("<code>{token}</code>")),
            "{token} in {body}"
        );
    }
    assert!(body.contains("0 user(s)"));
    drop(client);

    // A second launch on the same database is fine (schema and sync are idempotent).
    let client = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect("the demo relaunches");
    assert_eq!(client.get("/").dispatch().await.status(), Status::Ok);
    drop(client);
}

#[rocket::async_test]
async fn launch_fails_clearly_without_the_database_fairing() {
    use kegauth::AuthManager;
    let rocket = rocket::build().attach(
        AuthManager::<demo::Db, demo::User>::builder()
            .permissions(demo::PERMISSIONS)
            .build(),
    );
    let err = Client::tracked(rocket).await.expect_err("ignite must fail");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
}

async fn ignite_with(figment: rocket::figment::Figment) -> Result<Client, rocket::Error> {
    let db = TempDb::new();
    Client::tracked(demo_rocket(&db, figment)).await
}

fn failed_in_kegauth(err: &rocket::Error) -> bool {
    matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth"))
}

#[rocket::async_test]
async fn kegauth_settings_come_from_rocket_toml() {
    let client = ignite_with(
        rocket::Config::figment()
            .merge(("kegauth.attempt_limit", 7))
            .merge(("kegauth.http_methods_excluded", ["OPTIONS"])),
    )
    .await
    .expect("valid settings launch");
    let config = client
        .rocket()
        .state::<kegauth::config::Config>()
        .expect("the config is managed");
    assert_eq!(config.attempt_limit, 7);
    assert_eq!(config.http_methods_excluded, ["OPTIONS"]);
    assert!(config.logout_clear_session, "defaults fill the rest");
}

#[rocket::async_test]
async fn bad_kegauth_settings_stop_the_launch() {
    for (key, value) in [
        (
            "kegauth.atempt_limit",
            rocket::figment::value::Value::from(3),
        ),
        (
            "kegauth.redirect_login_target",
            "https://evil.com/sso".into(),
        ),
        ("kegauth.http_methods_excluded", vec!["FETCH"].into()),
        ("kegauth.preferred_url_scheme", "ftp".into()),
        ("kegauth.attempt_limit", "many".into()),
    ] {
        let err = ignite_with(rocket::Config::figment().merge((key, value)))
            .await
            .err()
            .unwrap_or_else(|| panic!("{key} must stop the launch"));
        assert!(failed_in_kegauth(&err), "{key}: {err:?}");
    }
}
