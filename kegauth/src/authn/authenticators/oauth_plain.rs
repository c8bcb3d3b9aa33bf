//! Plain OAuth 2 providers: no discovery and no ID token, the person read
//! from a JSON user-info URL with the access token (GitHub, Discord, or any
//! provider given by its URLs). The dance around it (state and PKCE in the
//! private cookie, the callback's checks, the domain filters, linking an
//! identity to a user) is [`crate::oauth`]'s; this module holds what differs:
//! the endpoints, the token request, and reading the user info.
//!
//! ```toml
//! [[default.kegauth.oauth_profiles]]
//! name = "github"
//! preset = "github"               # or "discord"; or leave it out and give the URLs:
//! client_id = "Iv1..."
//! client_secret = "..."
//! # authorize_url = "https://github.com/login/oauth/authorize"
//! # token_url = "https://github.com/login/oauth/access_token"
//! # userinfo_url = "https://api.github.com/user"
//! # emails_url = "https://api.github.com/user/emails"   # [{email, primary, verified}]
//! # subject_field = "id"          # the provider's id for the person (dotted paths allowed)
//! # email_verified_field = "verified"                    # instead of emails_url
//! # id_field = "email"            # or any user-info field: "login", "data.username"
//! ```
//!
//! An email counts only when the provider says it is verified: the primary
//! entry of `emails_url` with `verified: true`, or the `email` field with
//! `email_verified_field` true. A profile matching on email must say where
//! that comes from, and a profile with a `domain_filter` must match on email.

use crate::core::config::oauth::{IdField, Preset, ProfileConfig};
use crate::core::error::{Error, Result};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use openidconnect::reqwest;
use openidconnect::url::Url;
use serde_json::Value;

type PlainClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A checked plain OAuth 2 profile: its client and how to read the person.
pub(crate) struct Plain {
    client: PlainClient,
    origin: String,
    userinfo: Url,
    emails: Option<Url>,
    subject_field: String,
    email_verified_field: Option<String>,
    id_field: IdField,
}

/// Why a plain provider's answer logged nobody in.
#[derive(Debug)]
pub(crate) enum PlainRefusal {
    /// The provider refused the code, or answered something unreadable.
    Failed,
    /// No id, or no verified email, in the user info.
    NoIdentity,
}

/// `url` when kegauth may call it: `https://`, or `http://` on a loopback
/// host (development and tests).
pub(crate) fn checked_url(url: &str) -> std::result::Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("`{url}`: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let secure = parsed.scheme() == "https"
        || (parsed.scheme() == "http" && crate::core::config::is_loopback(host));
    if !secure || host.is_empty() {
        return Err(format!(
            "`{url}` must be an https:// URL (http:// only on loopback)"
        ));
    }
    Ok(parsed)
}

/// A dotted path: segments that are not empty.
fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|s| !s.trim().is_empty())
}

/// The preset's URLs: authorize, token, user info, emails; and its fields:
/// email verified.
fn preset_urls(preset: Option<Preset>) -> [Option<&'static str>; 5] {
    match preset {
        None => [None; 5],
        Some(Preset::Github) => [
            Some("https://github.com/login/oauth/authorize"),
            Some("https://github.com/login/oauth/access_token"),
            Some("https://api.github.com/user"),
            Some("https://api.github.com/user/emails"),
            None,
        ],
        Some(Preset::Discord) => [
            Some("https://discord.com/oauth2/authorize"),
            Some("https://discord.com/api/oauth2/token"),
            Some("https://discord.com/api/users/@me"),
            None,
            Some("verified"),
        ],
    }
}

