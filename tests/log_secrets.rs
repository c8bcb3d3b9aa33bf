//! SECURITY-CHECKLIST row 41: authentication events are logged, and no log
//! line holds a secret. Every line of a whole session of use (logins right and
//! wrong, a bearer JWT and an API token good and forged, a reset mail and its
//! link, a mistyped and an accepted new password, logout) is captured at
//! Rocket's "normal" level (every `info!` of kegauth, Rocket, sqlx and
//! lettre), then searched for every password, token, key and cookie value the
//! session used. Rocket's "debug" level is out of scope: there Rocket's own
//! form parser traces every form field, passwords included (SECURITY.md).

use crate::common;

use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{app_configured, body, csrf_in, OnSqlite};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kegauth::loaders::{
    api_token_header, registered_loader, ApiTokenOptions, JwtRequestLoader, TokenRequestLoader,
};
use kegauth::mail::AuthMailManager;
use rocket::http::{Header, Status};

const OLD: &str = "old password of ann, 1";
const WRONG: &str = "wrong password of ann, 2";
const NEW: &str = "new password of ann, 3";
const MISTYPED: &str = "mistyped password of ann, 4";
const CONFIRMED: &str = "its confirmation, 5";

#[rocket::async_test]
async fn logs_hold_no_passwords_tokens_keys_or_cookies() {
    common::logs::install();
    let smtp = SmtpServer::start();
    let jwt_secret = STANDARD.encode(rand::random::<[u8; 32]>());
    let figment = smtp
        .figment()
        .merge(("log_level", "normal"))
        .merge(("kegauth.jwt.secret", &jwt_secret));
    let app = app_configured::<OnSqlite>(
        figment,
        |b| {
            b.mail(AuthMailManager::from_config())
                .request_loader(JwtRequestLoader::default())
                .request_loader(TokenRequestLoader::default())
        },
        |r| r.mount("/", rocket::routes![common::demo::api_me]),
    )
    .await
    .expect("SQLite");
    let mut secrets: Vec<String> = [OLD, WRONG, NEW, MISTYPED, CONFIRMED, &jwt_secret]
        .map(String::from)
        .to_vec();
    let mut ann = app.user("ann@example.com", Some(OLD)).await;
    secrets.push(ann.core.session_key.clone());

    // The API (before any login: no session cookie to fall back on): a
    // bearer JWT and an API token, each good and forged.
    let jwt = registered_loader::<JwtRequestLoader, _>(app.client.rocket())
        .expect("the JWT loader")
        .create_access_token(&ann)
        .expect("a JWT");
    let token = app
        .store
        .reset_auth_token(&mut ann, &ApiTokenOptions::default())
        .await
        .expect("an API token");
    let forged_jwt = format!("{jwt}x");
    let forged_token = format!("{token}x");
    let api = |name: &'static str, value: String| {
        app.client
            .get("/api/me")
            .header(Header::new(name, value))
            .dispatch()
    };
    let header = |token: &str| api_token_header("ann@example.com", token);
    assert_eq!(
        api("Authorization", format!("Bearer {jwt}")).await.status(),
        Status::Ok
    );
    assert_eq!(
        api("X-Auth-Token", header(&token)).await.status(),
        Status::Ok
    );
    let r = api("Authorization", format!("Bearer {forged_jwt}")).await;
    assert_eq!(r.status(), Status::Unauthorized);
    let r = api("X-Auth-Token", header(&forged_token)).await;
    assert_eq!(r.status(), Status::Unauthorized);
    secrets.extend([jwt, token.clone(), forged_jwt, forged_token, header(&token)]);

    // Logins: a wrong password, then the right one.
    assert_eq!(
        app.login("ann@example.com", WRONG).await.status(),
        Status::Ok
    );
    assert_eq!(
        app.login("ann@example.com", OLD).await.status(),
        Status::SeeOther
    );
    secrets.extend(app.client.cookies().iter().map(|c| c.value().to_string()));
    secrets.push(app.csrf().await);

    // A reset mail, a mistyped new password, then a good one.
    let r = app.forgot_from("ann@example.com", &[], None).await;
    assert_eq!(r.status(), Status::SeeOther);
    let link = smtp.wait_for(1).await[0].link_path(ORIGIN);
    let reset_token = link.rsplit('/').next().expect("a token").to_string();
    let r = app.set_password_at(&link, MISTYPED, CONFIRMED).await;
    assert_eq!(r.status(), Status::Ok, "refused: the confirmation differs");
    let r = app.set_password_at(&link, NEW, NEW).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        app.login("ann@example.com", NEW).await.status(),
        Status::SeeOther
    );
    secrets.extend(app.client.cookies().iter().map(|c| c.value().to_string()));

    // Logout.
    let csrf = csrf_in(&body(app.client.get("/logout").dispatch().await).await);
    let r = app.post_form("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), Status::SeeOther);

    let lines = common::logs::lines();
    // Rocket's request lines are captured too (and carry the paths).
    assert!(
        lines.iter().any(|l| l.contains("POST /login")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(&reset_token)),
        "the reset request lines"
    );
    // The events are there...
    for event in [
        "login failed (WrongPassword)",
        "login of \"ann@example.com\" succeeded",
        &format!("password reset mail requested for user {}", ann.id),
        &format!("user {} set a password through a link", ann.id),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains("kegauth::audit") && l.contains(event)),
            "no audit line with {event:?}"
        );
    }
    // ...and no secret is, in any line of kegauth, Rocket, sqlx or lettre.
    // The one exception is the reset token in the path of the reset page's own
    // request lines, which Rocket logs at its "normal" level and above (the
    // link must carry it; production's default "critical" level logs none).
    for line in &lines {
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            assert!(
                !line.contains(secret.as_str()),
                "a secret in the log: {line}"
            );
        }
        if line.contains(&reset_token) {
            assert!(
                line.contains(&format!("/reset-password/{}/{reset_token}", ann.id)),
                "the reset token outside a request path: {line}"
            );
            assert!(
                !line.contains("kegauth"),
                "kegauth logged the reset token: {line}"
            );
        }
    }
}
