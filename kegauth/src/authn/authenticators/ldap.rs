//! LDAP authentication: keg-auth's `LdapAuthenticator`.
//!
//! With [`Authenticator::Ldap`](crate::Authenticator::Ldap) the login form's
//! password is checked by a simple bind to the directory as
//! `ldap_dn_format` with the login id in place of `{}` (escaped per RFC 4514,
//! so a login id cannot add RDNs). On success the local user is looked up
//! (created if missing) and must be active; no password is stored locally.
//!
//! ```toml
//! [default.kegauth]
//! ldap_server_url = ["ldaps://ldap1.example.org", "ldaps://ldap2.example.org"]  # or one string
//! ldap_dn_format = "uid={},ou=people,dc=example,dc=org"
//! ldap_starttls = false        # upgrade ldap:// connections with StartTLS
//! ldap_timeout_secs = 10       # per server: connect and bind
//! ```
//!
//! Servers are tried in order until one accepts the bind, as keg-auth does
//! ("until a successful query is made"): a server that refuses the
//! credentials, or does not answer, moves the search on to the next, so a
//! user known to only one of several directories can log in. The login is
//! refused when no server accepted and at least one refused (one failed
//! attempt, however many servers refused), and is a 503 page when no server
//! answered at all. An empty password is refused before any bind: for LDAP it
//! would be an anonymous ("unauthenticated") bind, which many servers accept.

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use ldap3::{LdapConnAsync, LdapConnSettings};
use std::time::Duration;

pub use crate::core::config::ldap::ServerUrls;

/// The LDAP settings, checked: what the login view binds with.
///
/// ```
/// let figment = rocket::Config::figment()
///     .merge(("kegauth.ldap_server_url", "ldap://127.0.0.1:389"))
///     .merge(("kegauth.ldap_dn_format", "uid={},dc=example,dc=org"));
/// let config = kegauth::config::Config::from_figment(&figment).unwrap();
/// let ldap = kegauth::ldap::LdapSettings::from_config(&config).unwrap();
/// assert_eq!(ldap.dn_for("ann"), "uid=ann,dc=example,dc=org");
/// assert_eq!(ldap.dn_for("a,ou=admins"), "uid=a\\2cou\\3dadmins,dc=example,dc=org");
/// ```
#[derive(Clone, Debug)]
pub struct LdapSettings {
    urls: Vec<String>,
    dn_prefix: String,
    dn_suffix: String,
    timeout: Duration,
    starttls: bool,
    test_mode: bool,
}

/// What a bind attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// The directory accepted the credentials.
    Accepted,
    /// A server answered and refused them (or the input was refused before binding).
    Refused,
}

impl LdapSettings {
    /// Read and check `ldap_server_url` and `ldap_dn_format`: both are
    /// required, each URL must be `ldap://` or `ldaps://`, and the format must
    /// hold exactly one `{}`.
    pub fn from_config(config: &Config) -> Result<Self> {
        let urls = config
            .ldap_server_url
            .as_ref()
            .map(ServerUrls::to_vec)
            .unwrap_or_default();
        if urls.is_empty() {
            return Err(Error::Config(
                "the LDAP authenticator needs ldap_server_url in [kegauth] (a URL such as \
                 \"ldaps://ldap.example.org\", or a list tried in order)"
                    .into(),
            ));
        }
        for url in &urls {
            let host = url
                .strip_prefix("ldap://")
                .or_else(|| url.strip_prefix("ldaps://"));
            if host.is_none_or(|h| h.trim_end_matches('/').is_empty()) {
                return Err(Error::Config(format!(
                    "ldap_server_url: `{url}` is not an ldap:// or ldaps:// URL"
                )));
            }
        }
        let Some(format) = &config.ldap_dn_format else {
            return Err(Error::Config(
                "the LDAP authenticator needs ldap_dn_format in [kegauth], e.g. \
                 \"uid={},dc=example,dc=org\""
                    .into(),
            ));
        };
        let parts: Vec<&str> = format.split("{}").collect();
        let [prefix, suffix] = parts.as_slice() else {
            return Err(Error::Config(format!(
                "ldap_dn_format must hold exactly one {{}} for the login id, not `{format}`"
            )));
        };
        if config.ldap_timeout_secs == 0 {
            return Err(Error::Config("ldap_timeout_secs must be at least 1".into()));
        }
        Ok(LdapSettings {
            urls,
            dn_prefix: prefix.to_string(),
            dn_suffix: suffix.to_string(),
            timeout: Duration::from_secs(u64::from(config.ldap_timeout_secs)),
            starttls: config.ldap_starttls,
            test_mode: config.ldap_test_mode,
        })
    }

    /// The DN to bind as for a login id, the login id escaped per RFC 4514.
    pub fn dn_for(&self, login_id: &str) -> String {
        format!(
            "{}{}{}",
            self.dn_prefix,
            ldap3::dn_escape(login_id),
            self.dn_suffix
        )
    }

