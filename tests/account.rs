//! The account page on SQLite, PostgreSQL and MySQL: the sessions list
//! (end one, end the others), changing the password (the other sessions
//! end, a notice is mailed), changing the email address through a link
//! mailed to the new one, "remember me", and the admin's "End all
//! sessions". Each browser below keeps its own session cookie.

use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{
    app_configured, body, csrf_in, location, mail_app_with, App, TestBackend,
};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use kegauth::audit::{kinds, AuditFilter};
use kegauth::clock::ManualClock;
use kegauth::Backend;
use rocket::http::{Cookie, Header, Status};
use rocket::local::asynchronous::{LocalRequest, LocalResponse};
use std::sync::Arc;

on_three_backends!(
    sessions_are_listed_and_ended_one_by_one,
    a_password_change_keeps_this_session_and_ends_the_others,
    an_email_change_waits_for_its_link,
    remember_me_outlives_the_browser_and_the_timeouts,
    admins_see_and_end_a_users_sessions,
    usernames_change_only_when_allowed,
    the_last_seen_time_is_written_at_most_once_a_minute,
    a_logout_ends_this_device_only,
);

const PASSWORD: &str = "correct horse battery staple";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A browser: its own session cookie and user agent, on the app's client
/// (its cookie sent explicitly with every request, over the client's jar).
struct Browser<'a, DB: Backend> {
    app: &'a App<DB>,
    agent: &'static str,
    cookie: Option<Cookie<'static>>,
    /// The `Expires` of the last session cookie set.
    expires: Option<rocket::time::OffsetDateTime>,
}

/// A response's status, and its `Location` or else its page.
struct Answer {
    status: Status,
    text: String,
}

impl<'a, DB: Backend> Browser<'a, DB> {
    fn new(app: &'a App<DB>, agent: &'static str) -> Self {
        Browser {
            app,
            agent,
            cookie: None,
            expires: None,
        }
    }

    fn cookie_name(&self) -> String {
        self.app
            .client
            .rocket()
            .state::<kegauth::config::Config>()
            .expect("the config")
            .cookie_name()
            .to_string()
    }

    async fn send(&mut self, request: LocalRequest<'a>) -> Answer {
        let mut request = request
            .header(Header::new("User-Agent", self.agent))
            .header(rocket::http::Accept::HTML);
        let name = self.cookie_name();
        request = match &self.cookie {
            Some(cookie) => request.cookie(cookie.clone()),
            // A browser without the cookie: an empty one over the jar's.
            None => request.cookie(Cookie::new(name.clone(), "")),
        };
        let r: LocalResponse<'a> = request.dispatch().await;
        if let Some(set) = r.cookies().get(&name) {
            if set.value().is_empty() {
                self.cookie = None;
            } else {
                self.cookie = Some(Cookie::new(name, set.value().to_owned()));
                self.expires = set.expires_datetime();
            }
        }
        let status = r.status();
        let text = match location(&r) {
            l if !l.is_empty() => l,
            _ => body(r).await,
        };
        Answer { status, text }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.app.client.get(path.to_string());
        self.send(request).await
    }

    /// POST `fields` to `path` with the CSRF token of the page at `from`.
    async fn post(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
        let page = self.get(from).await;
        assert_eq!(page.status, Status::Ok, "{from}: {}", page.text);
        let csrf = csrf_in(&page.text);
        let mut all = fields.to_vec();
        all.push(("csrf_token", &csrf));
        let request = self
            .app
            .client
            .post(path.to_string())
            .header(rocket::http::ContentType::Form)
            .body(crate::common::web::form_body(&all));
        self.send(request).await
    }

