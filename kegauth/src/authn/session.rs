//! Sessions: one private (encrypted and authenticated) cookie holding the
//! user's `session_key`, the CSRF token, a stored `next` and flash messages.
//!
//! The cookie carries the key, not the user id: rotating a user's key (any
//! rights change, password change, disable) logs out every session at once.
//!
//! A logged-in session ends by itself after `session_idle_timeout_secs`
//! without a request (default 30 minutes) and `session_absolute_timeout_secs`
//! after the login (default 12 hours). Both count from timestamps inside the
//! encrypted cookie, not from the cookie's `Expires` (which a client can keep
//! as long as it likes), so a copied cookie expires too. The last-seen time is
//! refreshed at most once a minute, so most requests do not rewrite the cookie.

use crate::authn::decoded_sessions::DecodedSessions;
use crate::core::clock::Clock;
use crate::core::config::Config;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// A flash message: a category (`success`, `error`, `warning`, `info`) and text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// The category, used as a CSS class by the templates.
    pub category: String,
    /// The message.
    pub message: String,
}

/// What the session cookie holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    /// The logged-in user's session key.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// The CSRF synchronizer token.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// Where to go after login (already validated).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Messages to show on the next page.
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub flashes: Vec<Flash>,
    /// When the user logged in (Unix seconds): the absolute timeout counts from here.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub logged_in_at: Option<i64>,
    /// When the session was last used (Unix seconds, refreshed at most once a
    /// minute): the idle timeout counts from here.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub seen_at: Option<i64>,
    /// A login waiting for its second factor (no user is logged in meanwhile).
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<crate::core::two_factor::PendingLogin>,
    /// The logged-in user must enrol a second factor before anything else.
    #[serde(rename = "e", default, skip_serializing_if = "std::ops::Not::not")]
    pub must_enrol: bool,
    /// A passkey ceremony between its two requests.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<crate::core::passkeys::Ceremony>,
    /// The login's row in `kegauth_sessions` (see [`crate::store::sessions`]):
    /// a logged-in session without one, or whose row is gone, is logged out.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// A remembered session ("remember me") ends here (Unix seconds), not by
    /// the idle and absolute timeouts; its cookie outlives the browser.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub remember_until: Option<i64>,
}

/// A login's record, for [`Session::log_in`]: its row in `kegauth_sessions`
/// and, for a remembered session, when it ends (Unix seconds).
///
/// ```
/// let row = kegauth::session::SessionRow { id: "row-id".into(), remember_until: None };
/// assert!(row.remember_until.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRow {
    /// The row's id.
    pub id: String,
    /// When a remembered session ends; `None`: with the browser.
    pub remember_until: Option<i64>,
}

impl SessionData {
    /// A session holding only `session_key`, its row and `csrf`, logged in
    /// at `now` (Unix seconds).
    ///
    /// ```
    /// use kegauth::session::{SessionData, SessionRow};
    /// let row = SessionRow { id: "row-id".into(), remember_until: None };
    /// let data = SessionData::logged_in("key", &row, "csrf", 1_700_000_000);
    /// assert_eq!(data.seen_at, Some(1_700_000_000));
    /// assert_eq!(data.record.as_deref(), Some("row-id"));
    /// assert!(data.flashes.is_empty());
    /// ```
    pub fn logged_in(session_key: &str, row: &SessionRow, csrf: &str, now: i64) -> Self {
        SessionData {
            session_key: Some(session_key.to_owned()),
            csrf: Some(csrf.to_owned()),
            logged_in_at: Some(now),
            seen_at: Some(now),
            record: Some(row.id.clone()),
            remember_until: row.remember_until,
            ..SessionData::default()
        }
    }
}

/// Why a logged-in session ended by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// No request for `session_idle_timeout_secs`.
    Idle,
    /// `session_absolute_timeout_secs` since the login.
    Absolute,
}

/// Seconds between refreshes of a session's last-seen time (at most; less
/// for idle timeouts under four minutes). A session therefore ends between
/// `idle - 60` and `idle` seconds after its last request, never later.
const SEEN_REFRESH_SECS: i64 = 60;

