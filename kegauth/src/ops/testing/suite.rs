//! keg-auth's reusable auth tests: the standard flows, checked against an
//! app's own Rocket through a [`TestClient`].
//!
//! Each function is one test. It makes the users it needs with fresh login
//! ids and panics, saying what it expected, when the app does not behave.
//! Flows the app has not enabled (mail, attempt limiting, the admin pages)
//! pass with a notice on stderr. [`auth_test_suite!`](crate::auth_test_suite)
//! turns them all into `#[rocket::async_test]` functions.

use super::TestClient;
use crate::core::entity::{AuthEntity, EntitySet};
use crate::core::entity::{LoginKind, UserEntity};
use crate::core::paths::LOGOUT_PATH;
use crate::ops::manager::AuthDb;
use crate::web::catchers::LOGIN_PATH;
use crate::web::endpoints::Endpoints;
use rocket::http::Status;
use rocket::local::asynchronous::LocalResponse;

type U<E> = <E as EntitySet>::User;

const PASSWORD: &str = "the suite's long password 1";
const NEW_PASSWORD: &str = "the suite's new password 2";

/// Every test of the suite, by name (what `auth_test_suite!` generates).
pub const TESTS: &[&str] = &[
    "login_page",
    "login_failures",
    "login_and_logout",
    "disabled_users_cannot_log_in",
    "forgot_and_reset_password",
    "verify_account",
    "admin_pages",
    "login_attempts_are_limited",
];

fn location(r: &LocalResponse<'_>) -> String {
    r.headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string()
}

async fn user_with_password<D: AuthDb, E: EntitySet>(
    client: &TestClient<D, E>,
    stem: &str,
) -> U<E> {
    let factory = client.factory().expect("the app's store");
    let login = factory.fresh_login(stem);
    factory
        .user(&login)
        .password(PASSWORD)
        .create()
        .await
        .expect("a user with a password")
}

async fn log_in_by_form<'c, D: AuthDb, E: EntitySet>(
    client: &'c TestClient<D, E>,
    login: &str,
    password: &str,
) -> LocalResponse<'c> {
    client
        .post_form(LOGIN_PATH, &[("login_id", login), ("password", password)])
        .await
}

fn endpoints<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) -> Endpoints {
    client
        .rocket()
        .state::<Endpoints>()
        .cloned()
        .unwrap_or_default()
}

/// The login page answers 200 with its form.
pub async fn login_page<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    let r = client.get(LOGIN_PATH).dispatch().await;
    assert_eq!(r.status(), Status::Ok, "GET {LOGIN_PATH}");
    let page = r.into_string().await.unwrap_or_default();
    for field in ["login_id", "password", "csrf_token"] {
        assert!(
            page.contains(&format!("name=\"{field}\"")),
            "the login page has no `{field}` field:\n{page}"
        );
    }
}

/// An empty form, a wrong password and a missing CSRF token log nobody in.
pub async fn login_failures<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    let user = user_with_password(client, "failures").await;
    let r = log_in_by_form(client, "", "").await;
    assert_eq!(r.status(), Status::Ok, "an empty login form");
    let page = r.into_string().await.unwrap_or_default();
    assert!(
        page.contains("The form has errors, please see below."),
        "an empty login form:\n{page}"
    );
    let r = log_in_by_form(client, user.login_id(), "not the password").await;
    assert_eq!(r.status(), Status::Ok, "a wrong password");
    let page = r.into_string().await.unwrap_or_default();
    let detailed = client.config().is_ok_and(|c| c.detailed_login_errors);
    let expected = if detailed {
        "Invalid password."
    } else {
        "Invalid login or password."
    };
    assert!(page.contains(expected), "a wrong password:\n{page}");
    assert_eq!(client.session().session_key, None, "a wrong password");
    let r = client
        .post(LOGIN_PATH)
        .header(rocket::http::ContentType::Form)
        .body(format!(
            "login_id={}&password={}",
            form_value(user.login_id()),
            form_value(PASSWORD)
        ))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Forbidden, "a login without CSRF token");
    assert_eq!(
        client.session().session_key,
        None,
        "a login without CSRF token"
    );
}

