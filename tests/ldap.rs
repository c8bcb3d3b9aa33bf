//! The LDAP authenticator against a real slapd (started per test on a
//! loopback port; see tests/common/ldap.rs): a good password logs in and
//! creates the local user (with no local password), bad and empty passwords,
//! unknown users and DN injection are refused, server lists fall through to
//! the first server that answers, and no server answering is a clear 503
//! page. SECURITY-CHECKLIST rows 9, 33-35.

use crate::common;

use crate::common::ldap::{closed_port, Slapd, ADMIN, DN_FORMAT, KIM, SAM};
use crate::common::web::{app_configured, body, App, OnSqlite};
use kegauth::ldap::{Bind, LdapSettings};
use kegauth::Authenticator;
use rocket::figment::Figment;
use rocket::http::Status;

type SqliteApp = App<sqlx::Sqlite>;

/// Settings for the test directory on `urls`, with short timeouts.
fn ldap_figment(urls: &[&str]) -> Figment {
    rocket::Config::figment()
        .merge(("kegauth.ldap_server_url", urls))
        .merge(("kegauth.ldap_dn_format", DN_FORMAT))
        .merge(("kegauth.ldap_timeout_secs", 2))
}

/// The test app with the LDAP authenticator on `urls`.
async fn ldap_app(urls: &[&str]) -> SqliteApp {
    let figment = ldap_figment(urls);
    app_configured::<OnSqlite>(figment, |b| b.authenticator(Authenticator::Ldap), |r| r)
        .await
        .expect("SQLite always runs")
}

/// POST the login form; the status and the page (or redirect target).
async fn log_in(app: &SqliteApp, login_id: &str, password: &str) -> (Status, String) {
    let r = app.login(login_id, password).await;
    let status = r.status();
    let location = common::web::location(&r);
    (
        status,
        if location.is_empty() {
            body(r).await
        } else {
            location
        },
    )
}

/// A failed login's page (every failure reads the same by default).
fn refused(page: &str) -> bool {
    page.contains("Invalid login or password.")
}

/// Drop the client's session user (the web helpers' test route).
async fn forget_session(app: &SqliteApp) {
    app.client
        .get(common::web::login_path("none"))
        .dispatch()
        .await;
    assert_eq!(app.who().await, "Not logged in");
}

#[rocket::async_test]
async fn ldap_good_password_logs_in_and_creates_the_user() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let app = ldap_app(&[slapd.url.as_str()]).await;
    assert!(app.store.user_by_login(SAM.0).await.unwrap().is_none());
    let (status, to) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::SeeOther, "{to}");
    assert_eq!(app.who().await, format!("Logged in as {}", SAM.0));
    let sam = app
        .store
        .user_by_login(SAM.0)
        .await
        .unwrap()
        .expect("created");
    assert!(sam.core.password.is_none(), "no local password is stored");
    assert!(sam.core.is_verified && sam.core.last_login_utc.is_some());
    // The next login uses the same row.
    forget_session(&app).await;
    let (status, _) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::SeeOther);
    assert_eq!(app.store.users().await.unwrap().len(), 1);
    // Both logins are in the audit trail, as LDAP logins of sam.
    let logins = app
        .audit_events(&kegauth::audit::AuditFilter::default().kind("login-success"))
        .await;
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0].event.actor, Some(sam.id));
    assert_eq!(logins[0].event.detail["method"], "ldap");
}