/// What a login or logout must also drop: what the layers above the session
/// keep per session key (the nav menus, see [`crate::nav`]). The fairing
/// manages it; without it there is nothing to drop.
pub(crate) struct OnSessionChange(pub fn(&rocket::Rocket<rocket::Orbit>, &str));

/// What sessions need of kegauth besides the [`Config`], in one managed
/// value (one state lookup per request, not one each): the clock sessions
/// are timed by (the store's, so tests can move it) and, with the session
/// cache on, the cookies already decrypted.
pub(crate) struct SessionState {
    clock: Arc<dyn Clock>,
    decoded: Option<DecodedSessions<SessionData>>,
}

impl SessionState {
    /// Timed by `clock`; decrypted cookies kept when `keep_decoded`.
    pub(crate) fn new(clock: Arc<dyn Clock>, keep_decoded: bool) -> Self {
        SessionState {
            clock,
            decoded: keep_decoded.then(DecodedSessions::new),
        }
    }

    /// Now, in Unix seconds.
    pub(crate) fn now_secs(&self) -> i64 {
        self.clock.unix_secs()
    }

    /// The clock, shared.
    #[cfg(feature = "oauth")]
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }
}

/// Now in Unix seconds by `state`'s clock, else (kegauth not attached) the system's.
fn now_of(state: Option<&SessionState>) -> i64 {
    match state {
        Some(state) => state.now_secs(),
        None => chrono::Utc::now().timestamp(),
    }
}

/// The current time in Unix seconds by the app's clock (the system clock
/// when kegauth is not attached).
#[cfg(feature = "testing")]
pub(crate) fn now_secs(rocket: &rocket::Rocket<rocket::Orbit>) -> i64 {
    now_of(rocket.state::<SessionState>())
}

/// What a session reads of its request (type-erased, so that a session can
/// hold its request whatever the request's lifetime).
trait RequestView: Sync {
    /// A kegauth message in the request's language.
    fn message(&self, key: &str) -> String;
    /// A request header.
    fn header(&self, name: &str) -> Option<&str>;
    /// Record an audit event about this request (its client address and
    /// path added).
    fn audit(&self, _event: crate::core::audit::AuditEvent) {}
}

impl RequestView for Request<'_> {
    fn message(&self, key: &str) -> String {
        crate::services::i18n::translator_of(self).t(key)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get_one(name)
    }

    fn audit(&self, mut event: crate::core::audit::AuditEvent) {
        let rocket = self.rocket();
        let Some(auditor) = rocket.state::<crate::core::audit::Auditor>() else {
            return;
        };
        event.client_ip = rocket
            .state::<crate::authn::client_ip::ProxyPolicy>()
            .and_then(|p| p.client_ip_of(self))
            .map(|ip| ip.to_string());
        if let serde_json::Value::Object(detail) = &mut event.detail {
            detail.insert("path".into(), self.uri().path().as_str().into());
        }
        auditor.record(event);
    }
}

/// Whether a browser marked the request as coming from another site: by
/// `Sec-Fetch-Site` (anything but `same-origin` or `none`, the address bar),
/// else by an `Origin` whose host is not the request's `Host`. A request
/// with neither header (not from a browser, or from an old one) is not.
/// Origins in `trusted` (e.g. `https://app.example.com`) pass either way.
/// This is the check of Go's `net/http.CrossOriginProtection`.
fn cross_site(req: &dyn RequestView, trusted: &[String]) -> bool {
    let origin = req.header("Origin");
    let is_trusted = || origin.is_some_and(|o| trusted.iter().any(|t| t.eq_ignore_ascii_case(o)));
    if let Some(site) = req.header("Sec-Fetch-Site") {
        let same = site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none");
        return !same && !is_trusted();
    }
    let Some(origin) = origin else {
        return false;
    };
    let authority = origin.split_once("://").map(|(_, a)| a);
    let same_host = match (authority, req.header("Host")) {
        (Some(a), Some(host)) => a.eq_ignore_ascii_case(host),
        _ => false,
    };
    !same_host && !is_trusted()
}

