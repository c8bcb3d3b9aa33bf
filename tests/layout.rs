//! kegauth's pages inside the app's own layout (`base_template`, keg-auth's
//! `KEGAUTH_BASE_TEMPLATE`), and markup in user data escaped on every kind of
//! kegauth page, in kegauth's layout and in the app's, rendered by kegauth's
//! own engine and by the app's rocket_dyn_templates engine
//! (`kegauth::dyn_templates`).

use crate::common;

use crate::common::web::{body, csrf_in, App, TestBackend};
use kegauth::Backend;
use rocket::figment::Figment;
use rocket::http::{ContentType, Status};
use std::path::PathBuf;

on_sqlite_and_postgres!(
    kegauth_pages_extend_the_apps_layout,
    markup_in_user_data_is_escaped_on_every_page_kind,
);

const EVIL: &str = "<script>alert(1)</script>";

/// A template_dir with the app's layout (`layout.html.j2`), which includes
/// one of the app's partials by the name rocket_dyn_templates gives it
/// (`partials/footer`, from `partials/footer.html.j2`); kegauth's own engine
/// finds it under that name too.
fn app_templates() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kegauth-layout-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("partials")).unwrap();
    std::fs::write(
        dir.join("layout.html.j2"),
        r#"<!doctype html>
<html lang="{{ lang }}"><head><title>{% block title %}{{ page_title }}{% endblock %} · My App</title></head>
<body><header id="my-app-layout">My App</header>
{% block flashes %}{% include "kegauth/flash-messages.html" %}{% endblock %}
<main class="my-app-main">{% block content %}{% endblock %}</main>
{% include "partials/footer" %}</body></html>
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("partials/footer.html.j2"),
        r#"<footer id="my-app-footer">{{ t("login-title") }}</footer>"#,
    )
    .unwrap();
    dir
}

/// Who renders kegauth's pages, around which layout.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Setup {
    /// kegauth's own engine and layout (`kegauth/base.html`).
    Own,
    /// kegauth's own engine, the app's layout (`base_template = "layout.html"`).
    OwnEngineAppLayout,
    /// The app's rocket_dyn_templates engine and layout (`base_template = "layout"`).
    SharedEngine,
}

const SETUPS: [Setup; 3] = [Setup::Own, Setup::OwnEngineAppLayout, Setup::SharedEngine];

/// An empty temporary folder (the mail outbox).
fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kegauth-outbox-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn figment(setup: Setup, templates: &std::path::Path, mail_dir: &std::path::Path) -> Figment {
    let figment = rocket::Config::figment()
        .merge(("kegauth.server_name", "app.example.com"))
        .merge(("kegauth.mail.transport", "file"))
        .merge(("kegauth.mail.dir", mail_dir.display().to_string()))
        .merge(("kegauth.mail.sender", "app <noreply@example.com>"))
        .merge(("template_dir", templates.display().to_string()));
    figment.merge((
        "kegauth.base_template",
        match setup {
            // kegauth's own layout (not the demo's, which Rocket.toml names).
            Setup::Own => "kegauth/base.html",
            Setup::OwnEngineAppLayout => "layout.html",
            Setup::SharedEngine => "layout",
        },
    ))
}

async fn mail_app<B: TestBackend>(
    setup: Setup,
    figment: Figment,
) -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    match setup {
        Setup::SharedEngine => common::web::shared_app_with::<B>(figment, |b| b, |r| r).await,
        _ => common::web::mail_app_with::<B>(figment).await,
    }
}

async fn raw_page(r: rocket::local::asynchronous::LocalResponse<'_>) -> String {
    r.into_string().await.unwrap_or_default()
}