/// The right password logs the user in and goes to `after_login`; the
/// logout page asks, then logs out and goes to `after_logout`.
pub async fn login_and_logout<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    let user = user_with_password(client, "login").await;
    let endpoints = endpoints(client);
    let r = log_in_by_form(client, user.login_id(), PASSWORD).await;
    assert_eq!(r.status(), Status::SeeOther, "the right password");
    assert_eq!(location(&r), endpoints.after_login, "after login");
    let store = client.store().expect("the app's store");
    let stored = store
        .user(user.id())
        .await
        .expect("the store")
        .expect("the user");
    assert_eq!(
        client.session().session_key.as_deref(),
        Some(stored.core().session_key.as_str()),
        "logged in as the user"
    );
    assert!(stored.core().last_login_utc.is_some(), "last login noted");
    let r = client.get(LOGOUT_PATH).dispatch().await;
    assert_eq!(r.status(), Status::Ok, "GET {LOGOUT_PATH}");
    let r = client.post_form(LOGOUT_PATH, &[]).await;
    assert_eq!(r.status(), Status::SeeOther, "POST {LOGOUT_PATH}");
    assert_eq!(location(&r), endpoints.after_logout, "after logout");
    assert_eq!(client.session().session_key, None, "logged out");
}

/// A disabled user is refused with the right password.
pub async fn disabled_users_cannot_log_in<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    let factory = client.factory().expect("the app's store");
    let login = factory.fresh_login("disabled");
    factory
        .user(&login)
        .password(PASSWORD)
        .disabled()
        .create()
        .await
        .expect("a disabled user");
    let r = log_in_by_form(client, &login, PASSWORD).await;
    assert_eq!(r.status(), Status::Ok, "a disabled user");
    assert_eq!(client.session().session_key, None, "a disabled user");
}

/// Whether the mail flows can be checked; says why not on stderr.
fn mail_ready<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>, test: &str) -> bool {
    let mail_on = client.store().is_ok_and(|s| s.mail_on());
    if !mail_on {
        eprintln!("notice: kegauth suite `{test}`: mail is not configured; skipped");
    } else if client.outbox().is_none() {
        eprintln!(
            "notice: kegauth suite `{test}`: give the client the app's CapturedMail \
             (TestClient::with_outbox) to check mail; skipped"
        );
    }
    mail_on && client.outbox().is_some() && <U<E> as UserEntity>::LOGIN == LoginKind::Email
}