/// Largest session cookie value accepted (browsers keep 4 KiB per cookie).
const MAX_COOKIE_BYTES: usize = 4096;

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What kegauth keeps for the length of one request (one entry in Rocket's
/// request-local cache): the session data, read from the cookie once and
/// kept current as the request changes it (Rocket's jar reads only the
/// cookie the request came with), and the session's user.
#[derive(Default)]
pub(crate) struct RequestLocal {
    session: Mutex<Option<Arc<SessionData>>>,
    /// See [`session_principal`](crate::requirements::session_principal).
    pub(crate) principal: std::sync::OnceLock<crate::authn::identity::SessionPrincipal>,
}

impl RequestLocal {
    /// The request's.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> &'r Self {
        req.local_cache(RequestLocal::default)
    }
}

/// The session of the current request: a request guard.
///
/// ```
/// use kegauth::session::Session;
/// #[rocket::post("/note")]
/// fn note(session: Session<'_>) -> &'static str {
///     session.flash("success", "Noted.");
///     "ok"
/// }
/// ```
pub struct Session<'r> {
    jar: &'r CookieJar<'r>,
    config: &'r Config,
    local: &'r RequestLocal,
    state: Option<&'r SessionState>,
    rocket: &'r rocket::Rocket<rocket::Orbit>,
    req: &'r (dyn RequestView + 'r),
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match Session::of(req) {
            Some(session) => Outcome::Success(session),
            None => {
                log::error!("kegauth: the AuthManager fairing is not attached");
                Outcome::Error((Status::InternalServerError, ()))
            }
        }
    }
}

impl<'r> Session<'r> {
    /// The session of a request; `None` when kegauth is not attached.
    pub fn of(req: &'r Request<'_>) -> Option<Self> {
        Session::with_local(req, RequestLocal::of(req))
    }

    /// [`of`](Self::of), given the request's [`RequestLocal`] (one lookup
    /// less for a caller that has it).
    pub(crate) fn with_local(req: &'r Request<'_>, local: &'r RequestLocal) -> Option<Self> {
        Some(Session {
            jar: req.cookies(),
            config: req.rocket().state::<Config>()?,
            local,
            state: req.rocket().state::<SessionState>(),
            rocket: req.rocket(),
            req,
        })
    }

    fn read_cookie(&self) -> Arc<SessionData> {
        let Some(decoded) = self.state.and_then(|s| s.decoded.as_ref()) else {
            return Arc::new(self.decrypt_cookie().unwrap_or_default());
        };
        let Some(raw) = self.jar.get(self.config.cookie_name()) else {
            return Arc::default();
        };
        if let Some(data) = decoded.get(raw.value()) {
            return data;
        }
        match self.decrypt_cookie() {
            Some(data) => {
                let data = Arc::new(data);
                decoded.put(raw.value(), &data);
                data
            }
            None => Arc::default(),
        }
    }