fn in_app_layout(page: &str, what: &str) {
    assert!(
        page.contains(r#"<header id="my-app-layout">My App</header>"#),
        "{what}: {page}"
    );
    assert!(
        page.contains(r#"<main class="my-app-main">"#),
        "{what}: {page}"
    );
    assert!(
        page.contains(r#"<footer id="my-app-footer">Log In</footer>"#),
        "{what}: {page}"
    );
    assert!(
        !page.contains("kegauth-menu {"),
        "{what}: kegauth's own layout: {page}"
    );
}

async fn html<DB: Backend>(app: &App<DB>, path: &str, status: Status) -> String {
    let r = app.browse(path).await;
    assert_eq!(r.status(), status, "{path}");
    assert_eq!(r.content_type(), Some(ContentType::HTML), "{path}");
    body(r).await
}

async fn kegauth_pages_extend_the_apps_layout<B: TestBackend>() {
    for setup in [Setup::OwnEngineAppLayout, Setup::SharedEngine] {
        kegauth_pages_extend_the_apps_layout_with::<B>(setup).await;
    }
}

async fn kegauth_pages_extend_the_apps_layout_with<B: TestBackend>(setup: Setup) {
    let (templates, mail) = (app_templates(), temp_dir());
    let Some(app) = mail_app::<B>(setup, figment(setup, &templates, &mail)).await else {
        return;
    };
    let page = html(&app, "/login", Status::Ok).await;
    in_app_layout(&page, "/login");
    assert!(page.contains("<title>Log In · My App</title>"), "{page}");
    assert!(
        page.contains(r#"name="login_id""#),
        "the login form: {page}"
    );

    let page = html(&app, "/forgot-password", Status::Ok).await;
    in_app_layout(&page, "/forgot-password");
    assert!(page.contains(r#"name="email""#), "{page}");

    // A user without auth-manage gets the 403 page, in the app's layout.
    app.login_with("plain@example.com", &[]).await;
    let page = html(&app, "/users", Status::Forbidden).await;
    in_app_layout(&page, "the 403 page");

    app.login_superuser("admin@example.com").await;
    let page = html(&app, "/users", Status::Ok).await;
    in_app_layout(&page, "/users");
    assert!(page.contains("plain@example.com"), "the users grid: {page}");
    let page = html(&app, "/logout", Status::Ok).await;
    in_app_layout(&page, "/logout");
    // A flash shows in the layout's flashes block.
    let csrf = csrf_in(&page);
    let r = app
        .post_form("/logout", &[("csrf_token", csrf.as_str())])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let page = html(&app, "/login", Status::Ok).await;
    in_app_layout(&page, "/login after logout");
    assert!(page.contains("flash-success"), "the logout flash: {page}");
    let _ = std::fs::remove_dir_all(templates);
    let _ = std::fs::remove_dir_all(mail);
}

/// Every kind of kegauth page that shows user data (the login and forgot
/// forms echo what was typed; the grid, form and delete pages show a user's
/// fields; flashes and the 403 page), in kegauth's layout and in the
/// app's: the markup comes out as text.
async fn markup_in_user_data_is_escaped_on_every_page_kind<B: TestBackend>() {
    for setup in SETUPS {
        let layout = setup != Setup::Own;
        let (templates, mail) = (app_templates(), temp_dir());
        let Some(app) = mail_app::<B>(setup, figment(setup, &templates, &mail)).await else {
            return;
        };
        let evil_email = format!("{EVIL}@example.com");
        let mut pages = Vec::new();

        // The login form echoes the login id of a failed login.
        let csrf = csrf_in(&html(&app, "/login", Status::Ok).await);
        let r = app
            .post_form(
                "/login",
                &[
                    ("login_id", &evil_email),
                    ("password", "x"),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        pages.push(("failed login", r.into_string().await.unwrap_or_default()));
        // The forgot form echoes an address it refuses.
        let csrf = csrf_in(&html(&app, "/forgot-password", Status::Ok).await);
        let r = app
            .post_form(
                "/forgot-password",
                &[("email", &evil_email), ("csrf_token", &csrf)],
            )
            .await;
        pages.push(("forgot", r.into_string().await.unwrap_or_default()));

        // A user whose name is markup, through the admin grid, form, delete page and flash.
        let mut evil = app.user("evil@example.com", None).await;
        evil.name = Some(EVIL.to_string());
        app.store.update_user(&mut evil).await.unwrap();
        app.login_superuser("admin@example.com").await;
        pages.push(("grid", raw_page(app.browse("/users").await).await));
        let edit = raw_page(app.browse(&format!("/users/{}/edit", evil.id)).await).await;
        let csrf = csrf_in(&edit);
        pages.push(("edit form", edit));
        pages.push((
            "delete page",
            raw_page(app.browse(&format!("/users/{}/delete", evil.id)).await).await,
        ));
        let r = app
            .post_form(
                &format!("/users/{}/edit", evil.id),
                &[
                    ("email", "evil@example.com"),
                    ("name", EVIL),
                    ("is_enabled", "true"),
                    ("is_verified", "true"),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther, "the edit is saved");
        pages.push((
            "flash after the edit",
            raw_page(app.browse("/users").await).await,
        ));
        // The 403 page, for the user with the markup name.
        app.log_in_as(&evil).await;
        pages.push(("403 page", raw_page(app.browse("/users").await).await));

        for (what, page) in &pages {
            assert!(!page.contains(EVIL), "{what} ({setup:?}): {page}");
            assert!(
                page.contains("<html") || page.is_empty(),
                "{what} is a page: {page}"
            );
        }
        // The delete page names the user by login id; the rest show the markup.
        for what in ["failed login", "forgot", "grid", "edit form"] {
            let page = &pages.iter().find(|p| p.0 == what).unwrap().1;
            assert!(
                page.contains("&lt;script&gt;"),
                "{what} shows the markup as text ({setup:?}): {page}"
            );
            if layout {
                in_app_layout(page, what);
            }
        }
        let _ = std::fs::remove_dir_all(templates);
        let _ = std::fs::remove_dir_all(mail);
    }
}

/// A `base_template` that is not there stops the launch, naming it; so does
/// one that tries to leave template_dir.
#[rocket::async_test]
async fn a_missing_base_template_stops_the_launch_naming_it() {
    common::logs::install();
    let dir = app_templates();
    for (name, says) in [
        (
            "no-such-layout.html",
            "base_template `no-such-layout.html` is not a template",
        ),
        (
            "../layout.html",
            "base_template is a template name under template_dir",
        ),
    ] {
        let db = common::TempDb::new();
        let figment = rocket::Config::figment()
            .merge(("template_dir", dir.display().to_string()))
            .merge(("kegauth.base_template", name));
        let rocket = common::web::rocket_for::<common::web::SqliteDb>(&db.url(), figment, |b| b);
        let Err(err) = rocket::local::asynchronous::Client::untracked(rocket).await else {
            panic!("{name} launched");
        };
        assert!(
            matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
            "{name}: {err}"
        );
        let logged = common::logs::lines().join("\n");
        assert!(logged.contains(says), "{name}: {logged}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// kegauth's pages carry their own `X-Frame-Options` and
/// `X-Content-Type-Options`, which Rocket's Shield sets too: Shield must not
/// find them already there, since it then logs two warnings for every page
/// (at Rocket's default release level too), which filled the app's log and
/// took a tenth of a page's time. The headers are kegauth's.
#[rocket::async_test]
async fn kegauth_pages_make_rockets_shield_log_nothing() {
    common::logs::install();
    log::warn!(target: "probe", "the capture is installed");
    let (templates, mail) = (app_templates(), temp_dir());
    let setup = Setup::SharedEngine;
    let app = mail_app::<common::web::OnSqlite>(setup, figment(setup, &templates, &mail))
        .await
        .expect("SQLite");
    let mut pages = vec![];
    let r = app.client.get("/login").dispatch().await;
    pages.push((
        "the login page",
        Status::Ok,
        r.status(),
        r.headers().clone(),
    ));
    app.login_with("ann@example.com", &[]).await;
    let r = app.browse("/users").await;
    pages.push((
        "the 403 page",
        Status::Forbidden,
        r.status(),
        r.headers().clone(),
    ));
    let r = app.client.get("/logout").dispatch().await;
    pages.push((
        "the logout page",
        Status::Ok,
        r.status(),
        r.headers().clone(),
    ));
    for (what, expected, status, headers) in &pages {
        assert_eq!(status, expected, "{what}");
        assert_eq!(headers.get_one("X-Frame-Options"), Some("DENY"), "{what}");
        assert_eq!(
            headers.get_one("X-Content-Type-Options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            headers.get_one("Content-Security-Policy"),
            Some("frame-ancestors 'none'"),
            "{what}"
        );
    }
    // Rocket's own pages keep Shield's headers.
    let r = app.client.get("/no-such-page").dispatch().await;
    assert_eq!(r.status(), Status::NotFound);
    assert_eq!(r.headers().get_one("X-Frame-Options"), Some("SAMEORIGIN"));
    let logged = common::logs::lines();
    assert!(
        logged
            .iter()
            .any(|l| l.contains("the capture is installed")),
        "{logged:?}"
    );
    let shield: Vec<_> = logged
        .iter()
        .filter(|l| l.starts_with("WARN rocket::shield"))
        .collect();
    assert!(shield.is_empty(), "{shield:?}");
    let _ = std::fs::remove_dir_all(templates);
    let _ = std::fs::remove_dir_all(mail);
}
