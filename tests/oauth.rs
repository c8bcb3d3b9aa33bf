//! The OAuth / OpenID Connect login against a real provider (npm
//! `oidc-provider` on a loopback port, see tests/common/oidc.rs), driven
//! through its login and consent pages by a cookie-keeping client: a
//! success (with the claims from userinfo and from the ID token), unknown,
//! inactive and unverified identities, the domain filter, a tampered state,
//! a replayed code, a nonce mismatch, an expired login, the redirect
//! authenticator; and the domain filters' effect on password login,
//! forgot-password, welcome mail and the user admin. SECURITY-CHECKLIST
//! rows 36-37.

use crate::common;

use crate::common::oidc::{param, with_param, OidcProvider, ProviderBrowser};
use crate::common::smtp::SmtpServer;
use crate::common::web::{app_configured, body, location, login_path, App, OnSqlite};
use kegauth::clock::ManualClock;
use kegauth::testing::Factory;
use kegauth::Authenticator;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::http::Status;
use serde_json::json;
use std::sync::Arc;

pub(crate) type SqliteApp = App<sqlx::Sqlite>;

const PROFILE: &str = "test";
const PASSWORD: &str = "a long and unusual password";
/// The flash of a callback that fails its checks.
const FAILED: &str = "error: The sign-in could not be completed. Please try again.";

/// The provider's people: login name -> claims.
fn accounts() -> serde_json::Value {
    json!({
        "ann": { "email": "ann@example.com", "email_verified": true, "preferred_username": "ann" },
        "ann-again": { "email": "ann@example.com", "email_verified": true },
        "zed": { "email": "zed@example.com", "email_verified": true },
        "dee": { "email": "dee@example.com", "email_verified": true },
        "eve": { "email": "eve@other.org", "email_verified": true },
        "una": { "email": "una@example.com", "email_verified": false },
    })
}

fn provider(claims_in_id_token: bool) -> Option<OidcProvider> {
    OidcProvider::start(&[PROFILE], accounts(), claims_in_id_token)
}

/// `[kegauth]` with `profiles` and the test origin.
fn figment_with(base: Figment, profiles: serde_json::Value) -> Figment {
    base.merge(("kegauth.server_name", "app.example.com"))
        .merge(("kegauth.preferred_url_scheme", "https"))
        .merge(Serialized::default("kegauth.oauth_profiles", profiles))
}

/// The test app with `profiles`, on `clock` (real time by default).
pub(crate) async fn oauth_app(
    profiles: serde_json::Value,
    authenticator: Authenticator,
    clock: Option<Arc<ManualClock>>,
) -> SqliteApp {
    let mut figment = figment_with(rocket::Config::figment(), profiles);
    if authenticator == Authenticator::Redirect {
        figment = figment.merge(("kegauth.redirect_login_target", "/login/test"));
    }
    app_configured::<OnSqlite>(
        figment,
        move |b| {
            let b = b.authenticator(authenticator);
            match clock {
                Some(clock) => b.clock(clock),
                None => b,
            }
        },
        |r| r,
    )
    .await
    .expect("SQLite always runs")
}

/// The app with the provider's profile, filtered to example.com, and its
/// people: ann (unverified until her first OAuth login), dee (disabled) and
/// eve (at other.org).
async fn standard_app(p: &OidcProvider) -> SqliteApp {
    let app = oauth_app(
        json!([p.profile(PROFILE, Some("example.com"))]),
        Authenticator::Keg,
        None,
    )
    .await;
    people(&app).await;
    app
}

async fn people(app: &SqliteApp) {
    let factory = Factory::new(app.store.clone());
    factory
        .user("ann@example.com")
        .unverified()
        .create()
        .await
        .expect("ann");
    factory
        .user("dee@example.com")
        .disabled()
        .create()
        .await
        .expect("dee");
    factory.user("eve@other.org").create().await.expect("eve");
}

/// GET a start path: the authorization URL kegauth sends the browser to.
pub(crate) async fn begin(app: &SqliteApp, path: &str) -> String {
    let r = app.client.get(path.to_string()).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther, "{path}");
    location(&r)
}

/// The whole dance as `login`, in a browser new to the provider: the
/// callback path the provider sends back.
async fn dance(app: &SqliteApp, login: &str) -> String {
    let start = begin(app, "/login/test").await;
    ProviderBrowser::new().authorize(&start, login).await
}

