//! kegauth's settings, read from `Rocket.toml` (or any Rocket figment source)
//! under the `kegauth` key, e.g. `[default.kegauth]`.
//!
//! Keys are keg-auth's `KEGAUTH_*` settings in snake_case. Unknown keys are an
//! error at launch, so a misspelt security setting cannot pass unnoticed.
//!
//! ```toml
//! [default.kegauth]
//! logout_clear_session = true
//! attempt_limit = 10
//! cookie_secure = false   # only for plain-HTTP development on a non-localhost host
//! ```

pub(crate) mod jwt;
pub(crate) mod ldap;
pub(crate) mod mail;
pub(crate) mod oauth;
pub(crate) mod proxy;

use serde::Deserialize;

/// The default `base_template`: kegauth's own layout.
pub const DEFAULT_BASE_TEMPLATE: &str = "kegauth/base.html";

/// Whether `name` can name a template under `template_dir`: relative, `/`
/// separated, without `.` or `..` segments, empty segments or backslashes.
pub(crate) fn valid_template_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.contains(':'))
}

/// The default `session_cache_secs`: one second. Repeat requests within it
/// (a page and what it loads, an API client's burst) send no statement,
/// while a write made outside this instance (another instance, the CLI, the
/// app's own SQL) waits at most a second to take effect.
///
/// ```
/// let config = kegauth::config::Config::default();
/// assert_eq!(config.session_cache_secs, kegauth::config::DEFAULT_SESSION_CACHE_SECS);
/// ```
pub const DEFAULT_SESSION_CACHE_SECS: u32 = 1;

