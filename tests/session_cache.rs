//! Statements per protected request, with and without the session cache
//! (`session_cache_secs`), and what the cache must not hide: the store's own
//! writes (logout, rights changes, disabling) take effect on the next request;
//! writes from another instance take effect when the entries expire.
//!
//! One test function: the statement counter is per process, so nothing may
//! run beside it.

use crate::common;

use crate::common::web::{app_configured, App, OnSqlite};
use kegauth::backend::statements_sent;
use rocket::http::Status;

type SqliteApp = App<sqlx::Sqlite>;

async fn app(cache_secs: u32) -> SqliteApp {
    let figment = rocket::Config::figment().merge(("kegauth.session_cache_secs", cache_secs));
    app_configured::<OnSqlite>(figment, |b| b, |r| r)
        .await
        .expect("SQLite always runs")
}

/// The status of a browser GET and the statements it sent.
async fn counted(app: &SqliteApp, path: &str) -> (Status, u64) {
    // The audit writer's statements (events of the set-up, such as the
    // sessions a rights change rotated) are not the request's.
    app.flush_audit().await;
    let before = statements_sent();
    let status = app.status(path).await;
    (status, statements_sent() - before)
}

#[rocket::async_test]
async fn statements_per_request_and_cache_invalidation() {
    // By default (one second): a repeat request within the second sends
    // nothing. Timed, so a pair that took longer (a stalled machine) is
    // tried again rather than asserted on.
    let default = app_configured::<OnSqlite>(rocket::Config::figment(), |b| b, |r| r)
        .await
        .expect("SQLite always runs");
    let ann = default.login_with("ann@example.com", &[]).await;
    let mut repeat = None;
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let start = std::time::Instant::now();
        // The user, and the session's row (at most once per cache period).
        assert_eq!(counted(&default, "/secret1").await, (Status::Ok, 2));
        let second = counted(&default, "/secret1").await;
        if start.elapsed() < std::time::Duration::from_millis(900) {
            repeat = Some(second);
            break;
        }
    }
    assert_eq!(
        repeat,
        Some((Status::Ok, 0)),
        "the default keeps the user for a second"
    );
    drop((default, ann));

    // Without the cache: one statement for the user, one for the session's
    // row, one more for permissions.
    let plain = app(0).await;
    let ann = plain.login_with("ann@example.com", &["permission1"]).await;
    assert_eq!(counted(&plain, "/secret1").await, (Status::Ok, 2));
    assert_eq!(counted(&plain, "/secret2").await, (Status::Ok, 3));
    assert_eq!(counted(&plain, "/secret2").await, (Status::Ok, 3));
    drop((plain, ann));

    // With it: the first request loads (the session's row and the
    // permissions; the test login route loaded the user), the next ones
    // send nothing.
    let cached = app(60).await;
    let mut ann = cached.login_with("ann@example.com", &["permission1"]).await;
    assert_eq!(counted(&cached, "/secret2").await, (Status::Ok, 2));
    assert_eq!(counted(&cached, "/secret1").await, (Status::Ok, 0));
    assert_eq!(counted(&cached, "/secret2").await, (Status::Ok, 0));

    // A write to another user's row (a login's last_login_utc, say) leaves
    // this session's entry alone; a write to this user's row drops it.
    let mut cal = cached.user("cal@example.com", None).await;
    cal.core.last_login_utc = Some(chrono::Utc::now().naive_utc());
    cached.store.update_user(&mut cal).await.unwrap();
    assert_eq!(counted(&cached, "/secret2").await, (Status::Ok, 0));
    ann = cached.store.user(ann.id).await.unwrap().unwrap();
    ann.core.last_login_utc = Some(chrono::Utc::now().naive_utc());
    cached.store.update_user(&mut ann).await.unwrap();
    assert_eq!(counted(&cached, "/secret2").await, (Status::Ok, 3));
    assert_eq!(counted(&cached, "/secret2").await, (Status::Ok, 0));

    // A rights change through the store clears it: the key rotated, so the
    // session is gone on the very next request.
    cached
        .store
        .set_links(kegauth::Link::UserPermissions, ann.id, &[])
        .await
        .unwrap();
    assert_eq!(cached.status("/secret2").await, Status::Found);
    // Log in again; disabling through the store is seen at once too.
    ann = cached.store.user(ann.id).await.unwrap().unwrap();
    cached.log_in_as(&ann).await;
    assert_eq!(counted(&cached, "/secret1").await.0, Status::Ok);
    assert_eq!(counted(&cached, "/secret1").await, (Status::Ok, 0));
    cached.store.set_enabled(&mut ann, false).await.unwrap();
    assert_eq!(cached.status("/secret1").await, Status::Found);

    // Logout (through the view) revokes a copied cookie at once.
    cached.store.set_enabled(&mut ann, true).await.unwrap();
    cached.log_in_as(&ann).await;
    assert_eq!(cached.status("/secret1").await, Status::Ok);
    let cookie = cached
        .client
        .cookies()
        .get_private("__Host-kegauth")
        .expect("the session cookie");
    let csrf = cached.csrf().await;
    let status = cached
        .post_form("/logout", &[("csrf_token", &csrf)])
        .await
        .status();
    assert_eq!(status, Status::SeeOther);
    let replay = cached
        .client
        .get("/secret1")
        .header(rocket::http::Accept::HTML)
        .private_cookie(cookie)
        .dispatch()
        .await;
    assert_eq!(replay.status(), Status::Found, "the copied cookie is dead");
    drop(replay);
    drop(cached);

    // An API token costs no statement while the cache holds its user, and
    // what ends it (a new token, disabling) is seen on the next request.
    api_tokens_ride_the_session_cache().await;

    // Another instance's writes are not seen until the entry expires (1 s here).
    let first = app(1).await;
    let mut bob = first.login_with("bob@example.com", &[]).await;
    assert_eq!(first.status("/secret1").await, Status::Ok);
    let pool = sqlx::SqlitePool::connect(&first.url).await.unwrap();
    let other: kegauth::Store<sqlx::Sqlite, common::User> = kegauth::Store::new(pool);
    other.rotate_session_key(&mut bob).await.unwrap();
    assert_eq!(
        first.status("/secret1").await,
        Status::Ok,
        "stale for up to session_cache_secs"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(first.status("/secret1").await, Status::Found);
}