/// Set a password through the link in the newest mail to `user`, and log in with it.
async fn use_mailed_link<D: AuthDb, E: EntitySet>(
    client: &TestClient<D, E>,
    user: &U<E>,
    after: &str,
) {
    let outbox = client.outbox().expect("checked by mail_ready");
    let mail = outbox
        .wait_last_to(user.login_id())
        .await
        .unwrap_or_else(|| panic!("no mail to {}", user.login_id()));
    let path = mail
        .link_path()
        .unwrap_or_else(|| panic!("no link in the mail:\n{}", mail.text));
    let r = client.get(path.clone()).dispatch().await;
    assert_eq!(r.status(), Status::Ok, "GET {path}");
    let r = client
        .post_form(
            &path,
            &[("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther, "POST {path}");
    assert_eq!(location(&r), after, "after {path}");
    // The link works once.
    let r = client.get(path.clone()).dispatch().await;
    assert_eq!(r.status(), Status::SeeOther, "GET {path} a second time");
    let r = log_in_by_form(client, user.login_id(), NEW_PASSWORD).await;
    assert_eq!(r.status(), Status::SeeOther, "login with the new password");
}

/// The forgot form mails a reset link; it sets a new password once.
pub async fn forgot_and_reset_password<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    if !mail_ready(client, "forgot_and_reset_password") {
        return;
    }
    let user = user_with_password(client, "forgot").await;
    let r = client
        .post_form(
            crate::services::accounts::FORGOT_PASSWORD_PATH,
            &[("email", user.login_id())],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther, "the forgot form");
    use_mailed_link(client, &user, &endpoints(client).after_reset).await;
}

/// A user created with mail gets a verification link; it sets a password
/// and verifies the account.
pub async fn verify_account<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    if !mail_ready(client, "verify_account") {
        return;
    }
    let store = client.store().expect("the app's store");
    let factory = client.factory().expect("the app's store");
    let mut user: U<E> = crate::core::entity::blank_user().expect("a blank user");
    user.set_login_id(factory.fresh_login("verify"));
    store
        .create_user(&mut user, true)
        .await
        .expect("create a user with mail");
    use_mailed_link(client, &user, &endpoints(client).after_verify_account).await;
    let stored = store
        .user(user.id())
        .await
        .expect("the store")
        .expect("the user");
    assert!(stored.core().is_verified, "verified by the link");
}

/// With `auth-manage` (or as a superuser when it is not declared) the admin
/// lists open; without it they are 403.
pub async fn admin_pages<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    let paths = ["/users", "/groups", "/bundles", "/permissions"];
    if !client.rocket().routes().any(|r| r.uri.path() == "/users") {
        eprintln!("notice: kegauth suite `admin_pages`: the admin routes are not mounted; skipped");
        return;
    }
    let factory = client.factory().expect("the app's store");
    let declared = client
        .rocket()
        .state::<crate::authz::requirements::Declared>()
        .is_some_and(|d| d.0.contains(crate::authz::admin_rules::AUTH_MANAGE));
    let manager = factory.user(&factory.fresh_login("manager"));
    let manager = if declared {
        manager.permissions(&[crate::authz::admin_rules::AUTH_MANAGE])
    } else {
        manager.superuser()
    };
    let manager = manager.create().await.expect("a manager");
    let plain = factory
        .user(&factory.fresh_login("plain"))
        .create()
        .await
        .expect("a user");
    for path in paths {
        let r = client
            .dispatch_as(
                &manager,
                client.get(path).header(rocket::http::Accept::HTML),
            )
            .await;
        assert_eq!(r.status(), Status::Ok, "GET {path} as a manager");
        let r = client
            .dispatch_as(&plain, client.get(path).header(rocket::http::Accept::HTML))
            .await;
        assert_eq!(
            r.status(),
            Status::Forbidden,
            "GET {path} without auth-manage"
        );
    }
}

/// After the configured number of failed logins, the right password is
/// refused too.
pub async fn login_attempts_are_limited<D: AuthDb, E: EntitySet>(client: &TestClient<D, E>) {
    let Ok(config) = client.config() else {
        panic!("the AuthManager is not attached");
    };
    if !config.attempt_limit_enabled {
        eprintln!(
            "notice: kegauth suite `login_attempts_are_limited`: attempt limiting is off; skipped"
        );
        return;
    }
    let limit = config.login_attempt_limit.unwrap_or(config.attempt_limit);
    let user = user_with_password(client, "limited").await;
    for n in 1..=limit {
        let r = log_in_by_form(client, user.login_id(), "not the password").await;
        assert_eq!(r.status(), Status::Ok, "failed login {n} of {limit}");
    }
    let r = log_in_by_form(client, user.login_id(), PASSWORD).await;
    assert_eq!(
        r.status(),
        Status::Ok,
        "the right password after {limit} failures is refused"
    );
    assert_eq!(client.session().session_key, None, "locked out");
}

fn form_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// keg-auth's reusable auth tests as `#[rocket::async_test]` functions in a
/// module `kegauth_auth_suite`, each on a fresh client from `$app` (an
/// `async fn() -> TestClient<Db, User>` in scope). See
/// [`kegauth::testing`](crate::testing) for a complete example.
#[macro_export]
macro_rules! auth_test_suite {
    ($app:ident) => {
        mod kegauth_auth_suite {
            $crate::auth_test_suite!(@tests $app:
                login_page,
                login_failures,
                login_and_logout,
                disabled_users_cannot_log_in,
                forgot_and_reset_password,
                verify_account,
                admin_pages,
                login_attempts_are_limited
            );
        }
    };
    (@tests $app:ident: $($test:ident),*) => {$(
        #[::rocket::async_test]
        async fn $test() {
            $crate::testing::suite::$test(&super::$app().await).await
        }
    )*};
}