/// kegauth's configuration. Every field has keg-auth's default.
///
/// ```
/// let figment = rocket::Config::figment()
///     .merge(("kegauth.attempt_limit", 5))
///     .merge(("kegauth.login_attempt_lockout", 60));
/// let config = kegauth::config::Config::from_figment(&figment).unwrap();
/// assert_eq!(config.attempt_limit, 5);
/// assert_eq!(config.attempt_lockout_for(kegauth::AttemptType::Login), 60);
/// assert_eq!(config.attempt_lockout_for(kegauth::AttemptType::Reset), 3600);
/// assert!(config.logout_clear_session);
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Clear the whole session on logout (keg-auth `KEGAUTH_LOGOUT_CLEAR_SESSION`).
    pub logout_clear_session: bool,
    /// HTTP methods auth checks let through (e.g. `["OPTIONS"]` for CORS preflights).
    pub http_methods_excluded: Vec<String>,
    /// Minutes a verification or reset token stays valid.
    pub token_expire_mins: u32,
    /// Positional arguments of `auth create-user`, mapped to the user entity's fields.
    pub cli_user_args: Vec<String>,
    /// Site name used in mail bodies.
    pub email_site_name: String,
    /// Site abbreviation used in mail subjects.
    pub email_site_abbr: String,
    /// Host (and port) for links in mail, e.g. `example.com` or `localhost:8000`.
    pub server_name: Option<String>,
    /// Scheme for links in mail.
    pub preferred_url_scheme: String,
    /// Attempt limiting on login, forgot and reset.
    pub attempt_limit_enabled: bool,
    /// Attempts allowed within the timespan.
    pub attempt_limit: u32,
    /// Seconds in which the limit can be reached.
    pub attempt_timespan: u32,
    /// Seconds a locked-out input or address stays locked.
    pub attempt_lockout: u32,
    /// Limit by source IP as well as by input.
    pub attempt_ip_limit: bool,
    /// Override of `attempt_limit` for login.
    pub login_attempt_limit: Option<u32>,
    /// Override of `attempt_timespan` for login.
    pub login_attempt_timespan: Option<u32>,
    /// Override of `attempt_lockout` for login.
    pub login_attempt_lockout: Option<u32>,
    /// Override of `attempt_limit` for forgot-password.
    pub forgot_attempt_limit: Option<u32>,
    /// Override of `attempt_timespan` for forgot-password.
    pub forgot_attempt_timespan: Option<u32>,
    /// Override of `attempt_lockout` for forgot-password.
    pub forgot_attempt_lockout: Option<u32>,
    /// Override of `attempt_limit` for reset-password.
    pub reset_attempt_limit: Option<u32>,
    /// Override of `attempt_timespan` for reset-password.
    pub reset_attempt_timespan: Option<u32>,
    /// Override of `attempt_lockout` for reset-password.
    pub reset_attempt_lockout: Option<u32>,
    /// Mails a request from outside may make kegauth send to one address
    /// (a reset link, a verification mail resent), per kind of mail, in
    /// each `mail_limit_timespan`; more are held back, silently (0 turns
    /// the limit off).
    pub mail_limit: u32,
    /// The window of `mail_limit`, in seconds.
    pub mail_limit_timespan: u32,
    /// Proxies believed about the client's address (IPs or CIDR ranges); see
    /// [`crate::client_ip`]. Empty by default: the peer address is the client.
    pub trusted_proxies: Vec<String>,
    /// Origins (`scheme://host[:port]`) whose form posts are accepted although
    /// the browser marks them cross-site, e.g. another front end of the same
    /// app. Empty by default: only same-origin posts (and posts from
    /// clients that are not browsers) pass the CSRF check.
    pub trusted_origins: Vec<String>,
    /// The header trusted proxies put the client's address in.
    pub proxy_header: String,
    /// Where `RedirectAuthenticator` sends `/login` (a relative path).
    pub redirect_login_target: Option<String>,
    /// The template variable holding the page title.
    pub template_title_var: String,
    /// The layout kegauth's pages extend (keg-auth's `KEGAUTH_BASE_TEMPLATE`):
    /// a MiniJinja template name, looked up as kegauth's own templates are
    /// (`<template_dir>/<name>.j2`, then `<template_dir>/<name>`, and for a
    /// name without an extension `<name>.html.j2` and `<name>.html`). With
    /// `kegauth::dyn_templates` it is a name in the app's
    /// `rocket_dyn_templates` engine (`layout` for `layout.html.j2`). Its blocks
    /// that kegauth's pages fill: `content`; it may also use `title`, `head`,
    /// `nav`, `flashes` and `heading` as `kegauth/base.html` does, and the
    /// variables `page_title`, `flashes`, `menus`, `lang` and `t(..)`. A name
    /// that is not found stops the launch. Default: `kegauth/base.html`.
    pub base_template: String,
    /// Render multi-selects with select2.
    pub use_select2: bool,
    /// keg-auth's detailed login errors ("No user account matches", "account disabled").
    /// Off by default: every failed login looks the same, so login ids cannot be enumerated.
    pub detailed_login_errors: bool,
    /// Set the `Secure` flag on the session cookie (and use the `__Host-` prefix).
    /// Browsers accept secure cookies from `http://localhost` too.
    pub cookie_secure: bool,
    /// Seconds without a request after which a logged-in session ends
    /// (default 1800, 30 minutes; 0: never). Counted from a time inside the
    /// encrypted cookie, refreshed at most once a minute.
    pub session_idle_timeout_secs: u32,
    /// Seconds after the login at which a session ends however busy it is
    /// (default 43200, 12 hours; 0: never).
    pub session_absolute_timeout_secs: u32,
    /// Days a session lasts when the user ticks "remember me" on the login
    /// form (default 30; 0 hides the box; at most 400, the longest a browser
    /// keeps a cookie). A remembered session's cookie survives a browser
    /// restart; it ends after these days, not by the idle and absolute
    /// timeouts, and like any session on a password change, when the user is
    /// disabled, when their rights change, or from the sessions list.
    pub remember_me_days: u32,
    /// Whether users who log in by username may change it on the account
    /// page (default false; users who log in by email change their address
    /// there through a link mailed to the new one, whatever this says).
    pub allow_username_change: bool,
    /// Seconds to keep a session's user and permissions in memory (default
    /// 1; 0: look them up on every request). The store's own writes clear
    /// the cache at once; writes from other instances, the CLI or the app's
    /// own SQL take effect within this time. See
    /// [`Store::with_session_cache`](crate::Store::with_session_cache).
    pub session_cache_secs: u32,
    /// Seconds a session's menu (which entries it may see) is kept (default
    /// 300; 0: worked out on every page). Logging in or out and the store's
    /// own writes clear it at once; menus only hide links, the routes still
    /// check every request.
    pub nav_cache_secs: u32,
    /// Second factors (TOTP, recovery codes): `"off"`, `"optional"` (default:
    /// users may enrol from `/account/two-factor`) or `"required"` (every
    /// user must). See [`crate::two_factor`].
    pub two_factor: crate::core::two_factor::TwoFactorMode,
    /// Which logins take the second step for users who have one: any of
    /// `"password"`, `"ldap"`, `"oauth"` (default: `["password", "ldap"]`;
    /// an OAuth provider usually has its own second factor).
    pub two_factor_for: Vec<String>,
    /// Users holding any of these permissions must enrol, whatever
    /// `two_factor` says (unless it is `"off"`): they are sent to the
    /// enrolment page after login until they do.
    pub two_factor_required_for: Vec<String>,
    /// Passkeys and security keys (WebAuthn; default false): users register
    /// them on `/account/two-factor`, sign in with a passkey from the login
    /// page, or use either as the second step after the password. Needs
    /// `server_name` (a domain name: the relying-party id is its host, the
    /// one accepted origin `preferred_url_scheme://server_name`); off while `two_factor` is
    /// `"off"`. See [`crate::passkeys`].
    pub passkeys: bool,
    /// The hash written for new and rehashed passwords (and API tokens):
    /// `"argon2id"` (default) or `"bcrypt"` (cost 12, which keg-auth
    /// verifies: while keg-auth and kegauth share a database during a
    /// migration, see the README). Every scheme's hashes verify either way.
    pub password_scheme: crate::core::password::PasswordScheme,
    /// Threads that hash and verify passwords, at most one hash each at a time
    /// (default: one per core but one, at least one). Requests never hash on
    /// the async executor.
    pub hasher_threads: Option<usize>,
    /// The nice value of the hashing threads on Linux (default 10; 0 keeps
    /// the normal priority, 19 is the most) when `hasher_idle` is off, and of
    /// the threads that take over while the idle ones are starved when it is
    /// on. (Each hashing thread keeps its argon2 memory between hashes, so it
    /// takes no lock the request threads need: at 19 a starved thread that
    /// allocated 19 MiB per hash once added 50 ms spikes; now 19 and 10
    /// measure alike.)
    pub hasher_nice: u8,
    /// Run the hashing threads under Linux's `SCHED_IDLE` (default true):
    /// they get only CPU time no other thread wants, and a request thread
    /// that wakes takes their core at once, so a login storm costs other
    /// requests least (measured on 2 cores, PostgreSQL, default settings: a
    /// paced page's p99 rose 1.7x during 20 concurrent logins, against 3.0x
    /// at nice 10). When other work saturates the CPU and the idle threads
    /// have run one hash for 250 ms
    /// ([`IDLE_GRACE`](crate::password::IDLE_GRACE)), waiting logins are also
    /// hashed on threads at `hasher_nice`, so logins slow down but never
    /// stop. `false`: the hashing threads run at `hasher_nice` only.
    pub hasher_idle: bool,
    /// The mail transport (`[kegauth.mail]`), used when the app sets a mail manager.
    pub mail: Option<mail::MailConfig>,
    /// The LDAP server(s) the LDAP authenticator binds to: a URL or a list tried in order.
    pub ldap_server_url: Option<ldap::ServerUrls>,
    /// The DN to bind as, with `{}` for the (escaped) login id, e.g. `uid={},dc=example,dc=org`.
    pub ldap_dn_format: Option<String>,
    /// Upgrade `ldap://` connections with StartTLS.
    pub ldap_starttls: bool,
    /// Seconds to wait for each LDAP server (connect, then bind).
    pub ldap_timeout_secs: u32,
    /// keg-auth's `KEGAUTH_LDAP_TEST_MODE`: every LDAP bind succeeds. Only
    /// accepted in builds with kegauth's `testing` feature; refused at launch otherwise.
    pub ldap_test_mode: bool,
    /// OAuth / OpenID Connect providers (`[[kegauth.oauth_profiles]]`), each
    /// served at `/login/<name>`; see [`crate::oauth`].
    pub oauth_profiles: Vec<oauth::ProfileConfig>,
    /// Seconds to wait for an OpenID provider's answer (discovery, token, userinfo).
    pub oauth_timeout_secs: u32,
    /// The JWT request loader's settings (`[kegauth.jwt]`), used when the app
    /// registers a [`JwtRequestLoader`](crate::loaders::JwtRequestLoader).
    pub jwt: jwt::JwtConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            logout_clear_session: true,
            http_methods_excluded: Vec::new(),
            token_expire_mins: 240,
            cli_user_args: vec!["email".into()],
            email_site_name: "Keg Application".into(),
            email_site_abbr: "Keg App".into(),
            server_name: None,
            preferred_url_scheme: "https".into(),
            attempt_limit_enabled: true,
            attempt_limit: 15,
            attempt_timespan: 600,
            attempt_lockout: 3600,
            attempt_ip_limit: true,
            login_attempt_limit: None,
            login_attempt_timespan: None,
            login_attempt_lockout: None,
            forgot_attempt_limit: None,
            mail_limit: 3,
            mail_limit_timespan: 900,
            forgot_attempt_timespan: None,
            forgot_attempt_lockout: None,
            reset_attempt_limit: None,
            reset_attempt_timespan: None,
            reset_attempt_lockout: None,
            trusted_proxies: Vec::new(),
            trusted_origins: Vec::new(),
            proxy_header: "X-Forwarded-For".into(),
            redirect_login_target: None,
            template_title_var: "page_title".into(),
            base_template: DEFAULT_BASE_TEMPLATE.into(),
            use_select2: true,
            detailed_login_errors: false,
            cookie_secure: true,
            session_idle_timeout_secs: 1800,
            session_absolute_timeout_secs: 43_200,
            remember_me_days: 30,
            allow_username_change: false,
            session_cache_secs: DEFAULT_SESSION_CACHE_SECS,
            nav_cache_secs: 300,
            // Off in a build without the feature; "optional" there stops the launch.
            two_factor: if cfg!(feature = "two-factor") {
                crate::core::two_factor::TwoFactorMode::Optional
            } else {
                crate::core::two_factor::TwoFactorMode::Off
            },
            two_factor_for: vec!["password".into(), "ldap".into()],
            two_factor_required_for: Vec::new(),
            passkeys: false,
            password_scheme: crate::core::password::PasswordScheme::Argon2id,
            hasher_threads: None,
            hasher_nice: crate::core::password::DEFAULT_HASHER_NICE,
            hasher_idle: true,
            mail: None,
            ldap_server_url: None,
            ldap_dn_format: None,
            ldap_starttls: false,
            ldap_timeout_secs: 10,
            ldap_test_mode: false,
            oauth_profiles: Vec::new(),
            oauth_timeout_secs: 10,
            jwt: jwt::JwtConfig::default(),
        }
    }
}