    /// Check `login_id` and `password` with a simple bind, trying the servers
    /// in order until one accepts it. [`Bind::Refused`] when none accepted
    /// and at least one refused (a server that did not answer is logged and
    /// skipped); an empty login id or password is refused without contacting
    /// any server. [`Error::Unavailable`] when no server answered.
    pub async fn bind(&self, login_id: &str, password: &str) -> Result<Bind> {
        if login_id.trim().is_empty() || password.is_empty() {
            return Ok(Bind::Refused);
        }
        if self.test_mode {
            // Only reachable with the `testing` feature: the setting is
            // refused at launch otherwise.
            return Ok(Bind::Accepted);
        }
        let dn = self.dn_for(login_id);
        let mut failures = Vec::new();
        let mut refused = false;
        for url in &self.urls {
            match self.bind_one(url, &dn, password).await {
                Ok(0) => return Ok(Bind::Accepted),
                Ok(rc) => {
                    log::debug!("kegauth: LDAP server {url} refused the bind (result {rc})");
                    refused = true;
                }
                Err(e) => {
                    log::warn!("kegauth: LDAP server {url} did not answer: {e}");
                    failures.push(url.as_str());
                }
            }
        }
        // A refusal anywhere is a refusal (one failed attempt), even when
        // another server was down: an outage must not make wrong passwords
        // free to try.
        if refused {
            return Ok(Bind::Refused);
        }
        Err(Error::Unavailable(format!(
            "no LDAP server answered ({})",
            failures.join(", ")
        )))
    }

    /// One bind: the server's result code, or why it did not answer.
    async fn bind_one(
        &self,
        url: &str,
        dn: &str,
        password: &str,
    ) -> std::result::Result<u32, ldap3::LdapError> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls && url.starts_with("ldap://"));
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, url).await?;
        ldap3::drive!(conn);
        let result = ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password)
            .await;
        let _ = ldap.unbind().await;
        Ok(result?.rc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config> {
        config_with(pairs, false)
    }

    fn config_with(pairs: &[(&str, &str)], test_mode: bool) -> Result<Config> {
        let mut figment = rocket::Config::figment().merge(("kegauth.ldap_test_mode", test_mode));
        for (k, v) in pairs {
            figment = figment.merge((format!("kegauth.{k}"), *v));
        }
        Config::from_figment(&figment)
    }

    #[test]
    fn settings_are_checked() {
        let ok = [
            ("ldap_server_url", "ldap://127.0.0.1:389"),
            ("ldap_dn_format", "uid={},dc=example,dc=org"),
        ];
        assert!(LdapSettings::from_config(&config(&ok).unwrap()).is_ok());
        for (bad, what) in [
            (vec![ok[1]], "ldap_server_url"),
            (vec![ok[0]], "ldap_dn_format"),
            (
                vec![("ldap_server_url", "http://x"), ok[1]],
                "not an ldap://",
            ),
            (
                vec![ok[0], ("ldap_dn_format", "uid=x,dc=example")],
                "exactly one",
            ),
            (
                vec![ok[0], ("ldap_dn_format", "uid={},cn={}")],
                "exactly one",
            ),
        ] {
            let err = LdapSettings::from_config(&config(&bad).unwrap()).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
    }

    #[test]
    fn dns_are_escaped() {
        let c = config(&[
            ("ldap_server_url", "ldap://127.0.0.1:389"),
            ("ldap_dn_format", "uid={},dc=example,dc=org"),
        ])
        .unwrap();
        let s = LdapSettings::from_config(&c).unwrap();
        for (input, escaped) in [
            ("a,ou=admins", "a\\2cou\\3dadmins"),
            ("a\\", "a\\5c"),
            ("a+b", "a\\2bb"),
            ("#x", "\\23x"),
            (" x ", "\\20x\\20"),
            ("a\0b", "a\\00b"),
            ("*", "*"),
        ] {
            assert_eq!(s.dn_for(input), format!("uid={escaped},dc=example,dc=org"));
        }
    }

    #[cfg(not(feature = "testing"))]
    #[test]
    fn test_mode_is_refused_without_the_testing_feature() {
        let err = config_with(&[], true).unwrap_err();
        assert!(err.to_string().contains("testing"), "{err}");
    }

    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn test_mode_accepts_every_bind_but_an_empty_password() {
        let c = config_with(
            &[
                ("ldap_server_url", "ldap://127.0.0.1:1"),
                ("ldap_dn_format", "uid={},dc=example,dc=org"),
            ],
            true,
        )
        .unwrap();
        let s = LdapSettings::from_config(&c).unwrap();
        assert_eq!(s.bind("ann", "anything").await.unwrap(), Bind::Accepted);
        assert_eq!(s.bind("ann", "").await.unwrap(), Bind::Refused);
    }
}
