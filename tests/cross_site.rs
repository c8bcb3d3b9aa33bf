//! Cross-site form posts, on SQLite and PostgreSQL: every POST route kegauth
//! mounts refuses a post that the browser marks as coming from another site
//! (`Sec-Fetch-Site`, else `Origin` against `Host`), even with the right CSRF
//! token; same-origin posts and configured trusted origins pass.
//! SECURITY-CHECKLIST row 39.

use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{body, location, mail_app_with, App, TestBackend};
use kegauth::Backend;
use rocket::http::{Method, Status};

on_sqlite_and_postgres!(
    every_form_post_from_another_site_is_refused,
    same_origin_and_trusted_origins_pass,
);

const PASSWORD: &str = "correct horse battery staple";

/// The concrete path of a POST route, its parameters filled in.
fn concrete(uri: &str, user_id: i64, token: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    path.split('/')
        .map(|segment| match segment {
            "<user_id>" | "<id>" | "<passkey>" => user_id.to_string(),
            "<token>" => token.to_string(),
            "<address>" => "bmV3QGV4YW1wbGUuY29t".to_string(),
            s if s.starts_with('<') => panic!("a new route parameter in {uri}: fill it in here"),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// POST `fields` (with the session's CSRF token) to `path` with `headers`.
async fn post<'c, DB: Backend>(
    app: &'c App<DB>,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&'static str, &'static str)],
) -> rocket::local::asynchronous::LocalResponse<'c> {
    let csrf = app.csrf().await;
    let mut all = fields.to_vec();
    all.push(("csrf_token", &csrf));
    app.post_form_with(path, &all, headers).await
}

async fn every_form_post_from_another_site_is_refused<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app_with::<B>(smtp.figment()).await else {
        return;
    };
    let victim = app.user("victim@example.com", Some(PASSWORD)).await;
    let r = app.forgot_from("victim@example.com", &[], None).await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let link = smtp.wait_for(1).await.remove(0).link_path(ORIGIN);
    let token = link.rsplit('/').next().expect("a token").to_string();
    app.login_superuser("root@example.com").await;

    let paths: Vec<String> = app
        .client
        .rocket()
        .routes()
        .filter(|r| r.method == Method::Post)
        .map(|r| r.uri.to_string())
        .filter(|uri| !uri.starts_with(kegauth::testing::TEST_ROUTES))
        .map(|uri| concrete(&uri, victim.id, &token))
        .collect();
    for needed in ["/login", "/logout", "/forgot-password", "/users/add"] {
        assert!(paths.iter().any(|p| p == needed), "{needed} in {paths:?}");
    }
    let fields = [
        ("email", "victim@example.com"),
        ("login_id", "victim@example.com"),
        ("password", "a new password of some length"),
        ("confirm", "a new password of some length"),
        ("name", "sneaky"),
        ("is_enabled", "true"),
    ];
    let cross_site: [&[(&'static str, &'static str)]; 3] = [
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ],
        &[("Sec-Fetch-Site", "same-site"), ("Origin", ORIGIN)],
        &[("Origin", "https://evil.example")],
    ];
    for path in &paths {
        for headers in cross_site {
            let r = post(&app, path, &fields, headers).await;
            assert_eq!(
                r.status(),
                Status::Forbidden,
                "POST {path} with {headers:?}"
            );
            let page = body(r).await;
            assert!(page.contains("form has expired"), "{path}: {page}");
        }
    }
    // Nothing happened: still logged in, nothing added, nothing changed.
    assert_eq!(app.who().await, "Logged in as root@example.com");
    assert!(app.store.group_by_name("sneaky").await.unwrap().is_none());
    assert!(app.store.bundle_by_name("sneaky").await.unwrap().is_none());
    let victim_now = app.store.user(victim.id).await.unwrap().expect("victim");
    assert_eq!(victim_now.core.session_key, victim.core.session_key);
    assert_eq!(app.store.users().await.unwrap().len(), 2);
}

async fn same_origin_and_trusted_origins_pass<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let figment = smtp
        .figment()
        .merge(("kegauth.trusted_origins", ["https://front.example.com"]));
    let Some(app) = mail_app_with::<B>(figment).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let login = [("login_id", "ann@example.com"), ("password", PASSWORD)];
    let host = ORIGIN.split_once("://").unwrap().1;
    let passing: [&[(&'static str, &'static str)]; 4] = [
        &[],
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", ORIGIN)],
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://front.example.com"),
        ],
        &[("Origin", ORIGIN), ("Host", host)],
    ];
    for headers in passing {
        let r = post(&app, "/login", &login, headers).await;
        assert_eq!(r.status(), Status::SeeOther, "{headers:?}");
        assert_eq!(location(&r), "/");
        drop(r);
        assert_eq!(app.who().await, "Logged in as ann@example.com");
        let r = post(&app, "/logout", &[], headers).await;
        assert_eq!(r.status(), Status::SeeOther, "{headers:?}");
        drop(r);
        assert_eq!(app.who().await, "Not logged in");
    }
}
