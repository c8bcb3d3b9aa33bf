//! The requirement matrix: handler level, route-set level, has_all / has_any /
//! nested / callable conditions, excluded methods, 401 vs 303 vs 403, and
//! undeclared tokens stopping the launch.

use crate::common;

use crate::common::demo::{self, User};
use crate::common::web::{self, App, TestBackend};
use kegauth::prelude::*;

use rocket::http::{Accept, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, options, routes, Build, Rocket};

fn is_named(user: &User) -> bool {
    user.name.is_some()
}

#[requires_permissions(("permission1", "permission2"))]
#[get("/tuple")]
fn tuple() -> &'static str {
    "tuple"
}

#[requires_permissions(|u: &User| u.email.ends_with("@staff.example.com"))]
#[get("/closure")]
fn closure() -> &'static str {
    "closure"
}

#[requires_permissions(has_all(demo::PERMISSION1, is_named))]
#[get("/function")]
fn function() -> &'static str {
    "function"
}

#[requires_user]
#[options("/preflight")]
fn preflight() -> &'static str {
    "preflight"
}

#[get("/set/a")]
fn set_a() -> &'static str {
    "set a"
}

#[get("/set/b")]
fn set_b() -> &'static str {
    "set b"
}

fn test_routes(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![tuple, closure, function, preflight])
}

fn standard(rocket: Rocket<Build>) -> Rocket<Build> {
    test_routes(rocket).mount(
        "/",
        kegauth::require(
            routes![set_a, set_b],
            has_any(["permission2".into(), demo::PERMISSION3.into()]),
        ),
    )
}

async fn app_with<B: TestBackend>(
    figment: rocket::figment::Figment,
) -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    web::app_configured::<B>(figment, |b| b, standard).await
}

async fn launch<B: TestBackend>() -> Option<App<<B::Db as kegauth::AuthDb>::Backend>> {
    app_with::<B>(rocket::Config::figment()).await
}

async fn anonymous_requests_redirect_browsers_and_401_apis<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    for path in [
        "/secret1",
        "/secret2",
        "/secret-nested",
        "/tuple",
        "/closure",
        "/set/a",
    ] {
        assert_eq!(common::login_redirect_next(&app.client, path).await, path);
        assert_eq!(app.api_status(path).await, Status::Unauthorized, "{path}");
    }
}

async fn handler_level_matrix<B: TestBackend>() {
    // (permissions held, [secret1, secret2, secret-nested, tuple])
    let cases: [(&[&str], [Status; 4]); 5] = [
        (
            &[],
            [
                Status::Ok,
                Status::Forbidden,
                Status::Forbidden,
                Status::Forbidden,
            ],
        ),
        (
            &["permission1"],
            [Status::Ok, Status::Ok, Status::Forbidden, Status::Forbidden],
        ),
        (
            &["permission2"],
            [Status::Ok, Status::Ok, Status::Forbidden, Status::Forbidden],
        ),
        (
            &["permission1", "permission2"],
            [Status::Ok, Status::Ok, Status::Ok, Status::Ok],
        ),
        (
            &["permission3"],
            [Status::Ok, Status::Forbidden, Status::Ok, Status::Forbidden],
        ),
    ];
    for (n, (held, expected)) in cases.iter().enumerate() {
        let Some(app) = launch::<B>().await else {
            return;
        };
        app.login_with(&format!("u{n}@example.com"), held).await;
        for (path, want) in ["/secret1", "/secret2", "/secret-nested", "/tuple"]
            .iter()
            .zip(expected)
        {
            assert_eq!(app.status(path).await, *want, "{held:?} on {path}");
        }
    }
}

async fn forbidden_is_a_page_for_browsers_and_json_for_apis<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    app.login_with("ann@example.com", &[]).await;
    let r = app.browse("/secret2").await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(r
        .into_string()
        .await
        .unwrap()
        .contains("You do not have permission"));
    let r = app
        .client
        .get("/secret2")
        .header(Accept::JSON)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(r.into_string().await.unwrap().contains("permission denied"));
}

async fn callable_conditions_get_the_user<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    app.login_with("ann@example.com", &["permission1"]).await;
    assert_eq!(app.status("/closure").await, Status::Forbidden);
    assert_eq!(
        app.status("/function").await,
        Status::Forbidden,
        "no name yet"
    );
    let mut ann = app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    ann.name = Some("Ann".into());
    app.store.update_user(&mut ann).await.unwrap();
    assert_eq!(app.status("/function").await, Status::Ok);

    let Some(app) = launch::<B>().await else {
        return;
    };
    app.login_with("bo@staff.example.com", &[]).await;
    assert_eq!(app.status("/closure").await, Status::Ok);
}

async fn superusers_pass_every_permission_check<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    let mut root = app.login_with("root@example.com", &[]).await;
    root.core.is_superuser = true;
    app.store.update_user(&mut root).await.unwrap();
    app.log_in_as(&root).await;
    for path in ["/secret2", "/secret-nested", "/tuple", "/set/a"] {
        assert_eq!(app.status(path).await, Status::Ok, "{path}");
    }
}

