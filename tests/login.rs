//! Login and logout, on SQLite and PostgreSQL: keg-auth's login scenarios,
//! plus SECURITY-CHECKLIST rows 2, 7, 8, 9, 16, 17, 38, 39 and 41.
//!
//! Each scenario runs on a small app (the kegauth routes, the demo's user and
//! permissions, a few pages) over each backend's `rocket_db_pools` pool.

use crate::common;

use crate::common::demo::User;
use crate::common::web::{
    app, app_configured, app_with, body, csrf_in, location, rocket_for, App, TestBackend,
};
use crate::common::{LEGACY_BCRYPT, LEGACY_PASSWORD};
use kegauth::Backend;
use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::Client;

const PASSWORD: &str = "correct horse battery staple";

async fn the_login_page_has_the_form_and_head_is_405<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
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

async fn form_errors_rerender_with_messages<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    let csrf = app.csrf().await;
    let r = app
        .post_form("/login", &[("login_id", ""), ("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert!(page.contains("The form has errors, please see below."));
    assert_eq!(page.matches("This field is required.").count(), 2);
}

async fn success_flashes_and_redirects_to_after_login<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
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
    let shown = body(app.client.get("/flashes").dispatch().await).await;
    assert_eq!(shown, "success: Login successful.");
    assert_eq!(app.who().await, "Logged in as ann@example.com");
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

/// The names and policies of this process's hashing threads (Linux's
/// numbers: 0 normal, 5 idle).
fn hashing_thread_policies() -> Vec<(String, u32)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            let comm = comm.trim_end();
            if !comm.starts_with("kegauth-hash") && !comm.starts_with("kegauth-idle") {
                return None;
            }
            // Field 41 of stat; the fields after the parenthesised name start at 3.
            let stat = std::fs::read_to_string(path.join("stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            Some((
                comm.to_owned(),
                rest.split_whitespace().nth(41 - 3)?.parse().ok()?,
            ))
        })
        .collect()
}

