//! The demo app launches on SQLite with no other setup and serves its home page.

use crate::common;

use crate::common::{demo, demo_rocket, DemoApp, TempDb};

use rocket::http::Status;
use rocket::local::asynchronous::Client;

#[rocket::async_test]
async fn demo_serves_the_home_page_with_synced_permissions() {
    let db = TempDb::new();
    let client = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect("the demo launches");
    let response = client.get("/").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.content_type(),
        Some(rocket::http::ContentType::HTML)
    );
    let body = response.into_string().await.expect("a body");
    for token in ["auth-manage", "permission1", "permission2", "permission3"] {
        assert!(
            body.contains(&format!("<code>{token}</code>")),
            "{token} in {body}"
        );
    }
    assert!(body.contains("0 user(s)"));
    drop(client);

    // A second launch on the same database is fine (schema and sync are idempotent).
    let client = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect("the demo relaunches");
    assert_eq!(client.get("/").dispatch().await.status(), Status::Ok);
    drop(client);
}

#[rocket::async_test]
async fn launch_fails_clearly_without_the_database_fairing() {
    use kegauth::AuthManager;
    let rocket = rocket::build().attach(
        AuthManager::<demo::Db, demo::User>::builder()
            .permissions(demo::PERMISSIONS)
            .build(),
    );
    let err = Client::tracked(rocket).await.expect_err("ignite must fail");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
}

async fn ignite_with(figment: rocket::figment::Figment) -> Result<Client, rocket::Error> {
    let db = TempDb::new();
    Client::tracked(demo_rocket(&db, figment)).await
}

fn failed_in_kegauth(err: &rocket::Error) -> bool {
    matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth"))
}

#[rocket::async_test]
async fn kegauth_settings_come_from_rocket_toml() {
    let client = ignite_with(
        rocket::Config::figment()
            .merge(("kegauth.attempt_limit", 7))
            .merge(("kegauth.http_methods_excluded", ["OPTIONS"])),
    )
    .await
    .expect("valid settings launch");
    let config = client
        .rocket()
        .state::<kegauth::config::Config>()
        .expect("the config is managed");
    assert_eq!(config.attempt_limit, 7);
    assert_eq!(config.http_methods_excluded, ["OPTIONS"]);
    assert!(config.logout_clear_session, "defaults fill the rest");
}

#[rocket::async_test]
async fn bad_kegauth_settings_stop_the_launch() {
    for (key, value) in [
        (
            "kegauth.atempt_limit",
            rocket::figment::value::Value::from(3),
        ),
        (
            "kegauth.redirect_login_target",
            "https://evil.com/sso".into(),
        ),
        ("kegauth.http_methods_excluded", vec!["FETCH"].into()),
        ("kegauth.preferred_url_scheme", "ftp".into()),
        ("kegauth.attempt_limit", "many".into()),
        ("kegauth.server_name", "evil.com/path".into()),
        ("kegauth.server_name", "user@evil.com".into()),
        ("kegauth.mail.tls", "ssl".into()),
        ("kegauth.mail.transprt", "smtp".into()),
        ("kegauth.mail.sender", "not an address".into()),
        ("kegauth.hasher_threads", 0.into()),
        ("kegauth.hasher_nice", 20.into()),
        ("kegauth.hasher_nice", (-5).into()),
    ] {
        let err = ignite_with(rocket::Config::figment().merge((key, value)))
            .await
            .err()
            .unwrap_or_else(|| panic!("{key} must stop the launch"));
        assert!(failed_in_kegauth(&err), "{key}: {err:?}");
    }
}

