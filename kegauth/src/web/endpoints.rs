//! Where kegauth sends people after its views (keg-auth's endpoint overrides).

use crate::core::error::{Error, Result};

/// Redirect targets after kegauth's views, set with
/// [`AuthManagerBuilder::endpoint`](crate::AuthManagerBuilder::endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// `after-login`: default `/`.
    pub after_login: String,
    /// `after-logout`: default the login page.
    pub after_logout: String,
    /// `after-forgot`: default the login page.
    pub after_forgot: String,
    /// `after-reset`: default the login page.
    pub after_reset: String,
    /// `after-verify-account`: default the login page.
    pub after_verify_account: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        let login = crate::web::catchers::LOGIN_PATH.to_string();
        Endpoints {
            after_login: "/".into(),
            after_logout: login.clone(),
            after_forgot: login.clone(),
            after_reset: login.clone(),
            after_verify_account: login,
        }
    }
}

impl Endpoints {
    /// Set one by keg-auth's name; the target must be a same-origin relative path.
    ///
    /// ```
    /// let mut e = kegauth::endpoints::Endpoints::default();
    /// e.set("after-login", "/home").unwrap();
    /// assert_eq!(e.after_login, "/home");
    /// assert!(e.set("after-lunch", "/").is_err());
    /// assert!(e.set("after-login", "https://evil.com").is_err());
    /// ```
    pub fn set(&mut self, name: &str, target: &str) -> Result<()> {
        let Some(target) = crate::core::next::safe_next(target) else {
            return Err(Error::Config(format!(
                "endpoint `{name}` must be a relative path like /home, not `{target}`"
            )));
        };
        let slot = match name {
            "after-login" => &mut self.after_login,
            "after-logout" => &mut self.after_logout,
            "after-forgot" => &mut self.after_forgot,
            "after-reset" => &mut self.after_reset,
            "after-verify-account" => &mut self.after_verify_account,
            _ => {
                return Err(Error::Config(format!(
                    "unknown endpoint `{name}`; expected after-login, after-logout, \
                     after-forgot, after-reset or after-verify-account"
                )))
            }
        };
        *slot = target;
        Ok(())
    }
}