    /// The session cookie's data, if it decrypts and parses. Only the
    /// authenticated (decrypted) cookie counts: a cookie that fails to
    /// decrypt is an empty session, never its raw value.
    fn decrypt_cookie(&self) -> Option<SessionData> {
        self.jar
            .get_private(self.config.cookie_name())
            .filter(|c| c.value().len() <= MAX_COOKIE_BYTES)
            .and_then(|c| serde_json::from_str(c.value()).ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<SessionData>>> {
        self.local.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current data; an absent, undecryptable or malformed cookie is an
    /// empty session, and a session past its idle or absolute timeout is
    /// logged out (with a message saying so).
    pub fn data(&self) -> SessionData {
        SessionData::clone(&self.current())
    }

    /// The current data, shared: read from the cookie once per request (and
    /// across requests, through [`DecodedSessions`]), copied only to change it.
    pub(crate) fn current(&self) -> Arc<SessionData> {
        let mut cached = self.lock();
        if let Some(data) = &*cached {
            return Arc::clone(data);
        }
        let mut data = self.read_cookie();
        let changed = self.check_timeouts(&mut data);
        *cached = Some(Arc::clone(&data));
        drop(cached);
        if changed {
            self.write_cookie(&data);
        }
        data
    }

    fn now(&self) -> i64 {
        now_of(self.state)
    }

    /// Drop what the layers above keep for a session that logs in or out
    /// (the menus; looked up only then: most requests never need them).
    fn forget_menu(&self, session_key: &str) {
        if let Some(hook) = self.rocket.state::<OnSessionChange>() {
            (hook.0)(self.rocket, session_key);
        }
    }

    /// Which timeout a logged-in session is past, if any. A timestamp the
    /// cookie lacks (a cookie from an older version) counts as past.
    fn expiry(&self, data: &SessionData, now: i64) -> Option<Expiry> {
        if let Some(until) = data.remember_until {
            return (now >= until).then_some(Expiry::Absolute);
        }
        let past = |since: Option<i64>, limit: u32| {
            limit > 0 && since.is_none_or(|t| now.saturating_sub(t) > i64::from(limit))
        };
        if past(data.logged_in_at, self.config.session_absolute_timeout_secs) {
            Some(Expiry::Absolute)
        } else if past(data.seen_at, self.config.session_idle_timeout_secs) {
            Some(Expiry::Idle)
        } else {
            None
        }
    }

    /// End a session past a timeout, or refresh its last-seen time when that
    /// is due; whether `data` changed (it is copied only then).
    fn check_timeouts(&self, shared: &mut Arc<SessionData>) -> bool {
        let Some(key) = &shared.session_key else {
            return false;
        };
        let now = self.now();
        if let Some(expiry) = self.expiry(shared, now) {
            log::info!(target: crate::core::AUDIT, "session ended by the {expiry:?} timeout");
            self.req.audit(
                crate::core::audit::AuditEvent::new(
                    crate::core::audit::kinds::SESSION_EXPIRED,
                    crate::core::audit::Outcome::Success,
                )
                .detail(serde_json::json!({ "timeout": format!("{expiry:?}").to_lowercase() })),
            );
            self.forget_menu(key);
            let data = Arc::make_mut(shared);
            // The CSRF token stays: it belongs to the browser, not the
            // login, and a form open since before the timeout (logout, say)
            // must not fail as forged.
            let csrf = data.csrf.take();
            *data = self.logged_out(std::mem::take(data));
            data.csrf = csrf;
            data.flashes.push(Flash {
                category: "info".into(),
                message: self.req.message("session-expired"),
            });
            return true;
        }
        let idle = i64::from(self.config.session_idle_timeout_secs);
        let every = SEEN_REFRESH_SECS.min(idle / 4).max(1);
        if idle > 0
            && shared.remember_until.is_none()
            && shared
                .seen_at
                .is_none_or(|t| now.saturating_sub(t) >= every)
        {
            Arc::make_mut(shared).seen_at = Some(now);
            return true;
        }
        false
    }

    /// `data` logged out: empty (`logout_clear_session`, the default) or
    /// without the user and with a new CSRF token.
    fn logged_out(&self, data: SessionData) -> SessionData {
        if self.config.logout_clear_session {
            return SessionData::default();
        }
        SessionData {
            session_key: None,
            csrf: Some(random_token()),
            logged_in_at: None,
            seen_at: None,
            pending: None,
            must_enrol: false,
            record: None,
            remember_until: None,
            ..data
        }
    }

    /// Replace the data (an empty session removes the cookie).
    pub fn save(&self, data: &SessionData) {
        *self.lock() = Some(Arc::new(data.clone()));
        self.write_cookie(data);
    }

    fn write_cookie(&self, data: &SessionData) {
        let name = self.config.cookie_name();
        if *data == SessionData::default() {
            self.jar.remove_private(Cookie::from(name));
            return;
        }
        let Ok(value) = serde_json::to_string(data) else {
            return;
        };
        let mut cookie = Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.config.cookie_secure);
        // A remembered login outlives the browser; anything else ends with it
        // (said outright: Rocket gives a private cookie a week otherwise).
        cookie = cookie.expires(None::<rocket::time::OffsetDateTime>);
        if let (Some(_), Some(until)) = (&data.session_key, data.remember_until)
            && let Ok(at) = rocket::time::OffsetDateTime::from_unix_timestamp(until)
        {
            cookie = cookie.expires(at);
        }
        self.jar.add_private(cookie);
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut SessionData)) {
        let mut data = self.data();
        f(&mut data);
        self.save(&data);
    }

    /// The logged-in user's session key, if any.
    pub fn session_key(&self) -> Option<String> {
        self.current().session_key.clone()
    }

    /// Log a user in: a fresh session holding only their key, the login's
    /// row (recorded first, see [`crate::store::sessions`]), a new CSRF token
    /// and the messages given (nothing from before login survives).
    pub fn log_in(&self, session_key: &str, row: &SessionRow, flashes: Vec<Flash>) {
        self.start(session_key, row, flashes, self.now());
    }

    /// The row of the logged-in session, if any.
    pub fn record(&self) -> Option<String> {
        let data = self.current();
        data.session_key.as_ref()?;
        data.record.clone()
    }

    /// Carry the logged-in user on under a new session key (after they
    /// changed their own rights, which rotates it): like
    /// [`log_in`](Self::log_in), but the absolute timeout still counts from
    /// the original login.
    /// (The session's row goes on too: carry it over to the new key with
    /// the store's `rekey_session`.)
    pub fn rekey(&self, session_key: &str, flashes: Vec<Flash>) {
        let now = self.now();
        let data = self.data();
        let logged_in_at = data.logged_in_at.unwrap_or(now);
        let row = SessionRow {
            id: data.record.clone().unwrap_or_default(),
            remember_until: data.remember_until,
        };
        self.start(session_key, &row, flashes, logged_in_at);
    }

    /// A fresh session for `session_key` and its row with a new CSRF token,
    /// logged in at `logged_in_at` and seen now.
    fn start(&self, session_key: &str, row: &SessionRow, flashes: Vec<Flash>, logged_in_at: i64) {
        self.forget_menu(session_key);
        self.save(&SessionData {
            flashes,
            logged_in_at: Some(logged_in_at),
            ..SessionData::logged_in(session_key, row, &random_token(), self.now())
        });
    }

    /// Log out: clear the whole session (`logout_clear_session`, the default)
    /// or only the user, keeping the rest.
    pub fn log_out(&self) {
        let data = self.data();
        if let Some(key) = &data.session_key {
            self.forget_menu(key);
        }
        self.save(&self.logged_out(data));
    }

    /// The CSRF token for forms, created on first use.
    pub fn csrf_token(&self) -> String {
        let mut data = self.data();
        match &data.csrf {
            Some(token) => token.clone(),
            None => {
                let token = random_token();
                data.csrf = Some(token.clone());
                self.save(&data);
                token
            }
        }
    }

    /// Whether a form post passes the CSRF checks: the submitted token
    /// matches the session's (compared in constant time), and the browser
    /// did not mark the request as cross-site (`Sec-Fetch-Site`, else
    /// `Origin` against `Host`; origins in `trusted_origins` pass).
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        if cross_site(self.req, &self.config.trusted_origins) {
            log::info!(target: crate::core::AUDIT, "a form was posted from another site");
            self.req.audit(crate::core::audit::AuditEvent::new(
                crate::core::audit::kinds::CROSS_SITE_REFUSED,
                crate::core::audit::Outcome::Refused,
            ));
            return false;
        }
        let ok = match &self.current().csrf {
            Some(expected) => {
                !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
            }
            None => false,
        };
        if !ok {
            self.req.audit(crate::core::audit::AuditEvent::new(
                crate::core::audit::kinds::CSRF_REFUSED,
                crate::core::audit::Outcome::Refused,
            ));
        }
        ok
    }