/// The status of `/api/me` with this `X-Auth-Token`, and the statements it sent.
async fn counted_token(app: &SqliteApp, header: &str) -> (Status, u64) {
    app.flush_audit().await;
    let before = statements_sent();
    let status = app.token_status("/api/me", header).await;
    (status, statements_sent() - before)
}

async fn api_tokens_ride_the_session_cache() {
    use kegauth::loaders::{
        api_token_header, ApiTokenOptions, JwtRequestLoader, TokenRequestLoader,
    };
    let figment = rocket::Config::figment().merge(("kegauth.session_cache_secs", 60));
    let app = app_configured::<OnSqlite>(
        figment,
        |b| {
            b.request_loader(JwtRequestLoader::default())
                .request_loader(TokenRequestLoader::default())
        },
        |r| r.mount("/", rocket::routes![common::demo::api_me]),
    )
    .await
    .expect("SQLite always runs");
    let mut ann = app.user("ann@example.com", None).await;
    let options = ApiTokenOptions::default();
    let raw = app
        .store
        .reset_auth_token(&mut ann, &options)
        .await
        .unwrap();
    let header = api_token_header(&ann.email, &raw);
    // The first use looks the user up; the next ones send nothing.
    assert_eq!(counted_token(&app, &header).await.0, Status::Ok);
    assert_eq!(counted_token(&app, &header).await, (Status::Ok, 0));
    assert_eq!(counted_token(&app, &header).await, (Status::Ok, 0));
    // A wrong token is never served from the cache.
    let wrong = api_token_header(&ann.email, &"x".repeat(32));
    assert_eq!(counted_token(&app, &wrong).await.0, Status::Unauthorized);

    // A new token: the old one is refused on the very next request.
    let again = app
        .store
        .reset_auth_token(&mut ann, &options)
        .await
        .unwrap();
    assert_eq!(counted_token(&app, &header).await.0, Status::Unauthorized);
    let header = api_token_header(&ann.email, &again);
    assert_eq!(counted_token(&app, &header).await.0, Status::Ok);
    assert_eq!(counted_token(&app, &header).await, (Status::Ok, 0));

    // Disabled: refused at once; enabled again: served again.
    app.store.set_enabled(&mut ann, false).await.unwrap();
    assert_eq!(counted_token(&app, &header).await.0, Status::Unauthorized);
    app.store.set_enabled(&mut ann, true).await.unwrap();
    assert_eq!(counted_token(&app, &header).await.0, Status::Ok);

    // Cleared: refused at once.
    app.store.clear_auth_token(&mut ann).await.unwrap();
    assert_eq!(counted_token(&app, &header).await.0, Status::Unauthorized);
}
