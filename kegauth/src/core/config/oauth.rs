//! The settings of one OAuth / OpenID Connect profile
//! (`[[kegauth.oauth_profiles]]`), read with the rest of [`Config`](super::Config);
//! what kegauth does with them is in [`crate::oauth`]. Also the domains a
//! profile's `domain_filter` gives to its provider, which the password login,
//! forgot-password and the user admin consult.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A client secret: compared and stored like a string, never printed.
///
/// ```
/// let secret = kegauth::oauth::Secret::new("s3cr3t");
/// assert_eq!(secret.expose(), "s3cr3t");
/// assert_eq!(format!("{secret:?}"), "Secret(..)");
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The claim a profile matches against the users' login ids.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdField {
    /// `email`, trusted only with `email_verified: true` (the default).
    #[default]
    Email,
    /// `preferred_username`.
    PreferredUsername,
    /// `sub`, the provider's own id for the person.
    Sub,
}

/// `domain_filter`: one domain or a list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum DomainFilter {
    /// One domain.
    One(String),
    /// Several domains.
    Many(Vec<String>),
}

/// One `[[kegauth.oauth_profiles]]` entry, as written in the configuration.
///
/// ```
/// let figment = rocket::Config::figment().merge((
///     "kegauth.oauth_profiles",
///     [rocket::figment::util::map! {
///         "name" => "okta",
///         "issuer" => "https://example.okta.com",
///         "client_id" => "app",
///         "domain_filter" => "example.com",
///     }],
/// ));
/// let config = kegauth::config::Config::from_figment(&figment).unwrap();
/// let okta = &config.oauth_profiles[0];
/// assert_eq!(okta.id_field, kegauth::oauth::IdField::Email);
/// assert_eq!(okta.scopes, ["email", "profile"]);
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// The name in `/login/<name>`: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// What the login page calls the provider (default: the name).
    #[serde(default)]
    pub label: Option<String>,
    /// The issuer URL; its discovery document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret, for a confidential client.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Scopes asked for besides `openid` (default `["email", "profile"]`).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim matched against login ids (default `email`).
    #[serde(default)]
    pub id_field: IdField,
    /// The only domains this profile accepts, which password login then refuses.
    #[serde(default)]
    pub domain_filter: Option<DomainFilter>,
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

/// The domain of a login id (what follows its last `@`), in lowercase.
///
/// ```
/// assert_eq!(kegauth::oauth::domain_of(" Ann@Example.COM ").as_deref(), Some("example.com"));
/// assert_eq!(kegauth::oauth::domain_of("ann"), None);
/// assert_eq!(kegauth::oauth::domain_of("@example.com"), None);
/// ```
pub fn domain_of(login_id: &str) -> Option<String> {
    let (local, domain) = login_id.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// The domains that belong to a provider, and the provider's label: what the
/// password login, forgot-password, new-user mail and the user admin consult.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProviderDomains(pub(crate) BTreeMap<String, String>);

impl ProviderDomains {
    /// The label of the provider `login_id`'s domain belongs to.
    pub(crate) fn provider_of(&self, login_id: &str) -> Option<&str> {
        domain_of(login_id).and_then(|d| self.0.get(&d).map(String::as_str))
    }
}
