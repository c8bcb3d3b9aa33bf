//! Verification and reset tokens on SQLite, PostgreSQL and MySQL, with an
//! injected clock: expiry, invalidation by every change in the salt, and
//! forged tokens. SECURITY-CHECKLIST rows 23-27.

use crate::common;

use crate::common::{Ctx, User};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kegauth::clock::ManualClock;
use kegauth::token::{token_salt, TokenSigner};
use kegauth::{Backend, Store};
use serde_json::json;
use sha2::{Digest, Sha512};
use std::sync::Arc;

on_all_backends!(
    tokens_are_valid_until_exp_and_not_a_second_longer,
    tokens_die_when_the_salt_changes,
    forged_tokens_are_rejected,
);

const SECRET: &[u8] = b"kegauth test secret: 0123456789 abcdefghij";
const PASSWORD: &str = "correct horse battery staple";

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

fn store_at<DB: Backend>(ctx: &Ctx<DB>, clock: &Arc<ManualClock>) -> Store<DB, User> {
    ctx.store
        .clone()
        .with_clock(clock.clone())
        .with_token_signer(TokenSigner::new(SECRET, 240).unwrap())
}

async fn user<DB: Backend>(store: &Store<DB, User>, email: &str, verified: bool) -> User {
    let mut u = User::new(email);
    u.core.is_verified = verified;
    store.insert_user(&mut u).await.unwrap();
    store.set_password(&mut u, PASSWORD).await.unwrap();
    u
}

async fn reload<DB: Backend>(store: &Store<DB, User>, u: &User) -> User {
    store.user(u.id).await.unwrap().unwrap()
}

async fn tokens_are_valid_until_exp_and_not_a_second_longer<DB: Backend>(ctx: Ctx<DB>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = store_at(&ctx, &clock);
    let ann = user(&store, "ann@example.com", true).await;
    let token = store.token_generate(&ann).unwrap();
    assert!(store.token_verify(&ann, &token));
    clock.advance(TimeDelta::minutes(240));
    assert!(store.token_verify(&ann, &token), "valid at exp");
    clock.advance(TimeDelta::seconds(1));
    assert!(
        !store.token_verify(&ann, &token),
        "invalid one second after exp"
    );
    // And not before it was issued (a token from the future).
    clock.set(t0() - TimeDelta::seconds(1));
    assert!(!store.token_verify(&ann, &token));
}

async fn tokens_die_when_the_salt_changes<DB: Backend>(ctx: Ctx<DB>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = store_at(&ctx, &clock);

    // A login (last_login_utc changes).
    let mut ann = user(&store, "ann@example.com", true).await;
    let token = store.token_generate(&ann).unwrap();
    clock.advance(TimeDelta::seconds(5));
    ann.core.last_login_utc = Some(clock_now(&clock));
    store.update_user(&mut ann).await.unwrap();
    assert!(
        !store.token_verify(&reload(&store, &ann).await, &token),
        "login"
    );

    // A password change.
    let token = store.token_generate(&ann).unwrap();
    store
        .set_password(&mut ann, "another long password")
        .await
        .unwrap();
    assert!(
        !store.token_verify(&reload(&store, &ann).await, &token),
        "password"
    );

    // The login id (email) changes.
    let token = store.token_generate(&ann).unwrap();
    ann.email = "ann@example.org".into();
    store.update_user(&mut ann).await.unwrap();
    assert!(
        !store.token_verify(&reload(&store, &ann).await, &token),
        "login id"
    );

    // Activation (is_active goes from false to true).
    let mut bob = user(&store, "bob@example.com", false).await;
    let token = store.token_generate(&bob).unwrap();
    bob.core.is_verified = true;
    store.update_user(&mut bob).await.unwrap();
    assert!(
        !store.token_verify(&reload(&store, &bob).await, &token),
        "activation"
    );

    // Using a token verifies the account, rotates the key, and uses it up.
    let mut cid = user(&store, "cid@example.com", false).await;
    let key = cid.core.session_key.clone();
    let token = store.token_generate(&cid).unwrap();
    assert!(store
        .change_password(&mut cid, &token, "a brand new password")
        .await
        .unwrap());
    let stored = reload(&store, &cid).await;
    assert!(stored.core.is_verified);
    assert_ne!(stored.core.session_key, key);
    assert!(!store.token_verify(&stored, &token));
    let mut again = stored;
    assert!(!store
        .change_password(&mut again, &token, "yet another password")
        .await
        .unwrap());
    // The policy applies; nothing is written when it refuses.
    let token = store.token_generate(&again).unwrap();
    let err = store
        .change_password(&mut again, &token, "short")
        .await
        .unwrap_err();
    assert!(matches!(err, kegauth::Error::Invalid(_)), "{err}");
    assert!(
        store.token_verify(&reload(&store, &again).await, &token),
        "still unused"
    );
}

fn clock_now(clock: &ManualClock) -> NaiveDateTime {
    use kegauth::clock::Clock;
    clock.now()
}

/// The HS512 key kegauth derives for `user` now: sha512(salt + "signer" + secret).
fn key_for(user: &User, now: NaiveDateTime) -> Vec<u8> {
    let mut h = Sha512::new();
    h.update(token_salt(user, now).as_bytes());
    h.update(b"signer");
    h.update(SECRET);
    h.finalize().to_vec()
}