impl Plain {
    /// Check that an OpenID Connect profile (one with an `issuer`) names
    /// none of the plain OAuth 2 settings; what is wrong, for the launch
    /// error.
    pub(crate) fn refuse_in_openid(p: &ProfileConfig) -> std::result::Result<(), String> {
        let plain_fields = [
            ("preset", p.preset.is_some()),
            ("authorize_url", p.authorize_url.is_some()),
            ("token_url", p.token_url.is_some()),
            ("userinfo_url", p.userinfo_url.is_some()),
            ("emails_url", p.emails_url.is_some()),
            ("subject_field", p.subject_field.is_some()),
            ("email_verified_field", p.email_verified_field.is_some()),
        ];
        if let Some((field, _)) = plain_fields.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{field} is for plain OAuth 2 profiles; a profile with an issuer is OpenID \
                 Connect (leave out one or the other)"
            ));
        }
        if let IdField::Field(field) = &p.id_field {
            return Err(format!(
                "id_field `{field}`: an OpenID Connect profile matches on email, \
                 preferred_username or sub (any user-info field is for plain OAuth 2)"
            ));
        }
        Ok(())
    }

    /// The checked plain OAuth 2 profile of a profile without an `issuer`,
    /// or what is wrong with it (for the launch error).
    pub(crate) fn from_config(
        p: &ProfileConfig,
        redirect: &RedirectUrl,
    ) -> std::result::Result<Plain, String> {
        let [authorize, token, userinfo, emails, verified] = preset_urls(p.preset);
        let pick = |own: &Option<String>, preset: Option<&str>| {
            own.clone().or_else(|| preset.map(str::to_string))
        };
        let url = |what: &str, own: &Option<String>, preset: Option<&str>| {
            let Some(url) = pick(own, preset) else {
                return Err(format!(
                    "needs an issuer (OpenID Connect), or a preset (\"github\", \"discord\") or \
                     {what} (plain OAuth 2)"
                ));
            };
            checked_url(&url).map_err(|e| format!("{what}: {e}"))
        };
        let authorize = url("authorize_url", &p.authorize_url, authorize)?;
        let token = url("token_url", &p.token_url, token)?;
        let userinfo = url("userinfo_url", &p.userinfo_url, userinfo)?;
        let emails = match pick(&p.emails_url, emails) {
            Some(u) => Some(checked_url(&u).map_err(|e| format!("emails_url: {e}"))?),
            None => None,
        };
        let email_verified_field = pick(&p.email_verified_field, verified);
        let subject_field = p.subject_field.clone().unwrap_or_else(|| "id".into());
        for (what, path) in [
            ("subject_field", Some(subject_field.as_str())),
            ("email_verified_field", email_verified_field.as_deref()),
            (
                "id_field",
                match &p.id_field {
                    IdField::Field(f) => Some(f.as_str()),
                    _ => None,
                },
            ),
        ] {
            if let Some(path) = path.filter(|p| !valid_path(p)) {
                return Err(format!(
                    "{what} names a user-info field, or a dotted path (data.login), not `{path}`"
                ));
            }
        }
        if p.id_field == IdField::Email && emails.is_none() && email_verified_field.is_none() {
            return Err(
                "id_field = \"email\" needs emails_url or email_verified_field: kegauth \
                        trusts only emails the provider says are verified"
                    .into(),
            );
        }
        if p.domain_filter.is_some() && p.id_field != IdField::Email {
            return Err(
                "domain_filter on a plain OAuth 2 profile needs id_field = \"email\": domains \
                 are checked on verified emails only"
                    .into(),
            );
        }
        let mut client = BasicClient::new(ClientId::new(p.client_id.trim().to_string()))
            .set_auth_uri(AuthUrl::from_url(authorize.clone()))
            .set_token_uri(TokenUrl::from_url(token))
            .set_redirect_uri(redirect.clone())
            // Most plain providers (GitHub among them) read the client's
            // credentials from the form, not from Basic authentication.
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = &p.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        Ok(Plain {
            client,
            origin: authorize.origin().ascii_serialization(),
            userinfo,
            emails,
            subject_field,
            email_verified_field,
            id_field: p.id_field.clone(),
        })
    }

    /// The provider's identity namespace (its authorize URL's origin): the
    /// `iss` half of the `(iss, sub)` an identity is stored as.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// The authorization URL, with a new state and PKCE challenge: the URL,
    /// the state and the verifier.
    pub(crate) fn authorize(&self, scopes: &[Scope]) -> (Url, String, String) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        (url, state.secret().clone(), verifier.secret().clone())
    }

    /// Redeem the code and read the person: `(subject, login id)`. `Err`
    /// when the provider cannot be reached, `Ok(Err)` when its answer is
    /// refused.
    pub(crate) async fn identify(
        &self,
        http: &reqwest::Client,
        name: &str,
        verifier: &str,
        code: &str,
    ) -> Result<std::result::Result<(String, String), PlainRefusal>> {
        let request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
        let token = match request.request_async(http).await {
            Ok(token) => token,
            Err(RequestTokenError::ServerResponse(e)) => {
                log::info!(target: crate::core::AUDIT, "OAuth provider `{name}` refused the code: {e}");
                return Ok(Err(PlainRefusal::Failed));
            }
            Err(RequestTokenError::Request(e)) => {
                return Err(Error::Unavailable(format!(
                    "OAuth provider `{name}`: the token request failed: {e}"
                )))
            }
            Err(e) => {
                log::warn!("kegauth: OAuth provider `{name}`: bad token answer: {e}");
                return Ok(Err(PlainRefusal::Failed));
            }
        };
        let access = token.access_token().secret();
        let info = match get_json(http, &self.userinfo, access, name).await? {
            Ok(info) => info,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Some(subject) = lookup(&info, &self.subject_field).and_then(text) else {
            log::warn!(
                "kegauth: OAuth provider `{name}`: no `{}` in the user info",
                self.subject_field
            );
            return Ok(Err(PlainRefusal::NoIdentity));
        };
        let login_id = match &self.id_field {
            IdField::Sub => Some(subject.clone()),
            IdField::PreferredUsername => lookup(&info, "preferred_username").and_then(text),
            IdField::Field(path) => lookup(&info, path).and_then(text),
            IdField::Email => match self.verified_email(http, &info, access, name).await? {
                Ok(email) => email,
                Err(refusal) => return Ok(Err(refusal)),
            },
        };
        Ok(login_id
            .map(|login_id| (subject, login_id))
            .ok_or(PlainRefusal::NoIdentity))
    }

    /// The person's verified email: the primary verified entry of
    /// `emails_url`, or `email` when `email_verified_field` is true.
    async fn verified_email(
        &self,
        http: &reqwest::Client,
        info: &Value,
        access: &str,
        name: &str,
    ) -> Result<std::result::Result<Option<String>, PlainRefusal>> {
        if let Some(url) = &self.emails {
            let emails = match get_json(http, url, access, name).await? {
                Ok(emails) => emails,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let primary = emails
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| is_true(e.get("primary")) && is_true(e.get("verified")));
            return Ok(Ok(primary.and_then(|e| e.get("email")).and_then(text)));
        }
        let verified = self
            .email_verified_field
            .as_deref()
            .is_some_and(|field| is_true(lookup(info, field)));
        Ok(Ok(verified
            .then(|| info.get("email").and_then(text))
            .flatten()))
    }
}

