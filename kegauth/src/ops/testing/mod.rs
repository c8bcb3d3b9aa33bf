//! Test helpers for apps that use kegauth (cargo feature `testing`; enable it
//! for tests only, as a dev-dependency feature).
//!
//! - [`TestClient`]: Rocket's tracked local client that can log a user in
//!   for the whole client ([`log_in`](TestClient::log_in)) or for one
//!   request ([`dispatch_as`](TestClient::dispatch_as)) without the login
//!   form, and posts forms with their CSRF token;
//! - [`Factory`]: users, groups and bundles with permissions checked
//!   against the declared set;
//! - [`CapturedMail`]: a mail transport that keeps messages, with the link
//!   and token of each ([`SentMail`]);
//! - [`suite`] and [`auth_test_suite!`](crate::auth_test_suite): the
//!   standard flows (login, logout, forgot/reset/verify, admin pages,
//!   attempt limiting) checked against the app's own Rocket;
//! - the injectable clock is [`crate::clock::ManualClock`], given to
//!   [`AuthManagerBuilder::clock`](crate::AuthManagerBuilder::clock).
//!
//! A complete test of an app:
//!
//! ```
//! use kegauth::prelude::*;
//! use kegauth::mail::AuthMailManager;
//! use kegauth::testing::{CapturedMail, TestClient};
//! use rocket::http::Status;
//! use rocket_db_pools::Database;
//!
//! #[derive(Database)]
//! #[database("main")]
//! struct Db(sqlx::SqlitePool);
//!
//! #[derive(Debug, kegauth::AuthEntity)]
//! #[auth(user, table = "users", login = "email")]
//! struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
//!
//! kegauth::permissions! { REPORTS = "reports": "read the reports"; }
//!
//! #[requires_permissions(REPORTS)]
//! #[rocket::get("/reports")]
//! fn reports() -> &'static str { "reports" }
//!
//! // The app as its tests build it: a fresh database (SQLite in memory,
//! // shared by the pool's connections), mail kept in memory.
//! async fn app() -> TestClient<Db, User> {
//!     let outbox = CapturedMail::new();
//!     let db = format!("sqlite:file:app-{}?mode=memory&cache=shared", rand::random::<u64>());
//!     let rocket = rocket::custom(
//!         rocket::Config::figment()
//!             .merge(("databases.main.url", db))
//!             .merge(("kegauth.mail.sender", "App <app@example.com>"))
//!             .merge(("kegauth.server_name", "app.example.com")),
//!     )
//!     .attach(Db::init())
//!     .attach(
//!         AuthManager::<Db, User>::builder()
//!             .permissions(PERMISSIONS)
//!             .create_schema(true)
//!             .mail(AuthMailManager::with_transport(outbox.clone()))
//!             .build(),
//!     )
//!     .mount("/", kegauth::routes())
//!     .mount("/", rocket::routes![reports])
//!     .register("/", kegauth::catchers());
//!     TestClient::new(rocket).await.expect("launch").with_outbox(outbox)
//! }
//!
//! // kegauth's standard flows, each as a test of this app.
//! kegauth::auth_test_suite!(app);
//!
//! #[rocket::async_test]
//! async fn reports_need_the_permission() {
//!     let client = app().await;
//!     let make = client.factory().unwrap();
//!     let ann = make.user("ann@example.com").permissions(&["reports"]).create().await.unwrap();
//!     let bob = make.user("bob@example.com").create().await.unwrap();
//!     // For one request.
//!     assert_eq!(client.dispatch_as(&bob, client.get("/reports")).await.status(), Status::Forbidden);
//!     // For the whole client.
//!     client.log_in(&ann).await.unwrap();
//!     assert_eq!(client.get("/reports").dispatch().await.status(), Status::Ok);
//!     // Mail: the forgot form sends a reset link.
//!     let r = client.post_form("/forgot-password", &[("email", "ann@example.com")]).await;
//!     assert_eq!(r.status(), Status::SeeOther);
//!     // (sent after the answer: wait for it)
//!     let mail = client.outbox().unwrap().wait_last_to("ann@example.com").await.unwrap();
//!     assert!(mail.link_path().unwrap().starts_with("/reset-password/"));
//! }
//! # fn main() {}
//! ```