    async fn log_in(&mut self, email: &str, password: &str, remember: bool) {
        let mut fields = vec![("login_id", email), ("password", password)];
        if remember {
            fields.push(("remember_me", "1"));
        }
        let r = self.post("/login", "/login", &fields).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.text);
        assert_eq!(self.who().await, format!("Logged in as {email}"));
    }

    async fn who(&mut self) -> String {
        self.get("/whoami").await.text
    }

    async fn flashes(&mut self) -> String {
        self.get("/flashes").await.text
    }

    async fn account(&mut self) -> String {
        let r = self.get("/account").await;
        assert_eq!(r.status, Status::Ok, "{}", r.text);
        r.text
    }
}

/// The session ids the account page lists, and which of them is this device's.
fn listed(page: &str) -> (Vec<String>, Option<String>) {
    let mut ids = Vec::new();
    let mut current = None;
    for part in page.split("<tr class=\"session").skip(1) {
        let id = part
            .split("data-session=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a session id")
            .to_string();
        if part.starts_with(" current") {
            current = Some(id.clone());
        }
        ids.push(id);
    }
    (ids, current)
}

async fn session_count<DB: Backend>(app: &App<DB>, user_id: i64) -> usize {
    let user = app.store.user(user_id).await.unwrap().unwrap();
    app.store
        .user_sessions(user_id, &user.core.session_key, Default::default())
        .await
        .unwrap()
        .len()
}

async fn sessions_are_listed_and_ended_one_by_one<B: TestBackend>() {
    let Some(app) = app_configured::<B>(rocket::Config::figment(), |b| b, |r| r).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let bob = app.user("bob@example.com", Some(PASSWORD)).await;
    let mut firefox = Browser::new(&app, FIREFOX);
    let mut chrome = Browser::new(&app, CHROME);
    let mut bobs = Browser::new(&app, CHROME);
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    chrome.log_in("ann@example.com", PASSWORD, false).await;
    bobs.log_in("bob@example.com", PASSWORD, false).await;
    assert_eq!(session_count(&app, ann.id).await, 2);

    // The list: both of ann's sessions (not bob's), this device marked.
    let page = chrome.account().await;
    assert!(
        page.contains("Firefox 133") && page.contains("Chrome 131"),
        "{page}"
    );
    assert!(page.contains("Linux") && page.contains("Windows"), "{page}");
    assert_eq!(page.matches("(This device)").count(), 1, "{page}");
    let (ids, current) = listed(&page);
    assert_eq!(ids.len(), 2, "{page}");
    let chromes = current.expect("this device is marked");
    let firefoxes = ids.iter().find(|id| **id != chromes).unwrap().clone();
    let bobs_id = listed(&bobs.account().await).0.remove(0);

    // Another user's session cannot be ended from here.
    let r = chrome
        .post("/account", &format!("/account/sessions/{bobs_id}/end"), &[])
        .await;
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(bobs.who().await, "Logged in as bob@example.com");

    // End Firefox's: that browser is logged out (and told), Chrome is not.
    let r = chrome
        .post(
            "/account",
            &format!("/account/sessions/{firefoxes}/end"),
            &[],
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/account"));
    assert_eq!(
        chrome.flashes().await,
        "success: That session was logged out."
    );
    assert_eq!(firefox.who().await, "Not logged in");
    assert_eq!(
        firefox.flashes().await,
        "info: This session was ended. Please log in again."
    );
    assert_eq!(firefox.get("/secret1").await.status, Status::Found);
    assert_eq!(chrome.who().await, "Logged in as ann@example.com");
    assert_eq!(session_count(&app, ann.id).await, 1);
    // Ended twice: there is nothing left to end.
    let r = chrome
        .post(
            "/account",
            &format!("/account/sessions/{firefoxes}/end"),
            &[],
        )
        .await;
    assert_eq!(r.status, Status::NotFound);

    // "Log out all other sessions": Firefox logs in twice more, both end.
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    let mut other = Browser::new(&app, FIREFOX);
    other.log_in("ann@example.com", PASSWORD, false).await;
    let r = chrome
        .post("/account", "/account/sessions/end-others", &[])
        .await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        chrome.flashes().await,
        "success: 2 other sessions were logged out."
    );
    assert_eq!(firefox.who().await, "Not logged in");
    assert_eq!(other.who().await, "Not logged in");
    assert_eq!(chrome.who().await, "Logged in as ann@example.com");
    assert_eq!(bobs.who().await, "Logged in as bob@example.com");

    // Ending this device's own session is a logout.
    let r = chrome
        .post("/account", &format!("/account/sessions/{chromes}/end"), &[])
        .await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/login"));
    assert_eq!(chrome.who().await, "Not logged in");
    assert_eq!(session_count(&app, ann.id).await, 0);

    // Audited, by ann about ann.
    let events = app.audit_events(&AuditFilter::default().user(ann.id)).await;
    let ended: Vec<_> = events
        .iter()
        .filter(|e| e.event.kind == kinds::SESSIONS_ENDED)
        .collect();
    assert_eq!(ended.len(), 3, "{events:?}");
    assert!(ended.iter().all(|e| e.event.actor == Some(ann.id)));
    // Logged out, the page sends to the login page and back.
    assert_eq!(chrome.get("/account").await.text, "/login?next=%2Faccount");
    drop(bob);
}

