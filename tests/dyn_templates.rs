//! kegauth's pages through the app's rocket_dyn_templates engine
//! (`kegauth::dyn_templates`): the app's pages and kegauth's share one
//! layout; templates reload in debug builds; the engine escapes what the
//! app's templates and kegauth's print; and a wrong setup stops the launch
//! with a message that names the problem.
//!
//! The layout around kegauth's pages, and escaping on every kind of kegauth
//! page, are in tests/layout.rs, for both engines.

use crate::common;

use crate::common::web::{body, shared_app_with, App, OnSqlite, TestBackend};
use kegauth::dyn_templates::{Layout, LayoutPage};
use kegauth::Backend;
use rocket::figment::Figment;
use rocket::http::{ContentType, Status};
use rocket::{get, routes, Build, Rocket};
use rocket_dyn_templates::{context, Template};
use std::path::{Path, PathBuf};
use std::time::Duration;

on_sqlite_and_postgres!(
    the_apps_pages_and_kegauths_share_the_layout,
    the_engine_escapes_by_template_type,
);

const EVIL: &str = "<script>alert(1)</script>";

/// The app's page in its layout, with kegauth's menus, flashes and language.
#[get("/page?<text>")]
fn page(text: &str, layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
    layout.render("page", "My Page", context! { text })
}

/// A template the app's engine callback made from a string.
#[get("/banner?<text>")]
fn banner(text: &str) -> Template {
    Template::render("banner", context! { text })
}

/// A plain-text template file (`notes.txt.j2`).
#[get("/notes?<text>")]
fn notes(text: &str) -> Template {
    Template::render("notes", context! { text })
}

/// A JSON template file (`data.json.j2`).
#[get("/data?<text>")]
fn data(text: &str) -> Template {
    Template::render("data", context! { text })
}

fn with_pages(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![page, banner, notes, data])
}

