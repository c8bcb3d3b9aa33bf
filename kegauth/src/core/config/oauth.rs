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
///
/// ```
/// use kegauth::oauth::IdField;
/// let read = |s: &str| serde_json::from_value::<IdField>(serde_json::json!(s)).unwrap();
/// assert_eq!(read("email"), IdField::Email);
/// assert_eq!(read("sub"), IdField::Sub);
/// assert_eq!(read("login"), IdField::Field("login".into()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum IdField {
    /// `email`, trusted only when the provider says it is verified (the default).
    #[default]
    Email,
    /// `preferred_username`.
    PreferredUsername,
    /// `sub` (OpenID Connect) or the `subject_field` (plain OAuth 2): the
    /// provider's own id for the person.
    Sub,
    /// Any other field of a plain OAuth 2 provider's user info, a dotted path
    /// for nested objects (`data.login`), as keg-auth's `id_field`.
    Field(String),
}

impl<'de> Deserialize<'de> for IdField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(match name.as_str() {
            "email" => IdField::Email,
            "preferred_username" => IdField::PreferredUsername,
            "sub" => IdField::Sub,
            _ => IdField::Field(name),
        })
    }
}

/// A plain OAuth 2 provider kegauth knows the endpoints and user info of.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// GitHub: the user from `/user`, the email from `/user/emails` (the
    /// primary one, when verified); scopes `read:user`, `user:email`.
    Github,
    /// Discord: the user and email from `/users/@me` (`verified`); scopes
    /// `identify`, `email`.
    Discord,
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
/// assert_eq!(okta.scopes(), ["email", "profile"]);
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// The name in `/login/<name>`: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// What the login page calls the provider (default: the name).
    #[serde(default)]
    pub label: Option<String>,
    /// OpenID Connect: the issuer URL; its discovery document is
    /// `<issuer>/.well-known/openid-configuration`. Leave it out for a plain
    /// OAuth 2 provider (`preset`, or the URLs below).
    #[serde(default)]
    pub issuer: Option<String>,
    /// A plain OAuth 2 provider kegauth knows (its URLs, scopes and user
    /// info); each URL below overrides the preset's.
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Plain OAuth 2: where the browser is sent to log in.
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// Plain OAuth 2: where the code is redeemed for an access token.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Plain OAuth 2: the JSON user info, read with the access token.
    #[serde(default)]
    pub userinfo_url: Option<String>,
    /// Plain OAuth 2: a list of the user's emails (`[{email, primary,
    /// verified}]`, GitHub's shape); the primary one counts when verified.
    #[serde(default)]
    pub emails_url: Option<String>,
    /// Plain OAuth 2: the user info field holding the provider's id for the
    /// person (default `id`; dotted paths allowed).
    #[serde(default)]
    pub subject_field: Option<String>,
    /// Plain OAuth 2 without `emails_url`: the user info field that says the
    /// `email` field is verified (`true`). Without either, an email is
    /// never trusted.
    #[serde(default)]
    pub email_verified_field: Option<String>,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret, for a confidential client.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Scopes asked for besides `openid` (default `["email", "profile"]`;
    /// a preset's own for a preset).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The claim matched against login ids (default `email`).
    #[serde(default)]
    pub id_field: IdField,
    /// The only domains this profile accepts, which password login then refuses.
    #[serde(default)]
    pub domain_filter: Option<DomainFilter>,
}

impl Preset {
    /// What the login page calls it unless the profile has a label.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Github => "GitHub",
            Preset::Discord => "Discord",
        }
    }
}

impl ProfileConfig {
    /// The scopes asked for: as configured, else the preset's, else
    /// OpenID Connect's `email` and `profile`.
    pub fn scopes(&self) -> Vec<String> {
        let listed: &[&str] = match self.preset {
            _ if self.scopes.is_some() => &[],
            Some(Preset::Github) => &["read:user", "user:email"],
            Some(Preset::Discord) => &["identify", "email"],
            None => &["email", "profile"],
        };
        self.scopes
            .clone()
            .unwrap_or_else(|| listed.iter().map(|s| s.to_string()).collect())
    }
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