async fn a_password_change_keeps_this_session_and_ends_the_others<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app_with::<B>(smtp.figment()).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let mut firefox = Browser::new(&app, FIREFOX);
    let mut chrome = Browser::new(&app, CHROME);
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    chrome.log_in("ann@example.com", PASSWORD, true).await;
    let page = chrome.account().await;
    assert!(page.contains("id=\"account-password-form\""), "{page}");

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("current_password", current),
            ("password", new),
            ("confirm", confirm),
        ]
    };
    let new = "a brand new passphrase";
    // Wrong current password, mismatched confirmation, a policy failure:
    // the page again with the field's error; nothing changes.
    for (fields, error) in [
        (
            change("not it at all", new, new),
            "This is not your current password.",
        ),
        (
            change(PASSWORD, new, "something else"),
            "Passwords must match.",
        ),
        (
            change(PASSWORD, "short", "short"),
            "Password must be at least 8 characters long.",
        ),
    ] {
        let r = chrome.post("/account", "/account/password", &fields).await;
        assert_eq!(r.status, Status::Ok);
        assert!(r.text.contains(error), "{error}: {}", r.text);
        assert!(r.text.contains("The form has errors"), "{}", r.text);
    }
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert!(
        app.store
            .verify_password(&stored, PASSWORD)
            .await
            .unwrap()
            .ok
    );
    assert_eq!(firefox.who().await, "Logged in as ann@example.com");

    // The right one: this session goes on, the other ends.
    let r = chrome
        .post("/account", "/account/password", &change(PASSWORD, new, new))
        .await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/account"));
    assert_eq!(
        chrome.flashes().await,
        "success: Your password was changed. Every other session of your account was logged out."
    );
    assert_eq!(chrome.who().await, "Logged in as ann@example.com");
    assert_eq!(firefox.who().await, "Not logged in");
    assert_eq!(session_count(&app, ann.id).await, 1);
    // The changed session is still the remembered one.
    assert!(chrome.account().await.contains("Remembered"));
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert!(app.store.verify_password(&stored, new).await.unwrap().ok);
    firefox.log_in("ann@example.com", new, false).await;

    // A notice, without a link into the account.
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["ann@example.com".to_string()]);
    assert_eq!(mail.subject(), "[TS] Your password was changed");
    assert!(!mail.text().contains("http"), "{}", mail.text());

    let events = app.audit_events(&AuditFilter::default().user(ann.id)).await;
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == kinds::PASSWORD_CHANGED && e.event.actor == Some(ann.id)),
        "{events:?}"
    );
}