/// Logins hash on threads under SCHED_IDLE by default, at the normal
/// policy with `hasher_idle = false`.
async fn hasher_idle_hashes_on_idle_threads<B: TestBackend>() {
    const SCHED_IDLE: u32 = 5;
    const SCHED_OTHER: u32 = 0;
    for (idle, lane) in [(true, "kegauth-idle-"), (false, "kegauth-hash-")] {
        let mut figment = rocket::Config::figment();
        if !idle {
            figment = figment.merge(("kegauth.hasher_idle", false));
        }
        let Some(app) = app_configured::<B>(figment, |b| b, |r| r).await else {
            return;
        };
        app.user("ann@example.com", Some(PASSWORD)).await;
        let r = app.login("ann@example.com", PASSWORD).await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(app.who().await, "Logged in as ann@example.com");
        if cfg!(target_os = "linux") {
            let wanted = if idle { SCHED_IDLE } else { SCHED_OTHER };
            let threads = hashing_thread_policies();
            let lanes: Vec<_> = threads
                .iter()
                .filter(|(name, _)| {
                    name.strip_prefix(lane)
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
                .collect();
            assert!(!lanes.is_empty(), "{threads:?}");
            assert!(
                lanes.iter().all(|(_, policy)| *policy == wanted),
                "{threads:?}"
            );
        }
    }
}

async fn after_login_endpoint_override<B: TestBackend>() {
    let Some(app) = app_configured::<B>(
        rocket::Config::figment(),
        |b| b.endpoint("after-login", "/secret1"),
        |r| r,
    )
    .await
    else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let r = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(location(&r), "/secret1");
}

async fn next_param_form_field_and_session_next<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    // Protected page -> login with next -> back to the page.
    let next = common::login_redirect_next(&app.client, "/secret1").await;
    assert_eq!(next, "/secret1");
    let page = body(
        app.client
            .get(format!("/login?next={next}"))
            .dispatch()
            .await,
    )
    .await;
    assert!(
        page.contains(r#"name="next" value="/secret1""#),
        "next carried in the form"
    );
    let r = app
        .post_form(
            "/login",
            &[
                ("login_id", "ann@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &csrf_in(&page)),
                ("next", "/secret1"),
            ],
        )
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
async fn open_redirect_payloads_are_ignored<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let payloads = kegauth::next::OPEN_REDIRECT_PAYLOADS;
    for payload in payloads {
        let csrf = app.csrf().await;
        let r = app
            .post_form(
                "/login",
                &[
                    ("login_id", "ann@example.com"),
                    ("password", PASSWORD),
                    ("csrf_token", &csrf),
                    ("next", payload),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(location(&r), "/", "payload {payload:?}");
    }
    let csrf = app.csrf().await;
    let r = app
        .post_form(
            "/login",
            &[
                ("login_id", "ann@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
                ("next", "/view/?p=http://evil.com"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/view/?p=http://evil.com");
}

async fn failure_page<DB: Backend>(
    app: &App<DB>,
    login_id: &str,
    password: &str,
) -> (Status, String, u64) {
    let csrf = app.csrf().await;
    let before = app.store.hasher().verification_count();
    let r = app
        .post_form(
            "/login",
            &[
                ("login_id", login_id),
                ("password", password),
                ("csrf_token", &csrf),
            ],
        )
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
async fn every_failure_looks_the_same_and_costs_one_hash<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
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

/// A change to the user's row while their login is being hashed is kept,
/// and the login is judged on the row as it is then: a login never writes
/// back the row it read before its hash (it would re-enable a user disabled
/// meanwhile, or restore the password they just changed).
async fn a_change_during_the_login_hash_is_kept_and_judged<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    let other_hash = kegauth::password::PasswordHasher::with_threads(1, 0)
        .hash_blocking("a whole other passphrase 9")
        .expect("hashed");
    type Change = fn(&mut User, &str);
    let changes: [(&str, Change, bool); 3] = [
        (
            "disabled",
            |u, _| u.core.set_enabled(false, chrono::Utc::now().naive_utc()),
            false,
        ),
        (
            "another password",
            |u, hash| u.core.password = Some(hash.to_owned()),
            false,
        ),
        (
            "logged out elsewhere",
            |u, _| u.core.rotate_session_key(),
            true,
        ),
    ];
    for (i, (what, change, logs_in)) in changes.into_iter().enumerate() {
        let email = format!("user{i}@example.com");
        let user = app.user(&email, Some(PASSWORD)).await;
        let hasher = app.store.hasher().clone();
        let before = hasher.verification_count();
        let hold = hasher.hold();
        let login = app.login(&email, PASSWORD);
        let meanwhile = async {
            // The login has read the user and waits for its hash.
            while hasher.verification_count() == before {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            let mut row = app.store.user(user.id).await.expect("read").expect("user");
            change(&mut row, &other_hash);
            app.store.update_user(&mut row).await.expect("changed");
            drop(hold);
            row
        };
        let (r, changed) = tokio::join!(login, meanwhile);
        let status = r.status();
        drop(r);
        let stored = app.store.user(user.id).await.expect("read").expect("user");
        assert_eq!(stored.core.is_enabled, changed.core.is_enabled, "{what}");
        assert_eq!(stored.core.password, changed.core.password, "{what}");
        assert_eq!(stored.core.session_key, changed.core.session_key, "{what}");
        if logs_in {
            assert_eq!(status, Status::SeeOther, "{what}");
            assert_eq!(app.who().await, format!("Logged in as {email}"), "{what}");
            assert!(stored.core.last_login_utc.is_some(), "{what}");
        } else {
            assert_eq!(status, Status::Ok, "{what}: the login page again");
            assert!(app.who().await.contains("Not logged in"), "{what}");
            assert_eq!(stored.core.last_login_utc, None, "{what}");
        }
    }
}

async fn detailed_messages_behind_the_config_switch<B: TestBackend>() {
    let figment = rocket::Config::figment().merge(("kegauth.detailed_login_errors", true));
    let Some(app) = app_with::<B>(figment).await else {
        return;
    };
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
async fn csrf_is_required_for_login_and_logout<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
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
        let r = app.post_form("/login", &fields).await;
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
async fn login_reissues_the_session<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let page = body(app.client.get("/login").dispatch().await).await;
    let pre_csrf = csrf_in(&page);
    let pre_cookie = app
        .client
        .cookies()
        .get_private("__Host-kegauth")
        .expect("a pre-login session");
    let r = app
        .post_form(
            "/login",
            &[
                ("login_id", "ann@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &pre_csrf),
            ],
        )
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

    // A second client with the pre-login cookie only: anonymous.
    let other = Client::untracked(rocket_for::<B::Db>(
        &app.url,
        rocket::Config::figment(),
        |b| b,
    ))
    .await
    .unwrap();
    let page = body(
        other
            .get("/whoami")
            .private_cookie(pre_cookie)
            .dispatch()
            .await,
    )
    .await;
    assert!(page.contains("Not logged in"));
}

/// keg-auth's logout scenario; SECURITY-CHECKLIST row 17: a copied cookie stops working.
async fn logout_confirms_then_kills_copies_of_the_cookie<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
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
    assert_eq!(r.status(), Status::Found);
    // GET /logout when logged out goes to after-logout.
    assert_eq!(
        location(&app.client.get("/logout").dispatch().await),
        "/login"
    );
}

/// SECURITY-CHECKLIST row 2: a legacy hash is upgraded on a successful login only.
async fn legacy_hashes_are_upgraded_on_login<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
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
async fn the_login_id_is_escaped_when_shown_again<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    let csrf = app.csrf().await;
    let evil = r#""><script>alert(1)</script>"#;
    let r = app
        .post_form(
            "/login",
            &[("login_id", evil), ("password", "x"), ("csrf_token", &csrf)],
        )
        .await;
    let raw = r.into_string().await.unwrap_or_default();
    assert!(!raw.contains("<script>alert(1)</script>"), "{raw}");
    assert!(raw.contains("&lt;script&gt;"), "{raw}");
}

/// An app overrides a default template by dropping a file in its template_dir;
/// overrides are escaped like the defaults.
async fn templates_are_overridable_from_template_dir<B: TestBackend>() {
    let dir = std::env::temp_dir().join(format!("kegauth-tpl-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("kegauth")).unwrap();
    std::fs::write(
        dir.join("kegauth/base.html.j2"),
        "<html><title>{{ heading_text }}</title><body id=\"app-layout\" data-select2=\"{{ use_select2 }}\">{% include \"kegauth/flash-messages.html\" %}{% block content %}{% endblock %}</body></html>",
    )
    .unwrap();
    let figment = rocket::Config::figment()
        .merge(("template_dir", dir.display().to_string()))
        .merge(("kegauth.base_template", "kegauth/base.html"))
        .merge(("kegauth.template_title_var", "heading_text"))
        .merge(("kegauth.use_select2", false));
    let Some(app) = app_with::<B>(figment).await else {
        return;
    };
    let r = app.client.get("/login?next=/secret1").dispatch().await;
    let raw = r.into_string().await.unwrap_or_default();
    assert!(
        raw.contains(r#"<body id="app-layout" data-select2="False">"#),
        "the app's layout, with use_select2: {raw}"
    );
    assert!(
        raw.contains("<title>Log In</title>"),
        "the configured title variable: {raw}"
    );
    assert!(
        raw.contains(r#"name="login_id""#),
        "the default login form inside it"
    );
    let csrf = csrf_in(&raw);
    let r = app
        .post_form(
            "/login",
            &[
                ("login_id", "<b>x</b>"),
                ("password", "p"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    let raw = r.into_string().await.unwrap_or_default();
    assert!(
        raw.contains("&lt;b&gt;x&lt;&#x2f;b&gt;") && !raw.contains("<b>x</b>"),
        "{raw}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn the_redirect_authenticator_sends_login_to_its_target<B: TestBackend>() {
    let figment = rocket::Config::figment().merge(("kegauth.redirect_login_target", "/sso/start"));
    let Some(app) = app_configured::<B>(
        figment,
        |b| b.authenticator(kegauth::Authenticator::Redirect),
        |r| r,
    )
    .await
    else {
        return;
    };
    let r = app.client.get("/login?next=/secret1").dispatch().await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(location(&r), "/sso/start");
    drop(r);
    let r = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body("login_id=a&password=b")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::NotFound, "no password login");
    drop(r);

    // Without a target it does not launch.
    let Some((url, _cleanup)) = B::database().await else {
        return;
    };
    let rocket = rocket_for::<B::Db>(&url, rocket::Config::figment(), |b| {
        b.authenticator(kegauth::Authenticator::Redirect)
    });
    let Err(err) = Client::tracked(rocket).await else {
        panic!("no target: no launch");
    };
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err:?}"
    );
}

on_sqlite_and_postgres!(
    kegauth_pages_refuse_framing_and_sniffing,
    the_login_page_has_the_form_and_head_is_405,
    form_errors_rerender_with_messages,
    success_flashes_and_redirects_to_after_login,
    hasher_idle_hashes_on_idle_threads,
    after_login_endpoint_override,
    next_param_form_field_and_session_next,
    open_redirect_payloads_are_ignored,
    every_failure_looks_the_same_and_costs_one_hash,
    a_change_during_the_login_hash_is_kept_and_judged,
    detailed_messages_behind_the_config_switch,
    csrf_is_required_for_login_and_logout,
    login_reissues_the_session,
    logout_confirms_then_kills_copies_of_the_cookie,
    legacy_hashes_are_upgraded_on_login,
    the_login_id_is_escaped_when_shown_again,
    templates_are_overridable_from_template_dir,
    the_redirect_authenticator_sends_login_to_its_target,
);

/// Row 41: kegauth's HTML pages (forms, grids, the 403 page) say
/// `nosniff` and may not be framed by any site (clickjacking).
async fn kegauth_pages_refuse_framing_and_sniffing<B: TestBackend>() {
    let Some(app) = app::<B>().await else {
        return;
    };
    let check = |r: &rocket::local::asynchronous::LocalResponse<'_>, what: &str| {
        assert_eq!(
            r.headers().get_one("X-Content-Type-Options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            r.headers().get_one("Content-Security-Policy"),
            Some("frame-ancestors 'none'"),
            "{what}"
        );
        assert_eq!(
            r.headers().get_one("X-Frame-Options"),
            Some("DENY"),
            "{what}"
        );
    };
    let r = app.client.get("/login").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    check(&r, "the login page");
    app.login_with("ann@example.com", &[]).await;
    let r = app.client.get("/logout").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    check(&r, "the logout page");
    let r = app.browse("/users").await;
    assert_eq!(r.status(), Status::Forbidden);
    check(&r, "the 403 page");
    app.login_with("admin@example.com", &["auth-manage"]).await;
    let r = app.client.get("/users").dispatch().await;
    assert_eq!(r.status(), Status::Ok);
    check(&r, "the users grid");
}