#[rocket::async_test]
async fn mail_settings_that_would_leak_or_misroute_stop_the_launch() {
    // SMTP credentials over plain text to a remote host.
    let figment = rocket::Config::figment()
        .merge(("kegauth.mail.transport", "smtp"))
        .merge(("kegauth.mail.host", "smtp.example.com"))
        .merge(("kegauth.mail.tls", "none"))
        .merge(("kegauth.mail.username", "app"))
        .merge(("kegauth.mail.password", "secret"));
    let Err(err) = ignite_with(figment).await else {
        panic!("must stop");
    };
    assert!(failed_in_kegauth(&err));

    // Mail links need server_name: the demo's Rocket.toml has one; an app without it fails.
    let mut data = rocket::Config::figment()
        .find_value("kegauth")
        .expect("the demo's [kegauth]");
    let without = |mut data: rocket::figment::value::Value| {
        if let rocket::figment::value::Value::Dict(_, dict) = &mut data {
            dict.remove("server_name");
        }
        rocket::figment::Figment::from(rocket::Config::default())
            .merge(("template_dir", common::root().join("templates")))
            .merge(("kegauth", data))
    };
    let Err(err) = ignite_with(without(data.clone())).await else {
        panic!("must stop without server_name");
    };
    assert!(failed_in_kegauth(&err));
    // The control: the same settings with server_name launch.
    if let rocket::figment::value::Value::Dict(_, dict) = &mut data {
        dict.insert("server_name".into(), "example.com".into());
    }
    let with = rocket::figment::Figment::from(rocket::Config::default())
        .merge(("template_dir", common::root().join("templates")))
        .merge(("kegauth", data));
    ignite_with(with).await.expect("launches with server_name");
}

