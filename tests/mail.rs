//! The mail flows on SQLite and PostgreSQL, against a real SMTP server on
//! loopback: forgot password, reset password, verify account, and creating a
//! user with a verification mail. SECURITY-CHECKLIST rows 3, 18, 22, 23, 29, 30.

use crate::common;

use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{app_configured, body, location, mail_app_with, App, TestBackend};
use kegauth::mail::{AuthMailManager, MailTransport};
use kegauth::Backend;
use rocket::http::Status;
use std::sync::atomic::{AtomicUsize, Ordering};

const OLD: &str = "old password of ann";
const NEW: &str = "correct horse battery staple";

on_sqlite_and_postgres!(
    forgot_mail_resets_the_password_once,
    forgot_answers_alike_for_unknown_and_disabled_users,
    bad_tokens_go_back_to_forgot_and_unknown_users_are_404,
    without_a_mail_manager_the_pages_are_404,
    new_users_get_a_verification_mail_and_verify,
    a_failed_verification_mail_stores_no_user,
    mail_is_sent_off_the_request_path,
    the_forms_need_csrf,
    the_redirect_authenticator_has_no_password_pages,
    apps_override_the_mail_templates,
);

async fn mail_app<B: TestBackend>(
    smtp: &SmtpServer,
) -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    mail_app_with::<B>(smtp.figment()).await
}

/// POST `email` to the forgot page (with a hostile Host header).
async fn forgot<'c, DB: Backend>(
    app: &'c App<DB>,
    email: &str,
) -> rocket::local::asynchronous::LocalResponse<'c> {
    let hostile = [
        ("Host", "evil.example"),
        ("X-Forwarded-Host", "evil.example"),
    ];
    app.forgot_from(email, &hostile, None).await
}