async fn an_email_change_waits_for_its_link<B: TestBackend>() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app_with::<B>(smtp.figment()).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    app.user("bob@example.com", Some(PASSWORD)).await;
    let mut chrome = Browser::new(&app, CHROME);
    chrome.log_in("ann@example.com", PASSWORD, false).await;
    let page = chrome.account().await;
    assert!(page.contains("id=\"account-login-form\""), "{page}");

    let to = |address: &'static str, current: &'static str| {
        [("login_id", address), ("current_password", current)]
    };
    for (fields, error) in [
        (
            to("ann.new@example.com", "wrong"),
            "This is not your current password.",
        ),
        (
            to("bob@example.com", PASSWORD),
            "Another account has it already.",
        ),
        (to("not an address", PASSWORD), "Invalid email address."),
        (to("ann@example.com", PASSWORD), "This is your current one."),
    ] {
        let r = chrome.post("/account", "/account/login", &fields).await;
        assert_eq!(r.status, Status::Ok, "{error}");
        assert!(r.text.contains(error), "{error}: {}", r.text);
    }

    let r = chrome
        .post(
            "/account",
            "/account/login",
            &to("ann.new@example.com", PASSWORD),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/account"));
    assert_eq!(
        chrome.flashes().await,
        "success: A confirmation link was sent to ann.new@example.com. Open it to finish the change."
    );
    // Nothing changed yet; the new address got the link, the old one a notice.
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.email, "ann@example.com");
    let mails = smtp.wait_for(2).await;
    let link_mail = mails
        .iter()
        .find(|m| m.to == ["ann.new@example.com".to_string()])
        .expect("a mail to the new address");
    assert_eq!(link_mail.subject(), "[TS] Confirm your new email address");
    let notice = mails
        .iter()
        .find(|m| m.to == ["ann@example.com".to_string()])
        .expect("a notice to the old address");
    assert!(!notice.text().contains("http"), "{}", notice.text());
    let link = link_mail.link_path(ORIGIN);
    assert!(
        link.starts_with(&format!("/account/email/{}/", ann.id)),
        "{link}"
    );

    // A tampered address (another one in the link) is refused.
    let mut parts: Vec<&str> = link.split('/').collect();
    let evil = "ZXZpbEBleGFtcGxlLmNvbQ"; // evil@example.com
    let real = parts[4];
    parts[4] = evil;
    let tampered = parts.join("/");
    let r = chrome.get(&tampered).await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/account"));
    assert!(chrome.flashes().await.contains("This link is not valid"));
    assert_ne!(real, evil);

    // Opening the link shows the address and asks; only the POST changes it.
    let r = chrome.get(&link).await;
    assert_eq!(r.status, Status::Ok);
    assert!(
        r.text
            .contains("Make ann.new@example.com the email address"),
        "{}",
        r.text
    );
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.email, "ann@example.com");
    let r = chrome.post(&link, &link, &[]).await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/account"));
    assert_eq!(
        chrome.flashes().await,
        "success: Your email address is ann.new@example.com now."
    );
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.email, "ann.new@example.com");
    assert_eq!(chrome.who().await, "Logged in as ann.new@example.com");
    // Used: the login id changed, so the link is dead.
    let r = chrome.get(&link).await;
    assert_eq!(r.status, Status::SeeOther);
    assert!(chrome.flashes().await.contains("This link is not valid"));

    // A link dies when the password changes.
    let r = chrome
        .post(
            "/account",
            "/account/login",
            &to("ann.third@example.com", PASSWORD),
        )
        .await;
    assert_eq!(r.status, Status::SeeOther);
    let mails = smtp.wait_for(4).await;
    let link = mails
        .iter()
        .find(|m| m.to == ["ann.third@example.com".to_string()])
        .expect("the second link")
        .link_path(ORIGIN);
    let mut stored = app.store.user(ann.id).await.unwrap().unwrap();
    app.store
        .set_password(&mut stored, "yet another passphrase")
        .await
        .unwrap();
    let mut other = Browser::new(&app, FIREFOX);
    let r = other.get(&link).await;
    assert_eq!((r.status, r.text.as_str()), (Status::SeeOther, "/login"));
    let stored = app.store.user(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.email, "ann.new@example.com");

    let events = app.audit_events(&AuditFilter::default().user(ann.id)).await;
    assert!(
        events.iter().any(|e| e.event.kind == kinds::LOGIN_CHANGED),
        "{events:?}"
    );
}

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