/// Follow a callback that must be refused: back on /login, nobody logged
/// in; the flashes.
pub(crate) async fn refused(app: &SqliteApp, callback: &str) -> String {
    let r = app.client.get(callback.to_string()).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther, "{callback}");
    assert_eq!(location(&r), "/login");
    assert_eq!(app.who().await, "Not logged in");
    app.flashes().await
}

pub(crate) async fn forget_session(app: &SqliteApp) {
    app.client.get(login_path("none")).dispatch().await;
    assert_eq!(app.who().await, "Not logged in");
}

#[rocket::async_test]
async fn oauth_logs_in_the_matching_user_with_claims_from_userinfo_or_the_id_token() {
    for claims_in_id_token in [false, true] {
        let Some(p) = provider(claims_in_id_token) else {
            return;
        };
        let app = standard_app(&p).await;
        // The login page offers the provider, keeping `next`.
        let page = body(app.client.get("/login?next=/secret1").dispatch().await).await;
        assert!(
            page.contains(r#"href="/login/test?next=%2Fsecret1">Log in with Test IdP</a>"#),
            "{page}"
        );
        let start = begin(&app, "/login/test?next=/secret1").await;
        assert!(start.starts_with(&format!("{}/auth?", p.issuer)), "{start}");
        assert_eq!(
            param(&start, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert_eq!(param(&start, "response_type").as_deref(), Some("code"));
        for name in ["state", "nonce", "code_challenge"] {
            assert!(param(&start, name).is_some_and(|v| v.len() >= 16), "{name}");
        }
        assert_eq!(
            param(&start, "redirect_uri").as_deref(),
            Some("https://app.example.com/oauth-authorize/test")
        );
        let back = ProviderBrowser::new().authorize(&start, "ann").await;
        let r = app.client.get(back.clone()).dispatch().await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/secret1");
        // The cookie of the pending login is removed.
        let removed = r
            .headers()
            .get("Set-Cookie")
            .any(|c| c.starts_with("__Host-kegauth-oauth=;"));
        assert!(removed, "{:?}", r.headers());
        assert_eq!(app.who().await, "Logged in as ann@example.com");
        assert!(app.flashes().await.starts_with("success:"));
        assert_eq!(app.status("/secret1").await, Status::Ok);
        let ann = app
            .store
            .user_by_login("ann@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(ann.core.is_verified, "OAuth marks the user verified");
        assert!(ann.core.last_login_utc.is_some());
        let logins = app
            .audit_events(&kegauth::audit::AuditFilter::default().kind("login-success"))
            .await;
        assert_eq!(logins.len(), 1);
        assert_eq!(logins[0].event.actor, Some(ann.id));
        assert_eq!(
            (
                logins[0].event.detail["method"].as_str(),
                logins[0].event.detail["provider"].as_str()
            ),
            (Some("oauth"), Some("test"))
        );
    }
}

#[rocket::async_test]
async fn oauth_unknown_inactive_unverified_and_foreign_identities_are_refused() {
    let Some(p) = provider(false) else { return };
    let app = standard_app(&p).await;
    let users_before = app.store.users().await.unwrap().len();
    for (login, expected) in [
        (
            "zed",
            "No account here matches zed@example.com. Ask an administrator to create one.",
        ),
        ("dee", "This user account is disabled."),
        (
            "una",
            "Test IdP did not give a verified email address for your account.",
        ),
        (
            "eve",
            "Test IdP sign-in is only for accounts at example.com, not eve@other.org.",
        ),
    ] {
        let back = dance(&app, login).await;
        let flashes = refused(&app, &back).await;
        assert_eq!(flashes, format!("error: {expected}"), "{login}");
    }
    // No account was created for anyone.
    assert_eq!(app.store.users().await.unwrap().len(), users_before);
    assert!(app
        .store
        .user_by_login("zed@example.com")
        .await
        .unwrap()
        .is_none());
    // The provider said no.
    let start = begin(&app, "/login/test").await;
    let state = param(&start, "state").unwrap();
    let denied = format!("/oauth-authorize/test?error=access_denied&state={state}");
    assert_eq!(
        refused(&app, &denied).await,
        "error: Test IdP did not let you sign in."
    );
}

#[rocket::async_test]
async fn oauth_a_tampered_state_is_refused_and_uses_up_the_pending_login() {
    let Some(p) = provider(false) else { return };
    let app = standard_app(&p).await;
    let back = dance(&app, "ann").await;
    for forged in ["forged", "", &param(&back, "state").unwrap()[1..]] {
        let tampered = with_param(&back, "state", forged);
        assert_eq!(refused(&app, &tampered).await, FAILED);
    }
    // The answer names the provider (RFC 9207); another issuer is refused.
    assert_eq!(param(&back, "iss").as_deref(), Some(p.issuer.as_str()));
    let back = dance(&app, "ann").await;
    let mixed_up = with_param(&back, "iss", "https://evil.example.com");
    assert_eq!(refused(&app, &mixed_up).await, FAILED);
    // The genuine callback comes too late: its pending login was used up.
    assert_eq!(refused(&app, &back).await, FAILED);
    // A callback from another profile's login does not count either.
    let other = back.replace("/oauth-authorize/test", "/oauth-authorize/other");
    assert_eq!(
        app.client.get(other).dispatch().await.status(),
        Status::NotFound
    );
}

#[rocket::async_test]
async fn oauth_a_replayed_code_is_refused() {
    let Some(p) = provider(false) else { return };
    let app = standard_app(&p).await;
    let back = dance(&app, "ann").await;
    let r = app.client.get(back.clone()).dispatch().await;
    assert_eq!(location(&r), "/");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    forget_session(&app).await;
    // The same callback again: nothing is pending.
    assert_eq!(refused(&app, &back).await, FAILED);
    // The used code with a fresh login's state: kegauth redeems it, and the
    // provider refuses it.
    let start = begin(&app, "/login/test").await;
    let replay = with_param(&back, "state", &param(&start, "state").unwrap());
    assert_eq!(refused(&app, &replay).await, FAILED);
}

#[rocket::async_test]
async fn oauth_identity_is_issuer_and_subject_so_the_same_email_cannot_take_over() {
    let Some(p) = provider(false) else { return };
    let app = standard_app(&p).await;
    let back = dance(&app, "ann").await;
    app.client.get(back).dispatch().await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    let ann = app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store.oauth_user_id(&p.issuer, "ann").await.unwrap(),
        Some(ann.id)
    );
    forget_session(&app).await;
    // Another provider account with the same verified address.
    let back = dance(&app, "ann-again").await;
    assert_eq!(
        refused(&app, &back).await,
        "error: ann@example.com is linked to a different Test IdP account."
    );
    assert_eq!(
        app.store
            .oauth_user_id(&p.issuer, "ann-again")
            .await
            .unwrap(),
        None
    );
    // The linked identity still logs in.
    let back = dance(&app, "ann").await;
    app.client.get(back).dispatch().await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    // Deleting the user deletes the link.
    forget_session(&app).await;
    app.store.delete_user(ann.id).await.unwrap();
    assert_eq!(
        app.store.oauth_user_id(&p.issuer, "ann").await.unwrap(),
        None
    );
}

#[rocket::async_test]
async fn oauth_id_tokens_signed_with_a_shared_secret_are_refused() {
    let Some(p) = provider(false) else { return };
    let mut profile = p.profile(PROFILE, Some("example.com"));
    profile["client_id"] = common::oidc::HS256_CLIENT_ID.into();
    let app = oauth_app(json!([profile]), Authenticator::Keg, None).await;
    people(&app).await;
    let back = dance(&app, "ann").await;
    assert_eq!(refused(&app, &back).await, FAILED);
}

#[rocket::async_test]
async fn oauth_a_nonce_mismatch_is_refused() {
    let Some(p) = provider(true) else { return };
    let app = standard_app(&p).await;
    // An attacker's nonce in the authorization request: the provider signs
    // an ID token with it, which does not match the browser's cookie.
    let start = begin(&app, "/login/test").await;
    let forged = with_param(&start, "nonce", "the-attackers-nonce-0123456789");
    let back = ProviderBrowser::new().authorize(&forged, "ann").await;
    assert_eq!(refused(&app, &back).await, FAILED);
    // The same dance with the nonce left alone logs in.
    let back = dance(&app, "ann").await;
    app.client.get(back).dispatch().await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
}

#[rocket::async_test]
async fn oauth_a_login_left_at_the_provider_for_over_ten_minutes_is_refused() {
    let Some(p) = provider(false) else { return };
    let clock = Arc::new(ManualClock::new(chrono::Utc::now().naive_utc()));
    let app = oauth_app(
        json!([p.profile(PROFILE, Some("example.com"))]),
        Authenticator::Keg,
        Some(clock.clone()),
    )
    .await;
    people(&app).await;
    let back = dance(&app, "ann").await;
    clock.advance(chrono::TimeDelta::minutes(11));
    assert_eq!(refused(&app, &back).await, FAILED);
}

#[rocket::async_test]
async fn oauth_an_expired_id_token_is_refused() {
    let Some(p) = provider(false) else { return };
    // kegauth's clock two hours ahead: the provider's one-hour ID tokens
    // have expired by it, while the login itself takes no time.
    let ahead = chrono::Utc::now().naive_utc() + chrono::TimeDelta::hours(2);
    let app = oauth_app(
        json!([p.profile(PROFILE, Some("example.com"))]),
        Authenticator::Keg,
        Some(Arc::new(ManualClock::new(ahead))),
    )
    .await;
    people(&app).await;
    let back = dance(&app, "ann").await;
    assert_eq!(refused(&app, &back).await, FAILED);
}

#[rocket::async_test]
async fn oauth_the_issuer_must_match_exactly() {
    let Some(p) = provider(false) else { return };
    let mut profile = p.profile(PROFILE, Some("example.com"));
    profile["issuer"] = format!("{}/", p.issuer).into();
    let app = oauth_app(json!([profile]), Authenticator::Keg, None).await;
    // Discovery refuses a provider that calls itself something else.
    assert_eq!(
        app.browse("/login/test").await.status(),
        Status::ServiceUnavailable
    );
}

#[rocket::async_test]
async fn oauth_with_the_redirect_authenticator_login_goes_to_the_provider() {
    let Some(p) = provider(false) else { return };
    let app = oauth_app(
        json!([p.profile(PROFILE, Some("example.com"))]),
        Authenticator::Redirect,
        None,
    )
    .await;
    people(&app).await;
    let r = app.client.get("/login?next=/secret1").dispatch().await;
    assert_eq!(location(&r), "/login/test");
    // A refusal is a page: /login would send the browser straight back.
    let back = dance(&app, "zed").await;
    let r = app.client.get(back).dispatch().await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(body(r)
        .await
        .contains("No account here matches zed@example.com."));
    // ann logs in and lands where she was going.
    let back = dance(&app, "ann").await;
    let r = app.client.get(back).dispatch().await;
    assert_eq!(location(&r), "/secret1");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
}

/// A profile whose provider is never reached (the domain tests need no provider).
fn unreachable_profile() -> serde_json::Value {
    json!([{
        "name": PROFILE,
        "label": "Test IdP",
        "issuer": format!("http://127.0.0.1:{}", common::ldap::closed_port()),
        "client_id": "kegauth",
        "domain_filter": ["example.com", "corp.example.org"],
    }])
}

#[rocket::async_test]
async fn oauth_unknown_profiles_are_404_and_an_unreachable_provider_is_503() {
    let app = oauth_app(unreachable_profile(), Authenticator::Keg, None).await;
    for path in [
        "/login/nope",
        "/oauth-authorize/nope?code=x&state=y",
        "/login/Test",
    ] {
        assert_eq!(
            app.client.get(path).dispatch().await.status(),
            Status::NotFound,
            "{path}"
        );
    }
    let r = app.browse("/login/test").await;
    assert_eq!(r.status(), Status::ServiceUnavailable);
    // Without profiles the routes are there and answer 404.
    let plain = oauth_app(json!([]), Authenticator::Keg, None).await;
    assert_eq!(
        plain.client.get("/login/test").dispatch().await.status(),
        Status::NotFound
    );
    assert!(!body(plain.client.get("/login").dispatch().await)
        .await
        .contains("oauth-login"));
}

#[rocket::async_test]
async fn oauth_filtered_domains_cannot_log_in_with_a_password() {
    let app = oauth_app(unreachable_profile(), Authenticator::Keg, None).await;
    let factory = Factory::new(app.store.clone());
    for email in ["ann@example.com", "bo@corp.example.org", "cy@other.org"] {
        factory
            .user(email)
            .password(PASSWORD)
            .create()
            .await
            .expect("a user");
    }
    for (email, domain) in [
        ("ann@example.com", "example.com"),
        ("ANN@Example.COM", "example.com"),
        ("bo@corp.example.org", "corp.example.org"),
        ("nobody@example.com", "example.com"),
    ] {
        let r = app.login(email, PASSWORD).await;
        assert_eq!(r.status(), Status::Ok, "{email}");
        let page = body(r).await;
        assert!(
            page.contains(&format!("Accounts at {domain} log in with Test IdP.")),
            "{email}: {page}"
        );
        assert_eq!(app.who().await, "Not logged in");
    }
    // Other domains still log in with their password.
    let r = app.login("cy@other.org", PASSWORD).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as cy@other.org");
}

#[rocket::async_test]
async fn oauth_filtered_domains_get_no_mail_and_keep_their_login_id() {
    let smtp = SmtpServer::start();
    let figment = figment_with(smtp.figment(), unreachable_profile());
    let app = app_configured::<OnSqlite>(
        figment,
        |b| b.mail(kegauth::mail::AuthMailManager::from_config()),
        |r| r,
    )
    .await
    .expect("SQLite always runs");
    let factory = Factory::new(app.store.clone());
    let ann = factory
        .user("ann@example.com")
        .password(PASSWORD)
        .create()
        .await
        .unwrap();
    factory
        .user("cy@other.org")
        .password(PASSWORD)
        .create()
        .await
        .unwrap();
    // Forgot password: nothing for the provider's domain, a link for others.
    app.forgot_from("ann@example.com", &[], None).await;
    app.forgot_from("cy@other.org", &[], None).await;
    let mail = smtp.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(mail[0].to, ["cy@other.org"]);
    // New users: no welcome mail for the provider's domain.
    app.login_superuser("boss@other.org").await;
    let csrf = app.csrf().await;
    for email in ["new@example.com", "new@other.org"] {
        let r = app
            .post_form(
                "/users/add",
                &[
                    ("email", email),
                    ("is_enabled", "true"),
                    ("send_welcome", "true"),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther, "{email}");
    }
    let mail = smtp.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 2);
    assert_eq!(mail[1].to, ["new@other.org"]);
    // The admin cannot change the login id of the provider's users...
    let edit = format!("/users/{}/edit", ann.id);
    for new in ["ann@other.org", "ann2@example.com"] {
        let r = app
            .post_form(
                &edit,
                &[
                    ("email", new),
                    ("is_enabled", "true"),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::Ok, "{new}");
        assert!(body(r)
            .await
            .contains("This account logs in with Test IdP; its login cannot be changed."));
    }
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.email, "ann@example.com");
    // ...but may edit the rest.
    let r = app
        .post_form(
            &edit,
            &[("email", "ann@example.com"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(
        !app.store
            .user(ann.id)
            .await
            .unwrap()
            .unwrap()
            .core
            .is_enabled
    );
}

/// With `two_factor_for` naming `oauth`, a user with a second factor who
/// comes back from the provider takes the second step too (by default an
/// OAuth login does not: the provider has its own).
#[rocket::async_test]
async fn oauth_logins_take_the_second_step_when_configured() {
    let Some(p) = provider(false) else { return };
    for (methods, second_step) in [
        (json!(["password"]), false),
        (json!(["password", "oauth"]), true),
    ] {
        let figment = figment_with(
            rocket::Config::figment(),
            json!([p.profile(PROFILE, Some("example.com"))]),
        )
        .merge(Serialized::default("kegauth.two_factor_for", methods));
        let app = app_configured::<OnSqlite>(figment, |b| b, |r| r)
            .await
            .expect("SQLite always runs");
        people(&app).await;
        let ann = app
            .store
            .user_by_login("ann@example.com")
            .await
            .unwrap()
            .unwrap();
        let (secret, step) = common::turn_on_totp(&app.store, ann.id).await;
        let back = dance(&app, "ann").await;
        let r = app.client.get(back).dispatch().await;
        if !second_step {
            assert_eq!(location(&r), "/");
            assert_eq!(app.who().await, "Logged in as ann@example.com");
            continue;
        }
        assert_eq!(location(&r), "/login/verify");
        assert_eq!(app.who().await, "Not logged in");
        let code = secret.code_at(step + 1);
        let r = app.submit("/login/verify", &[("code", &code)]).await;
        assert_eq!(
            (r.status(), location(&r)),
            (Status::SeeOther, "/".to_string())
        );
        assert_eq!(app.who().await, "Logged in as ann@example.com");
    }
}