/// How long a session that is not remembered lives (the session timeouts,
/// in seconds; 0: no such limit): what tells a live row from a dead one.
///
/// ```
/// use kegauth::config::SessionLimits;
/// let limits = SessionLimits { idle_secs: 1800, ..SessionLimits::default() };
/// assert_eq!(limits.absolute_secs, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// `session_idle_timeout_secs`.
    pub idle_secs: u32,
    /// `session_absolute_timeout_secs`.
    pub absolute_secs: u32,
}

/// The longest `remember_me_days` (browsers keep a cookie 400 days at most).
pub const MAX_REMEMBER_ME_DAYS: u32 = 400;

impl Config {
    /// What tells a live session from a dead one: the session timeouts.
    ///
    /// ```
    /// let limits = kegauth::config::Config::default().session_limits();
    /// assert_eq!(limits.idle_secs, 1800);
    /// ```
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle_secs: self.session_idle_timeout_secs,
            absolute_secs: self.session_absolute_timeout_secs,
        }
    }

    /// Whether a login by `method` (`password`, `ldap`, `oauth`) takes the
    /// second step for a user who has a second factor.
    pub fn second_step_for(&self, method: &str) -> bool {
        self.two_factor_on() && self.two_factor_for.iter().any(|m| m == method)
    }

    /// The `server_name` passkeys are bound to, when they are on: an error
    /// when it is missing or names no domain (WebAuthn takes no IP address).
    pub(crate) fn passkeys_server_name(&self) -> crate::core::error::Result<Option<&str>> {
        if !self.passkeys_on() {
            return Ok(None);
        }
        let Some(server_name) = &self.server_name else {
            return Err(crate::core::error::Error::Config(
                "passkeys need server_name in [kegauth] (e.g. server_name = \"app.example.com\"): \
                 the relying-party id and origin come from it, never from the request"
                    .into(),
            ));
        };
        passkey_host(server_name)?;
        Ok(Some(server_name))
    }

    /// Whether passkeys are on: `passkeys`, and second factors on
    /// (`two_factor = "off"` is the master switch).
    pub fn passkeys_on(&self) -> bool {
        self.passkeys && self.two_factor_on()
    }

    /// Whether second factors are on (`two_factor` is not `"off"`).
    pub fn two_factor_on(&self) -> bool {
        self.two_factor != crate::core::two_factor::TwoFactorMode::Off
    }

    /// Read the `kegauth` table of a figment (defaults when it is absent) and validate it.
    pub fn from_figment(figment: &rocket::figment::Figment) -> crate::core::error::Result<Self> {
        let config: Config = if figment.find_value("kegauth").is_ok() {
            figment.extract_inner("kegauth").map_err(|e| {
                crate::core::error::Error::Config(format!("[kegauth] settings: {e}"))
            })?
        } else {
            Config::default()
        };
        config.validate()?;
        #[cfg(not(feature = "jwt"))]
        if figment.find_value("kegauth.jwt").is_ok() {
            return Err(missing_feature("[kegauth.jwt]", "jwt"));
        }
        Ok(config)
    }

    /// The settings this build cannot honour: each needs a Cargo feature of
    /// kegauth's that it was built without.
    fn check_features(&self) -> crate::core::error::Result<()> {
        if !cfg!(feature = "mail") && self.mail.is_some() {
            return Err(missing_feature("[kegauth.mail]", "mail"));
        }
        if !cfg!(feature = "ldap") && self.ldap_server_url.is_some() {
            return Err(missing_feature("ldap_server_url", "ldap"));
        }
        if !cfg!(feature = "oauth") && !self.oauth_profiles.is_empty() {
            return Err(missing_feature("oauth_profiles", "oauth"));
        }
        if !cfg!(feature = "two-factor") && self.two_factor_on() {
            return Err(missing_feature(
                "two_factor = \"optional\" or \"required\" (or two_factor = \"off\")",
                "two-factor",
            ));
        }
        if !cfg!(feature = "passkeys") && self.passkeys {
            return Err(missing_feature("passkeys = true", "passkeys"));
        }
        Ok(())
    }

    fn validate(&self) -> crate::core::error::Result<()> {
        let bad = |m: String| Err(crate::core::error::Error::Config(m));
        if !valid_template_name(&self.base_template) {
            return bad(format!(
                "base_template is a template name under template_dir, like layout.html, \
                 not `{}`",
                self.base_template
            ));
        }
        if self.hasher_threads == Some(0) {
            return bad("hasher_threads must be at least 1".into());
        }
        self.check_features()?;
        for m in &self.two_factor_for {
            if !crate::core::two_factor::LOGIN_METHODS.contains(&m.as_str()) {
                return bad(format!(
                    "two_factor_for: `{m}` is not one of {:?}",
                    crate::core::two_factor::LOGIN_METHODS
                ));
            }
        }
        if self.remember_me_days > MAX_REMEMBER_ME_DAYS {
            return bad(format!(
                "remember_me_days is 0 to {MAX_REMEMBER_ME_DAYS}, not {}",
                self.remember_me_days
            ));
        }
        if self.mail_limit_timespan == 0 {
            return bad("mail_limit_timespan is at least 1 second".into());
        }
        if self.hasher_nice > 19 {
            return bad(format!("hasher_nice is 0 to 19, not {}", self.hasher_nice));
        }
        for m in &self.http_methods_excluded {
            if m.parse::<rocket::http::Method>().is_err() {
                return bad(format!(
                    "http_methods_excluded: `{m}` is not an HTTP method"
                ));
            }
        }
        if let Some(target) = &self.redirect_login_target
            && crate::core::next::safe_next(target).is_none()
        {
            return bad(format!(
                "redirect_login_target must be a relative path like /sso, not `{target}`"
            ));
        }
        if !matches!(self.preferred_url_scheme.as_str(), "http" | "https") {
            return bad(format!(
                "preferred_url_scheme must be http or https, not `{}`",
                self.preferred_url_scheme
            ));
        }
        if self.attempt_limit_enabled {
            for kind in crate::core::entity::AttemptType::ALL {
                if self.attempt_limit_for(kind) == 0 {
                    return bad(format!(
                        "the {} attempt limit must be at least 1 (set attempt_limit_enabled \
                         = false to turn limiting off)",
                        kind.as_str()
                    ));
                }
            }
        }
        if let Some(server_name) = &self.server_name
            && !valid_server_name(server_name)
        {
            return bad(format!(
                "server_name must be a host with an optional port, like example.com or \
                     localhost:8000, not `{server_name}`"
            ));
        }
        // Checked only when on: `two_factor = "off"` turns passkeys off too.
        // (What only `webauthn_rp` can check is left to the services layer,
        // which owns the ceremonies: `services::check_config`.)
        self.passkeys_server_name()?;
        for origin in &self.trusted_origins {
            let valid = origin.split_once("://").is_some_and(|(scheme, authority)| {
                matches!(scheme, "http" | "https") && valid_server_name(authority)
            });
            if !valid {
                return bad(format!(
                    "trusted_origins holds origins like https://app.example.com (no path), \
                     not `{origin}`"
                ));
            }
        }
        proxy::ProxyPolicy::new(&self.trusted_proxies, &self.proxy_header)?;
        if self.ldap_test_mode && !cfg!(feature = "testing") {
            return bad(
                "ldap_test_mode makes every LDAP password valid; it is only accepted in \
                 builds with kegauth's `testing` feature"
                    .into(),
            );
        }
        if self.token_expire_mins == 0 {
            return bad("token_expire_mins must be at least 1".into());
        }
        Ok(())
    }

    /// The attempt limit for a view (its override, else `attempt_limit`).
    pub fn attempt_limit_for(&self, kind: crate::core::entity::AttemptType) -> u32 {
        self.pick(
            kind,
            [
                self.login_attempt_limit,
                self.forgot_attempt_limit,
                self.reset_attempt_limit,
            ],
        )
        .unwrap_or(self.attempt_limit)
    }

    /// The attempt timespan (seconds) for a view.
    pub fn attempt_timespan_for(&self, kind: crate::core::entity::AttemptType) -> u32 {
        self.pick(
            kind,
            [
                self.login_attempt_timespan,
                self.forgot_attempt_timespan,
                self.reset_attempt_timespan,
            ],
        )
        .unwrap_or(self.attempt_timespan)
    }

    /// The lockout (seconds) for a view.
    pub fn attempt_lockout_for(&self, kind: crate::core::entity::AttemptType) -> u32 {
        self.pick(
            kind,
            [
                self.login_attempt_lockout,
                self.forgot_attempt_lockout,
                self.reset_attempt_lockout,
            ],
        )
        .unwrap_or(self.attempt_lockout)
    }

    fn pick(
        &self,
        kind: crate::core::entity::AttemptType,
        per_kind: [Option<u32>; 3],
    ) -> Option<u32> {
        per_kind[kind.index()]
    }

    /// The scheme and host links in mail start with (`https://example.com`), or
    /// `None` when `server_name` is not set.
    pub fn link_origin(&self) -> Option<String> {
        self.server_name
            .as_ref()
            .map(|host| format!("{}://{host}", self.preferred_url_scheme))
    }

    /// The session cookie's name: `__Host-kegauth` when secure (the prefix makes
    /// browsers insist on Secure, Path=/ and no Domain), else `kegauth`.
    pub fn cookie_name(&self) -> &'static str {
        if self.cookie_secure {
            "__Host-kegauth"
        } else {
            "kegauth"
        }
    }
}

