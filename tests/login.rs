//! Login and logout through the demo app: keg-auth's login scenarios, plus
//! SECURITY-CHECKLIST rows 2, 7, 8, 9, 16, 17, 38 and 39.

mod common;

use common::demo::{self, DemoStore, User};
use common::{LEGACY_BCRYPT, LEGACY_PASSWORD};
use kegauth::session::Session;
use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{get, routes};

const PASSWORD: &str = "correct horse battery staple";

#[get("/test-set-next?<to>")]
fn set_next(to: &str, session: Session<'_>) {
    session.set_next(to);
}

struct App {
    client: Client,
    store: DemoStore,
    path: std::path::PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

async fn app_with(figment: Figment) -> App {
    let path =
        std::env::temp_dir().join(format!("kegauth-login-{:x}.sqlite", rand::random::<u64>()));
    let figment = figment.merge((
        "databases.main.url",
        format!("sqlite://{}?mode=rwc", path.display()),
    ));
    let rocket = demo::rocket()
        .configure(figment)
        .mount("/", routes![set_next]);
    let client = Client::tracked(rocket).await.expect("launch");
    let store = client.rocket().state::<DemoStore>().expect("store").clone();
    App {
        client,
        store,
        path,
    }
}

async fn app() -> App {
    app_with(rocket::Config::figment()).await
}

/// The page as a browser reads it: HTML character references decoded
/// (MiniJinja escapes `/` as `&#x2f;` in attribute values, for example).
async fn body(r: LocalResponse<'_>) -> String {
    let raw = r.into_string().await.unwrap_or_default();
    raw.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn location(r: &LocalResponse<'_>) -> String {
    r.headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string()
}

/// The CSRF token in a page's form.
fn csrf_in(page: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).expect("a csrf_token field") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

impl App {
    async fn user(&self, email: &str, password: Option<&str>) -> User {
        let mut u = User::new(email);
        u.core.is_verified = true;
        self.store.insert_user(&mut u).await.unwrap();
        if let Some(p) = password {
            self.store.set_password(&mut u, p).await.unwrap();
        }
        u
    }

    async fn csrf(&self) -> String {
        csrf_in(&body(self.client.get("/login").dispatch().await).await)
    }

    async fn post_login(&self, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        let form: String = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        self.client
            .post("/login")
            .header(ContentType::Form)
            .body(form)
            .dispatch()
            .await
    }

    async fn login(&self, login_id: &str, password: &str) -> LocalResponse<'_> {
        let csrf = self.csrf().await;
        self.post_login(&[
            ("login_id", login_id),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .await
    }

    async fn who(&self) -> String {
        let page = body(self.client.get("/").dispatch().await).await;
        let start = page.find(r#"<p id="who">"#).unwrap_or(0);
        page[start..]
            .split("</p>")
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

#[rocket::async_test]
async fn the_login_page_has_the_form_and_head_is_405() {
    let app = app().await;
    let r = app.client.get("/login").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::HTML));
    let page = body(r).await;
    for field in [
        r#"name="login_id""#,
        r#"name="password""#,
        r#"name="csrf_token""#,
        "<title>Log In</title>",
    ] {
        assert!(page.contains(field), "{field} in the login page");
    }
    assert!(!csrf_in(&page).is_empty());
    assert_eq!(
        app.client.head("/login").dispatch().await.status(),
        Status::MethodNotAllowed
    );
}

#[rocket::async_test]
async fn form_errors_rerender_with_messages() {
    let app = app().await;
    let csrf = app.csrf().await;
    let r = app
        .post_login(&[("login_id", ""), ("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert!(page.contains("The form has errors, please see below."));
    assert_eq!(page.matches("This field is required.").count(), 2);
}

#[rocket::async_test]
async fn success_flashes_and_redirects_to_after_login() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    let before = app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.core.last_login_utc, None);

    let r = app.login("ANN@example.com", PASSWORD).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/");
    let home = body(app.client.get("/").dispatch().await).await;
    assert!(home.contains("Login successful."), "{home}");
    assert!(home.contains("Logged in as ann@example.com"));
    let after = app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.core.last_login_utc.is_some(),
        "last_login_utc is recorded"
    );
}

#[rocket::async_test]
async fn after_login_endpoint_override() {
    let path =
        std::env::temp_dir().join(format!("kegauth-login-{:x}.sqlite", rand::random::<u64>()));
    let figment = rocket::Config::figment().merge((
        "databases.main.url",
        format!("sqlite://{}?mode=rwc", path.display()),
    ));
    let rocket = rocket::build()
        .configure(figment)
        .attach(demo::Db::init())
        .attach(
            kegauth::AuthManager::<demo::Db, User>::builder()
                .create_schema(true)
                .endpoint("after-login", "/secret1")
                .build(),
        )
        .mount("/", kegauth::routes());
    use rocket_db_pools::Database;
    let client = Client::tracked(rocket).await.unwrap();
    let store = client.rocket().state::<DemoStore>().unwrap().clone();
    let mut u = User::new("ann@example.com");
    u.core.is_verified = true;
    store.insert_user(&mut u).await.unwrap();
    store.set_password(&mut u, PASSWORD).await.unwrap();
    let page = body(client.get("/login").dispatch().await).await;
    let r = client
        .post("/login")
        .header(ContentType::Form)
        .body(format!(
            "login_id=ann%40example.com&password=correct+horse+battery+staple&csrf_token={}",
            csrf_in(&page)
        ))
        .dispatch()
        .await;
    assert_eq!(location(&r), "/secret1");
    drop(r);
    drop(client);
    let _ = std::fs::remove_file(&path);
}

#[rocket::async_test]
async fn next_param_form_field_and_session_next() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    // Protected page -> login with next -> back to the page.
    let r = app.client.get("/secret1").dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    let to_login = location(&r);
    assert!(to_login.starts_with("/login?next="), "{to_login}");
    let page = body(app.client.get(to_login.as_str()).dispatch().await).await;
    assert!(
        page.contains(r#"name="next" value="/secret1""#),
        "next carried in the form"
    );
    let r = app
        .post_login(&[
            ("login_id", "ann@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &csrf_in(&page)),
            ("next", "/secret1"),
        ])
        .await;
    assert_eq!(location(&r), "/secret1");
    let r = app.client.get("/secret1").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(body(r).await, "secret1 for ann@example.com");

    // next stored in the session.
    app.client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!(
            "csrf_token={}",
            csrf_in(&body(app.client.get("/logout").dispatch().await).await)
        ))
        .dispatch()
        .await;
    app.client
        .get("/test-set-next?to=/secret1")
        .dispatch()
        .await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(location(&r), "/secret1");
}

/// SECURITY-CHECKLIST row 38.
#[rocket::async_test]
async fn open_redirect_payloads_are_ignored() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    let payloads = [
        "//evil.com",
        "///evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\\/evil.com",
        "https:evil.com",
        "http:/\\/evil.com",
        "https://evil.com",
        "//evil.com@good.com",
        "http://good\\@evil.com",
        "/%09/evil.com",
        "/\t/evil.com",
        "%2F%2Fevil.com",
        "%252F%252Fevil.com",
        "/%5Cevil.com",
        "javascript:alert(1)",
        "java\nscript:",
        "\x08//evil.com",
        "data:text/html,x",
        "http:999999999",
    ];
    for payload in payloads {
        let csrf = app.csrf().await;
        let r = app
            .post_login(&[
                ("login_id", "ann@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
                ("next", payload),
            ])
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/", "payload {payload:?}");
    }
    let csrf = app.csrf().await;
    let r = app
        .post_login(&[
            ("login_id", "ann@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("next", "/view/?p=http://evil.com"),
        ])
        .await;
    assert_eq!(location(&r), "/view/?p=http://evil.com");
}

async fn failure_page(app: &App, login_id: &str, password: &str) -> (Status, String, u64) {
    let csrf = app.csrf().await;
    let before = app.store.hasher().verification_count();
    let r = app
        .post_login(&[
            ("login_id", login_id),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .await;
    let status = r.status();
    let page = body(r).await.replace(login_id, "LOGIN_ID");
    (
        status,
        page,
        app.store.hasher().verification_count() - before,
    )
}

/// keg-auth's failure scenarios; SECURITY-CHECKLIST rows 7, 8 and 9.
#[rocket::async_test]
async fn every_failure_looks_the_same_and_costs_one_hash() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    app.user("nopass@example.com", None).await;
    let mut off = app.user("off@example.com", Some(PASSWORD)).await;
    app.store.set_enabled(&mut off, false).await.unwrap();
    let mut dated = app.user("dated@example.com", Some(PASSWORD)).await;
    dated.core.disabled_utc = Some(app.store.now() - chrono::TimeDelta::hours(1));
    app.store.update_user(&mut dated).await.unwrap();
    let mut unverified = User::new("new@example.com");
    app.store.insert_user(&mut unverified).await.unwrap();
    app.store
        .set_password(&mut unverified, PASSWORD)
        .await
        .unwrap();

    let cases = [
        ("unknown user", "nobody@example.com", PASSWORD),
        ("wrong password", "ann@example.com", "wrong password"),
        ("no password set", "nopass@example.com", PASSWORD),
        ("disabled", "off@example.com", PASSWORD),
        ("disabled by date", "dated@example.com", PASSWORD),
        ("unverified", "new@example.com", PASSWORD),
    ];
    let mut reference: Option<String> = None;
    for (what, login_id, password) in cases {
        let (status, page, hashes) = failure_page(&app, login_id, password).await;
        assert_eq!(status, Status::Ok, "{what}");
        assert!(page.contains("Invalid login or password."), "{what}");
        assert_eq!(hashes, 1, "{what}: exactly one hash");
        match &reference {
            None => reference = Some(page),
            Some(r) => assert_eq!(&page, r, "{what}: same response as an unknown user"),
        }
        assert!(app.who().await.contains("Not logged in"), "{what}");
    }
    // An empty password never authenticates (it is a form error before any lookup).
    let (_, page, _) = failure_page(&app, "nopass@example.com", "").await;
    assert!(page.contains("This field is required."));
}

#[rocket::async_test]
async fn detailed_messages_behind_the_config_switch() {
    let app =
        app_with(rocket::Config::figment().merge(("kegauth.detailed_login_errors", true))).await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    let mut off = app.user("off@example.com", Some(PASSWORD)).await;
    app.store.set_enabled(&mut off, false).await.unwrap();
    let mut unverified = User::new("new@example.com");
    app.store.insert_user(&mut unverified).await.unwrap();
    app.store
        .set_password(&mut unverified, PASSWORD)
        .await
        .unwrap();
    for (login_id, password, message) in [
        (
            "nobody@example.com",
            PASSWORD,
            "No user account matches: LOGIN_ID",
        ),
        ("ann@example.com", "nope", "Invalid password."),
        (
            "off@example.com",
            PASSWORD,
            "This user account is disabled.",
        ),
        (
            "new@example.com",
            PASSWORD,
            "The account has not been verified.",
        ),
    ] {
        let (_, page, _) = failure_page(&app, login_id, password).await;
        assert!(page.contains(message), "{login_id}: {message}");
    }
}

/// SECURITY-CHECKLIST row 39 (login and logout): missing or wrong token -> 403.
#[rocket::async_test]
async fn csrf_is_required_for_login_and_logout() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    app.csrf().await;
    for fields in [
        vec![("login_id", "ann@example.com"), ("password", PASSWORD)],
        vec![
            ("login_id", "ann@example.com"),
            ("password", PASSWORD),
            ("csrf_token", "forged"),
        ],
    ] {
        let r = app.post_login(&fields).await;
        assert_eq!(r.status(), Status::Forbidden);
        assert!(body(r).await.contains("The form has expired"));
        assert!(app.who().await.contains("Not logged in"));
    }
    app.login("ann@example.com", PASSWORD).await;
    let r = app
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body("csrf_token=forged")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(
        app.who().await.contains("Logged in as"),
        "a forged logout does nothing"
    );
}

/// SECURITY-CHECKLIST row 16: login re-issues the cookie and rotates the CSRF token;
/// a pre-login cookie replayed afterwards is anonymous.
#[rocket::async_test]
async fn login_reissues_the_session() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    let page = body(app.client.get("/login").dispatch().await).await;
    let pre_csrf = csrf_in(&page);
    let pre_cookie = app
        .client
        .cookies()
        .get_private("__Host-kegauth")
        .expect("a pre-login session");
    let r = app
        .post_login(&[
            ("login_id", "ann@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &pre_csrf),
        ])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let post_cookie = app
        .client
        .cookies()
        .get_private("__Host-kegauth")
        .expect("a session");
    assert_ne!(pre_cookie.value(), post_cookie.value());
    let post_csrf = csrf_in(&body(app.client.get("/logout").dispatch().await).await);
    assert_ne!(pre_csrf, post_csrf, "the CSRF token rotates at login");

    let other = Client::untracked(demo::rocket().configure(rocket::Config::figment().merge((
        "databases.main.url",
        format!("sqlite://{}?mode=rwc", app.path.display()),
    ))))
    .await
    .unwrap();
    let page = body(other.get("/").private_cookie(pre_cookie).dispatch().await).await;
    assert!(page.contains("Not logged in"));
}

/// keg-auth's logout scenario; SECURITY-CHECKLIST row 17: a copied cookie stops working.
#[rocket::async_test]
async fn logout_confirms_then_kills_copies_of_the_cookie() {
    let app = app().await;
    app.user("ann@example.com", Some(PASSWORD)).await;
    app.login("ann@example.com", PASSWORD).await;
    let copied: Cookie<'static> = app.client.cookies().get_private("__Host-kegauth").unwrap();

    let r = app.client.get("/logout").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert!(page.contains(r#"action="/logout""#) && page.contains(r#"method="post""#));
    assert!(
        app.who().await.contains("Logged in as"),
        "GET /logout only asks"
    );

    let r = app
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!("csrf_token={}", csrf_in(&page)))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/login");
    drop(r);
    let page = body(app.client.get("/login").dispatch().await).await;
    assert!(page.contains("You have been logged out."));
    assert!(app.who().await.contains("Not logged in"));

    // The copy of the old cookie is dead too.
    let r = app
        .client
        .get("/secret1")
        .private_cookie(copied)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    // GET /logout when logged out goes to after-logout.
    assert_eq!(
        location(&app.client.get("/logout").dispatch().await),
        "/login"
    );
}

/// SECURITY-CHECKLIST row 2: a legacy hash is upgraded on a successful login only.
#[rocket::async_test]
async fn legacy_hashes_are_upgraded_on_login() {
    let app = app().await;
    let mut u = app.user("old@example.com", None).await;
    u.core.password = Some(LEGACY_BCRYPT.to_string());
    app.store.update_user(&mut u).await.unwrap();

    let (_, _, _) = failure_page(&app, "old@example.com", "wrong").await;
    let after_failure = app.store.user(u.id).await.unwrap().unwrap();
    assert_eq!(after_failure.core.password.as_deref(), Some(LEGACY_BCRYPT));

    let r = app.login("old@example.com", LEGACY_PASSWORD).await;
    assert_eq!(r.status(), Status::SeeOther);
    drop(r);
    let upgraded = app.store.user(u.id).await.unwrap().unwrap();
    let hash = upgraded.core.password.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    // Still logged in: the rotated key (new password) is the one in the session.
    assert!(app.who().await.contains("Logged in as old@example.com"));
}

/// SECURITY-CHECKLIST row 41 (login page): what the user typed is escaped when shown again.
#[rocket::async_test]
async fn the_login_id_is_escaped_when_shown_again() {
    let app = app().await;
    let csrf = app.csrf().await;
    let evil = r#""><script>alert(1)</script>"#;
    let r = app
        .post_login(&[("login_id", evil), ("password", "x"), ("csrf_token", &csrf)])
        .await;
    let raw = r.into_string().await.unwrap_or_default();
    assert!(!raw.contains("<script>alert(1)</script>"), "{raw}");
    assert!(raw.contains("&lt;script&gt;"), "{raw}");
}

/// An app overrides a default template by dropping a file in its template_dir;
/// overrides are escaped like the defaults.
#[rocket::async_test]
async fn templates_are_overridable_from_template_dir() {
    let dir = std::env::temp_dir().join(format!("kegauth-tpl-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("kegauth")).unwrap();
    std::fs::write(
        dir.join("kegauth/base.html.j2"),
        "<html><title>{{ page_title }}</title><body id=\"app-layout\">{% include \"kegauth/flash-messages.html\" %}{% block content %}{% endblock %}</body></html>",
    )
    .unwrap();
    let app =
        app_with(rocket::Config::figment().merge(("template_dir", dir.display().to_string())))
            .await;
    let r = app.client.get("/login?next=/secret1").dispatch().await;
    let raw = r.into_string().await.unwrap_or_default();
    assert!(
        raw.contains(r#"<body id="app-layout">"#),
        "the app's layout: {raw}"
    );
    assert!(
        raw.contains(r#"name="login_id""#),
        "the default login form inside it"
    );
    let csrf = csrf_in(&raw);
    let r = app
        .post_login(&[
            ("login_id", "<b>x</b>"),
            ("password", "p"),
            ("csrf_token", &csrf),
        ])
        .await;
    let raw = r.into_string().await.unwrap_or_default();
    assert!(
        raw.contains("&lt;b&gt;x&lt;&#x2f;b&gt;") && !raw.contains("<b>x</b>"),
        "{raw}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn redirect_rocket(path: &std::path::Path, target: Option<&str>) -> rocket::Rocket<rocket::Build> {
    use rocket_db_pools::Database;
    let mut figment = rocket::Config::figment().merge((
        "databases.main.url",
        format!("sqlite://{}?mode=rwc", path.display()),
    ));
    if let Some(t) = target {
        figment = figment.merge(("kegauth.redirect_login_target", t));
    }
    rocket::build()
        .configure(figment)
        .attach(demo::Db::init())
        .attach(
            kegauth::AuthManager::<demo::Db, User>::builder()
                .create_schema(true)
                .authenticator(kegauth::Authenticator::Redirect)
                .build(),
        )
        .mount("/", kegauth::routes())
        .mount("/", routes![set_next])
        .register("/", kegauth::catchers())
}

#[rocket::async_test]
async fn the_redirect_authenticator_sends_login_to_its_target() {
    let path =
        std::env::temp_dir().join(format!("kegauth-redir-{:x}.sqlite", rand::random::<u64>()));
    let client = Client::tracked(redirect_rocket(&path, Some("/sso/start")))
        .await
        .unwrap();
    let r = client.get("/login?next=/secret1").dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/sso/start");
    drop(r);
    let r = client
        .post("/login")
        .header(ContentType::Form)
        .body("login_id=a&password=b")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::NotFound, "no password login");
    drop(r);
    drop(client);

    let path2 =
        std::env::temp_dir().join(format!("kegauth-redir-{:x}.sqlite", rand::random::<u64>()));
    let Err(err) = Client::tracked(redirect_rocket(&path2, None)).await else {
        panic!("no target: no launch");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
    for p in [path, path2] {
        let _ = std::fs::remove_file(&p);
    }
}