mod factory;
mod mail;
pub mod suite;

pub use factory::{BundleKind, Factory, GroupKind, SetSpec, UserSpec};
pub use mail::{CapturedMail, SentMail};

use crate::authn::session::{Session, SessionData};
use crate::authz::requirements::Declared;
use crate::core::config::Config;
use crate::core::entity::EntitySet;
use crate::core::entity::UserEntity;
use crate::core::error::{Error, Result};
use crate::ops::manager::{AuthDb, StoreOf};
use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use rocket::{get, routes, Build, Rocket};
use std::marker::PhantomData;

type U<E> = <E as EntitySet>::User;

pub use crate::core::paths::TEST_ROUTES;

#[get("/login?<key>")]
async fn login(key: &str, session: Session<'_>, req: RequestInfo<'_>) -> Status {
    let Some(auth) = req.0.rocket().state::<crate::authn::service::Auth>() else {
        return Status::InternalServerError;
    };
    let user = match auth.0.active_user(key).await {
        Ok(Some(user)) => user,
        // No such user (`key=none`): a session that holds nobody.
        Ok(None) => {
            let row = crate::authn::session::SessionRow::default();
            session.log_in(key, &row, Vec::new());
            return Status::Ok;
        }
        Err(e) => return e.status(),
    };
    let Some(user_id) = auth.0.id_of(&*user) else {
        return Status::NotFound;
    };
    let limits = req
        .0
        .rocket()
        .state::<Config>()
        .map(Config::session_limits)
        .unwrap_or_default();
    let new = crate::core::store::sessions::NewSession {
        user_id,
        session_key: key,
        user_agent: req.0.headers().get_one("User-Agent"),
        ..Default::default()
    };
    match auth.0.account().start(new, limits).await {
        Ok(id) => {
            let row = crate::authn::session::SessionRow {
                id,
                remember_until: None,
            };
            session.log_in(key, &row, Vec::new());
            Status::Ok
        }
        Err(e) => e.status(),
    }
}

/// The request itself, for a test route.
struct RequestInfo<'r>(&'r rocket::Request<'r>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for RequestInfo<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(RequestInfo(req))
    }
}

#[get("/logout")]
fn logout(session: Session<'_>) {
    session.log_out();
}

/// Save the session the request carried (re-sending it; an empty one is removed).
#[get("/save")]
fn save(session: Session<'_>) {
    session.save(&session.data());
}

#[get("/csrf")]
fn csrf(session: Session<'_>) -> String {
    session.csrf_token()
}

/// The routes [`TestClient`] mounts under [`TEST_ROUTES`], for a harness
/// of its own: `GET login?key=<session key>` logs that user in (recording
/// the session as a login does), `GET logout`
/// logs out, `GET csrf` answers the session's CSRF token, `GET save`
/// re-sends the session the request carried.
///
/// ```
/// let rocket = rocket::build().mount(kegauth::testing::TEST_ROUTES, kegauth::testing::test_routes());
/// ```
pub fn test_routes() -> Vec<rocket::Route> {
    let mut all = routes![login, logout, save, csrf];
    // Open by design, like the login page; the route report says so.
    let id = crate::authz::requirements::register_rule(
        crate::authz::requirements::RouteRule::KegauthPage,
    );
    for route in &mut all {
        crate::authz::requirements::tag_route(route, id);
    }
    all
}