#[rocket::async_test]
async fn forgot_password_on_the_demo_writes_the_mail_to_the_outbox() {
    let app = common::DemoApp::launch(rocket::Config::figment(), |r| r).await;
    let mut ann = demo::User::new("ann@example.com");
    ann.core.is_verified = true;
    app.store.insert_user(&mut ann).await.unwrap();

    let page = app.client.get("/forgot-password").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let page = page.into_string().await.unwrap();
    let csrf = common::web::csrf_in(&page);
    let r = app
        .client
        .post("/forgot-password")
        .header(rocket::http::ContentType::Form)
        .body(format!("email=ann%40example.com&csrf_token={csrf}"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);

    // The demo's Rocket.toml writes mail to mail-outbox/ (the tests point it at a temp dir).
    let dir = app.db.mail_dir();
    let mut files = Vec::new();
    for _ in 0..500 {
        files = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(files.len(), 1, "one mail in {}", dir.display());
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let mail = std::fs::read_to_string(&files[0]).unwrap();
    assert!(mail.contains("To: ann@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: [kegauth demo] Password Reset Link"),
        "{mail}"
    );
    let link = format!("http://localhost:8000/reset-password/{}/", ann.id);
    assert!(mail.contains(&link), "{mail}");
}

#[rocket::async_test]
async fn the_demo_issues_tokens_to_its_session_user_only() {
    use rocket::http::Header;
    let app = DemoApp::launch(rocket::Config::figment(), |r| {
        r.mount(
            kegauth::testing::TEST_ROUTES,
            kegauth::testing::test_routes(),
        )
    })
    .await;
    let mut ann = common::User::new("ann@example.com");
    ann.core.is_verified = true;
    app.store.insert_user(&mut ann).await.unwrap();
    let login = common::web::login_path(&ann.core.session_key);
    assert_eq!(app.client.get(login).dispatch().await.status(), Status::Ok);

    let json = |s: String| serde_json::from_str::<serde_json::Value>(&s).unwrap();
    let r = app.client.post("/api/token").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    let jwt = json(r.into_string().await.unwrap())["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.client.post("/api/api-token").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    let issued = json(r.into_string().await.unwrap());
    assert_eq!(issued["header"], "X-Auth-Token");
    let value = issued["value"].as_str().unwrap().to_string();
    let raw = value.split_once('.').unwrap().1;
    let stored = app.store.user(ann.id).await.unwrap().unwrap().token;
    use sha2::Digest;
    assert_eq!(stored, Some(sha2::Sha256::digest(raw.as_bytes()).to_vec()));

    // Without the session (not logged out: that would revoke the JWT).
    let r = app
        .client
        .get(common::web::login_path("none"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    for (name, credential) in [
        ("Authorization", format!("Bearer {jwt}")),
        ("X-Auth-Token", value.clone()),
    ] {
        let r = app
            .client
            .get("/api/me")
            .header(Header::new(name, credential.clone()))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok, "{name}");
        assert_eq!(
            json(r.into_string().await.unwrap())["email"],
            "ann@example.com"
        );
        // Neither credential mints tokens: that takes the browser session.
        for path in ["/api/token", "/api/api-token"] {
            let r = app
                .client
                .post(path)
                .header(Header::new(name, credential.clone()))
                .dispatch()
                .await;
            assert_eq!(r.status(), Status::Unauthorized, "{name} {path}");
        }
    }
    let r = app.client.get("/api/me").dispatch().await;
    assert_eq!(r.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_table_behind_the_entity_stops_the_launch_with_a_message() {
    let db = TempDb::new();
    let client = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect("the demo launches");
    drop(client);
    // A database from before the user entity gained its `name` column. (A
    // missing API token column does not stop the demo: it launches with API
    // tokens off, see tests/keg_auth_peer.rs.)
    let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
    sqlx::query("ALTER TABLE users DROP COLUMN name")
        .execute(&pool)
        .await
        .unwrap();
    let err = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect_err("the launch stops");
    assert!(failed_in_kegauth(&err), "{err:?}");
    let store: kegauth::Store<sqlx::Sqlite, demo::User> = kegauth::Store::new(pool);
    let message = store.check_tables().await.unwrap_err().to_string();
    assert!(
        message.contains("`users` table does not match") && message.contains("name"),
        "{message}"
    );
}

/// The demo's superuser manages users, groups, bundles and permissions from the browser.
#[rocket::async_test]
async fn the_demo_superuser_manages_everything() {
    use rocket::http::ContentType;
    let app = DemoApp::launch(rocket::Config::figment(), |r| {
        r.mount(
            kegauth::testing::TEST_ROUTES,
            kegauth::testing::test_routes(),
        )
    })
    .await;
    let mut root = common::User::new("root@example.com");
    root.core.is_verified = true;
    root.core.is_superuser = true;
    app.store.insert_user(&mut root).await.unwrap();
    let login = common::web::login_path(&root.core.session_key);
    assert_eq!(app.client.get(login).dispatch().await.status(), Status::Ok);
    let home = app
        .client
        .get("/")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert_eq!(
        menu_links(&home),
        [
            "/",
            "/secret1",
            "/secret2",
            "/secret-nested",
            "/users",
            "/groups",
            "/bundles",
            "/permissions",
            "/projects",
            "/account",
            "/account/two-factor",
            "/logout"
        ]
    );
    for path in [
        "/users",
        "/groups",
        "/bundles",
        "/permissions",
        "/users/add",
        "/groups/add",
        "/bundles/add",
    ] {
        assert_eq!(
            app.client.get(path).dispatch().await.status(),
            Status::Ok,
            "{path}"
        );
    }
    let page = app
        .client
        .get("/groups/add")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let csrf = common::web::csrf_in(&page);
    let post = |path: &'static str, body: String| {
        app.client
            .post(path)
            .header(ContentType::Form)
            .body(body)
            .dispatch()
    };
    let r = post(
        "/groups/add",
        format!("name=Editors&permission_ids=1&csrf_token={csrf}"),
    )
    .await;
    assert_eq!(r.status(), Status::SeeOther);
    let editors = app.store.group_by_name("Editors").await.unwrap().unwrap();
    let r = post(
        "/users/add",
        format!(
            "email=newbie%40example.com&name=Newbie&is_enabled=true&send_welcome=true&group_ids={}&csrf_token={csrf}",
            editors.id
        ),
    )
    .await;
    assert_eq!(r.status(), Status::SeeOther);
    let newbie = app
        .store
        .user_by_login("newbie@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store
            .linked(kegauth::Link::UserGroups, newbie.id)
            .await
            .unwrap(),
        [editors.id]
    );
    let users = app
        .client
        .get("/users")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(users.contains("newbie@example.com") && users.contains("Resend Verification"));
}

/// The demo's own table (`#[derive(Crud)]`): in the menu only for those
/// who may see it, its pages in the demo's layout, its table made at launch.
#[rocket::async_test]
async fn the_demo_projects_are_in_the_menu_and_the_layout() {
    let app = DemoApp::launch(rocket::Config::figment(), |r| {
        r.mount(
            kegauth::testing::TEST_ROUTES,
            kegauth::testing::test_routes(),
        )
    })
    .await;
    let factory = kegauth::testing::Factory::new(app.store.clone());
    let viewer = factory
        .user("viewer@example.com")
        .permissions(&["projects-view"])
        .create()
        .await
        .unwrap();
    let other = factory
        .user("other@example.com")
        .permissions(&["permission1"])
        .create()
        .await
        .unwrap();
    let login = |key: &str| common::web::login_path(key);
    assert_eq!(
        app.client
            .get(login(&other.core.session_key))
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    assert!(!menu_links(&home_page(&app).await).contains(&"/projects".to_string()));
    assert_eq!(
        app.client.get("/projects").dispatch().await.status(),
        Status::Forbidden
    );
    assert_eq!(
        app.client
            .get(login(&viewer.core.session_key))
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    assert!(menu_links(&home_page(&app).await).contains(&"/projects".to_string()));
    let r = app.client.get("/projects").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    let page = r.into_string().await.unwrap_or_default();
    assert!(
        page.contains(r#"id="demo-layout""#),
        "in the demo's layout: {page}"
    );
    assert!(
        page.contains("<h1>Projects</h1>") && page.contains("Due date"),
        "{page}"
    );
    // Viewing only: no add link, and the add page is refused.
    assert!(!page.contains("Create Project"), "{page}");
    assert_eq!(
        app.client.get("/projects/add").dispatch().await.status(),
        Status::Forbidden
    );
    // The route report lists the pages with their requirements.
    let report =
        kegauth::access::render_report(&kegauth::access::route_report(app.client.rocket()));
    let line = |path: &str| {
        report
            .lines()
            .find(|l| l.contains(path))
            .unwrap_or_else(|| panic!("{path} in the report:\n{report}"))
            .to_string()
    };
    assert!(line("/projects/add").contains("projects-edit"), "{report}");
    assert!(
        line("/projects/<id>/delete").contains("projects-edit"),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.contains("/projects") && l.contains("projects-view")),
        "{report}"
    );
}

/// The targets of the links in a page's menu, in order.
fn menu_links(page: &str) -> Vec<String> {
    let page = page.replace("&#x2f;", "/");
    let Some(start) = page.find("<ul class=\"kegauth-menu\"") else {
        return Vec::new();
    };
    let end = page[start..]
        .find("</nav>")
        .map_or(page.len(), |e| start + e);
    page[start..end]
        .split("<a href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

async fn home_page(app: &DemoApp) -> String {
    let r = app.client.get("/").dispatch().await;
    r.into_string().await.unwrap_or_default()
}

#[rocket::async_test]
async fn the_demo_menu_shows_each_visitor_their_pages() {
    let app = DemoApp::launch(rocket::Config::figment(), |r| {
        r.mount(
            kegauth::testing::TEST_ROUTES,
            kegauth::testing::test_routes(),
        )
    })
    .await;
    assert_eq!(menu_links(&home_page(&app).await), ["/", "/login"]);
    // kegauth's own login page shows the same menu.
    let login = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await;
    assert_eq!(menu_links(&login.unwrap_or_default()), ["/", "/login"]);

    let mut ann = common::User::new("ann@example.com");
    ann.core.is_verified = true;
    app.store.insert_user(&mut ann).await.unwrap();
    let ids = app.store.permission_ids(&["permission1"]).await.unwrap();
    app.store
        .set_links(kegauth::Link::UserPermissions, ann.id, &ids)
        .await
        .unwrap();
    let ann = app.store.user(ann.id).await.unwrap().unwrap();
    let login = common::web::login_path(&ann.core.session_key);
    assert_eq!(app.client.get(login).dispatch().await.status(), Status::Ok);
    assert_eq!(
        menu_links(&home_page(&app).await),
        [
            "/",
            "/secret1",
            "/secret2",
            "/account",
            "/account/two-factor",
            "/logout"
        ]
    );
}

/// What curl sees (issue 39): an API client (`Accept: */*`, as curl sends)
/// gets a 401 whose body says where to log in, in JSON or in plain text; a
/// browser (`Accept: text/html`) is sent to the login page.
#[rocket::async_test]
async fn an_anonymous_api_client_is_told_where_to_log_in() {
    use rocket::http::{Accept, ContentType, Header};
    let db = TempDb::new();
    let client = Client::tracked(demo_rocket(&db, rocket::Config::figment()))
        .await
        .expect("the demo launches");
    let r = client
        .get("/secret1")
        .header(Header::new("Accept", "*/*"))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(r.content_type(), Some(ContentType::JSON));
    let body = r.into_string().await.unwrap_or_default();
    assert_eq!(
        body,
        r#"{"error":"authentication required","login_url":"/login"}"#
    );

    let r = client.get("/secret1").header(Accept::Text).dispatch().await;
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(
        r.into_string().await.unwrap_or_default(),
        "authentication required: log in at /login"
    );

    let r = client.get("/secret1").header(Accept::HTML).dispatch().await;
    assert_eq!(r.status(), Status::Found);
    assert_eq!(
        r.headers().get_one("Location"),
        Some("/login?next=%2Fsecret1")
    );
}
