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

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The request's session data, read from the cookie once and kept current
/// as the request changes it (Rocket's jar reads only the cookie the request
/// came with).
#[derive(Default)]
struct SessionCache(Mutex<Option<SessionData>>);

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
        })
    }

    fn read_cookie(&self) -> SessionData {
        // Only the authenticated (decrypted) cookie counts: a cookie that fails
        // to decrypt is an empty session, never its raw value.
        self.jar
            .get_private(self.config.cookie_name())
            .filter(|c| c.value().len() <= MAX_COOKIE_BYTES)
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_default()
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