#[rocket::async_test]
async fn ldap_bad_unknown_and_empty_passwords_are_refused() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let app = ldap_app(&[slapd.url.as_str()]).await;
    for (login_id, password) in [
        (SAM.0, "wrong password"),
        ("nobody@example.com", SAM.1),
        (SAM.0, ""),
    ] {
        let (status, page) = log_in(&app, login_id, password).await;
        assert_eq!(status, Status::Ok, "{login_id}/{password}");
        assert!(
            refused(&page) || page.contains("This field is required."),
            "{page}"
        );
        assert_eq!(app.who().await, "Not logged in");
    }
    assert!(app.store.users().await.unwrap().is_empty(), "no user row");

    // The directory itself accepts a DN with an empty password (an
    // unauthenticated bind)...
    let (conn, mut raw) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    ldap3::drive!(conn);
    let dn = format!("uid={},dc=example,dc=org", SAM.0);
    assert_eq!(raw.simple_bind(&dn, "").await.unwrap().rc, 0);
    // ...so kegauth refuses it before binding, whatever the caller.
    let settings = settings_for(&[slapd.url.as_str()]);
    assert_eq!(settings.bind(SAM.0, "").await.unwrap(), Bind::Refused);
    assert_eq!(settings.bind("", SAM.1).await.unwrap(), Bind::Refused);
    assert_eq!(settings.bind(SAM.0, SAM.1).await.unwrap(), Bind::Accepted);
}

/// The LDAP settings on `urls` (what the app is configured with), to bind directly.
fn settings_for(urls: &[&str]) -> LdapSettings {
    let config = kegauth::config::Config::from_figment(&ldap_figment(urls)).unwrap();
    LdapSettings::from_config(&config).unwrap()
}

#[rocket::async_test]
async fn ldap_login_ids_cannot_inject_into_the_dn() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let app = ldap_app(&[slapd.url.as_str()]).await;
    // Unescaped, `a,ou=admins` would bind as uid=a,ou=admins,dc=example,dc=org.
    let injected = format!("{},ou=admins", ADMIN.0);
    let settings = settings_for(&[slapd.url.as_str()]);
    let (conn, mut raw) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    ldap3::drive!(conn);
    let unescaped = DN_FORMAT.replace("{}", &injected);
    assert_eq!(
        raw.simple_bind(&unescaped, ADMIN.1).await.unwrap().rc,
        0,
        "the control: the unescaped DN is a real entry"
    );
    for (login_id, password) in [
        (injected.as_str(), ADMIN.1),
        ("*", SAM.1),
        ("a\\", ADMIN.1),
        ("sam@example.com,dc=example", SAM.1),
        (" sam@example.com", "x"),
        ("#sam", SAM.1),
        ("a\0b", SAM.1),
    ] {
        assert_eq!(
            settings.bind(login_id, password).await.unwrap(),
            Bind::Refused,
            "{login_id:?}"
        );
        let (status, page) = log_in(&app, login_id, password).await;
        assert_eq!(status, Status::Ok, "{login_id:?}");
        assert!(refused(&page), "{login_id:?}: {page}");
    }
    assert!(app.store.users().await.unwrap().is_empty(), "no user row");
}

#[rocket::async_test]
async fn ldap_tries_servers_in_order_until_one_answers() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let down = format!("ldap://127.0.0.1:{}", closed_port());
    let app = ldap_app(&[down.as_str(), slapd.url.as_str()]).await;
    let (status, _) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::SeeOther, "the second server answered");
    // A refusal on one server and no answer from the other is a refusal
    // (a failed attempt), not an outage.
    let settings = settings_for(&[slapd.url.as_str(), down.as_str()]);
    assert_eq!(settings.bind(SAM.0, "wrong").await.unwrap(), Bind::Refused);
}

/// keg-auth's server lists: a refused bind moves on to the next server, the
/// login succeeds on the first that accepts it, and a password every server
/// refuses counts as one failed attempt.
#[rocket::async_test]
async fn ldap_a_refusal_moves_on_to_the_next_server() {
    let Some(first) = Slapd::start_with(&[SAM]).await else {
        return;
    };
    let Some(second) = Slapd::start_with(&[KIM]).await else {
        return;
    };
    let app = ldap_app(&[first.url.as_str(), second.url.as_str()]).await;
    let (status, page) = log_in(&app, KIM.0, KIM.1).await;
    assert_eq!(
        status,
        Status::SeeOther,
        "the second directory knows kim: {page}"
    );
    assert_eq!(app.who().await, format!("Logged in as {}", KIM.0));
    forget_session(&app).await;
    let (status, _) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::SeeOther, "the first directory knows sam");
    assert_eq!(app.who().await, format!("Logged in as {}", SAM.0));
    forget_session(&app).await;

    // Refused by both: one failed attempt, the login page again.
    let (status, page) = log_in(&app, KIM.0, "wrong").await;
    assert_eq!(status, Status::Ok);
    assert!(refused(&page), "{page}");
    let failed = app
        .store
        .attempts()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.core.user_input == KIM.0 && !a.core.success)
        .count();
    assert_eq!(failed, 1, "one failed attempt for two refusals");
}

