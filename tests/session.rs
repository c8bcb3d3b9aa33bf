//! Sessions and the user guards, through Rocket's local client on the demo app.

use crate::common;

use crate::common::demo::{DemoStore, User};
use kegauth::session::Session;
use kegauth::{AuthUser, Link, OptionalUser};
use rocket::http::{Accept, ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::{get, post, routes, State};

#[get("/test-login/<id>")]
async fn test_login(id: i64, store: &State<DemoStore>, session: Session<'_>) -> Status {
    match store.user(id).await {
        Ok(Some(user)) => {
            let new = kegauth::store::sessions::NewSession {
                user_id: user.id,
                session_key: &user.core.session_key,
                ..Default::default()
            };
            let Ok(id) = store.start_session(&new, Default::default()).await else {
                return Status::InternalServerError;
            };
            let row = kegauth::session::SessionRow {
                id,
                remember_until: None,
            };
            session.log_in(&user.core.session_key, &row, Vec::new());
            // Changes later in the same request build on the login.
            session.flash("success", "Welcome.");
            session.flash("info", "Second message.");
            Status::Ok
        }
        _ => Status::NotFound,
    }
}

#[post("/test-logout")]
fn test_logout(session: Session<'_>) {
    session.log_out();
}

#[get("/flashes")]
fn flashes(session: Session<'_>) -> String {
    let taken = session.take_flashes();
    assert!(session.take_flashes().is_empty(), "taken once");
    taken
        .iter()
        .map(|f| format!("{}:{}", f.category, f.message))
        .collect::<Vec<_>>()
        .join("|")
}

#[get("/whoami")]
fn whoami(user: AuthUser<User>) -> String {
    user.email.clone()
}

#[get("/maybe")]
fn maybe(user: OptionalUser<User>) -> String {
    user.0
        .map_or_else(|| "anonymous".into(), |u| u.email.clone())
}

type App = common::DemoApp;

async fn app() -> App {
    app_with(rocket::Config::figment()).await
}

async fn app_with(figment: rocket::figment::Figment) -> App {
    App::launch(figment, |r| {
        r.mount(
            "/",
            routes![test_login, test_logout, whoami, maybe, flashes],
        )
    })
    .await
}

async fn verified_user(store: &DemoStore, email: &str) -> User {
    let mut u = User::new(email);
    u.core.is_verified = true;
    store.insert_user(&mut u).await.unwrap();
    u
}

async fn body(r: LocalResponse<'_>) -> String {
    r.into_string().await.unwrap_or_default()
}

async fn login(app: &App, user: &User) {
    let r = app
        .client
        .get(format!("/test-login/{}", user.id))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
}

async fn whoami_status(app: &App) -> Status {
    app.client
        .get("/whoami")
        .header(Accept::HTML)
        .dispatch()
        .await
        .status()
}

#[rocket::async_test]
async fn anonymous_browsers_are_sent_to_login_with_next_and_apis_get_401() {
    let app = app().await;
    assert_eq!(
        common::login_redirect_next(&app.client, "/whoami?tab=a&x=1").await,
        "/whoami?tab=a&x=1"
    );

    let r = app
        .client
        .get("/whoami")
        .header(Accept::JSON)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(r.content_type(), Some(ContentType::JSON));
    assert!(body(r).await.contains("authentication required"));

    assert_eq!(
        body(app.client.get("/maybe").dispatch().await).await,
        "anonymous"
    );
}

#[rocket::async_test]
async fn a_logged_in_user_is_recognised_and_the_cookie_is_locked_down() {
    let app = app().await;
    let ann = verified_user(&app.store, "ann@example.com").await;
    let r = app
        .client
        .get(format!("/test-login/{}", ann.id))
        .dispatch()
        .await;
    let set_cookie = r
        .headers()
        .get_one("Set-Cookie")
        .expect("a session cookie")
        .to_string();
    assert!(set_cookie.starts_with("__Host-kegauth="), "{set_cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    assert!(
        !set_cookie.contains(&ann.core.session_key),
        "the cookie is encrypted"
    );

    let r = app.client.get("/whoami").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(body(r).await, "ann@example.com");
    assert_eq!(
        body(app.client.get("/maybe").dispatch().await).await,
        "ann@example.com"
    );
    // Messages added after login in the same request survive it, and show once.
    assert_eq!(
        body(app.client.get("/flashes").dispatch().await).await,
        "success:Welcome.|info:Second message."
    );
    assert_eq!(body(app.client.get("/flashes").dispatch().await).await, "");
    assert_eq!(
        whoami_status(&app).await,
        Status::Ok,
        "taking flashes keeps the login"
    );

    app.client.post("/test-logout").dispatch().await;
    assert_eq!(whoami_status(&app).await, Status::Found);
}

#[rocket::async_test]
async fn a_rights_change_logs_the_user_out_on_the_next_request() {
    let app = app().await;
    let ann = verified_user(&app.store, "ann@example.com").await;
    let bob = verified_user(&app.store, "bob@example.com").await;
    let mut g = kegauth::entity::Group {
        id: 0,
        name: "staff".into(),
    };
    app.store.insert_group(&mut g).await.unwrap();

    login(&app, &ann).await;
    assert_eq!(whoami_status(&app).await, Status::Ok);
    // A change to someone else leaves Ann logged in.
    app.store
        .add_link(Link::UserGroups, bob.id, g.id)
        .await
        .unwrap();
    assert_eq!(whoami_status(&app).await, Status::Ok);
    // A change to Ann's rights logs her out.
    app.store
        .add_link(Link::UserGroups, ann.id, g.id)
        .await
        .unwrap();
    assert_eq!(whoami_status(&app).await, Status::Found);
    assert_eq!(
        body(app.client.get("/maybe").dispatch().await).await,
        "anonymous"
    );
}

#[rocket::async_test]
async fn inactive_users_are_not_logged_in() {
    let app = app().await;
    let mut ann = verified_user(&app.store, "ann@example.com").await;
    login(&app, &ann).await;
    assert_eq!(whoami_status(&app).await, Status::Ok);
    // Disabling rotates the key; even a session re-issued with the new key is refused.
    app.store.set_enabled(&mut ann, false).await.unwrap();
    assert_eq!(whoami_status(&app).await, Status::Found);
    login(&app, &ann).await;
    assert_eq!(whoami_status(&app).await, Status::Found);

    // Disabled by date.
    let mut dan = verified_user(&app.store, "dan@example.com").await;
    dan.core.disabled_utc = Some(app.store.now() - chrono::TimeDelta::minutes(1));
    app.store.update_user(&mut dan).await.unwrap();
    login(&app, &dan).await;
    assert_eq!(whoami_status(&app).await, Status::Found);

    // Unverified email user.
    let mut uma = User::new("uma@example.com");
    app.store.insert_user(&mut uma).await.unwrap();
    login(&app, &uma).await;
    assert_eq!(whoami_status(&app).await, Status::Found);
}

#[rocket::async_test]
async fn forged_or_garbled_cookies_are_anonymous() {
    let app = app().await;
    let ann = verified_user(&app.store, "ann@example.com").await;
    for value in ["garbage", &ann.core.session_key, r#"{"k":"x"}"#, ""] {
        let r = app
            .client
            .get("/maybe")
            .cookie(Cookie::new("__Host-kegauth", value.to_string()))
            .header(Header::new("Accept", "text/html"))
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(body(r).await, "anonymous", "cookie {value:?}");
    }
}

/// `logout_clear_session = false` keeps the rest of the session (here, the
/// flash messages) and only forgets the user; the default clears everything.
#[rocket::async_test]
async fn logout_clear_session_setting() {
    for (clear, expected) in [(true, ""), (false, "success:Welcome.|info:Second message.")] {
        let app =
            app_with(rocket::Config::figment().merge(("kegauth.logout_clear_session", clear)))
                .await;
        let ann = verified_user(&app.store, "ann@example.com").await;
        login(&app, &ann).await;
        app.client.post("/test-logout").dispatch().await;
        assert_eq!(
            whoami_status(&app).await,
            Status::Found,
            "logged out either way"
        );
        assert_eq!(
            body(app.client.get("/flashes").dispatch().await).await,
            expected,
            "logout_clear_session = {clear}"
        );
    }
}

/// `cookie_secure = false` (plain-HTTP development): no Secure flag, no `__Host-` prefix.
#[rocket::async_test]
async fn insecure_cookie_setting() {
    let app = app_with(rocket::Config::figment().merge(("kegauth.cookie_secure", false))).await;
    let ann = verified_user(&app.store, "ann@example.com").await;
    let r = app
        .client
        .get(format!("/test-login/{}", ann.id))
        .dispatch()
        .await;
    let set_cookie = r
        .headers()
        .get_one("Set-Cookie")
        .unwrap_or_default()
        .to_string();
    assert!(set_cookie.starts_with("kegauth="), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    drop(r);
    assert_eq!(
        body(app.client.get("/maybe").dispatch().await).await,
        "ann@example.com"
    );
}
