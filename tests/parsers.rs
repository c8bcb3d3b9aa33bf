//! Property tests over every parser of untrusted input (SECURITY-CHECKLIST
//! rows 28 and 38): the request loaders' header parsers and the JWT check, the
//! signed tokens of reset and verify links, the `next` validator, and the
//! login form through the whole request path. They never panic, never accept
//! random input, the API-token header round-trips every login id, and an
//! accepted `next` stays on the site as a browser's URL parser resolves it.
//! Bounded case counts, so CI runs them on every push; `PROPTEST_CASES`
//! raises them locally.

use crate::common;

use crate::common::demo::User;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kegauth::loaders::{
    api_token_header, bearer_token, parse_api_token_header, registered_loader, JwtRequestLoader,
    TokenRequestLoader,
};
use kegauth::next::{safe_next, OPEN_REDIRECT_PAYLOADS};
use kegauth::token::TokenSigner;
use proptest::prelude::*;
use rocket::http::{ContentType, Cookie, Header, Status};
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

/// A link-token signer and one of its tokens (user 7, salt "salt").
fn signer() -> &'static (TokenSigner, String, chrono::NaiveDateTime) {
    static SIGNER: OnceLock<(TokenSigner, String, chrono::NaiveDateTime)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let signer = TokenSigner::new(&rand::random::<[u8; 32]>(), 60).expect("a signer");
        let now = chrono::DateTime::from_timestamp(1_900_000_000, 0)
            .expect("a time")
            .naive_utc();
        let token = signer.generate(7, "salt", now).expect("a token");
        (signer, token, now)
    })
}

/// Text shaped like a `next` value: slashes, backslashes, percent escapes,
/// schemes and controls, plus every checklist payload with a random tail.
fn next_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[/\\\\%0-9a-fA-F:@.?#a-z\t\n\x08 ]{0,24}",
        (
            proptest::sample::select(OPEN_REDIRECT_PAYLOADS),
            "\\PC{0,8}"
        )
            .prop_map(|(p, tail)| format!("{p}{tail}")),
        ("/[a-z]{0,6}", "[/\\\\%0-9a-fA-F:@.]{0,12}").prop_map(|(a, b)| format!("{a}{b}")),
    ]
}

proptest! {
    #![proptest_config(cases(10_000))]

    #[test]
    fn random_strings_are_not_valid_link_tokens(value in any::<String>()) {
        let (signer, _, now) = signer();
        prop_assert!(!signer.verify(&value, 7, "salt", *now));
    }

    #[test]
    fn altered_link_tokens_are_refused(at in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.=-]") {
        let (signer, token, now) = signer();
        prop_assert!(signer.verify(token, 7, "salt", *now), "the control case");
        let i = at.index(token.len());
        let altered = format!("{}{c}{}", &token[..i], &token[i + 1..]);
        if altered != *token {
            prop_assert!(!signer.verify(&altered, 7, "salt", *now), "{altered}");
        }
        prop_assert!(!signer.verify(token, 8, "salt", *now), "another user");
        prop_assert!(!signer.verify(token, 7, "other salt", *now), "another salt");
    }

    /// What `safe_next` accepts, a browser resolves on the site itself: the
    /// WHATWG URL parser (the `url` crate) joins it to a page of the site,
    /// decoded once or not.
    #[test]
    fn an_accepted_next_stays_on_the_site(next in next_like()) {
        if let Some(target) = safe_next(&next) {
            prop_assert_eq!(&target, &next);
            let page = url::Url::parse("https://good.example/app/page").expect("a URL");
            let decoded = percent_encoding::percent_decode_str(&target).decode_utf8_lossy();
            for text in [target.as_str(), &decoded] {
                let joined = page.join(text);
                prop_assert!(joined.is_ok(), "{text:?}");
                let joined = joined.expect("checked");
                prop_assert_eq!(joined.scheme(), "https", "{:?}", text);
                prop_assert_eq!(joined.host_str(), Some("good.example"), "{:?}", text);
            }
        }
    }
}

/// The login page's session cookies and CSRF token, for an untracked client.
fn login_session() -> &'static (Vec<Cookie<'static>>, String) {
    static SESSION: OnceLock<(Vec<Cookie<'static>>, String)> = OnceLock::new();
    SESSION.get_or_init(|| {
        let client = client();
        let r = client.get("/login").dispatch();
        let cookies = r.cookies().iter().map(|c| c.clone().into_owned()).collect();
        let page = r.into_string().unwrap_or_default();
        (cookies, common::web::csrf_in(&page))
    })
}

/// POST `body` to /login as a form, with the login page's session cookies.
fn post_login(body: String) -> Status {
    let (cookies, _) = login_session();
    let client = client();
    let r = client
        .post("/login")
        .header(ContentType::Form)
        .cookies(cookies.clone())
        .body(body)
        .dispatch();
    r.status()
}

/// A login form field's name: the real ones, or anything.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("login_id".to_string()),
        Just("password".to_string()),
        Just("next".to_string()),
        Just("csrf_token".to_string()),
        "\\PC{0,12}",
    ]
}

proptest! {
    #![proptest_config(cases(500))]

    /// Any login form body, with or without a valid CSRF token: a 2xx, 4xx
    /// or the login page, never a 500, a panic or a login (no user here has
    /// a password).
    #[test]
    fn random_login_forms_are_answered_cleanly(
        fields in proptest::collection::vec((field_name(), "\\PC{0,64}"), 0..6),
        raw in proptest::option::weighted(0.3, "\\PC{0,200}"),
        with_csrf in any::<bool>(),
    ) {
        let (_, csrf) = login_session();
        let body = match raw {
            Some(raw) => raw,
            None => {
                let mut fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                if with_csrf {
                    fields.push(("csrf_token", csrf));
                }
                common::web::form_body(&fields)
            }
        };
        let status = post_login(body);
        prop_assert!(status.code < 500, "{status}");
        prop_assert_ne!(status, Status::SeeOther, "nobody can log in");
    }
}

/// SECURITY-CHECKLIST row 4: a 1 MB password is refused by Rocket's form
/// limit (32 KiB by default): 413, before the form is even parsed, so before
/// any hashing.
#[test]
fn a_one_megabyte_login_form_is_refused_early() {
    let (_, csrf) = login_session();
    let password = "x".repeat(1 << 20);
    let body = common::web::form_body(&[
        ("login_id", "ann@example.com"),
        ("password", &password),
        ("csrf_token", csrf),
    ]);
    assert_eq!(post_login(body), Status::PayloadTooLarge);
}
