//! Request loaders through the demo's API routes, on SQLite and PostgreSQL:
//! JWT bearer tokens (issued, expired, tampered, `alg: none`, HS256 when only
//! HS512 is allowed, another key, wrong issuer or audience, a string `exp`, a
//! mail token, a disabled user, a rotated session key) and API tokens (stored
//! hashed, rotated, revoked, malformed headers, keg-auth's passlib hashes).
//! API failures are 401s with a challenge, never a login redirect.
//! SECURITY-CHECKLIST rows 25-28, 31, 32.

use crate::common;

use crate::common::demo::{self, User};
use crate::common::web::{app_configured, body, App, TestBackend};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use kegauth::clock::ManualClock;
use kegauth::loaders::{
    api_token_header, loader_id, registered_loader, ApiTokenOptions, JwtRequestLoader,
    TokenRequestLoader,
};
use kegauth::Backend;
use rocket::figment::Figment;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::LocalResponse;
use serde_json::json;
use std::sync::Arc;

on_sqlite_and_postgres!(
    no_credentials_get_a_401_with_a_challenge,
    an_issued_jwt_loads_its_user,
    forged_and_stale_jwts_are_refused,
    a_jwt_dies_with_its_session_key_or_its_user,
    the_algorithm_allow_list_is_configurable,
    api_tokens_are_stored_hashed_and_rotate,
    malformed_api_token_headers_are_refused,
    keg_auth_token_hashes_verify_and_are_upgraded,
    loaders_feed_permission_checks_and_guards,
    a_route_accepts_only_its_loaders,
    a_bearer_token_cannot_mint_tokens,
);

/// The JWT key the tests configure, so they can forge tokens with it.
const JWT_KEY: &[u8] = b"a 32-byte jwt key for the tests: 0123456789";

/// An API token as keg-auth generates them, and passlib's pbkdf2-sha256 hash
/// of it (29000 rounds, as keg-auth stores it; made with Python's hashlib and
/// checked against passlib's format with `common::LEGACY_PBKDF2`'s salt).
const LEGACY_TOKEN: &str = "keg7auth7token7from7passlib7xyz";
const LEGACY_TOKEN_HASH: &str =
    "$pbkdf2-sha256$29000$sNb6v1dqjVFKKaVUSqmVsg$zOJJU4IfAiPJ6u/.QHR3ENbmSIFegM/xUcAGlpX9PpA";

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 5, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
}

/// Bearer tokens only; the user through a second guard that must agree.
#[kegauth::requires_user(request_loaders = [JwtRequestLoader])]
#[rocket::get("/jwt-only")]
fn jwt_only(user: kegauth::OptionalUser<User>) -> String {
    user.0.map(|u| u.email.clone()).unwrap_or_default()
}

/// Bearer tokens only, for a route set.
#[rocket::get("/jwt-only-set")]
fn jwt_only_set(user: kegauth::AuthUser<User>) -> String {
    user.email.clone()
}

/// `/jwt-only-set` as a route set that accepts bearer tokens only.
fn jwt_only_set_routes() -> Vec<rocket::Route> {
    kegauth::requirements::require_with(
        rocket::routes![jwt_only_set],
        kegauth::Requirement::User,
        kegauth::requirements::RequireOptions {
            request_loaders: Some(&[loader_id::<JwtRequestLoader>]),
            ..Default::default()
        },
    )
}

type Api<B> = App<<<B as TestBackend>::Db as kegauth::AuthDb>::Backend>;

/// The test app plus the demo's API routes, both loaders, a manual clock and
/// a known JWT key, with more settings from `settings`.
async fn api_app<B: TestBackend>(
    settings: impl FnOnce(Figment) -> Figment,
) -> Option<(Api<B>, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = clock.clone();
    let figment =
        settings(rocket::Config::figment().merge(("kegauth.jwt.secret", STANDARD.encode(JWT_KEY))));
    let app = app_configured::<B>(
        figment,
        move |b| {
            b.clock(c)
                .request_loader(JwtRequestLoader::default())
                .request_loader(TokenRequestLoader::default())
        },
        |r| {
            // (The demo's /api/api-token takes the demo's SQLite store; tests/demo.rs covers it.)
            r.mount(
                "/",
                rocket::routes![demo::api_token, demo::api_me, demo::api_secret2],
            )
            .mount("/", rocket::routes![jwt_only])
            .mount("/", jwt_only_set_routes())
        },
    )
    .await?;
    Some((app, clock))
}