/// A tracked local client on an app with kegauth, for the app's tests.
///
/// `D` and `E` are the types given to the app's
/// [`AuthManager`](crate::AuthManager). It dereferences to Rocket's
/// [`Client`], so `client.get(..)` and friends work as usual; see the
/// [module docs](self) for a complete example.
pub struct TestClient<D: AuthDb, E: EntitySet> {
    client: Client,
    outbox: Option<CapturedMail>,
    /// The CSRF token of the sessions [`dispatch_as`](Self::dispatch_as) makes.
    request_csrf: String,
    _types: PhantomData<fn() -> (D, E)>,
}

impl<D: AuthDb, E: EntitySet> std::ops::Deref for TestClient<D, E> {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl<D: AuthDb, E: EntitySet> TestClient<D, E> {
    /// Mount the test routes (under [`TEST_ROUTES`], unless they are there
    /// already) on `rocket` and launch it on a tracked client.
    pub async fn new(rocket: Rocket<Build>) -> std::result::Result<Self, rocket::Error> {
        // A harness may have mounted them already.
        let mounted = rocket
            .routes()
            .any(|r| r.uri.path().starts_with(TEST_ROUTES));
        let rocket = if mounted {
            rocket
        } else {
            rocket.mount(TEST_ROUTES, test_routes())
        };
        let client = Client::tracked(rocket).await?;
        Ok(TestClient {
            client,
            outbox: None,
            request_csrf: crate::authn::session::random_token(),
            _types: PhantomData,
        })
    }

    /// Keep `outbox` (the [`CapturedMail`] given to the app's mail manager)
    /// for [`outbox`](Self::outbox) and the suite's mail flows.
    pub fn with_outbox(mut self, outbox: CapturedMail) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// The captured mail, when the client was given it.
    pub fn outbox(&self) -> Option<&CapturedMail> {
        self.outbox.as_ref()
    }

    /// Rocket's client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// kegauth's settings, as the app launched with them.
    pub fn config(&self) -> Result<&Config> {
        self.client
            .rocket()
            .state::<Config>()
            .ok_or_else(|| Error::Config("the AuthManager is not attached".into()))
    }

    /// The app's store.
    pub fn store(&self) -> Result<StoreOf<D, E>> {
        self.client
            .rocket()
            .state::<StoreOf<D, E>>()
            .cloned()
            .ok_or_else(|| {
                Error::Config(format!(
                    "no AuthManager::<{}, {}> is attached",
                    std::any::type_name::<D>(),
                    std::any::type_name::<E>()
                ))
            })
    }

    /// A [`Factory`] on the app's store, checking permission tokens against
    /// the permissions the app declared.
    pub fn factory(&self) -> Result<Factory<D::Backend, E>> {
        let declared = self
            .client
            .rocket()
            .state::<Declared>()
            .map(|d| d.0.clone())
            .unwrap_or_default();
        Ok(Factory::declared(self.store()?, declared))
    }

    /// Log `user` in for every following request of this client, without
    /// the login form (as if they had just logged in: fresh session).
    pub async fn log_in(&self, user: &U<E>) -> Result<()> {
        let key = &user.core().session_key;
        let r = self
            .client
            .get(format!("{TEST_ROUTES}/login?key={}", encode(key)))
            .dispatch()
            .await;
        expect_ok(r.status())
    }

    /// Record a session of `user` (as a login does); its row id.
    async fn session_row(&self, user: &U<E>) -> Result<String> {
        let new = crate::core::store::sessions::NewSession {
            user_id: crate::core::entity::AuthEntity::id(user),
            session_key: &user.core().session_key,
            user_agent: Some("kegauth TestClient"),
            ..Default::default()
        };
        self.store()?
            .start_session(&new, self.config()?.session_limits())
            .await
    }

    /// Log the client's user out (as the logout page does).
    pub async fn log_out(&self) -> Result<()> {
        let r = self
            .client
            .get(format!("{TEST_ROUTES}/logout"))
            .dispatch()
            .await;
        expect_ok(r.status())
    }

