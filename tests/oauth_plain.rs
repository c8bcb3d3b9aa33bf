//! Plain OAuth 2 profiles (no discovery, no ID token) against a provider on
//! loopback in GitHub's shapes (tests/common/oauth2.rs): the GitHub preset
//! logs in the user of the primary verified email, with state and PKCE; an
//! id_field naming any user-info field (a dotted path); Discord's shape (the
//! email verified by a field of the user info); refused domains, unverified
//! emails, a provider refusing the code or failing, and one that does not
//! answer.

use crate::common::ldap::closed_port;
use crate::common::oauth2::{FakeOAuth2, CLIENT_ID};
use crate::common::web::location;
use crate::oauth::{begin, forget_session, oauth_app, refused, SqliteApp};
use kegauth::testing::Factory;
use kegauth::Authenticator;
use rocket::http::Status;
use serde_json::{json, Value};

const FAILED: &str = "error: The sign-in could not be completed. Please try again.";

/// The provider's people: login -> GitHub's `/user` and `/user/emails`.
fn people() -> Value {
    let email = |email: &str, primary: bool, verified: bool| json!({"email": email, "primary": primary, "verified": verified});
    json!({
        "ann": {
            "user": {"id": 101, "login": "ann-gh", "email": null},
            "emails": [
                email("ann@old.example.org", false, true),
                email("ann@example.com", true, true),
            ],
        },
        "una": {
            "user": {"id": 102, "login": "una-gh"},
            "emails": [email("una@example.com", true, false), email("u@example.com", false, true)],
        },
        "eve": {
            "user": {"id": 103, "login": "eve-gh"},
            "emails": [email("eve@other.org", true, true)],
        },
        "kim": {
            "user": {"id": "8", "profile": {"mail": "kim@example.com"}, "email": "kim@example.com", "verified": true},
            "emails": [],
        },
        "lou": {
            "user": {"id": "9", "email": "lou@example.com", "verified": false},
            "emails": [],
        },
        "nid": {
            "user": {"login": "no-id"},
            "emails": [email("nid@example.com", true, true)],
        },
    })
}

/// An app with `profile`, and its users.
async fn app_with(profile: Value) -> SqliteApp {
    let app = oauth_app(json!([profile]), Authenticator::Keg, None).await;
    let factory = Factory::new(app.store.clone());
    for email in [
        "ann@example.com",
        "una@example.com",
        "eve@other.org",
        "kim@example.com",
        "lou@example.com",
        "nid@example.com",
    ] {
        factory.user(email).create().await.expect("a user");
    }
    app
}

/// The dance as `login` on `profile`: the callback the provider sends back.
async fn dance(app: &SqliteApp, fake: &FakeOAuth2, profile: &str, login: &str) -> String {
    let start = begin(app, &format!("/login/{profile}")).await;
    fake.authorize(&start, login)
}

#[rocket::async_test]
async fn plain_oauth2_github_logs_in_the_user_of_the_primary_verified_email() {
    let fake = FakeOAuth2::start(people());
    let app = app_with(fake.profile("github", json!({"domain_filter": "example.com"}))).await;
    let page = crate::common::web::body(app.client.get("/login").dispatch().await).await;
    assert!(
        page.contains(r#"href="/login/github">Log in with GitHub</a>"#),
        "the preset's label: {page}"
    );
    let start = begin(&app, "/login/github?next=/secret1").await;
    assert_eq!(FakeOAuth2::scopes(&start), "read:user user:email");
    let back = fake.authorize(&start, "ann");
    let r = app.client.get(back.clone()).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/secret1");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
    // The code was redeemed with the PKCE verifier and the client's secret
    // in the form.
    let redeemed = fake.redeemed();
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0]["client_id"], CLIENT_ID);
    assert!(redeemed[0]["code_verifier"].len() >= 43);
    let ann = app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(ann.core.is_verified);

    // The same callback again is refused (its pending login is used up),
    // and so is a forged state.
    forget_session(&app).await;
    assert_eq!(refused(&app, &back).await, FAILED);
    let back = dance(&app, &fake, "github", "ann").await;
    let forged = back.replace("state=", "state=x");
    assert_eq!(refused(&app, &forged).await, FAILED);

    // A second login finds the linked identity (the provider's id 101).
    let back = dance(&app, &fake, "github", "ann").await;
    app.client.get(back).dispatch().await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");
}