/// Drop the client's session user without logging out (which would rotate
/// the user's key and so revoke their tokens).
async fn forget_session<DB: Backend>(app: &App<DB>) {
    let r = app
        .client
        .get(common::web::login_path("none"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(app.who().await, "Not logged in");
}

fn jwt_loader<DB: Backend>(app: &App<DB>) -> &JwtRequestLoader {
    registered_loader::<JwtRequestLoader, _>(app.client.rocket()).expect("registered")
}

/// A browser's `Accept` header, for [`get_with`].
const HTML: (&str, &str) = ("Accept", "text/html");

async fn get_with<'c, DB: Backend>(
    app: &'c App<DB>,
    path: &str,
    headers: &[(&'static str, &str)],
) -> LocalResponse<'c> {
    let mut req = app.client.get(path.to_string());
    for (name, value) in headers {
        req = req.header(Header::new(*name, value.to_string()));
    }
    req.dispatch().await
}

async fn bearer_get<'c, DB: Backend>(
    app: &'c App<DB>,
    path: &str,
    token: &str,
) -> LocalResponse<'c> {
    get_with(app, path, &[("Authorization", &format!("Bearer {token}"))]).await
}

async fn bearer<DB: Backend>(app: &App<DB>, path: &str, token: &str) -> Status {
    bearer_get(app, path, token).await.status()
}

