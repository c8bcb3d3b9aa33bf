//! Sessions: one private (encrypted and authenticated) cookie holding the
//! user's `session_key`, the CSRF token, a stored `next` and flash messages.
//!
//! The cookie carries the key, not the user id: rotating a user's key (any
//! rights change, password change, disable) logs out every session at once.

use crate::config::Config;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
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
}

/// Largest session cookie value accepted (browsers keep 4 KiB per cookie).
const MAX_COOKIE_BYTES: usize = 4096;

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The request's session data, read from the cookie once and kept current
/// as the request changes it (Rocket's jar reads only the cookie the request
/// came with).
#[derive(Default)]
struct SessionCache(Mutex<Option<SessionData>>);

/// Session cookies already decrypted, by their raw (encrypted) value: with
/// the session cache on (`session_cache_secs`), a repeat request skips the
/// decryption and the JSON. Only what decrypted and parsed is kept; a raw
/// value always decrypts to the same data, so entries never go stale. Values
/// over [`DECODED_MAX_RAW`] bytes are not kept, and past [`DECODED_CAPACITY`]
/// entries the map starts over.
pub(crate) struct DecodedSessions(Mutex<HashMap<String, SessionData>>);

/// Entries kept at most in [`DecodedSessions`].
const DECODED_CAPACITY: usize = 10_000;
/// Largest raw cookie value kept in [`DecodedSessions`] (a logged-in session's is about 250).
const DECODED_MAX_RAW: usize = 512;

impl DecodedSessions {
    pub(crate) fn new() -> Self {
        DecodedSessions(Mutex::new(HashMap::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionData>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, raw: &str) -> Option<SessionData> {
        self.lock().get(raw).cloned()
    }

    fn put(&self, raw: &str, data: &SessionData) {
        if raw.len() > DECODED_MAX_RAW {
            return;
        }
        let mut map = self.lock();
        if map.len() >= DECODED_CAPACITY {
            map.clear();
        }
        map.insert(raw.to_owned(), data.clone());
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
    cache: &'r SessionCache,
    decoded: Option<&'r DecodedSessions>,
    menus: Option<&'r crate::nav::Menus>,
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
        Some(Session {
            jar: req.cookies(),
            config: req.rocket().state::<Config>()?,
            cache: req.local_cache(SessionCache::default),
            decoded: req.rocket().state::<DecodedSessions>(),
            menus: req.rocket().state::<crate::nav::Menus>(),
        })
    }

    fn read_cookie(&self) -> SessionData {
        let Some(decoded) = self.decoded else {
            return self.decrypt_cookie().unwrap_or_default();
        };
        let Some(raw) = self.jar.get(self.config.cookie_name()) else {
            return SessionData::default();
        };
        if let Some(data) = decoded.get(raw.value()) {
            return data;
        }
        let data = self.decrypt_cookie();
        if let Some(data) = &data {
            decoded.put(raw.value(), data);
        }
        data.unwrap_or_default()
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SessionData>> {
        self.cache.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current data; an absent, undecryptable or malformed cookie is an empty session.
    pub fn data(&self) -> SessionData {
        let mut cached = self.lock();
        cached.get_or_insert_with(|| self.read_cookie()).clone()
    }

    /// Replace the data (an empty session removes the cookie).
    pub fn save(&self, data: &SessionData) {
        *self.lock() = Some(data.clone());
        let name = self.config.cookie_name();
        if *data == SessionData::default() {
            self.jar.remove_private(Cookie::from(name));
            return;
        }
        let Ok(value) = serde_json::to_string(data) else {
            return;
        };
        let cookie = Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.config.cookie_secure);
        self.jar.add_private(cookie);
    }

    fn update(&self, f: impl FnOnce(&mut SessionData)) {
        let mut data = self.data();
        f(&mut data);
        self.save(&data);
    }

    /// The logged-in user's session key, if any.
    pub fn session_key(&self) -> Option<String> {
        self.data().session_key
    }

    /// Log a user in: a fresh session holding only their key, a new CSRF token
    /// and the messages given (nothing from before login survives).
    pub fn log_in(&self, session_key: &str, flashes: Vec<Flash>) {
        if let Some(menus) = self.menus {
            menus.forget(session_key);
        }
        self.save(&SessionData {
            session_key: Some(session_key.to_string()),
            csrf: Some(random_token()),
            next: None,
            flashes,
        });
    }

    /// Log out: clear the whole session (`logout_clear_session`, the default)
    /// or only the user, keeping the rest.
    pub fn log_out(&self) {
        if let (Some(menus), Some(key)) = (self.menus, self.session_key()) {
            menus.forget(&key);
        }
        if self.config.logout_clear_session {
            self.save(&SessionData::default());
        } else {
            self.update(|d| {
                d.session_key = None;
                d.csrf = Some(random_token());
            });
        }
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

    /// Whether a submitted CSRF token matches the session's (constant time).
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        match self.data().csrf {
            Some(expected) => {
                !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
            }
            None => false,
        }
    }

    /// Remember where to go after login (only a safe relative path is kept).
    pub fn set_next(&self, next: &str) {
        if let Some(safe) = crate::next::safe_next(next) {
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
        session.log_in("the-key", Vec::new());
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
            app = app.manage(DecodedSessions::new());
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
            if let Some(cache) = client.rocket().state::<DecodedSessions>() {
                assert_eq!(cache.lock().len(), 1, "only the real cookie is kept");
            }
        }
    }

    #[test]
    fn decoded_sessions_are_bounded() {
        let cache = DecodedSessions::new();
        let data = SessionData::default();
        cache.put(&"x".repeat(DECODED_MAX_RAW + 1), &data);
        assert!(cache.lock().is_empty());
        for i in 0..=DECODED_CAPACITY {
            cache.put(&i.to_string(), &data);
        }
        assert!(cache.lock().len() <= DECODED_CAPACITY);
    }
}