async fn route_set_requirement<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    app.login_with("ann@example.com", &["permission1"]).await;
    assert_eq!(app.status("/set/a").await, Status::Forbidden);
    assert_eq!(app.status("/set/b").await, Status::Forbidden);
    let Some(app) = launch::<B>().await else {
        return;
    };
    app.login_with("bob@example.com", &["permission3"]).await;
    assert_eq!(app.status("/set/a").await, Status::Ok);
    assert_eq!(app.status("/set/b").await, Status::Ok);
}

async fn excluded_methods_skip_the_checks<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    let r = app
        .client
        .options("/preflight")
        .header(Accept::JSON)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Unauthorized);
    let figment = rocket::Config::figment().merge(("kegauth.http_methods_excluded", ["OPTIONS"]));
    let Some(app) = app_with::<B>(figment).await else {
        return;
    };
    let r = app.client.options("/preflight").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(
        app.api_status("/secret1").await,
        Status::Unauthorized,
        "GET is still checked"
    );
}

#[requires_permissions("permission1", http_methods_excluded = ["OPTIONS"])]
#[options("/route-excluded")]
fn route_excluded() -> &'static str {
    "route excluded"
}

#[requires_user(http_methods_excluded = [])]
#[options("/route-checked")]
fn route_checked() -> &'static str {
    "route checked"
}

/// `http_methods_excluded` given to one route's requirement: it lets that
/// route's OPTIONS through without the setting, and an empty list checks
/// every method on that route even when the setting excludes OPTIONS.
async fn a_routes_excluded_methods_override_the_setting<B: TestBackend>() {
    for excluded_everywhere in [vec![], vec!["OPTIONS"]] {
        let figment = rocket::Config::figment()
            .merge(("kegauth.http_methods_excluded", &excluded_everywhere));
        let Some(app) = web::app_configured::<B>(
            figment,
            |b| b,
            |r| standard(r).mount("/", routes![route_excluded, route_checked]),
        )
        .await
        else {
            return;
        };
        let options = |path: &'static str| app.client.options(path).header(Accept::JSON).dispatch();
        let r = options("/route-excluded").await;
        assert_eq!(r.status(), Status::Ok, "setting {excluded_everywhere:?}");
        assert_eq!(r.into_string().await.unwrap(), "route excluded");
        assert_eq!(
            options("/route-checked").await.status(),
            Status::Unauthorized,
            "setting {excluded_everywhere:?}: the route's empty list wins"
        );
        // The setting still applies to routes that say nothing.
        let preflight = if excluded_everywhere.is_empty() {
            Status::Unauthorized
        } else {
            Status::Ok
        };
        assert_eq!(options("/preflight").await.status(), preflight);
    }
}

async fn a_rights_change_applies_on_the_next_request<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    let ann = app.login_with("ann@example.com", &["permission1"]).await;
    assert_eq!(app.status("/secret2").await, Status::Ok);
    app.store
        .set_links(Link::UserPermissions, ann.id, &[])
        .await
        .unwrap();
    // The key rotated: logged out, so the browser goes to the login page.
    assert_eq!(app.status("/secret2").await, Status::Found);
}

#[requires_permissions("never-declared")]
#[get("/undeclared")]
fn undeclared() -> &'static str {
    "unreachable"
}

#[get("/undeclared-set")]
fn undeclared_set() -> &'static str {
    "unreachable"
}

#[rocket::async_test]
async fn undeclared_tokens_stop_the_launch() {
    let db = common::TempDb::new();
    let rocket = test_routes(common::demo_rocket(&db, rocket::Config::figment()))
        .mount("/", routes![undeclared]);
    let Err(err) = Client::tracked(rocket).await else {
        panic!("a handler's undeclared token stops the launch");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::SentinelAborts(s) if s.iter().any(|s| s.type_name.contains("__kegauth_requires_undeclared"))),
        "{err:?}"
    );

    let db2 = common::TempDb::new();
    let rocket = test_routes(common::demo_rocket(&db2, rocket::Config::figment())).mount(
        "/",
        kegauth::require(
            routes![undeclared_set],
            has_all(["permission1".into(), "also-never-declared".into()]),
        ),
    );
    let Err(err) = Client::tracked(rocket).await else {
        panic!("a route set's undeclared token stops the launch");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
}

async fn the_permission_guard<B: TestBackend>() {
    let Some(app) = launch::<B>().await else {
        return;
    };
    assert_eq!(app.api_status("/manage").await, Status::Unauthorized);
    app.login_with("ann@example.com", &["permission1"]).await;
    assert_eq!(app.status("/manage").await, Status::Forbidden);
    let Some(app) = launch::<B>().await else {
        return;
    };
    app.login_with("boss@example.com", &["auth-manage"]).await;
    assert_eq!(app.status("/manage").await, Status::Ok);
}

kegauth::permissions! { NOT_DECLARED_TO_THE_MANAGER as NotDeclared = "not-declared"; }