/// A host name or IP (IPv6 in brackets) with an optional port: nothing that
/// could add a path, credentials or another host to a link.
fn valid_server_name(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (h.ends_with(']') || !h.contains(':')) => (h, Some(p)),
        _ => (s, None),
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        valid_dns_name(host)
    };
    host_ok && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// The host of `server_name` (without its port) as a WebAuthn relying-party
/// id: a domain name, never an IP address.
pub(crate) fn passkey_host(server_name: &str) -> crate::core::error::Result<&str> {
    let host = match server_name.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => server_name,
    };
    let bad = |why: &str| {
        crate::core::error::Error::Config(format!(
            "passkeys need server_name to be a domain name ({why}): `{server_name}`"
        ))
    };
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return Err(bad("WebAuthn does not take IP addresses"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(bad("letters, digits, `-` and `.` only"));
    }
    Ok(host)
}

/// The error of a setting (`what`) that needs kegauth's Cargo feature
/// `feature`, which this build lacks.
pub(crate) fn missing_feature(what: &str, feature: &str) -> crate::core::error::Error {
    crate::core::error::Error::Config(format!(
        "{what} needs kegauth's `{feature}` feature, which this build lacks: add it to the \
         app's Cargo.toml (kegauth = {{ features = [\"{feature}\", ...] }})"
    ))
}

/// A DNS name (or dotted IPv4 address): dot-separated labels of letters,
/// digits and `-`, none empty.
pub(crate) fn valid_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Whether `host` (a name, an IP, or an IPv6 address in brackets) is this
/// machine: `localhost` or a loopback address.
#[cfg(any(feature = "mail", feature = "oauth"))]
pub(crate) fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[cfg(any(feature = "mail", feature = "oauth"))]
    #[test]
    fn loopback_hosts() {
        assert!(super::is_loopback("localhost"));
        assert!(super::is_loopback("127.0.0.1"));
        assert!(super::is_loopback("[::1]"));
        assert!(!super::is_loopback("smtp.example.com"));
    }

    #[test]
    fn server_names() {
        for ok in [
            "example.com",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "a-b.example",
        ] {
            assert!(super::valid_server_name(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.com/x",
            "user@evil.com",
            "a..b",
            "host:",
            "host:99999",
            "::1",
            "a b",
            "x?y",
        ] {
            assert!(!super::valid_server_name(bad), "{bad}");
        }
    }
}
