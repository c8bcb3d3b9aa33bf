//! Navigation menus and the route report, on SQLite and PostgreSQL: who sees
//! which entries, groups, current-page marking, the per-session cache, and
//! the launch checks.

use crate::common;

use crate::common::web::{app_configured, body, rocket_for, App, OnSqlite, TestBackend};
use kegauth::access::{render_report, route_report};
use kegauth::nav::{MenuEntry, Nav, NavItem, NavUrl};
use kegauth::requirements::{has_all, RequireEverywhere};
use kegauth::{AuthDb, Backend, Link};
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket::{get, routes, Build, Rocket};

on_sqlite_and_postgres!(
    each_user_sees_exactly_their_menu,
    kegauth_pages_show_the_main_menu_and_mark_the_current_page,
    the_menu_follows_rights_changes_and_is_cached_per_session,
    the_report_lists_what_every_route_requires,
);

/// permission3, through `require` on a route set.
#[get("/reports")]
fn reports() -> &'static str {
    "reports"
}

/// The menu as lines: `Label` or `Group > Label`, current pages starred.
#[get("/menu")]
fn menu(nav: Nav<'_>) -> String {
    fn walk(entries: &[MenuEntry], prefix: &str, out: &mut Vec<String>) {
        for e in entries {
            let name = format!("{prefix}{}", e.label);
            if e.children.is_empty() {
                out.push(format!("{name}{}", if e.current { " *" } else { "" }));
            } else {
                walk(&e.children, &format!("{name} > "), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&nav.menu("main").unwrap_or_default(), "", &mut out);
    out.join("\n")
}

/// The menu as the default macro renders it.
#[get("/menu.html")]
fn menu_html(nav: Nav<'_>) -> kegauth::Result<String> {
    nav.render("main")
}

fn main_menu() -> Vec<NavItem> {
    vec![
        NavItem::link("Home", NavUrl::new("/whoami")),
        NavItem::group(
            "Secrets",
            [
                NavItem::link("Secret 1", NavUrl::new("/secret1")),
                NavItem::link("Secret 2", NavUrl::new("/secret2")),
                NavItem::link("Nested", NavUrl::new("/secret-nested")),
                NavItem::link("Reports", NavUrl::new("/reports")),
            ],
        )
        .nav_group("secrets"),
        NavItem::group(
            "Admin",
            [
                NavItem::link("Users", NavUrl::new("/users")),
                NavItem::link("Groups", NavUrl::new("/groups")),
                NavItem::link("Bundles", NavUrl::new("/bundles")),
                NavItem::link("Permissions", NavUrl::new("/permissions")),
            ],
        )
        .nav_group("admin")
        .icon_class("icon-admin"),
        NavItem::link(
            "Manage (explicit)",
            NavUrl::new("/whoami?m=1").requires_permissions("permission3"),
        ),
        NavItem::link("Log in", NavUrl::new("/login").requires_anonymous()),
        NavItem::link("Log out", NavUrl::new("/logout").requires_user()).code("logout"),
    ]
}

fn extend(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![menu, menu_html]).mount(
        "/",
        kegauth::require(routes![reports], kegauth::Requirement::from("permission3")),
    )
}

async fn nav_app<B: TestBackend>(
    figment: rocket::figment::Figment,
) -> Option<App<<B::Db as AuthDb>::Backend>> {
    app_configured::<B>(figment, |b| b.menu("main", main_menu()), extend).await
}

async fn lines<DB: Backend>(app: &App<DB>) -> Vec<String> {
    let r = app.client.get("/menu").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    body(r).await.lines().map(str::to_string).collect()
}

async fn each_user_sees_exactly_their_menu<B: TestBackend>() {
    let Some(app) = nav_app::<B>(rocket::Config::figment()).await else {
        return;
    };
    assert_eq!(lines(&app).await, ["Home", "Log in"]);

    app.login_with("plain@example.com", &[]).await;
    assert_eq!(
        lines(&app).await,
        ["Home", "Secrets > Secret 1", "Log out"],
        "a group whose items are all hidden (Admin) is hidden"
    );

    app.login_with("one@example.com", &["permission1"]).await;
    assert_eq!(
        lines(&app).await,
        [
            "Home",
            "Secrets > Secret 1",
            "Secrets > Secret 2",
            "Log out"
        ]
    );

    app.login_with("three@example.com", &["permission3"]).await;
    assert_eq!(
        lines(&app).await,
        [
            "Home",
            "Secrets > Secret 1",
            "Secrets > Nested",
            "Secrets > Reports",
            "Manage (explicit)",
            "Log out"
        ]
    );

    app.login_with("manager@example.com", &["auth-manage"])
        .await;
    assert_eq!(
        lines(&app).await,
        [
            "Home",
            "Secrets > Secret 1",
            "Admin > Users",
            "Admin > Groups",
            "Admin > Bundles",
            "Admin > Permissions",
            "Log out"
        ]
    );

    let mut boss = app.user("boss@example.com", None).await;
    boss.core.is_superuser = true;
    app.store.update_user(&mut boss).await.unwrap();
    app.log_in_as(&boss).await;
    let all = lines(&app).await;
    assert_eq!(all.len(), 11, "{all:?}");
    assert!(!all.contains(&"Log in".to_string()));

    // What each entry links to is reachable for the one who sees it.
    for path in [
        "/secret1",
        "/secret2",
        "/secret-nested",
        "/reports",
        "/users",
    ] {
        assert_eq!(app.status(path).await, Status::Ok, "{path}");
    }
}

async fn kegauth_pages_show_the_main_menu_and_mark_the_current_page<B: TestBackend>() {
    let Some(app) = nav_app::<B>(rocket::Config::figment()).await else {
        return;
    };
    // kegauth's own login page shows the anonymous menu.
    let login = body(app.client.get("/login").dispatch().await).await;
    assert!(login.contains(r#"<a href="/login" aria-current="page">Log in</a>"#));
    assert!(login.contains(r#"<a href="/whoami">Home</a>"#));
    assert!(!login.contains("Secret 1"));

    let admin = app.login_with("admin@example.com", &["auth-manage"]).await;
    let (status, users) = {
        let r = app.browse("/users").await;
        (r.status(), body(r).await.replace('\n', ""))
    };
    assert_eq!(status, Status::Ok);
    assert!(
        users.contains(r#"<li class="nav-group active"><details id="nav-group-admin"><summary><i class="icon-admin"></i> Admin</summary>"#),
        "the group holding the current page is marked, and closed (a dropdown): {users}"
    );
    assert!(users.contains(r#"<a href="/users" aria-current="page">Users</a>"#));
    assert!(users.contains(r#"<a href="/groups">Groups</a>"#));
    assert!(users.contains(r#"<details id="nav-group-secrets"><summary>"#));
    assert!(users.contains(r#"data-code="logout""#));

    // Below a link's page (an edit form), the link is active, not current.
    let edit = body(
        app.client
            .get(format!("/users/{}/edit", admin.id))
            .dispatch()
            .await,
    )
    .await
    .replace('\n', "");
    assert!(edit.contains(r#"<li class="nav-link active"><a href="/users">Users</a>"#));
    assert!(edit.contains(r#"<li class="nav-group active"><details id="nav-group-admin">"#));
    assert!(!edit.contains(" open>"), "no dropdown is open");

    // The forbidden page (kegauth's catcher) shows the menu too.
    let r = app.browse("/secret2").await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(body(r).await.contains(r#"<a href="/users">Users</a>"#));

    // An app's page renders it with the same macro.
    let html = body(app.client.get("/menu.html").dispatch().await).await;
    assert!(html.starts_with(r#"<ul class="kegauth-menu" data-menu="main">"#));
    assert!(html.contains(r#"<a href="/users">Users</a>"#));
}

/// Remove a user's direct permissions with SQL of the test's own.
async fn revoke_behind_the_stores_back<B: TestBackend>(
    app: &App<<B::Db as AuthDb>::Backend>,
    user_id: i64,
) {
    let sql = format!("DELETE FROM keg_auth_user_permissions WHERE user_id = {user_id}");
    let mut conn = app.store.pool().acquire().await.unwrap();
    <<B::Db as AuthDb>::Backend as Backend>::execute(&mut conn, &sql, Vec::new())
        .await
        .unwrap();
}

async fn the_menu_follows_rights_changes_and_is_cached_per_session<B: TestBackend>() {
    // The session cache off: this test writes behind the store's back and
    // expects the route to see it at once (with the cache, within a second).
    let figment = || rocket::Config::figment().merge(("kegauth.session_cache_secs", 0));
    let Some(app) = nav_app::<B>(figment()).await else {
        return;
    };
    let user = app.login_with("user@example.com", &[]).await;
    assert!(!lines(&app).await.contains(&"Secrets > Secret 2".into()));

    // A change through the store (as the admin pages make) rotates the
    // user's session key: the old session is logged out, menu included.
    let ids = app.store.permission_ids(&["permission1"]).await.unwrap();
    app.store
        .set_links(Link::UserPermissions, user.id, &ids)
        .await
        .unwrap();
    assert_eq!(lines(&app).await, ["Home", "Log in"]);
    let user = app.store.user(user.id).await.unwrap().unwrap();
    app.log_in_as(&user).await;
    assert!(lines(&app).await.contains(&"Secrets > Secret 2".into()));

    // A change behind the store's back (another instance, raw SQL) waits for
    // the cache entry to go: the route itself already refuses. (On
    // PostgreSQL nothing is cached until the revocation listener listens:
    // wait for it, as a loaded machine may take a while to connect it.)
    if app.url.starts_with("postgres") {
        crate::common::web::until_listening(&app.url, 1).await;
        let _ = lines(&app).await;
    }
    revoke_behind_the_stores_back::<B>(&app, user.id).await;
    assert_eq!(app.status("/secret2").await, Status::Forbidden);
    assert!(
        lines(&app).await.contains(&"Secrets > Secret 2".into()),
        "the session's menu is cached"
    );

    // Logging in again clears the session's entry.
    app.log_in_as(&user).await;
    assert!(!lines(&app).await.contains(&"Secrets > Secret 2".into()));

    // With nav_cache_secs = 0 nothing is kept.
    let Some(app) = nav_app::<B>(figment().merge(("kegauth.nav_cache_secs", 0))).await else {
        return;
    };
    let user = app.login_with("user@example.com", &["permission1"]).await;
    assert!(lines(&app).await.contains(&"Secrets > Secret 2".into()));
    revoke_behind_the_stores_back::<B>(&app, user.id).await;
    assert!(!lines(&app).await.contains(&"Secrets > Secret 2".into()));
}

async fn the_report_lists_what_every_route_requires<B: TestBackend>() {
    let Some(app) = nav_app::<B>(rocket::Config::figment()).await else {
        return;
    };
    let report = route_report(app.client.rocket());
    let requires = |method: &str, uri: &str| {
        let row = report
            .iter()
            .find(|r| r.method.as_str() == method && r.uri.split('?').next() == Some(uri))
            .unwrap_or_else(|| panic!("{method} {uri} is in the report"));
        row.requirement.as_ref().map(|r| r.to_string())
    };
    assert_eq!(requires("GET", "/secret1").as_deref(), Some("login"));
    assert_eq!(
        requires("GET", "/secret2").as_deref(),
        Some(r#"has_any("permission1", "permission2")"#)
    );
    assert_eq!(
        requires("GET", "/manage").as_deref(),
        Some(r#""auth-manage""#)
    );
    assert_eq!(
        requires("GET", "/reports").as_deref(),
        Some(r#""permission3""#)
    );
    assert_eq!(
        requires("POST", "/users/<id>/delete").as_deref(),
        Some(r#"has_any("auth-manage", check)"#)
    );
    assert_eq!(requires("GET", "/whoami"), None);
    assert_eq!(requires("GET", "/login"), None);
    let text = render_report(&report);
    assert!(text.contains("GET     /secret1"), "{text}");
    assert!(text.contains("routes require nothing"), "{text}");
    assert!(text.contains("\n  GET /whoami\n"), "{text}");
}

#[rocket::async_test]
async fn a_global_requirement_shows_in_the_report_and_the_menu() {
    let Some((url, _cleanup)) = OnSqlite::database().await else {
        return;
    };
    let rocket =
        rocket_for::<<OnSqlite as TestBackend>::Db>(&url, rocket::Config::figment(), |b| {
            b.menu("main", main_menu())
        });
    let rocket = extend(rocket).attach(
        RequireEverywhere::new(has_all(["permission2".into()]))
            .except("/whoami")
            .except("/menu"),
    );
    let client = Client::tracked(rocket).await.expect("launch");
    let report = route_report(client.rocket());
    let find = |uri: &str| {
        report
            .iter()
            .find(|r| r.method.as_str() == "GET" && r.uri.split('?').next() == Some(uri))
            .and_then(|r| r.requirement.as_ref().map(|r| r.to_string()))
    };
    assert_eq!(find("/whoami"), None);
    assert_eq!(find("/login"), None, "kegauth's login page is excepted");
    assert_eq!(
        find("/secret1").as_deref(),
        Some(r#"has_all("permission2")"#)
    );
    assert_eq!(
        find("/reports").as_deref(),
        Some(r#"has_all(has_all("permission2"), "permission3")"#)
    );
    let r = client.get("/menu").dispatch().await;
    assert_eq!(body(r).await, "Home\nLog in");
}

/// The launch error of a rocket built with `menu`.
async fn launch_with(menu: Vec<NavItem>) -> String {
    let Some((url, _cleanup)) = OnSqlite::database().await else {
        unreachable!()
    };
    let rocket =
        rocket_for::<<OnSqlite as TestBackend>::Db>(&url, rocket::Config::figment(), |b| {
            b.menu("main", menu)
        });
    match Client::tracked(rocket).await {
        Ok(_) => "launched".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

#[rocket::async_test]
async fn bad_menus_stop_the_launch() {
    for menu in [
        vec![NavItem::link("Nowhere", NavUrl::new("/nowhere"))],
        vec![NavItem::group(
            "Group",
            [NavItem::link("Post only", NavUrl::new("/logout/x"))],
        )],
        vec![NavItem::link("Away", NavUrl::new("https://example.com/"))],
        vec![NavItem::link("Relative", NavUrl::new("secret1"))],
        vec![NavItem::link(
            "Undeclared",
            NavUrl::new("/secret1").requires_permissions("no-such-token"),
        )],
        vec![NavItem::group("Empty", [])],
    ] {
        let label = menu[0].label().to_string();
        let outcome = launch_with(menu).await;
        assert!(
            outcome.contains("FailedFairings") && outcome.contains("kegauth menus"),
            "{label}: {outcome}"
        );
    }
    assert_eq!(
        launch_with(vec![NavItem::link("Fine", NavUrl::new("/secret1?x=1"))]).await,
        "launched"
    );
}

mod first {
    #[kegauth::requires_permissions("permission1")]
    #[rocket::get("/")]
    pub fn index() -> &'static str {
        "first"
    }
}

mod second {
    #[kegauth::requires_permissions("permission2")]
    #[rocket::get("/")]
    pub fn index() -> &'static str {
        "second"
    }
}

#[rocket::async_test]
async fn handlers_sharing_a_name_and_path_are_flagged() {
    let Some((url, _cleanup)) = OnSqlite::database().await else {
        return;
    };
    let rocket =
        rocket_for::<<OnSqlite as TestBackend>::Db>(&url, rocket::Config::figment(), |b| {
            b.menu(
                "main",
                [
                    NavItem::link("First", NavUrl::new("/first")),
                    NavItem::link("Secret 2", NavUrl::new("/secret2")),
                ],
            )
        })
        .mount("/first", routes![first::index])
        .mount("/second", routes![second::index])
        .mount("/", routes![menu]);
    let client = Client::tracked(rocket).await.expect("launch");
    let report = route_report(client.rocket());
    for base in ["/first", "/second"] {
        let row = report.iter().find(|r| r.uri == base).expect("a row");
        assert!(row.ambiguous, "{base}");
        assert_eq!(
            row.requirement.as_ref().map(|r| r.to_string()).as_deref(),
            Some(r#"has_all("permission1", "permission2")"#)
        );
    }
    let secret2 = report.iter().find(|r| r.uri == "/secret2").expect("a row");
    assert!(!secret2.ambiguous);
    assert!(render_report(&report).contains("AMBIGUOUS"));
    // Each route still checks its own requirement.
    let store = client
        .rocket()
        .state::<kegauth::Store<sqlx::Sqlite, common::User>>()
        .expect("store");
    let mut u = common::User::new("one@example.com");
    u.core.is_verified = true;
    store.insert_user(&mut u).await.unwrap();
    let ids = store.permission_ids(&["permission1"]).await.unwrap();
    store
        .set_links(Link::UserPermissions, u.id, &ids)
        .await
        .unwrap();
    let u = store.user(u.id).await.unwrap().unwrap();
    let login = common::web::login_path(&u.core.session_key);
    assert_eq!(client.get(login).dispatch().await.status(), Status::Ok);
    assert_eq!(client.get("/first").dispatch().await.status(), Status::Ok);
    // The menu hides the ambiguous link from users who do not meet all.
    let r = client.get("/menu").dispatch().await;
    assert_eq!(body(r).await, "Secret 2");
}