fn sign(alg: Algorithm, key: &[u8], claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn forged_tokens_are_rejected<DB: Backend>(ctx: Ctx<DB>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = store_at(&ctx, &clock);
    let ann = user(&store, "ann@example.com", true).await;
    let bob = user(&store, "bob@example.com", true).await;
    let now = t0().and_utc().timestamp();
    let key = key_for(&ann, t0());
    let claims = json!({"user_id": ann.id, "iat": now, "exp": now + 600});

    // The crafting is right: a proper HS512 token with these claims is accepted.
    let control = sign(Algorithm::HS512, &key, &claims);
    assert!(store.token_verify(&ann, &control), "control");

    let real = store.token_generate(&ann).unwrap();
    assert!(!store.token_verify(&bob, &real), "ann's token for bob");

    let mut parts: Vec<&str> = real.split('.').collect();
    let empty_sig = format!("{}.{}.", parts[0], parts[1]);
    let tampered_payload = b64(&json!({"user_id": ann.id, "iat": now, "exp": now + 999_999}));
    parts[1] = &tampered_payload;
    let tampered = parts.join(".");
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let rs_header = {
        let sig = control.rsplit('.').next().unwrap();
        format!(
            "{}.{}.{sig}",
            b64(&json!({"alg": "RS256", "typ": "JWT"})),
            b64(&claims)
        )
    };
    let forged = [
        (
            "HS256 with the right key",
            sign(Algorithm::HS256, &key, &claims),
        ),
        (
            "HS384 with the right key",
            sign(Algorithm::HS384, &key, &claims),
        ),
        ("alg none", none),
        ("RS256 header", rs_header),
        ("empty signature", empty_sig),
        ("tampered payload", tampered),
        ("another secret", {
            let other = TokenSigner::new(b"another secret, also 32+ bytes long", 240).unwrap();
            other
                .generate(ann.id, &token_salt(&ann, t0()), t0())
                .unwrap()
        }),
        (
            "string exp (row 26)",
            sign(
                Algorithm::HS512,
                &key,
                &json!({"user_id": ann.id, "iat": now, "exp": "9999999999"}),
            ),
        ),
        (
            "no exp",
            sign(
                Algorithm::HS512,
                &key,
                &json!({"user_id": ann.id, "iat": now}),
            ),
        ),
        (
            "no iat",
            sign(
                Algorithm::HS512,
                &key,
                &json!({"user_id": ann.id, "exp": now + 600}),
            ),
        ),
        (
            "no user_id",
            sign(
                Algorithm::HS512,
                &key,
                &json!({"iat": now, "exp": now + 600}),
            ),
        ),
        (
            "user_id as text",
            sign(
                Algorithm::HS512,
                &key,
                &json!({"user_id": ann.id.to_string(), "iat": now, "exp": now + 600}),
            ),
        ),
        ("empty", String::new()),
        ("garbage", "a.b.c".to_string()),
        ("oversized", "a".repeat(100_000)),
    ];
    for (what, token) in &forged {
        assert!(!store.token_verify(&ann, token), "{what}");
    }
}

#[rocket::async_test]
async fn a_placeholder_secret_key_stops_the_launch() {
    let db = common::TempDb::new();
    let figment = rocket::Config::figment().merge(("secret_key", "11".repeat(32)));
    let Err(err) =
        rocket::local::asynchronous::Client::tracked(common::demo_rocket(&db, figment)).await
    else {
        panic!("the launch must fail");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
}

#[rocket::async_test]
async fn instances_sharing_a_secret_accept_each_others_links() {
    let secret = URL_SAFE_NO_PAD.encode(SECRET[..32].iter().rev().copied().collect::<Vec<u8>>());
    let secret = format!("{secret}=");
    assert_eq!(secret.len(), 44);
    let db = common::TempDb::new();
    let figment = rocket::Config::figment().merge(("secret_key", secret.clone()));
    let a = rocket::local::asynchronous::Client::tracked(common::demo_rocket(&db, figment.clone()))
        .await
        .expect("a launches");
    let b = rocket::local::asynchronous::Client::tracked(common::demo_rocket(&db, figment))
        .await
        .expect("b launches");
    let store_a = a.rocket().state::<common::demo::DemoStore>().unwrap();
    let store_b = b.rocket().state::<common::demo::DemoStore>().unwrap();
    let mut ann = User::new("ann@example.com");
    ann.core.is_verified = true;
    store_a.insert_user(&mut ann).await.unwrap();
    let token = store_a.token_generate(&ann).unwrap();
    assert!(store_b.token_verify(&ann, &token));
    let path = format!("/reset-password/{}/{token}", ann.id);
    assert_eq!(
        b.get(path).dispatch().await.status(),
        rocket::http::Status::Ok
    );

    // Without a configured key (debug profile) each instance has its own.
    let c = rocket::local::asynchronous::Client::tracked(common::demo_rocket(
        &db,
        rocket::Config::figment(),
    ))
    .await
    .expect("c launches");
    let store_c = c.rocket().state::<common::demo::DemoStore>().unwrap();
    assert!(!store_c.token_verify(&ann, &token));
}