    /// Remember where to go after login (only a safe relative path is kept).
    pub fn set_next(&self, next: &str) {
        if let Some(safe) = crate::core::next::safe_next(next) {
            self.update(|d| d.next = Some(safe));
        }
    }

    /// Take the remembered `next`.
    pub fn take_next(&self) -> Option<String> {
        let mut data = self.data();
        let next = data.next.take();
        if next.is_some() {
            self.save(&data);
        }
        next
    }

    /// Add a flash message for the next page.
    pub fn flash(&self, category: &str, message: &str) {
        self.update(|d| {
            d.flashes.push(Flash {
                category: category.to_string(),
                message: message.to_string(),
            });
            // Keep the cookie small whatever happens.
            let excess = d.flashes.len().saturating_sub(5);
            d.flashes.drain(..excess);
        });
    }

    /// Add the kegauth message `key` (in the request's language) as a flash.
    pub(crate) fn flash_message(&self, category: &str, key: &str) {
        self.flash(category, &self.req.message(key));
    }

    /// Take (and clear) the flash messages.
    pub fn take_flashes(&self) -> Vec<Flash> {
        let mut data = self.data();
        let flashes = std::mem::take(&mut data.flashes);
        if !flashes.is_empty() {
            self.save(&data);
        }
        flashes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::local::asynchronous::Client;

    #[rocket::get("/in")]
    fn log_in(session: Session<'_>) {
        session.log_in("the-key", &SessionRow::default(), Vec::new());
    }

    #[rocket::get("/key")]
    fn key(session: Session<'_>) -> String {
        session.session_key().unwrap_or_else(|| "none".into())
    }

    async fn client(decoded: bool) -> Client {
        let config = Config {
            cookie_secure: false,
            ..Config::default()
        };
        let figment = rocket::Config::figment()
            .merge(("secret_key", [7u8; 64].as_slice()))
            .merge(("log_level", "off"));
        let mut app = rocket::custom(figment)
            .manage(config)
            .mount("/", rocket::routes![log_in, key]);
        if decoded {
            app = app.manage(SessionState::new(
                Arc::new(crate::core::clock::SystemClock),
                true,
            ));
        }
        Client::untracked(app).await.expect("valid rocket")
    }

    async fn key_with(client: &Client, raw: &str) -> String {
        let response = client
            .get("/key")
            .cookie(Cookie::new("kegauth", raw.to_owned()))
            .dispatch()
            .await;
        response.into_string().await.unwrap_or_default()
    }

    #[rocket::async_test]
    async fn decoded_sessions_keep_only_what_decrypted() {
        for decoded in [false, true] {
            let client = client(decoded).await;
            let response = client.get("/in").dispatch().await;
            let raw = response
                .cookies()
                .get("kegauth")
                .map(|c| c.value().to_owned())
                .expect("the session cookie");
            drop(response);
            // Twice: the second read comes from the cache when it is on.
            for _ in 0..2 {
                assert_eq!(key_with(&client, &raw).await, "the-key");
            }
            // One changed character: refused, and refused again (never cached).
            let mut tampered = raw.clone().into_bytes();
            let i = tampered.len() / 2;
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).expect("ASCII");
            for _ in 0..2 {
                assert_eq!(key_with(&client, &tampered).await, "none");
            }
            assert_eq!(key_with(&client, &raw).await, "the-key");
            let state = client.rocket().state::<SessionState>();
            if let Some(cache) = state.and_then(|s| s.decoded.as_ref()) {
                assert_eq!(cache.lock().len(), 1, "only the real cookie is kept");
            }
        }
    }