async fn forgot_mail_resets_the_password_once<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app::<B>(&smtp).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(OLD)).await;
    // Logged in before the reset: the reset must end this session (row 18).
    app.log_in_as(&ann).await;
    assert_eq!(app.who().await, "Logged in as ann@example.com");

    let page = body(app.client.get("/login").dispatch().await).await;
    assert!(page.contains(r#"href="/forgot-password""#), "{page}");
    let r = forgot(&app, "ANN@example.com").await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/login");
    assert_eq!(
        app.flashes().await,
        "success: Please check your email for the link to change your password."
    );

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["ann@example.com".to_string()]);
    assert_eq!(mail.from, "noreply@example.com");
    assert_eq!(mail.subject(), "[TS] Password Reset Link");
    assert!(mail.has_both_parts(), "a text and an HTML part");
    assert!(
        mail.text().contains("reset your password on Test Site"),
        "{}",
        mail.text()
    );
    let link = mail.link();
    // The configured origin, never the request's Host (row 30).
    assert!(
        link.starts_with(&format!("{ORIGIN}/reset-password/{}/", ann.id)),
        "{link}"
    );
    assert!(!mail.text().contains("evil.example") && !mail.html().contains("evil.example"));
    assert!(
        mail.html().contains(&format!(r#"<a href="{link}">"#)),
        "{}",
        mail.html()
    );

    let path = mail.link_path(ORIGIN);
    let r = app.client.get(path.clone()).dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    // No caching and no Referer leak of the token (row 22).
    assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(r.headers().get_one("Referrer-Policy"), Some("no-referrer"));
    let page = body(r).await;
    assert!(
        page.contains("ann@example.com") && page.contains(r#"name="confirm""#),
        "{page}"
    );

    // Policy (row 3): 7 characters are refused, and so is a confirm mismatch.
    let r = app.set_password_at(&path, "1234567", "1234567").await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
    assert!(body(r)
        .await
        .contains("Password must be at least 8 characters long."));
    let r = app.set_password_at(&path, NEW, "something else").await;
    assert!(body(r).await.contains("Passwords must match."));
    // Row 5: common passwords are refused (no composition rules: NEW is
    // lowercase words).
    for common in ["password1234", "iloveyou2024", "qwertyuiop"] {
        let r = app.set_password_at(&path, common, common).await;
        assert!(
            body(r).await.contains("Password is too easy to guess."),
            "{common}"
        );
    }
    let unchanged = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(
        unchanged.core.password, ann.core.password,
        "nothing changed yet"
    );

    let r = app.set_password_at(&path, NEW, NEW).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/login");
    assert_eq!(
        app.flashes().await,
        "success: Password changed.  Please use the new password to login below."
    );
    assert_eq!(
        app.who().await,
        "Not logged in",
        "the old session was ended"
    );
    let after = app.store.user(ann.id).await.unwrap().unwrap();
    assert_ne!(after.core.session_key, ann.core.session_key);
    assert!(after.core.is_verified);

    // Single use (row 23): the same link now goes back to the forgot page.
    let r = app.client.get(path.clone()).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/forgot-password");

    let r = app.login("ann@example.com", OLD).await;
    assert_eq!(r.status(), Status::Ok, "the old password fails");
    assert_eq!(app.who().await, "Not logged in");
    let r = app.login("ann@example.com", NEW).await;
    assert_eq!(location(&r), "/");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
}

async fn forgot_answers_alike_for_unknown_and_disabled_users<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app::<B>(&smtp).await else {
        return;
    };
    app.user("ann@example.com", Some(OLD)).await;
    let mut bob = app.user("bob@example.com", Some(OLD)).await;
    app.store.set_enabled(&mut bob, false).await.unwrap();

    let mut answers = Vec::new();
    for email in ["nobody@example.com", "bob@example.com", "ann@example.com"] {
        let r = forgot(&app, email).await;
        answers.push((r.status(), location(&r), app.flashes().await));
    }
    assert_eq!(answers[0], answers[2], "unknown looks like known (row 29)");
    assert_eq!(answers[1], answers[2], "disabled looks like known");
    let received = smtp.wait_for(1).await;
    // The unknown and disabled requests came first and sent nothing.
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, vec!["ann@example.com".to_string()]);

    // A malformed address is a form error, not a silent success.
    let r = forgot(&app, "not an address").await;
    assert_eq!(r.status(), Status::Ok);
    assert!(body(r).await.contains("Invalid email address."));
}

async fn bad_tokens_go_back_to_forgot_and_unknown_users_are_404<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app::<B>(&smtp).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(OLD)).await;
    let good = app.store.token_generate(&ann).unwrap();
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for page in ["reset-password", "verify-account"] {
        for token in [tampered.as_str(), "not-a-token", "a.b.c"] {
            let r = app
                .client
                .get(format!("/{page}/{}/{token}", ann.id))
                .dispatch()
                .await;
            assert_eq!(r.status(), Status::SeeOther, "{page} {token}");
            assert_eq!(location(&r), "/forgot-password");
            assert!(app
                .flashes()
                .await
                .contains("Authentication token was invalid or expired."));
        }
        for (id, expected) in [
            ("999999".to_string(), Status::NotFound),
            ("abc".to_string(), Status::NotFound),
            (ann.id.to_string(), Status::Ok),
        ] {
            let path = format!("/{page}/{id}/{good}");
            let r = app.client.get(path.clone()).dispatch().await;
            assert_eq!(r.status(), expected, "{path}");
        }
    }
    // A token for ann does not open bob's page.
    let bob = app.user("bob@example.com", Some(OLD)).await;
    let r = app
        .client
        .get(format!("/reset-password/{}/{good}", bob.id))
        .dispatch()
        .await;
    assert_eq!(location(&r), "/forgot-password");
    // A POST with a bad token changes nothing.
    let csrf = app.csrf().await;
    let r = app
        .post_form(
            &format!("/reset-password/{}/{tampered}", ann.id),
            &[("password", NEW), ("confirm", NEW), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(location(&r), "/forgot-password");
    let after = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(after.core.password, ann.core.password);
}

/// The forgot page, and ann's reset and verify pages with a valid token.
async fn mail_pages<DB: Backend>(app: &App<DB>) -> [String; 3] {
    let ann = app.user("ann@example.com", Some(OLD)).await;
    let token = app.store.token_generate(&ann).unwrap();
    [
        "/forgot-password".to_string(),
        format!("/reset-password/{}/{token}", ann.id),
        format!("/verify-account/{}/{token}", ann.id),
    ]
}

async fn without_a_mail_manager_the_pages_are_404<B: TestBackend>() {
    let Some(app) = app_configured::<B>(rocket::Config::figment(), |b| b, |r| r).await else {
        return;
    };
    for path in mail_pages(&app).await {
        assert_eq!(
            app.client.get(path.clone()).dispatch().await.status(),
            Status::NotFound,
            "{path}"
        );
        let csrf = app.csrf().await;
        let r = app
            .post_form(
                &path,
                &[("email", "ann@example.com"), ("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(r.status(), Status::NotFound, "POST {path}");
    }
    let page = body(app.client.get("/login").dispatch().await).await;
    assert!(
        !page.contains("forgot-password"),
        "no forgot link without mail"
    );
}

async fn new_users_get_a_verification_mail_and_verify<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app::<B>(&smtp).await else {
        return;
    };
    let mut ann = common::User::new("ann@example.com");
    let url = app.store.create_user(&mut ann, true).await.unwrap();
    let url = url.expect("a verification link");
    assert!(
        url.starts_with(&format!("{ORIGIN}/verify-account/{}/", ann.id)),
        "{url}"
    );

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["ann@example.com".to_string()]);
    assert_eq!(mail.subject(), "[TS] User Welcome & Verification");
    assert!(mail.has_both_parts());
    assert_eq!(mail.link(), url);
    // Not verified, so no login yet.
    assert!(
        !app.store
            .user(ann.id)
            .await
            .unwrap()
            .unwrap()
            .core
            .is_verified
    );

    let path = mail.link_path(ORIGIN);
    let page = body(app.client.get(path.clone()).dispatch().await).await;
    assert!(
        page.contains("Verify &amp; Set Password") || page.contains("Verify & Set Password"),
        "{page}"
    );
    let r = app.set_password_at(&path, "kX9#vT2q", "kX9#vT2q").await;
    assert_eq!(
        r.status(),
        Status::SeeOther,
        "8 characters are enough (row 3)"
    );
    assert_eq!(location(&r), "/login");
    assert_eq!(
        app.flashes().await,
        "success: Account activated.  Please login below."
    );
    let after = app.store.user(ann.id).await.unwrap().unwrap();
    assert!(after.core.is_verified);
    assert_eq!(
        location(&app.login("ann@example.com", "kX9#vT2q").await),
        "/"
    );

    // Activation used the token up.
    let r = app.client.get(path).dispatch().await;
    assert_eq!(location(&r), "/forgot-password");

    // A bad address is refused before anything is stored.
    let mut bad = common::User::new("not an address");
    assert!(matches!(
        app.store.create_user(&mut bad, true).await,
        Err(kegauth::Error::Invalid(_))
    ));
    assert!(app
        .store
        .user_by_login("not an address")
        .await
        .unwrap()
        .is_none());
}

async fn a_failed_verification_mail_stores_no_user<B: TestBackend>() {
    // An SMTP port where nothing listens.
    let figment = SmtpServer::unreachable_figment();
    let Some(app) = mail_app_with::<B>(figment).await else {
        return;
    };
    let mut ann = common::User::new("ann@example.com");
    let err = app.store.create_user(&mut ann, true).await.unwrap_err();
    assert!(matches!(err, kegauth::Error::Mail(_)), "{err}");
    assert_eq!(err.status(), Status::ServiceUnavailable);
    assert!(app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(ann.id, 0);
    // Without sending, the user is stored and the link still comes back (for the CLI).
    let url = app.store.create_user(&mut ann, false).await.unwrap();
    assert!(url.is_some_and(|u| u.contains("/verify-account/")));
    assert!(app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .is_some());
}

/// A transport that holds every message until the test lets it go.
struct Gated;

static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);
static DELIVERED: AtomicUsize = AtomicUsize::new(0);
/// The SQLite and PostgreSQL variants share the gate: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[rocket::async_trait]
impl MailTransport for Gated {
    async fn send(&self, _message: lettre::Message) -> kegauth::Result<()> {
        // Each permit lets one message through (a dropped permit would go back
        // to the semaphore and let every later message through at once).
        if let Ok(permit) = GATE.acquire().await {
            permit.forget();
        }
        DELIVERED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn mail_is_sent_off_the_request_path<B: TestBackend>() {
    let _serial = SERIAL.lock().await;
    let smtp = SmtpServer::start();
    let Some(app) = app_configured::<B>(
        smtp.figment(),
        |b| b.mail(AuthMailManager::with_transport(Gated)),
        |r| r,
    )
    .await
    else {
        return;
    };
    app.user("ann@example.com", Some(OLD)).await;
    let before = DELIVERED.load(Ordering::SeqCst);
    // The answer comes while the transport is still stuck (row 29).
    let r = forgot(&app, "ann@example.com").await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(DELIVERED.load(Ordering::SeqCst), before);
    GATE.add_permits(1);
    for _ in 0..500 {
        if DELIVERED.load(Ordering::SeqCst) > before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the mail was never delivered");
}

async fn the_forms_need_csrf<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app::<B>(&smtp).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(OLD)).await;
    let token = app.store.token_generate(&ann).unwrap();
    let r = app
        .post_form("/forgot-password", &[("email", "ann@example.com")])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let path = format!("/reset-password/{}/{token}", ann.id);
    let r = app
        .post_form(
            &path,
            &[("password", NEW), ("confirm", NEW), ("csrf_token", "wrong")],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let after = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(after.core.password, ann.core.password);
    assert!(smtp.received().is_empty());
}

async fn the_redirect_authenticator_has_no_password_pages<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let figment = smtp
        .figment()
        .merge(("kegauth.redirect_login_target", "/sso"));
    let Some(app) = app_configured::<B>(
        figment,
        |b| {
            b.mail(AuthMailManager::from_config())
                .authenticator(kegauth::Authenticator::Redirect)
        },
        |r| r,
    )
    .await
    else {
        return;
    };
    for path in mail_pages(&app).await {
        let r = app.client.get(path.clone()).dispatch().await;
        assert_eq!(r.status(), Status::NotFound, "{path}");
    }
}

async fn apps_override_the_mail_templates<B: TestBackend>() {
    let dir = std::env::temp_dir().join(format!("kegauth-mail-tpl-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("kegauth/mail")).unwrap();
    std::fs::write(
        dir.join("kegauth/mail/reset-password.md"),
        "{% block subject %}Reset for {{ email }}\nBcc: injected@example.com{% endblock %}\n\
         {% block body %}# {{ site_name }}\n\nGo to <{{ url }}>.\n\n<script>x</script>{% endblock %}",
    )
    .unwrap();
    let smtp = SmtpServer::start();
    let figment = smtp
        .figment()
        .merge(("template_dir", dir.display().to_string()))
        // kegauth's layout: this template_dir has none of the demo's.
        .merge(("kegauth.base_template", "kegauth/base.html"));
    let Some(app) = mail_app_with::<B>(figment).await else {
        return;
    };
    app.user("ann@example.com", Some(OLD)).await;
    forgot(&app, "ann@example.com").await;
    let mail = smtp.wait_for(1).await.remove(0);
    // The subject is folded onto one line: a template cannot add headers.
    assert_eq!(
        mail.subject(),
        "Reset for ann@example.com Bcc: injected@example.com"
    );
    assert_eq!(
        mail.to,
        vec!["ann@example.com".to_string()],
        "no Bcc recipient"
    );
    assert!(mail.text().starts_with("# Test Site"), "{}", mail.text());
    assert!(
        mail.html().contains("<h1>Test Site</h1>"),
        "{}",
        mail.html()
    );
    assert!(
        mail.html().contains("&lt;script&gt;"),
        "raw HTML is escaped"
    );
    assert!(mail
        .link()
        .starts_with(&format!("{ORIGIN}/reset-password/")));
    let _ = std::fs::remove_dir_all(&dir);
}