#[get("/undeclared-type")]
fn undeclared_type(_guard: Permission<NotDeclared>) -> &'static str {
    "unreachable"
}

#[rocket::async_test]
async fn a_permission_type_that_was_not_declared_stops_the_launch() {
    let db = common::TempDb::new();
    let rocket = test_routes(common::demo_rocket(&db, rocket::Config::figment()))
        .mount("/", routes![undeclared_type]);
    let Err(err) = Client::tracked(rocket).await else {
        panic!("an undeclared Permission<P> stops the launch");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::SentinelAborts(_)),
        "{err:?}"
    );
}

use kegauth::requirements::{RequireEverywhere, RequireOptions};
use rocket::response::{Redirect, Responder};
use rocket::Request;

fn to_signup(req: &Request<'_>) -> rocket::response::Result<'static> {
    Redirect::to("/signup").respond_to(req)
}

fn teapot(req: &Request<'_>) -> rocket::response::Result<'static> {
    (Status::ImATeapot, "no rights here").respond_to(req)
}

#[requires_permissions(
    "permission1",
    on_authentication_failure = to_signup,
    on_authorization_failure = teapot,
    http_methods_excluded = ["OPTIONS"]
)]
#[get("/custom")]
fn custom() -> &'static str {
    "custom"
}

#[get("/set/custom")]
fn set_custom() -> &'static str {
    "set custom"
}

#[get("/anything")]
fn anything() -> &'static str {
    "anything"
}

fn custom_routes(rocket: Rocket<Build>) -> Rocket<Build> {
    test_routes(rocket).mount("/", routes![custom]).mount(
        "/",
        kegauth::requirements::require_with(
            routes![set_custom],
            "permission2",
            RequireOptions {
                on_authorization_failure: Some(teapot),
                ..Default::default()
            },
        ),
    )
}

async fn custom_failure_handlers<B: TestBackend>() {
    let Some(app) = web::app_configured::<B>(rocket::Config::figment(), |b| b, custom_routes).await
    else {
        return;
    };
    let r = app.client.get("/custom").dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/signup"));
    drop(r);
    app.login_with("ann@example.com", &["permission3"]).await;
    let r = app.client.get("/custom").dispatch().await;
    assert_eq!(r.status(), Status::ImATeapot);
    assert_eq!(r.into_string().await.unwrap(), "no rights here");
    let r = app.client.get("/set/custom").dispatch().await;
    assert_eq!(r.status(), Status::ImATeapot, "route-set options");
    drop(r);
    // Other routes keep the standard responses.
    assert_eq!(app.status("/secret2").await, Status::Forbidden);
}

async fn the_global_requirement<B: TestBackend>() {
    let Some(app) = web::app_configured::<B>(
        rocket::Config::figment(),
        |b| b,
        |r| {
            test_routes(r).mount("/", routes![anything]).attach(
                // kegauth's test routes are left open by itself.
                RequireEverywhere::new(demo::PERMISSION1).except("/public"),
            )
        },
    )
    .await
    else {
        return;
    };

    // Anonymous: everything but the login page and exceptions goes to login, with the real next.
    assert_eq!(
        common::login_redirect_next(&app.client, "/anything?x=1").await,
        "/anything?x=1"
    );
    assert_eq!(
        app.client.get("/login").dispatch().await.status(),
        Status::Ok
    );
    assert_eq!(app.api_status("/anything").await, Status::Unauthorized);

    // Without the permission: 403 everywhere checked.
    let ann = app.login_with("ann@example.com", &["permission2"]).await;
    assert_eq!(app.status("/anything").await, Status::Forbidden);
    assert_eq!(app.status("/").await, Status::Forbidden);
    // With it: through, and the route's own requirement still applies.
    app.store
        .set_links(
            Link::UserPermissions,
            ann.id,
            &app.store.permission_ids(&["permission1"]).await.unwrap(),
        )
        .await
        .unwrap();
    let ann = app.store.user(ann.id).await.unwrap().unwrap();
    app.log_in_as(&ann).await;
    assert_eq!(app.status("/anything").await, Status::Ok);
    assert_eq!(app.status("/secret-nested").await, Status::Forbidden);
}

#[rocket::async_test]
async fn a_global_requirement_with_an_undeclared_token_stops_the_launch() {
    let db = common::TempDb::new();
    let rocket = common::demo_rocket(&db, rocket::Config::figment())
        .attach(RequireEverywhere::new("nowhere-declared"));
    let Err(err) = Client::tracked(rocket).await else {
        panic!("must not launch");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(_)),
        "{err:?}"
    );
}

on_sqlite_and_postgres!(
    anonymous_requests_redirect_browsers_and_401_apis,
    handler_level_matrix,
    forbidden_is_a_page_for_browsers_and_json_for_apis,
    callable_conditions_get_the_user,
    superusers_pass_every_permission_check,
    route_set_requirement,
    excluded_methods_skip_the_checks,
    a_routes_excluded_methods_override_the_setting,
    a_rights_change_applies_on_the_next_request,
    the_permission_guard,
    custom_failure_handlers,
    the_global_requirement,
);