    struct Headers<'a>(&'a [(&'a str, &'a str)]);

    impl RequestView for Headers<'_> {
        fn message(&self, key: &str) -> String {
            key.to_owned()
        }

        fn header(&self, name: &str) -> Option<&str> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        }
    }

    #[test]
    fn cross_site_posts_are_told_by_sec_fetch_site_then_origin() {
        let trusted = vec!["https://front.example.com".to_string()];
        let host = ("Host", "app.example.com");
        let cases: &[(&[(&str, &str)], bool)] = &[
            // Not a browser, or an old one: nothing to go by.
            (&[host], false),
            (&[("Sec-Fetch-Site", "same-origin"), host], false),
            (&[("Sec-Fetch-Site", "none"), host], false),
            (&[("Sec-Fetch-Site", "cross-site"), host], true),
            (&[("Sec-Fetch-Site", "same-site"), host], true),
            // Sec-Fetch-Site wins over a matching Origin.
            (
                &[
                    ("Sec-Fetch-Site", "cross-site"),
                    ("Origin", "https://app.example.com"),
                    host,
                ],
                true,
            ),
            (
                &[
                    ("Sec-Fetch-Site", "cross-site"),
                    ("Origin", "https://front.example.com"),
                    host,
                ],
                false,
            ),
            (&[("Origin", "https://app.example.com"), host], false),
            (&[("Origin", "http://APP.example.com"), host], false),
            (&[("Origin", "https://evil.example"), host], true),
            (&[("Origin", "https://app.example.com:8443"), host], true),
            (&[("Origin", "null"), host], true),
            (&[("Origin", "https://app.example.com")], true),
            (&[("Origin", "https://front.example.com"), host], false),
        ];
        for (headers, expected) in cases {
            assert_eq!(
                cross_site(&Headers(headers), &trusted),
                *expected,
                "{headers:?}"
            );
        }
    }
}