/// A template_dir: the layout (named `layout` by rocket_dyn_templates), a
/// page of the app's, a text and a JSON template, and an empty `kegauth/`
/// folder for overrides.
fn app_templates(marker: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kegauth-dyn-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("kegauth")).unwrap();
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    write_layout(&dir, marker);
    std::fs::write(
        dir.join("page.html.j2"),
        r#"{% extends "layout" %}{% block content %}<p id="text">{{ text }}</p>{% endblock %}"#,
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt.j2"), "notes: {{ text }}").unwrap();
    std::fs::write(dir.join("data.json.j2"), r#"{"text": {{ text }}}"#).unwrap();
    dir
}

fn write_layout(dir: &Path, marker: &str) {
    std::fs::write(
        dir.join("layout.html.j2"),
        format!(
            r#"{{% import "kegauth/nav.html" as nav %}}<!doctype html>
<html lang="{{{{ lang }}}}"><head><title>{{% block title %}}{{{{ page_title }}}}{{% endblock %}} · My App</title></head>
<body><header id="my-app-layout">{{{{ "my app" | shout }}}} {marker}</header>
{{% if menus and menus.main %}}<nav id="menu">{{{{ nav.render_menu(menus.main, "main") }}}}</nav>{{% endif %}}
{{% block flashes %}}{{% include "kegauth/flash-messages.html" %}}{{% endblock %}}
<main>{{% block content %}}{{% endblock %}}</main>
<footer id="my-app-footer">{{{{ t("login-title") }}}}</footer></body></html>
"#
        ),
    )
    .unwrap();
}

fn figment(dir: &Path) -> Figment {
    rocket::Config::figment()
        .merge(("template_dir", dir.display().to_string()))
        .merge(("kegauth.base_template", "layout"))
        .merge(("kegauth.mail.transport", "file"))
        .merge(("kegauth.mail.dir", dir.join("outbox").display().to_string()))
}

async fn get<DB: Backend>(app: &App<DB>, path: &str) -> (Status, String) {
    let r = app.browse(path).await;
    let status = r.status();
    (status, r.into_string().await.unwrap_or_default())
}

/// `/login`, the forgot form, the users grid, the 403 page and the app's own
/// page all render inside the app's layout, with its filter (`shout`, added
/// by the app's engine callback); the app's page gets kegauth's menus, the
/// flash a kegauth view left, and the language.
async fn the_apps_pages_and_kegauths_share_the_layout<B: TestBackend>() {
    let dir = app_templates("v1");
    let Some(app) = shared_app_with::<B>(
        figment(&dir),
        |b| {
            b.menu(
                "main",
                vec![kegauth::nav::NavItem::link(
                    "Users",
                    kegauth::nav::NavUrl::new("/users"),
                )],
            )
        },
        with_pages,
    )
    .await
    else {
        return;
    };
    let in_layout = |page: &str, what: &str| {
        assert!(
            page.contains(r#"<header id="my-app-layout">MY APP v1</header>"#),
            "{what}: {page}"
        );
        assert!(
            page.contains(r#"<footer id="my-app-footer">Log In</footer>"#),
            "{what}: {page}"
        );
    };
    for path in ["/login", "/forgot-password", "/page?text=hello"] {
        let (status, page) = get(&app, path).await;
        assert_eq!(status, Status::Ok, "{path}");
        in_layout(&page, path);
    }
    let (_, page) = get(&app, "/login").await;
    assert!(page.contains("<title>Log In · My App</title>"), "{page}");
    let (_, page) = get(&app, "/page?text=hello").await;
    assert!(page.contains("<title>My Page · My App</title>"), "{page}");
    assert!(page.contains(r#"<p id="text">hello</p>"#), "{page}");
    assert!(page.contains(r#"<html lang="en">"#), "{page}");
    assert!(
        !page.contains("nav id=\"menu\""),
        "no menu for anonymous: {page}"
    );

    app.login_with("plain@example.com", &[]).await;
    let (status, page) = get(&app, "/users").await;
    assert_eq!(status, Status::Forbidden);
    in_layout(&page, "the 403 page");

    app.login_superuser("admin@example.com").await;
    let (status, page) = get(&app, "/users").await;
    assert_eq!(status, Status::Ok);
    in_layout(&page, "/users");
    assert!(page.contains("plain@example.com"), "{page}");
    // The app's page shows the superuser's menu, and the flash a kegauth
    // form left (the user deleted), once.
    let plain = app
        .store
        .user_by_login("plain@example.com")
        .await
        .unwrap()
        .unwrap();
    let (_, delete) = get(&app, &format!("/users/{}/delete", plain.id)).await;
    let csrf = common::web::csrf_in(&delete);
    let r = app
        .post_form(
            &format!("/users/{}/delete", plain.id),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let r = app.browse("/page?text=after").await;
    let page = body(r).await;
    assert!(page.contains(r#"<a href="/users""#), "the menu: {page}");
    assert!(page.contains("flash-success"), "the flash: {page}");
    let (_, page) = get(&app, "/page?text=again").await;
    assert!(
        !page.contains("flash-success"),
        "a flash shows once: {page}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The engine escapes HTML in the app's HTML templates, kegauth's, and a
/// template made from a string (which rocket_dyn_templates alone leaves
/// unescaped); a text template prints as is and a JSON template as JSON.
async fn the_engine_escapes_by_template_type<B: TestBackend>() {
    let dir = app_templates("v1");
    let Some(app) = shared_app_with::<B>(figment(&dir), |b| b, with_pages).await else {
        return;
    };
    let evil = percent_encoding::utf8_percent_encode(EVIL, percent_encoding::NON_ALPHANUMERIC);
    let (status, page) = get(&app, &format!("/page?text={evil}")).await;
    assert_eq!(status, Status::Ok);
    assert!(!page.contains(EVIL), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    let (_, page) = get(&app, &format!("/banner?text={evil}")).await;
    assert_eq!(
        page,
        r#"<p class="banner">&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>"#
    );
    let r = app.browse(&format!("/notes?text={evil}")).await;
    assert_eq!(r.content_type(), Some(ContentType::Plain));
    assert_eq!(body(r).await, format!("notes: {EVIL}"));
    let r = app.browse(&format!("/data?text={evil}")).await;
    assert_eq!(r.content_type(), Some(ContentType::JSON));
    let raw = r.into_string().await.unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(&raw).expect("JSON");
    assert_eq!(parsed["text"], EVIL, "{raw}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Requests `path` until its page contains `what` (the file watcher's event
/// arrives a moment after the write), for up to ten seconds.
async fn eventually<DB: Backend>(app: &App<DB>, path: &str, what: &str) -> String {
    let mut page = String::new();
    for _ in 0..100 {
        page = get(app, path).await.1;
        if page.contains(what) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never showed {what}: {page}");
}

/// In a debug build, a changed layout, a new override of a kegauth template
/// and a changed override all show on the next request to kegauth's pages;
/// an override that does not compile leaves the last good templates in
/// place.
#[rocket::async_test]
async fn templates_reload_in_debug_builds() {
    common::logs::install();
    let dir = app_templates("v1");
    let Some(app) = shared_app_with::<OnSqlite>(figment(&dir), |b| b, with_pages).await else {
        return;
    };
    eventually(&app, "/login", "MY APP v1").await;
    write_layout(&dir, "v2");
    eventually(&app, "/login", "MY APP v2").await;
    eventually(&app, "/page?text=x", "MY APP v2").await;

    let login = dir.join("kegauth/login.html.j2");
    std::fs::write(
        &login,
        r#"{% extends base_template %}{% block content %}<p id="my-login">{{ login_label }} 1</p>{% endblock %}"#,
    )
    .unwrap();
    let page = eventually(&app, "/login", r#"<p id="my-login">Email 1</p>"#).await;
    assert!(page.contains("MY APP v2"), "{page}");
    std::fs::write(
        &login,
        r#"{% extends base_template %}{% block content %}<p id="my-login">{{ login_label }} 2</p>{% endblock %}"#,
    )
    .unwrap();
    eventually(&app, "/login", r#"<p id="my-login">Email 2</p>"#).await;

    // A broken override: the reload fails, the last good templates stay.
    std::fs::write(&login, "{% block content %").unwrap();
    let mut reloaded = false;
    for _ in 0..100 {
        let (status, page) = get(&app, "/login").await;
        assert_eq!(status, Status::Ok, "{page}");
        assert!(page.contains(r#"<p id="my-login">Email 2</p>"#), "{page}");
        // rocket_dyn_templates logs the failed reload (and kegauth's error
        // naming the template) and keeps the templates it had.
        let logged = common::logs::lines();
        if logged
            .iter()
            .any(|l| l.contains("An error occurred while reloading templates"))
        {
            assert!(
                logged
                    .iter()
                    .any(|l| l.contains("template kegauth/login.html")),
                "{logged:?}"
            );
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reloaded,
        "the failed reload was logged, naming the template"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The app's translations (`AuthManagerBuilder::translations`) reach
/// `t(..)` in the shared engine, in kegauth's pages and in the app's.
#[rocket::async_test]
async fn the_apps_translations_reach_the_shared_engine() {
    let dir = app_templates("v1");
    let Some(app) = shared_app_with::<OnSqlite>(
        figment(&dir),
        |b| b.translations("en", "login-title = Sign in to My App"),
        with_pages,
    )
    .await
    else {
        return;
    };
    for path in ["/login", "/page?text=x"] {
        let (_, page) = get(&app, path).await;
        assert!(
            page.contains(r#"<footer id="my-app-footer">Sign in to My App</footer>"#),
            "{path}: {page}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Launching `rocket` fails in the fairing named `fairing`, and the log says `says`.
async fn fails_in(rocket: Rocket<Build>, fairing: &str, says: &str) {
    let Err(err) = rocket::local::asynchronous::Client::untracked(rocket).await else {
        panic!("launched; expected a failure in {fairing}");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == fairing)),
        "{fairing}: {err}"
    );
    let logged = common::logs::lines().join("\n");
    assert!(logged.contains(says), "{says}: {logged}");
}

/// A wrong setup stops the launch, and the log says what is wrong: the
/// fairing attached after the AuthManager; a `base_template` the engine does
/// not have (with the name to use when it has an extension too many); an
/// override of a kegauth template that does not compile.
#[rocket::async_test]
async fn a_wrong_setup_stops_the_launch_saying_what_is_wrong() {
    use crate::common::web::{rocket_around, rocket_for, SqliteDb};
    common::logs::install();
    let dir = app_templates("v1");

    let db = common::TempDb::new();
    let late = rocket_for::<SqliteDb>(&db.url(), figment(&dir), |b| b)
        .attach(kegauth::dyn_templates::fairing());
    fails_in(
        late,
        "kegauth templates",
        "kegauth::dyn_templates is attached after the AuthManager",
    )
    .await;

    for (name, says) in [
        (
            "layout.html",
            "base_template `layout.html` is not a template: rocket_dyn_templates has no \
             template `layout.html`",
        ),
        (
            "layout.html",
            "(rocket_dyn_templates names templates without extensions: `layout`)",
        ),
        (
            "no-such-layout",
            "base_template `no-such-layout` is not a template",
        ),
    ] {
        let db = common::TempDb::new();
        let start = rocket::build().attach(kegauth::dyn_templates::fairing());
        let figment = figment(&dir).merge(("kegauth.base_template", name));
        fails_in(
            rocket_around::<SqliteDb>(start, &db.url(), figment, |b| b),
            "kegauth",
            says,
        )
        .await;
    }

    std::fs::write(dir.join("kegauth/login.html.j2"), "{% block content %").unwrap();
    let db = common::TempDb::new();
    let start = rocket::build().attach(kegauth::dyn_templates::fairing());
    fails_in(
        rocket_around::<SqliteDb>(start, &db.url(), figment(&dir), |b| b),
        "Templating (kegauth)",
        "template kegauth/login.html",
    )
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