/// GET `url` with the access token: its JSON, `Ok(Err)` when the provider
/// refused or answered something else, `Err` when it cannot be reached.
async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    access: &str,
    name: &str,
) -> Result<std::result::Result<Value, PlainRefusal>> {
    let answer = http
        .get(url.clone())
        .bearer_auth(access)
        .header("Accept", "application/json")
        // GitHub's API refuses requests without one.
        .header("User-Agent", "kegauth")
        .send()
        .await
        .map_err(|e| Error::Unavailable(format!("OAuth provider `{name}`: {url}: {e}")))?;
    let status = answer.status();
    if !status.is_success() {
        log::warn!("kegauth: OAuth provider `{name}`: {url} answered {status}");
        return Ok(Err(PlainRefusal::Failed));
    }
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| Error::Unavailable(format!("OAuth provider `{name}`: {url}: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => Ok(Ok(json)),
        Err(e) => {
            log::warn!("kegauth: OAuth provider `{name}`: {url}: not JSON: {e}");
            Ok(Err(PlainRefusal::Failed))
        }
    }
}

/// The value at a dotted path (`data.user.id`).
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key.trim()))
}

/// A string, or a number as text (GitHub's ids are numbers); nothing empty.
fn text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `true`, or the string `"true"` (some providers send booleans as strings).
fn is_true(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true))) || value.and_then(Value::as_str) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_by_dotted_paths() {
        let info = json!({"id": 42, "data": {"login": "ann", "empty": " "}, "ok": "true"});
        assert_eq!(lookup(&info, "id").and_then(text).as_deref(), Some("42"));
        assert_eq!(
            lookup(&info, "data.login").and_then(text).as_deref(),
            Some("ann")
        );
        assert_eq!(lookup(&info, "data.empty").and_then(text), None);
        assert_eq!(lookup(&info, "data.missing"), None);
        assert_eq!(lookup(&info, "data").and_then(text), None);
        assert!(is_true(lookup(&info, "ok")));
        assert!(!is_true(lookup(&info, "id")));
        assert!(valid_path("data.login") && !valid_path("data..login") && !valid_path(""));
    }

    #[test]
    fn urls_must_be_https_but_on_loopback() {
        assert!(checked_url("https://github.com/login").is_ok());
        assert!(checked_url("http://127.0.0.1:4000/token").is_ok());
        for bad in ["http://github.com/login", "not a url", "ftp://x.org/"] {
            assert!(checked_url(bad).is_err(), "{bad}");
        }
    }
}