#[rocket::async_test]
async fn plain_oauth2_refuses_foreign_domains_unverified_emails_and_missing_ids() {
    let fake = FakeOAuth2::start(people());
    let app = app_with(fake.profile("github", json!({"domain_filter": "example.com"}))).await;
    for (login, expected) in [
        // The primary email is unverified; a verified secondary one does not count.
        (
            "una",
            "GitHub did not give a verified email address for your account.",
        ),
        (
            "eve",
            "GitHub sign-in is only for accounts at example.com, not eve@other.org.",
        ),
        (
            "nid",
            "GitHub did not give a verified email address for your account.",
        ),
    ] {
        let back = dance(&app, &fake, "github", login).await;
        assert_eq!(
            refused(&app, &back).await,
            format!("error: {expected}"),
            "{login}"
        );
    }
}

#[rocket::async_test]
async fn plain_oauth2_id_field_names_any_user_info_field() {
    let fake = FakeOAuth2::start(people());
    let profile = fake.profile(
        "corp",
        json!({"preset": null, "emails_url": null, "label": "Corp", "id_field": "profile.mail"}),
    );
    let app = app_with(profile).await;
    let back = dance(&app, &fake, "corp", "kim").await;
    let r = app.client.get(back).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as kim@example.com");
    forget_session(&app).await;
    // Ann's user info has no such field.
    let back = dance(&app, &fake, "corp", "ann").await;
    assert_eq!(
        refused(&app, &back).await,
        "error: Corp did not give a verified email address for your account."
    );
}

#[rocket::async_test]
async fn plain_oauth2_discords_shape_trusts_only_a_verified_email() {
    let fake = FakeOAuth2::start(people());
    let profile = fake.profile("discord", json!({"preset": "discord", "emails_url": null}));
    let app = app_with(profile).await;
    let start = begin(&app, "/login/discord").await;
    assert_eq!(FakeOAuth2::scopes(&start), "identify email");
    let r = app
        .client
        .get(fake.authorize(&start, "kim"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.who().await, "Logged in as kim@example.com");
    forget_session(&app).await;
    let back = dance(&app, &fake, "discord", "lou").await;
    assert_eq!(
        refused(&app, &back).await,
        "error: Discord did not give a verified email address for your account."
    );
}

#[rocket::async_test]
async fn plain_oauth2_provider_errors_are_refusals_and_no_answer_is_a_503() {
    let fake = FakeOAuth2::start(people());
    let app = app_with(fake.profile("github", json!({}))).await;
    // The provider fails its user info: the sign-in could not be completed.
    fake.fail_user(500);
    let back = dance(&app, &fake, "github", "ann").await;
    assert_eq!(refused(&app, &back).await, FAILED);
    // The provider refuses the code.
    fake.refuse_codes();
    let back = dance(&app, &fake, "github", "ann").await;
    assert_eq!(refused(&app, &back).await, FAILED);
    // The person said no at the provider.
    let start = begin(&app, "/login/github").await;
    let state = url::Url::parse(&start)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(
        refused(
            &app,
            &format!("/oauth-authorize/github?error=access_denied&state={state}")
        )
        .await,
        "error: GitHub did not let you sign in."
    );

    // A token URL nobody answers: the service is unavailable.
    let down = format!("http://127.0.0.1:{}/token", closed_port());
    let app = app_with(fake.profile("github", json!({"token_url": down}))).await;
    let start = begin(&app, "/login/github").await;
    let back = fake.authorize(&start, "ann");
    let r = app.client.get(back).dispatch().await;
    assert_eq!(r.status(), Status::ServiceUnavailable);
    assert_eq!(app.who().await, "Not logged in");
}