    /// ViewTestBase's setup: a new verified user holding `permissions`
    /// directly, logged in on this client.
    pub async fn log_in_new_user(&self, permissions: &[&str]) -> Result<U<E>> {
        let factory = self.factory()?;
        let login = factory.fresh_login("user");
        let user = factory
            .user(&login)
            .permissions(permissions)
            .create()
            .await?;
        self.log_in(&user).await?;
        Ok(user)
    }

    /// The client's session as the app reads it (empty when there is none).
    pub fn session(&self) -> SessionData {
        let Ok(config) = self.config() else {
            return SessionData::default();
        };
        self.client
            .cookies()
            .get_private(config.cookie_name())
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_default()
    }

    /// The client session's CSRF token (made when it has none).
    pub async fn csrf_token(&self) -> Result<String> {
        if let Some(token) = self.session().csrf {
            return Ok(token);
        }
        let r = self
            .client
            .get(format!("{TEST_ROUTES}/csrf"))
            .dispatch()
            .await;
        expect_ok(r.status())?;
        Ok(r.into_string().await.unwrap_or_default())
    }

    /// POST `fields` as a form to `uri`, with the session's CSRF token.
    pub async fn post_form(&self, uri: &str, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        let token = self.csrf_token().await.unwrap_or_default();
        self.client
            .post(uri.to_string())
            .header(ContentType::Form)
            .body(form_body(fields, &token))
            .dispatch()
            .await
    }

    /// Dispatch `request` as `user` (logged in for this request only): the
    /// client's own session, logged in or not, is left as it was.
    pub async fn dispatch_as<'c>(
        &'c self,
        user: &U<E>,
        request: LocalRequest<'c>,
    ) -> LocalResponse<'c> {
        let name = match self.config() {
            Ok(config) => config.cookie_name(),
            Err(_) => return request.dispatch().await,
        };
        let before = self.raw_cookie(name);
        let row = match self.session_row(user).await {
            Ok(id) => crate::authn::session::SessionRow {
                id,
                remember_until: None,
            },
            Err(e) => {
                log::error!("kegauth: recording a test session failed: {e}");
                return request.dispatch().await;
            }
        };
        let data = SessionData::logged_in(
            &user.core().session_key,
            &row,
            &self.request_csrf,
            crate::authn::session::now_secs(self.client.rocket()),
        );
        let Ok(value) = serde_json::to_string(&data) else {
            return request.dispatch().await;
        };
        let response = request
            .private_cookie(Cookie::build((name, value)).path("/").build())
            .dispatch()
            .await;
        if self.raw_cookie(name) != before {
            // The response saved the one-request session: put the client's back.
            let restore = self.client.get(format!("{TEST_ROUTES}/save"));
            let restore = match before {
                Some(raw) => restore.cookie(Cookie::build((name, raw)).path("/").build()),
                None => restore.private_cookie(Cookie::build((name, "{}")).path("/").build()),
            };
            restore.dispatch().await;
        }
        response
    }

    /// POST `fields` as a form to `uri` as `user`, for this request only
    /// (with the CSRF token of that request's session).
    pub async fn post_form_as(
        &self,
        user: &U<E>,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> LocalResponse<'_> {
        let request = self
            .client
            .post(uri.to_string())
            .header(ContentType::Form)
            .body(form_body(fields, &self.request_csrf));
        self.dispatch_as(user, request).await
    }

    fn raw_cookie(&self, name: &str) -> Option<String> {
        self.client
            .cookies()
            .get(name)
            .map(|c| c.value().to_string())
    }
}

fn expect_ok(status: Status) -> Result<()> {
    if status == Status::Ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "the test routes answered {status}: was the client made by TestClient::new?"
        )))
    }
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A urlencoded form body with `csrf_token` (unless `fields` has one).
fn form_body(fields: &[(&str, &str)], csrf: &str) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    if !fields.iter().any(|(k, _)| *k == "csrf_token") {
        body.append_pair("csrf_token", csrf);
    }
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    body.finish()
}