/// A JWT signed with `key` and `alg`, claims as given.
fn forge(alg: jsonwebtoken::Algorithm, claims: &serde_json::Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// Claims as kegauth writes them, for `user` at `now`.
fn claims(user: &User, now: NaiveDateTime) -> serde_json::Value {
    let iat = now.and_utc().timestamp();
    json!({
        "sub": user.core.session_key, "iat": iat, "exp": iat + 900,
        "iss": "kegauth", "aud": "kegauth", "type": "access",
    })
}

/// The assertions every refused API request gets: 401, a JSON error, a
/// Bearer challenge, no login redirect and no session cookie.
async fn assert_refused(r: LocalResponse<'_>, invalid: bool, what: &str) {
    assert_eq!(r.status(), Status::Unauthorized, "{what}");
    assert!(r.headers().get_one("Location").is_none(), "{what}");
    assert!(r.headers().get_one("Set-Cookie").is_none(), "{what}");
    let challenge = r.headers().get_one("WWW-Authenticate").unwrap_or_default();
    let expected = if invalid {
        r#"Bearer realm="kegauth", error="invalid_token""#
    } else {
        r#"Bearer realm="kegauth""#
    };
    assert_eq!(challenge, expected, "{what}");
    assert_eq!(
        body(r).await,
        r#"{"error":"authentication required","login_url":"/login"}"#,
        "{what}"
    );
}

async fn no_credentials_get_a_401_with_a_challenge<B: TestBackend>() {
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let r = get_with(&app, "/api/me", &[]).await;
    assert_refused(r, false, "no credentials").await;
    // A browser on an API route gets the 401 too (a plain-text body), not the login page.
    let r = get_with(&app, "/api/me", &[HTML]).await;
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(r.content_type(), Some(rocket::http::ContentType::Plain));
    // A browser without credentials on a page route still goes to the login page...
    assert_eq!(app.status("/secret1").await, Status::Found);
    // ...but one that presents a (bad) bearer token is an API client.
    let r = get_with(
        &app,
        "/secret1",
        &[HTML, ("Authorization", "Bearer not.a.jwt")],
    )
    .await;
    assert_eq!(r.status(), Status::Unauthorized);
    // Another scheme is not the JWT loader's business: a browser is redirected.
    let r = get_with(
        &app,
        "/secret1",
        &[HTML, ("Authorization", "Basic YW5uOnB3")],
    )
    .await;
    assert_eq!(r.status(), Status::Found);
}

async fn an_issued_jwt_loads_its_user<B: TestBackend>() {
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let ann = app.user("ann@example.com", None).await;
    // Issued through the demo's endpoint, from a browser session.
    app.log_in_as(&ann).await;
    let r = app.client.post("/api/token").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    let issued: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 900);
    let token = issued["access_token"].as_str().unwrap().to_string();
    // The header names HS512; the subject is the session key.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS512);

    // Without a session user (logging out would rotate the key and revoke the token).
    forget_session(&app).await;
    let r = get_with(
        &app,
        "/api/me",
        &[("Authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(r.status(), Status::Ok);
    assert!(
        r.headers().get_one("Set-Cookie").is_none(),
        "a token request makes no session"
    );
    let me: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["id"], ann.id);
    // The scheme is case-insensitive.
    let r = get_with(
        &app,
        "/api/me",
        &[("Authorization", &format!("bearer {token}"))],
    )
    .await;
    assert_eq!(r.status(), Status::Ok);
    // The same user through the library call.
    let token = jwt_loader(&app).create_access_token(&ann).unwrap();
    assert_eq!(bearer(&app, "/api/me", &token).await, Status::Ok);
    // Page routes and OptionalUser see the token's user too.
    assert_eq!(bearer(&app, "/secret1", &token).await, Status::Ok);
    let r = get_with(
        &app,
        "/whoami",
        &[("Authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(body(r).await, "Logged in as ann@example.com");
}

async fn forged_and_stale_jwts_are_refused<B: TestBackend>() {
    use jsonwebtoken::Algorithm::{HS256, HS512};
    let Some((app, clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let ann = app.user("ann@example.com", None).await;
    let good = claims(&ann, t0());
    // The forging helper makes what kegauth makes: the control case passes.
    assert_eq!(
        bearer(&app, "/api/me", &forge(HS512, &good, JWT_KEY)).await,
        Status::Ok
    );

    let with = |key: &str, value: serde_json::Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let real = jwt_loader(&app).create_access_token(&ann).unwrap();
    let parts: Vec<&str> = real.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let other_key = forge(HS512, &good, b"another key of at least 32 bytes, not ours");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.replace(&ann.core.session_key, "x".repeat(32).as_str())),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let empty_signature = format!("{}.{}.", parts[0], parts[1]);
    let mail_token = app.store.token_generate(&ann).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("tampered payload", tampered),
        ("alg none", none),
        ("empty signature", empty_signature),
        (
            "HS256 when only HS512 is allowed",
            forge(HS256, &good, JWT_KEY),
        ),
        ("another key", other_key),
        (
            "wrong audience",
            forge(HS512, &with("aud", json!("other")), JWT_KEY),
        ),
        (
            "wrong issuer",
            forge(HS512, &with("iss", json!("other")), JWT_KEY),
        ),
        (
            "audience list without ours",
            forge(HS512, &with("aud", json!(["a", "b"])), JWT_KEY),
        ),
        (
            "string exp",
            forge(HS512, &with("exp", json!("9999999999")), JWT_KEY),
        ),
        ("no exp", forge(HS512, &without("exp"), JWT_KEY)),
        ("no iat", forge(HS512, &without("iat"), JWT_KEY)),
        ("no sub", forge(HS512, &without("sub"), JWT_KEY)),
        (
            "a refresh token",
            forge(HS512, &with("type", json!("refresh")), JWT_KEY),
        ),
        (
            "unknown subject",
            forge(HS512, &with("sub", json!("x".repeat(32))), JWT_KEY),
        ),
        ("a verification/reset token from a mail", mail_token),
        ("garbage", "abc".into()),
        ("huge", "a".repeat(100_000)),
    ];
    for (what, token) in &cases {
        let r = get_with(
            &app,
            "/api/me",
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await;
        assert_refused(r, true, what).await;
    }

    // Valid up to and including exp (900 s), refused one second later.
    clock.advance(TimeDelta::seconds(900));
    assert_eq!(bearer(&app, "/api/me", &real).await, Status::Ok);
    clock.advance(TimeDelta::seconds(1));
    let r = get_with(
        &app,
        "/api/me",
        &[("Authorization", &format!("Bearer {real}"))],
    )
    .await;
    assert_refused(r, true, "expired").await;

    // Two Authorization headers: ambiguous, refused.
    let fresh = jwt_loader(&app).create_access_token(&ann).unwrap();
    let twice = format!("Bearer {fresh}");
    let r = get_with(
        &app,
        "/api/me",
        &[("Authorization", &twice), ("Authorization", &twice)],
    )
    .await;
    assert_eq!(r.status(), Status::Unauthorized);
}

async fn a_jwt_dies_with_its_session_key_or_its_user<B: TestBackend>() {
    let Some((app, clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    // Rotating the key (logout everywhere, a password or rights change) revokes it.
    let mut ann = app.user("ann@example.com", None).await;
    let token = jwt_loader(&app).create_access_token(&ann).unwrap();
    assert_eq!(bearer(&app, "/api/me", &token).await, Status::Ok);
    app.store.rotate_session_key(&mut ann).await.unwrap();
    assert_eq!(bearer(&app, "/api/me", &token).await, Status::Unauthorized);

    // A user who becomes inactive without a key change (disabled from a date
    // that arrives) no longer loads.
    let mut bob = app.user("bob@example.com", None).await;
    bob.core.disabled_utc = Some(t0() + TimeDelta::seconds(60));
    app.store.update_user(&mut bob).await.unwrap();
    let token = jwt_loader(&app).create_access_token(&bob).unwrap();
    assert_eq!(bearer(&app, "/api/me", &token).await, Status::Ok);
    clock.advance(TimeDelta::seconds(61));
    assert_eq!(bearer(&app, "/api/me", &token).await, Status::Unauthorized);
    // And no token is issued for an inactive user.
    let bob = app.store.user(bob.id).await.unwrap().unwrap();
    assert!(jwt_loader(&app).create_access_token(&bob).is_err());

    // An unverified email user is not active either.
    let mut cid = User::new("cid@example.com");
    app.store.insert_user(&mut cid).await.unwrap();
    assert!(jwt_loader(&app).create_access_token(&cid).is_err());
    let forged = forge(
        jsonwebtoken::Algorithm::HS512,
        &claims(&cid, clock_now(&clock)),
        JWT_KEY,
    );
    assert_eq!(bearer(&app, "/api/me", &forged).await, Status::Unauthorized);
}

fn clock_now(clock: &ManualClock) -> NaiveDateTime {
    kegauth::clock::Clock::now(clock)
}

async fn the_algorithm_allow_list_is_configurable<B: TestBackend>() {
    use jsonwebtoken::Algorithm::{HS256, HS384, HS512};
    let settings = |f: Figment| {
        f.merge(("kegauth.jwt.algorithms", ["HS256", "HS512"]))
            .merge(("kegauth.jwt.expire_mins", 5))
            .merge(("kegauth.jwt.issuer", "https://issuer.example"))
            .merge(("kegauth.jwt.audience", "api.example"))
    };
    let Some((app, _clock)) = api_app::<B>(settings).await else {
        return;
    };
    let ann = app.user("ann@example.com", None).await;
    // The first algorithm signs, with the configured lifetime and claims.
    let token = jwt_loader(&app).create_access_token(&ann).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, HS256);
    let mut c = claims(&ann, t0());
    c["iss"] = json!("https://issuer.example");
    c["aud"] = json!("api.example");
    c["exp"] = json!(t0().and_utc().timestamp() + 300);
    let raw: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    for key in ["sub", "iat", "exp", "iss", "aud", "type"] {
        assert_eq!(raw[key], c[key], "{key}");
    }
    assert_eq!(bearer(&app, "/api/me", &token).await, Status::Ok);
    assert_eq!(
        bearer(&app, "/api/me", &forge(HS512, &c, JWT_KEY)).await,
        Status::Ok
    );
    assert_eq!(
        bearer(&app, "/api/me", &forge(HS384, &c, JWT_KEY)).await,
        Status::Unauthorized
    );
}

/// The raw bytes of every user's token column.
async fn stored_tokens(url: &str) -> Vec<Vec<u8>> {
    use sqlx::Row;
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows = sqlx::query("SELECT token FROM users WHERE token IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<Vec<u8>, _>(0)).collect()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query("SELECT token FROM users WHERE token IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<Vec<u8>, _>(0)).collect()
    }
}

async fn with_token<'c, DB: Backend>(
    app: &'c App<DB>,
    path: &str,
    value: &str,
) -> LocalResponse<'c> {
    get_with(app, path, &[("X-Auth-Token", value)]).await
}

/// Ann, verified, with a new API token (returned raw).
async fn ann_with_api_token<DB: Backend>(app: &App<DB>) -> (User, String) {
    let mut ann = app.user("ann@example.com", None).await;
    let raw = app
        .store
        .reset_auth_token(&mut ann, &ApiTokenOptions::default())
        .await
        .unwrap();
    (ann, raw)
}

/// The status of `/api/me` with this `X-Auth-Token`.
async fn me_with_token<DB: Backend>(app: &App<DB>, value: &str) -> Status {
    with_token(app, "/api/me", value).await.status()
}

async fn api_tokens_are_stored_hashed_and_rotate<B: TestBackend>() {
    use sha2::Digest;
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let (mut ann, raw) = ann_with_api_token(&app).await;
    assert_eq!(raw.len(), 32);
    let header = api_token_header(&ann.email, &raw);
    let r = with_token(&app, "/api/me", &header).await;
    assert_eq!(r.status(), Status::Ok);
    assert!(body(r).await.contains("ann@example.com"));
    // The login id is matched as the login form does (case-insensitively).
    let upper = api_token_header("ANN@example.com", &raw);
    assert_eq!(me_with_token(&app, &upper).await, Status::Ok);

    // The database holds the SHA-256 only.
    let stored = stored_tokens(&app.url).await;
    assert_eq!(stored, vec![sha2::Sha256::digest(raw.as_bytes()).to_vec()]);
    assert!(!stored[0].windows(raw.len()).any(|w| w == raw.as_bytes()));

    // Wrong token, another user's login id, an unknown user: 401.
    let bob = app.user("bob@example.com", None).await;
    for (what, value) in [
        ("wrong token", api_token_header(&ann.email, &"x".repeat(32))),
        ("another user", api_token_header(&bob.email, &raw)),
        ("unknown user", api_token_header("nobody@example.com", &raw)),
    ] {
        let r = with_token(&app, "/api/me", &value).await;
        assert_eq!(r.status(), Status::Unauthorized, "{what}");
        assert!(r
            .headers()
            .get_one("WWW-Authenticate")
            .unwrap_or_default()
            .contains("invalid_token"));
    }

    // Reset: the old token dies, the new one works.
    let again = app
        .store
        .reset_auth_token(&mut ann, &ApiTokenOptions::default())
        .await
        .unwrap();
    assert_ne!(again, raw);
    assert_eq!(me_with_token(&app, &header).await, Status::Unauthorized);
    let header = api_token_header(&ann.email, &again);
    assert_eq!(me_with_token(&app, &header).await, Status::Ok);

    // A token is not a session: rotating the session key leaves it alive, but
    // disabling the user stops it.
    app.store.rotate_session_key(&mut ann).await.unwrap();
    assert_eq!(me_with_token(&app, &header).await, Status::Ok);
    app.store.set_enabled(&mut ann, false).await.unwrap();
    assert_eq!(me_with_token(&app, &header).await, Status::Unauthorized);
    app.store.set_enabled(&mut ann, true).await.unwrap();
    assert_eq!(me_with_token(&app, &header).await, Status::Ok);

    // Revoked.
    app.store.clear_auth_token(&mut ann).await.unwrap();
    assert_eq!(me_with_token(&app, &header).await, Status::Unauthorized);
    assert!(stored_tokens(&app.url).await.is_empty());
}

async fn malformed_api_token_headers_are_refused<B: TestBackend>() {
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let (ann, raw) = ann_with_api_token(&app).await;
    let login = URL_SAFE_NO_PAD.encode(&ann.email);
    let cases = [
        ("no dot", format!("{login}{raw}")),
        ("bad base64", format!("***.{raw}")),
        (
            "not UTF-8",
            format!("{}.{raw}", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
        ),
        ("empty login", format!(".{raw}")),
        ("empty token", format!("{login}.")),
        ("huge", format!("{login}.{}", "a".repeat(1_000_000))),
        (
            "huge login",
            format!("{}.{raw}", URL_SAFE_NO_PAD.encode("a".repeat(10_000))),
        ),
        ("control character", format!("{login}.{raw}\u{7f}")),
        ("the raw token alone", raw.clone()),
        ("the JWT scheme", format!("Bearer {raw}")),
    ];
    for (what, value) in &cases {
        let r = with_token(&app, "/api/me", value).await;
        assert_eq!(r.status(), Status::Unauthorized, "{what}");
    }
    // The token in the query string is ignored (row 22).
    let r = app
        .client
        .get(format!(
            "/api/me?api_token={}",
            api_token_header(&ann.email, &raw)
        ))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Unauthorized);
    // Padding on the login id part is accepted.
    let padded = format!(
        "{}.{raw}",
        STANDARD
            .encode(&ann.email)
            .replace('+', "-")
            .replace('/', "_")
    );
    assert_eq!(me_with_token(&app, &padded).await, Status::Ok);
}

async fn keg_auth_token_hashes_verify_and_are_upgraded<B: TestBackend>() {
    use sha2::Digest;
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    // keg-auth (passlib) stored the token's pbkdf2-sha256 hash as bytes.
    let mut ann = app.user("ann@example.com", None).await;
    ann.token = Some(LEGACY_TOKEN_HASH.as_bytes().to_vec());
    app.store.update_user(&mut ann).await.unwrap();
    let header = api_token_header(&ann.email, LEGACY_TOKEN);
    let wrong = api_token_header(&ann.email, "not-the-token-at-all");
    assert_eq!(me_with_token(&app, &wrong).await, Status::Unauthorized);
    assert_eq!(
        stored_tokens(&app.url).await,
        vec![LEGACY_TOKEN_HASH.as_bytes().to_vec()],
        "a failed check leaves the hash alone"
    );
    assert_eq!(me_with_token(&app, &header).await, Status::Ok);
    assert_eq!(
        stored_tokens(&app.url).await,
        vec![sha2::Sha256::digest(LEGACY_TOKEN.as_bytes()).to_vec()],
        "re-stored as SHA-256"
    );
    assert_eq!(me_with_token(&app, &header).await, Status::Ok);
}

async fn loaders_feed_permission_checks_and_guards<B: TestBackend>() {
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let ann = app.user("ann@example.com", None).await;
    let ids = app.store.permission_ids(&["permission1"]).await.unwrap();
    app.store
        .set_links(kegauth::Link::UserPermissions, ann.id, &ids)
        .await
        .unwrap();
    let ann = app.store.user(ann.id).await.unwrap().unwrap();
    let bob = app.user("bob@example.com", None).await;
    let (ann_jwt, bob_jwt) = (
        jwt_loader(&app).create_access_token(&ann).unwrap(),
        jwt_loader(&app).create_access_token(&bob).unwrap(),
    );
    // #[requires_permissions] on an API route.
    assert_eq!(bearer(&app, "/api/secret2", &ann_jwt).await, Status::Ok);
    let bob_bearer = format!("Bearer {bob_jwt}");
    let r = get_with(
        &app,
        "/api/secret2",
        &[HTML, ("Authorization", &bob_bearer)],
    )
    .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert_eq!(r.content_type(), Some(rocket::http::ContentType::Plain));
    assert_eq!(body(r).await, "permission denied", "not the HTML page");
    let r = get_with(
        &app,
        "/api/secret2",
        &[("Authorization", &format!("Bearer {bob_jwt}"))],
    )
    .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert_eq!(body(r).await, r#"{"error":"permission denied"}"#);
    // The same checks on page routes and the Permission guard.
    assert_eq!(bearer(&app, "/secret2", &ann_jwt).await, Status::Ok);
    assert_eq!(bearer(&app, "/secret2", &bob_jwt).await, Status::Forbidden);
    assert_eq!(bearer(&app, "/manage", &ann_jwt).await, Status::Forbidden);
    // Rights changes rotate the key, which revokes the token.
    app.store
        .set_links(kegauth::Link::UserPermissions, ann.id, &[])
        .await
        .unwrap();
    assert_eq!(
        bearer(&app, "/api/secret2", &ann_jwt).await,
        Status::Unauthorized
    );
}

async fn a_route_accepts_only_its_loaders<B: TestBackend>() {
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let (ann, raw) = ann_with_api_token(&app).await;
    let header = api_token_header(&ann.email, &raw);
    // /jwt-only accepts bearer tokens only; the API token is refused there.
    assert_eq!(
        with_token(&app, "/jwt-only", &header).await.status(),
        Status::Unauthorized
    );
    let jwt = jwt_loader(&app).create_access_token(&ann).unwrap();
    assert_eq!(bearer(&app, "/jwt-only", &jwt).await, Status::Ok);
    let r = bearer_get(&app, "/jwt-only", &jwt).await;
    assert_eq!(body(r).await, "ann@example.com");
    // The same on a route set.
    assert_eq!(
        with_token(&app, "/jwt-only-set", &header).await.status(),
        Status::Unauthorized
    );
    assert_eq!(bearer(&app, "/jwt-only-set", &jwt).await, Status::Ok);
    // The API token works where every loader is accepted.
    assert_eq!(me_with_token(&app, &header).await, Status::Ok);
    // A session user is accepted everywhere: loaders run only without one.
    app.log_in_as(&ann).await;
    let r = get_with(
        &app,
        "/jwt-only",
        &[("Authorization", "Bearer forged.token.here")],
    )
    .await;
    assert_eq!(r.status(), Status::Ok);
}

async fn a_bearer_token_cannot_mint_tokens<B: TestBackend>() {
    let Some((app, _clock)) = api_app::<B>(|f| f).await else {
        return;
    };
    let (ann, raw) = ann_with_api_token(&app).await;
    let jwt = jwt_loader(&app).create_access_token(&ann).unwrap();
    for (name, value) in [
        ("Authorization", format!("Bearer {jwt}")),
        ("X-Auth-Token", api_token_header(&ann.email, &raw)),
    ] {
        // Each credential works on the API...
        assert_eq!(
            get_with(&app, "/api/me", &[(name, &value)]).await.status(),
            Status::Ok
        );
        // ...but does not mint a token: that takes the browser session.
        let r = app
            .client
            .post("/api/token")
            .header(Header::new(name, value))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Unauthorized, "{name}");
    }
}

// ----- launch checks ----------------------------------------------------------------------

/// Launch the test app on SQLite with `settings`, `configure` and `extend`; the error if it fails.
async fn launch_error(
    settings: impl FnOnce(Figment) -> Figment,
    configure: impl FnOnce(
        kegauth::AuthManagerBuilder<common::web::SqliteDb, User>,
    ) -> kegauth::AuthManagerBuilder<common::web::SqliteDb, User>,
    extend: fn(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
) -> Option<rocket::Error> {
    use crate::common::web::{rocket_for, OnSqlite};
    let (url, _cleanup) = OnSqlite::database().await?;
    let figment = settings(rocket::Config::figment());
    rocket::local::asynchronous::Client::tracked(extend(rocket_for(&url, figment, configure)))
        .await
        .err()
}

fn failed_fairing(err: &Option<rocket::Error>) -> bool {
    matches!(err.as_ref().map(|e| e.kind()), Some(rocket::error::ErrorKind::FailedFairings(f)) if f.iter().any(|i| i.name == "kegauth"))
}

fn sentinel_abort(err: &Option<rocket::Error>) -> bool {
    matches!(
        err.as_ref().map(|e| e.kind()),
        Some(rocket::error::ErrorKind::SentinelAborts(_))
    )
}

#[rocket::async_test]
async fn bad_jwt_settings_stop_the_launch() {
    let jwt = |b: kegauth::AuthManagerBuilder<_, _>| b.request_loader(JwtRequestLoader::default());
    for (what, key, value) in [
        ("alg none", "kegauth.jwt.algorithms", json!(["none"])),
        ("asymmetric", "kegauth.jwt.algorithms", json!(["RS256"])),
        ("empty list", "kegauth.jwt.algorithms", json!([])),
        ("zero lifetime", "kegauth.jwt.expire_mins", json!(0)),
        ("empty audience", "kegauth.jwt.audience", json!(" ")),
        (
            "short secret",
            "kegauth.jwt.secret",
            json!(STANDARD.encode(b"short")),
        ),
        (
            "secret not base64",
            "kegauth.jwt.secret",
            json!("not base64 !!"),
        ),
        ("unknown key", "kegauth.jwt.algorithm", json!("HS512")),
    ] {
        let value = serde_json::to_string(&value).unwrap();
        let value: rocket::figment::value::Value = serde_json::from_str(&value).unwrap();
        let err = launch_error(|f| f.merge((key, value)), jwt, |r| r).await;
        assert!(failed_fairing(&err), "{what}: {err:?}");
    }
    // The defaults launch.
    assert!(launch_error(|f| f, jwt, |r| r).await.is_none());
}

#[rocket::async_test]
async fn loader_registration_is_checked_at_launch() {
    // Twice the same loader type.
    let err = launch_error(
        |f| f,
        |b| {
            b.request_loader(JwtRequestLoader::default())
                .request_loader(JwtRequestLoader::default())
        },
        |r| r,
    )
    .await;
    assert!(failed_fairing(&err), "{err:?}");
    // A handler that takes the JWT loader, which is not registered.
    let err = launch_error(
        |f| f,
        |b| b,
        |r| r.mount("/", rocket::routes![demo::api_token]),
    )
    .await;
    assert!(sentinel_abort(&err), "{err:?}");
    // A handler that accepts a loader that is not registered.
    let err = launch_error(
        |f| f,
        |b| b.request_loader(JwtRequestLoader::default()),
        |r| r.mount("/", rocket::routes![demo::api_me]),
    )
    .await;
    assert!(sentinel_abort(&err), "{err:?}");
    // The same for a route set.
    let err = launch_error(
        |f| f,
        |b| b.request_loader(TokenRequestLoader::default()),
        |r| r.mount("/", jwt_only_set_routes()),
    )
    .await;
    assert!(failed_fairing(&err), "{err:?}");
}

/// A user entity without an API token column.
#[derive(rocket_db_pools::Database)]
#[database("main")]
struct PlainDb(sqlx::SqlitePool);

#[derive(kegauth::AuthEntity)]
#[auth(user, table = "plain_users")]
struct PlainUser {
    id: i64,
    email: String,
    #[auth(core)]
    core: kegauth::UserCore,
}

#[rocket::async_test]
async fn the_token_loader_needs_an_api_token_column() {
    use rocket_db_pools::Database;
    let (url, _cleanup) = <common::web::OnSqlite as TestBackend>::database()
        .await
        .unwrap();
    let launch = |loader: bool| {
        let mut b = kegauth::AuthManager::<PlainDb, PlainUser>::builder().create_schema(true);
        if loader {
            b = b.request_loader(TokenRequestLoader::default());
        }
        rocket::build()
            .configure(rocket::Config::figment().merge(("databases.main.url", url.clone())))
            .attach(PlainDb::init())
            .attach(b.build())
    };
    let err = rocket::local::asynchronous::Client::tracked(launch(true))
        .await
        .err();
    assert!(failed_fairing(&err), "{err:?}");
    let client = rocket::local::asynchronous::Client::tracked(launch(false))
        .await
        .expect("launches without the loader");
    // And the store says why it cannot keep a token.
    let store = client
        .rocket()
        .state::<kegauth::Store<sqlx::Sqlite, PlainUser>>()
        .unwrap();
    let mut pat = PlainUser {
        id: 0,
        email: "pat@example.com".into(),
        core: kegauth::UserCore::new(),
    };
    store.insert_user(&mut pat).await.unwrap();
    let err = store
        .reset_auth_token(&mut pat, &ApiTokenOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("#[auth(api_token)]"), "{err}");
}