#[rocket::async_test]
async fn ldap_no_server_answering_is_a_clear_503_page() {
    let urls = [
        format!("ldap://127.0.0.1:{}", closed_port()),
        format!("ldap://127.0.0.1:{}", closed_port()),
    ];
    let urls = [urls[0].as_str(), urls[1].as_str()];
    let app = ldap_app(&urls).await;
    let (status, page) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::ServiceUnavailable);
    assert!(
        page.contains("The login service is unavailable. Please try again shortly."),
        "{page}"
    );
    assert!(page.contains(SAM.0), "what was typed is kept");
    assert!(app.store.users().await.unwrap().is_empty());
    // The app recovers by itself when a server is back: nothing to restart.
    let settings = settings_for(&urls);
    let err = settings.bind(SAM.0, SAM.1).await.unwrap_err();
    assert_eq!(err.status(), Status::ServiceUnavailable);
    assert!(err.to_string().contains("no LDAP server answered"), "{err}");
}

/// Puts a flash in the session, as a page before the login would.
#[rocket::get("/test-flash")]
fn test_flash(session: kegauth::session::Session<'_>) {
    session.flash("info", "A flash waiting for the next page");
}

#[rocket::async_test]
async fn ldap_an_outage_keeps_the_flashes_waiting_in_the_session() {
    let down = format!("ldap://127.0.0.1:{}", closed_port());
    let app = app_configured::<OnSqlite>(
        ldap_figment(&[down.as_str()]),
        |b| b.authenticator(Authenticator::Ldap),
        |r| r.mount("/", rocket::routes![test_flash]),
    )
    .await
    .expect("SQLite always runs");
    let csrf = app.csrf().await;
    app.client.get("/test-flash").dispatch().await;
    let form = [
        ("login_id", SAM.0),
        ("password", SAM.1),
        ("csrf_token", csrf.as_str()),
    ];
    let r = app.post_form("/login", &form).await;
    assert_eq!(r.status(), Status::ServiceUnavailable);
    let page = body(r).await;
    assert!(page.contains("The login service is unavailable."), "{page}");
    assert!(page.contains("A flash waiting for the next page"), "{page}");
}

#[rocket::async_test]
async fn ldap_a_disabled_local_user_is_refused() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let app = ldap_app(&[slapd.url.as_str()]).await;
    let (status, _) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::SeeOther);
    forget_session(&app).await;
    let mut sam = app.store.user_by_login(SAM.0).await.unwrap().unwrap();
    app.store.set_enabled(&mut sam, false).await.unwrap();
    let (status, page) = log_in(&app, SAM.0, SAM.1).await;
    assert_eq!(status, Status::Ok);
    assert!(refused(&page), "{page}");
    assert_eq!(app.who().await, "Not logged in");
}

