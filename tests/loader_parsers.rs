//! Property tests over the request loaders' header parsers and the JWT check
//! (SECURITY-CHECKLIST row 28): they never panic, never accept random input,
//! and the API-token header round-trips every login id. Bounded case counts,
//! so CI runs them on every push; `PROPTEST_CASES` raises them locally.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::demo::User;
use kegauth::loaders::{
    api_token_header, bearer_token, parse_api_token_header, registered_loader, JwtRequestLoader,
    TokenRequestLoader,
};
use proptest::prelude::*;
use rocket::http::{Header, Status};
use rocket::local::blocking::Client;
use std::sync::{Mutex, OnceLock};

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(n)
}

/// Insert a verified user (on the app's own runtime) and return its id.
#[rocket::post("/test-make-user?<email>")]
async fn make_user(
    email: &str,
    store: &rocket::State<kegauth::Store<sqlx::Sqlite, User>>,
) -> kegauth::Result<String> {
    let mut user = User::new(email);
    user.core.is_verified = true;
    store.insert_user(&mut user).await?;
    Ok(user.core.session_key)
}

/// The test app on an in-memory SQLite database (one connection) with both
/// loaders, launched once for every case.
fn client() -> std::sync::MutexGuard<'static, Client> {
    static CLIENT: OnceLock<Mutex<Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let figment = rocket::Config::figment()
                .merge(("databases.main.max_connections", 1))
                .merge(("databases.main.idle_timeout", 3600));
            let rocket =
                common::web::rocket_for::<common::web::SqliteDb>("sqlite::memory:", figment, |b| {
                    b.request_loader(JwtRequestLoader::default())
                        .request_loader(TokenRequestLoader::default())
                })
                .mount("/", rocket::routes![common::demo::api_me, make_user]);
            Mutex::new(Client::untracked(rocket).expect("launch"))
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The app's JWT loader (a clone: it shares the set-up keys).
fn jwt() -> &'static JwtRequestLoader {
    static JWT: OnceLock<JwtRequestLoader> = OnceLock::new();
    JWT.get_or_init(|| {
        registered_loader::<JwtRequestLoader, _>(client().rocket())
            .expect("registered")
            .clone()
    })
}

/// Base64url text, the shape of a JWT segment.
fn segment() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| URL_SAFE_NO_PAD.encode(b))
}

proptest! {
    #![proptest_config(cases(10_000))]

    #[test]
    fn bearer_parser_never_panics_and_returns_token68(value in any::<String>()) {
        if let Some(Ok(token)) = bearer_token(&value) {
            prop_assert!(!token.is_empty());
            prop_assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
        }
    }

    #[test]
    fn api_token_parser_never_panics(value in any::<String>()) {
        if let Ok((login, token)) = parse_api_token_header(&value) {
            prop_assert!(!login.trim().is_empty());
            prop_assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()));
        }
    }

    #[test]
    fn api_token_header_round_trips(
        login in "\\PC{1,120}".prop_filter("not blank", |s| !s.trim().is_empty()),
        token in "[!-~]{1,256}",
    ) {
        let value = api_token_header(&login, &token);
        prop_assert_eq!(parse_api_token_header(&value), Ok((login, token.as_str())));
    }

    #[test]
    fn random_strings_are_not_valid_jwts(value in any::<String>()) {
        prop_assert!(jwt().verify(&value).is_err());
    }

    #[test]
    fn random_jwt_shaped_strings_are_not_valid_jwts(
        header in segment(), payload in segment(), signature in segment(),
    ) {
        let token = format!("{header}.{payload}.{signature}");
        prop_assert!(jwt().verify(&token).is_err());
    }
}

proptest! {
    #![proptest_config(cases(1_000))]

    /// Through the whole request path: 401, never a 500 or a panic.
    #[test]
    fn random_credentials_get_a_401(
        authorization in "\\PC{0,300}",
        token in "\\PC{0,300}",
    ) {
        let client = client();
        let status = client
            .get("/api/me")
            .header(Header::new("Authorization", authorization))
            .header(Header::new("X-Auth-Token", token))
            .dispatch()
            .status();
        prop_assert_eq!(status, Status::Unauthorized);
    }
}

/// The control case for the properties above: a real token is accepted.
#[test]
fn a_real_token_is_accepted() {
    let jwt = jwt(); // (before taking the client: jwt() may need it)
    let client = client();
    let r = client
        .post("/test-make-user?email=ann@example.com")
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let mut ann = User::new("ann@example.com");
    ann.core.is_verified = true;
    ann.core.session_key = r.into_string().unwrap();
    let token = jwt.create_access_token(&ann).unwrap();
    assert!(jwt.verify(&token).is_ok());
    let r = client
        .get("/api/me")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
}
