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
use rocket::http::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
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

/// Read and write the session cookie.
///
/// ```
/// use kegauth::session::{Session, SessionData};
/// use kegauth::config::Config;
/// # use rocket::local::blocking::Client;
/// # let client = Client::tracked(rocket::build()).unwrap();
/// # let request = client.get("/");
/// # let jar = request.inner().cookies();
/// let config = Config { cookie_secure: false, ..Config::default() };
/// let session = Session::new(jar, &config);
/// session.flash("success", "Saved.");
/// assert_eq!(session.take_flashes()[0].message, "Saved.");
/// assert!(session.take_flashes().is_empty());
/// ```
pub struct Session<'a> {
    jar: &'a CookieJar<'a>,
    config: &'a Config,
}

impl<'a> Session<'a> {
    /// The session of a request.
    pub fn new(jar: &'a CookieJar<'a>, config: &'a Config) -> Self {
        Session { jar, config }
    }

    /// The current data; an absent, undecryptable or malformed cookie is an empty session.
    pub fn data(&self) -> SessionData {
        self.jar
            .get_private(self.config.cookie_name())
            .filter(|c| c.value().len() <= MAX_COOKIE_BYTES)
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_default()
    }

    /// Replace the data (an empty session removes the cookie).
    pub fn save(&self, data: &SessionData) {
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