#[rocket::async_test]
async fn ldap_settings_are_checked_at_launch() {
    use crate::common::web::rocket_for;
    let (url, _cleanup) = <OnSqlite as common::web::TestBackend>::database()
        .await
        .unwrap();
    let launch = |figment: Figment| {
        let rocket = rocket_for::<common::web::SqliteDb>(&url, figment, |b| {
            b.authenticator(Authenticator::Ldap)
        });
        rocket::local::asynchronous::Client::tracked(rocket)
    };
    let base = rocket::Config::figment;
    for (what, figment) in [
        (
            "no URL",
            base().merge(("kegauth.ldap_dn_format", DN_FORMAT)),
        ),
        (
            "no DN format",
            base().merge(("kegauth.ldap_server_url", "ldap://127.0.0.1:389")),
        ),
        (
            "a format without {}",
            base()
                .merge(("kegauth.ldap_server_url", "ldap://127.0.0.1:389"))
                .merge(("kegauth.ldap_dn_format", "uid=x,dc=example,dc=org")),
        ),
        // `ldap_test_mode` without the `testing` feature is refused too; these
        // tests build kegauth with that feature (kegauth::testing), so kegauth's
        // unit test `test_mode_is_refused_without_the_testing_feature` checks it.
    ] {
        let err = launch(figment).await.err();
        assert!(
            matches!(
                err.as_ref().map(|e| e.kind()),
                Some(rocket::error::ErrorKind::FailedFairings(_))
            ),
            "{what}: {err:?}"
        );
    }
    // With LDAP there is no local password: the password-mail pages are off.
    let client = launch(
        base()
            .merge(("kegauth.ldap_server_url", "ldap://127.0.0.1:389"))
            .merge(("kegauth.ldap_dn_format", DN_FORMAT)),
    )
    .await
    .expect("valid settings launch");
    assert_eq!(
        client.get("/forgot-password").dispatch().await.status(),
        Status::NotFound
    );
}

#[rocket::async_test]
async fn ldap_a_server_that_never_answers_times_out() {
    // Accepts connections and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let figment = rocket::Config::figment()
        .merge((
            "kegauth.ldap_server_url",
            format!("ldap://127.0.0.1:{port}"),
        ))
        .merge(("kegauth.ldap_dn_format", DN_FORMAT))
        .merge(("kegauth.ldap_timeout_secs", 1));
    let config = kegauth::config::Config::from_figment(&figment).unwrap();
    let settings = LdapSettings::from_config(&config).unwrap();
    let started = std::time::Instant::now();
    let err = settings.bind(SAM.0, SAM.1).await.unwrap_err();
    assert_eq!(err.status(), Status::ServiceUnavailable, "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "gave up after the 1 s timeout, not {:?}",
        started.elapsed()
    );
    held.abort();
}

/// A user with a second factor takes the second step after a directory
/// bind too (`two_factor_for` has `ldap` by default), and not when the
/// setting leaves LDAP out.
#[rocket::async_test]
async fn ldap_logins_take_the_second_step() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    for (methods, second_step) in [(vec!["password", "ldap"], true), (vec!["password"], false)] {
        let figment =
            ldap_figment(&[slapd.url.as_str()]).merge(("kegauth.two_factor_for", methods));
        let app =
            app_configured::<OnSqlite>(figment, |b| b.authenticator(Authenticator::Ldap), |r| r)
                .await
                .expect("SQLite always runs");
        // The first login creates sam; then sam turns TOTP on.
        log_in(&app, SAM.0, SAM.1).await;
        let sam = app
            .store
            .user_by_login(SAM.0)
            .await
            .unwrap()
            .expect("created");
        let (secret, step) = common::turn_on_totp(&app.store, sam.id).await;
        forget_session(&app).await;
        let (status, to) = log_in(&app, SAM.0, SAM.1).await;
        assert_eq!(status, Status::SeeOther);
        if !second_step {
            assert_eq!(to, "/");
            assert_eq!(app.who().await, format!("Logged in as {}", SAM.0));
            continue;
        }
        assert_eq!(to, "/login/verify");
        assert_eq!(app.who().await, "Not logged in");
        let code = secret.code_at(step + 1);
        let r = app.submit("/login/verify", &[("code", &code)]).await;
        assert_eq!(common::web::location(&r), "/");
        assert_eq!(app.who().await, format!("Logged in as {}", SAM.0));
        let logins = app
            .audit_events(&kegauth::audit::AuditFilter::default().kind("login-success"))
            .await;
        assert_eq!(logins[0].event.detail["method"], "ldap");
        assert_eq!(logins[0].event.detail["second_factor"], "totp");
    }
}