async fn remember_me_outlives_the_browser_and_the_timeouts<B: TestBackend>() {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = clock.clone();
    let Some(app) =
        app_configured::<B>(rocket::Config::figment(), move |b| b.clock(c), |r| r).await
    else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let page = body(app.client.get("/login").dispatch().await).await;
    assert!(
        page.contains("name=\"remember_me\"")
            && page.contains("Remember me on this device for 30 days"),
        "{page}"
    );
    let mut kept = Browser::new(&app, FIREFOX);
    kept.log_in("ann@example.com", PASSWORD, true).await;
    let mut plain = Browser::new(&app, CHROME);
    plain.log_in("ann@example.com", PASSWORD, false).await;
    // A remembered session's cookie outlives the browser; the other does not.
    let expires = kept.expires.expect("a persistent cookie");
    let days = (expires.unix_timestamp() - t0().and_utc().timestamp()) / 86_400;
    assert_eq!(days, 30);
    assert_eq!(plain.expires, None, "a browser-session cookie");
    assert!(kept.account().await.contains("Remembered"));

    // Two idle hours: past the idle timeout for the plain session only.
    clock.advance(TimeDelta::hours(2));
    assert_eq!(plain.who().await, "Not logged in");
    assert_eq!(kept.who().await, "Logged in as ann@example.com");
    // Past the absolute timeout too (a day later), still remembered.
    clock.advance(TimeDelta::days(1));
    assert_eq!(kept.who().await, "Logged in as ann@example.com");
    // Thirty days after the login it ends.
    clock.advance(TimeDelta::days(29));
    assert_eq!(kept.who().await, "Not logged in");

    // A remembered session still ends on a rights change that rotates keys.
    clock.advance(TimeDelta::hours(1));
    kept.log_in("ann@example.com", PASSWORD, true).await;
    let mut ann = app
        .store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    app.store.set_enabled(&mut ann, false).await.unwrap();
    assert_eq!(kept.who().await, "Not logged in");

    // remember_me_days = 0: no box, and a ticked one (sent anyway) is ignored.
    let figment = rocket::Config::figment().merge(("kegauth.remember_me_days", 0));
    let Some(app) = app_configured::<B>(figment, |b| b, |r| r).await else {
        return;
    };
    app.user("ann@example.com", Some(PASSWORD)).await;
    let page = body(app.client.get("/login").dispatch().await).await;
    assert!(!page.contains("remember_me"), "{page}");
    let mut b = Browser::new(&app, FIREFOX);
    b.log_in("ann@example.com", PASSWORD, true).await;
    assert_eq!(b.expires, None);
}

async fn admins_see_and_end_a_users_sessions<B: TestBackend>() {
    let Some(app) = app_configured::<B>(rocket::Config::figment(), |b| b, |r| r).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let mut firefox = Browser::new(&app, FIREFOX);
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    let root = app.user("root@example.com", Some(PASSWORD)).await;
    let mut stored = app.store.user(root.id).await.unwrap().unwrap();
    stored.core.is_superuser = true;
    app.store.update_user(&mut stored).await.unwrap();
    let mut admin = Browser::new(&app, CHROME);
    admin.log_in("root@example.com", PASSWORD, false).await;

    let edit = format!("/users/{}/edit", ann.id);
    let page = admin.get(&edit).await.text;
    assert!(page.contains("id=\"user-sessions\""), "{page}");
    assert!(page.contains("Firefox 133"), "{page}");
    assert!(
        !page.contains("Chrome 131"),
        "the admin's own session is not ann's: {page}"
    );

    let r = admin
        .post(&edit, &format!("/users/{}/end-sessions", ann.id), &[])
        .await;
    assert_eq!(r.status, Status::SeeOther, "{}", r.text);
    assert_eq!(
        admin.flashes().await,
        "success: All sessions of ann@example.com were ended."
    );
    assert_eq!(firefox.who().await, "Not logged in");
    assert_eq!(admin.who().await, "Logged in as root@example.com");
    let page = admin.get(&edit).await.text;
    assert!(page.contains("No active sessions."), "{page}");

    let events = app.audit_events(&AuditFilter::default().user(ann.id)).await;
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == kinds::SESSIONS_ENDED && e.event.actor == Some(root.id)),
        "{events:?}"
    );
    // Without the edit right (ann herself): refused.
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    let r = firefox
        .post("/account", &format!("/users/{}/end-sessions", root.id), &[])
        .await;
    assert_eq!(r.status, Status::Forbidden);
    assert_eq!(admin.who().await, "Logged in as root@example.com");
}

/// A user who logs in by username.
#[derive(Debug, kegauth::AuthEntity)]
#[auth(user, table = "handles", login = "username")]
struct Handle {
    id: i64,
    username: String,
    #[auth(core)]
    core: kegauth::UserCore,
}

/// POST `fields` to `path` on `client` with the CSRF token of the page at `from`.
async fn post_on<'c>(
    client: &'c rocket::local::asynchronous::Client,
    from: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> LocalResponse<'c> {
    let page = body(client.get(from.to_string()).dispatch().await).await;
    let csrf = csrf_in(&page);
    let mut all = fields.to_vec();
    all.push(("csrf_token", &csrf));
    client
        .post(path.to_string())
        .header(rocket::http::ContentType::Form)
        .body(crate::common::web::form_body(&all))
        .dispatch()
        .await
}

async fn usernames_change_only_when_allowed<B: TestBackend>() {
    use rocket_db_pools::Database;
    for allowed in [false, true] {
        let Some((url, _cleanup)) = B::database().await else {
            return;
        };
        let figment = rocket::Config::figment()
            .merge(("databases.main.url", url.as_str()))
            .merge(("kegauth.allow_username_change", allowed));
        let rocket = rocket::build()
            .configure(figment)
            .attach(B::Db::init())
            .attach(
                kegauth::AuthManager::<B::Db, Handle>::builder()
                    .create_schema(true)
                    .build(),
            )
            .mount("/", kegauth::routes())
            .register("/", kegauth::catchers());
        let client = rocket::local::asynchronous::Client::tracked(rocket)
            .await
            .expect("launch");
        let store = client
            .rocket()
            .state::<kegauth::StoreOf<B::Db, Handle>>()
            .expect("the store")
            .clone();
        for name in ["zed", "amy"] {
            let mut h = Handle {
                id: 0,
                username: name.into(),
                core: kegauth::UserCore::new(),
            };
            store.insert_user(&mut h).await.unwrap();
            store.set_password(&mut h, PASSWORD).await.unwrap();
        }
        let r = post_on(
            &client,
            "/login",
            "/login",
            &[("login_id", "zed"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(r.status(), Status::SeeOther);
        drop(r);
        let page = body(client.get("/account").dispatch().await).await;
        assert_eq!(
            page.contains("id=\"account-login-form\""),
            allowed,
            "{page}"
        );
        assert!(page.contains("id=\"account-password-form\""), "{page}");
        let rename = |to: &'static str| [("login_id", to), ("current_password", PASSWORD)];
        if !allowed {
            let r = post_on(&client, "/account", "/account/login", &rename("zoe")).await;
            assert_eq!(r.status(), Status::NotFound);
            drop(r);
            assert!(store.user_by_login("zed").await.unwrap().is_some());
            continue;
        }
        let r = post_on(&client, "/account", "/account/login", &rename("amy")).await;
        assert_eq!(r.status(), Status::Ok);
        assert!(body(r).await.contains("Another account has it already."));
        let r = post_on(&client, "/account", "/account/login", &rename("zoe")).await;
        assert_eq!(
            (r.status(), location(&r).as_str()),
            (Status::SeeOther, "/account")
        );
        drop(r);
        let page = body(client.get("/account").dispatch().await).await;
        assert!(page.contains("Your username is zoe now."), "{page}");
        assert!(store.user_by_login("zed").await.unwrap().is_none());
        assert!(store.user_by_login("zoe").await.unwrap().is_some());
    }
}

async fn the_last_seen_time_is_written_at_most_once_a_minute<B: TestBackend>() {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = clock.clone();
    // No session cache: every request checks its session's row.
    let figment = rocket::Config::figment().merge(("kegauth.session_cache_secs", 0));
    let Some(app) = app_configured::<B>(figment, move |b| b.clock(c), |r| r).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let mut firefox = Browser::new(&app, FIREFOX);
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    let last_seen = || async {
        let user = app.store.user(ann.id).await.unwrap().unwrap();
        let rows = app
            .store
            .user_sessions(ann.id, &user.core.session_key, Default::default())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        (rows[0].created_at, rows[0].last_seen_at)
    };
    assert_eq!(last_seen().await, (t0(), t0()));
    // Requests within the minute write nothing.
    for step in [19, 19, 19, 2] {
        clock.advance(TimeDelta::seconds(step));
        assert_eq!(firefox.who().await, "Logged in as ann@example.com");
    }
    assert_eq!(last_seen().await, (t0(), t0()), "59 s: not yet");
    // The first request a minute after the last write writes it.
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(firefox.who().await, "Logged in as ann@example.com");
    let minute = t0() + TimeDelta::seconds(60);
    assert_eq!(last_seen().await, (t0(), minute));
    clock.advance(TimeDelta::seconds(30));
    assert_eq!(firefox.who().await, "Logged in as ann@example.com");
    assert_eq!(last_seen().await, (t0(), minute));
    // The account page shows it.
    assert!(firefox.account().await.contains("2026-03-01 09:01 UTC"));
}

async fn a_logout_ends_this_device_only<B: TestBackend>() {
    let Some(app) = app_configured::<B>(rocket::Config::figment(), |b| b, |r| r).await else {
        return;
    };
    let ann = app.user("ann@example.com", Some(PASSWORD)).await;
    let mut firefox = Browser::new(&app, FIREFOX);
    let mut chrome = Browser::new(&app, CHROME);
    firefox.log_in("ann@example.com", PASSWORD, false).await;
    chrome.log_in("ann@example.com", PASSWORD, false).await;
    let mut copy = Browser::new(&app, FIREFOX);
    copy.cookie = firefox.cookie.clone();
    assert_eq!(copy.who().await, "Logged in as ann@example.com");

    let r = firefox.post("/logout", "/logout", &[]).await;
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(firefox.who().await, "Not logged in");
    // A copy of the logged-out cookie is dead; the other device is not.
    assert_eq!(copy.who().await, "Not logged in");
    assert_eq!(chrome.who().await, "Logged in as ann@example.com");
    assert_eq!(session_count(&app, ann.id).await, 1);
    let events = app.audit_events(&AuditFilter::default().user(ann.id)).await;
    assert!(events.iter().any(|e| e.event.kind == kinds::LOGOUT));
    assert!(
        !events.iter().any(|e| e.event.kind == kinds::SESSIONS_ENDED),
        "a logout is recorded once, as a logout"
    );

    // A rotated key leaves chrome's row dead; `auth purge-sessions` sweeps it.
    let mut ann = app.store.user(ann.id).await.unwrap().unwrap();
    app.store.rotate_session_key(&mut ann).await.unwrap();
    assert_eq!(chrome.who().await, "Not logged in");
    let limits = kegauth::config::Config::default().session_limits();
    assert_eq!(app.store.purge_sessions(limits).await.unwrap(), 1);
    assert_eq!(app.store.purge_sessions(limits).await.unwrap(), 0);
}
