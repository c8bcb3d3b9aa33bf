//! OAuth 2 / OpenID Connect login: keg-auth's `OAuthAuthenticator`.
//!
//! Each profile in `[[kegauth.oauth_profiles]]` is an OpenID provider (Okta,
//! Auth0, Google, Keycloak, ...), or, without an `issuer`, a plain OAuth 2
//! provider (GitHub, Discord, any provider by its URLs; `oauth_plain`). `GET /login/<profile>` sends the browser to
//! the provider; the provider sends it back to `/oauth-authorize/<profile>`,
//! where kegauth redeems the code and logs the matching local user in. A name
//! that is not a profile answers 404.
//!
//! ```toml
//! [default.kegauth]
//! server_name = "app.example.com"          # the redirect URI is https://app.example.com/oauth-authorize/<name>
//!
//! [[default.kegauth.oauth_profiles]]
//! name = "okta"
//! label = "Okta"                           # the login page's "Log in with Okta" (default: the name)
//! issuer = "https://example.okta.com"      # discovery: <issuer>/.well-known/openid-configuration
//! client_id = "0oa1..."
//! client_secret = "..."                    # leave out for a public client (PKCE only)
//! scopes = ["email", "profile"]            # "openid" is always asked for
//! id_field = "email"                       # or "preferred_username" or "sub"
//! domain_filter = ["example.com"]          # or one string; see below
//! ```
//!
//! **The dance.** The authorization code flow with PKCE (S256). The `state`,
//! the `nonce` and the PKCE verifier live in a private (encrypted) cookie that
//! lasts ten minutes and is removed when the provider sends the browser back,
//! whatever happens next: a state that does not match, a replayed callback or
//! a second use of the cookie is refused. The ID token must carry a signature
//! by one of the provider's keys (JWKS from discovery), the provider as `iss`,
//! this client as `aud`, an `exp` in the future, the cookie's nonce, and (when
//! present) the access token's hash.
//!
//! **Who logs in.** An identity is the provider's `(iss, sub)`. The first
//! time one logs in, the `id_field` claim of the ID token (or of the
//! userinfo answer, when the ID token leaves it out) is matched against the
//! users' login ids, and the user found is linked to the identity (table
//! [`OAUTH_IDENTITIES`](crate::ddl::OAUTH_IDENTITIES)); from then on the
//! identity logs in as that user, and another identity of the same provider
//! claiming the same address is refused. An `email` counts only when
//! `email_verified` is true. kegauth never creates an account here: an
//! identity without a local user, or whose user is disabled, is refused with
//! a message. A successful login marks the user verified. ID tokens must be
//! signed with one of the provider's published (asymmetric) keys: HS* and
//! `none` are refused.
//!
//! **Domain filters.** A profile with `domain_filter` accepts only identities
//! whose domain (what follows the `@`) is one of its domains. Those domains
//! belong to the provider: the password login form refuses them and says
//! which provider to use, forgot-password mails them nothing, creating such a
//! user sends no welcome mail, and the admin pages will not change their
//! login id.
//!
//! **With other authenticators.** OAuth works beside any
//! [`Authenticator`](crate::Authenticator): the login page links to each profile. With a single
//! provider and no password login, use [`Authenticator::Redirect`](crate::Authenticator::Redirect) with
//! `redirect_login_target = "/login/<name>"`; refusals then show a page
//! instead of returning to `/login` (which would go straight back to the
//! provider).
//!
//! Requests to the provider do not follow redirects and time out after
//! `oauth_timeout_secs` (10). A provider that does not answer is a 503 page.
//! Issuers must be `https://`, except on loopback hosts (for development and
//! tests).

use crate::authn::authenticators::oauth_plain::{checked_url, Plain, PlainRefusal};
use crate::authn::service::LoginFailure;
use crate::core::config::oauth::ProviderDomains;
pub use crate::core::config::oauth::{
    domain_of, DomainFilter, IdField, Preset, ProfileConfig, Secret,
};
use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::core::paths::LOGIN_PATH;
use crate::core::AUDIT;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::reqwest;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndUserEmail, EndUserUsername, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, SubjectIdentifier, TokenResponse,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The path that starts a profile's login (`/login/<profile>`).
pub const START_PATH: &str = LOGIN_PATH;
/// The path the provider sends the browser back to (`/oauth-authorize/<profile>`).
pub const CALLBACK_PATH: &str = "/oauth-authorize";

/// How long a started login may take at the provider.
pub(crate) const PENDING_SECS: i64 = 600;
/// How long discovered metadata (endpoints and signing keys) is kept.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two discoveries forced by an unknown signing key.
const MIN_REFRESH: Duration = Duration::from_secs(30);

/// The ID token signatures kegauth accepts.
const ASYMMETRIC_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A checked profile, with its discovered metadata.
pub(crate) struct Profile {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) issuer: IssuerUrl,
    pub(crate) client_id: ClientId,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) id_field: IdField,
    pub(crate) domains: Vec<String>,
    pub(crate) redirect: RedirectUrl,
    pub(crate) metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
    /// A plain OAuth 2 provider's endpoints (`None`: OpenID Connect).
    pub(crate) plain: Option<Plain>,
}

/// The OAuth profiles, checked at launch and managed by the fairing.
pub(crate) struct OAuth {
    profiles: Vec<Profile>,
    pub(crate) http: reqwest::Client,
}

impl OAuth {
    /// Check `oauth_profiles`: names, issuers, domains, and `server_name`
    /// for the redirect URIs.
    pub(crate) fn from_config(config: &Config) -> Result<Self> {
        let bad = |m: String| Error::Config(format!("oauth_profiles: {m}"));
        let mut profiles: Vec<Profile> = Vec::new();
        let mut owners: BTreeMap<String, String> = BTreeMap::new();
        for p in &config.oauth_profiles {
            let name = p.name.as_str();
            let valid_name = !name.is_empty()
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid_name {
                return Err(bad(format!(
                    "a profile name is lowercase letters, digits, - and _, not `{name}`"
                )));
            }
            if profiles.iter().any(|q| q.name == name) {
                return Err(bad(format!("two profiles are named `{name}`")));
            }
            if let Some(issuer) = &p.issuer {
                checked_url(issuer)
                    .map_err(|e| bad(format!("profile `{name}`: the issuer {e}")))?;
            }
            if p.client_id.trim().is_empty() {
                return Err(bad(format!("profile `{name}` needs a client_id")));
            }
            let domains = match &p.domain_filter {
                None => Vec::new(),
                Some(DomainFilter::One(d)) => vec![d.clone()],
                Some(DomainFilter::Many(ds)) => ds.clone(),
            };
            let mut checked = Vec::new();
            for d in domains {
                let d = d.trim().to_ascii_lowercase();
                if !crate::core::config::valid_dns_name(&d) {
                    return Err(bad(format!(
                        "profile `{name}`: domain_filter holds domains like example.com, not `{d}`"
                    )));
                }
                if let Some(other) = owners.insert(d.clone(), name.to_string()) {
                    return Err(bad(format!(
                        "domain `{d}` is in the domain_filter of both `{other}` and `{name}`"
                    )));
                }
                checked.push(d);
            }
            let origin = config.link_origin().ok_or_else(|| {
                bad(
                    "OAuth needs server_name in [kegauth] for its redirect URIs (e.g. \
                     \"example.com\"); kegauth never takes the host from a request"
                        .into(),
                )
            })?;
            let redirect = RedirectUrl::new(format!("{origin}{CALLBACK_PATH}/{name}"))
                .map_err(|e| bad(format!("profile `{name}`: redirect URI: {e}")))?;
            let profile_error = |e: String| bad(format!("profile `{name}`: {e}"));
            let (issuer, plain) = match &p.issuer {
                // As written: the provider's `iss` must match it exactly.
                Some(issuer) => {
                    Plain::refuse_in_openid(p).map_err(profile_error)?;
                    (issuer.clone(), None)
                }
                // A plain provider's identities are kept under its authorize
                // URL's origin.
                None => {
                    let plain = Plain::from_config(p, &redirect).map_err(profile_error)?;
                    (plain.origin().to_string(), Some(plain))
                }
            };
            profiles.push(Profile {
                name: name.to_string(),
                label: p
                    .label
                    .clone()
                    .or_else(|| p.preset.map(|preset| preset.label().to_string()))
                    .unwrap_or_else(|| name.to_string()),
                issuer: IssuerUrl::new(issuer)
                    .map_err(|e| bad(format!("profile `{name}`: issuer: {e}")))?,
                client_id: ClientId::new(p.client_id.trim().to_string()),
                client_secret: p
                    .client_secret
                    .as_ref()
                    .map(|s| ClientSecret::new(s.expose().to_string())),
                scopes: p
                    .scopes()
                    .into_iter()
                    .filter(|s| plain.is_some() || s.as_str() != "openid")
                    .map(Scope::new)
                    .collect(),
                id_field: p.id_field.clone(),
                domains: checked,
                redirect,
                metadata: tokio::sync::Mutex::new(None),
                plain,
            });
        }
        if config.oauth_timeout_secs == 0 {
            return Err(bad("oauth_timeout_secs must be at least 1".into()));
        }
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer point kegauth
            // at other hosts (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(u64::from(config.oauth_timeout_secs)))
            .build()
            .map_err(|e| Error::Config(format!("the OAuth HTTP client: {e}")))?;
        Ok(OAuth { profiles, http })
    }

    /// The provider domains (for the store).
    pub(crate) fn domains(&self) -> ProviderDomains {
        ProviderDomains(
            self.profiles
                .iter()
                .flat_map(|p| p.domains.iter().map(|d| (d.clone(), p.label.clone())))
                .collect(),
        )
    }

    /// The login page's links: each profile's label and start path.
    pub(crate) fn links(&self, next: Option<&str>) -> Vec<(String, String)> {
        let query = next
            .map(|n| {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("next", n);
                format!("?{}", q.finish())
            })
            .unwrap_or_default();
        self.profiles
            .iter()
            .map(|p| (p.label.clone(), format!("{START_PATH}/{}{query}", p.name)))
            .collect()
    }

    pub(crate) fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }
}

/// A login started at the provider: where to send the browser, and what the
/// callback checks (state, nonce: empty for plain OAuth 2, PKCE verifier).
pub(crate) struct Started {
    pub(crate) url: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) verifier: String,
}

impl Profile {
    /// Start a login: the authorization URL with a new state, nonce (OpenID
    /// Connect) and PKCE challenge.
    pub(crate) async fn start(&self, http: &reqwest::Client) -> Result<Started> {
        if let Some(plain) = &self.plain {
            let (url, state, verifier) = plain.authorize(&self.scopes);
            return Ok(Started {
                url: url.to_string(),
                state,
                nonce: String::new(),
                verifier,
            });
        }
        let client = self.client(http, false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.scopes {
            request = request.add_scope(scope.clone());
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// A client from the discovered metadata, discovered again when it is
    /// older than [`METADATA_TTL`] or (`refresh`) when a signing key was not
    /// found and the last discovery is older than [`MIN_REFRESH`].
    pub(crate) async fn client(&self, http: &reqwest::Client, refresh: bool) -> Result<Client> {
        let mut cached = self.metadata.lock().await;
        let usable = cached.as_ref().filter(|(at, _)| {
            at.elapsed() < METADATA_TTL && !(refresh && at.elapsed() >= MIN_REFRESH)
        });
        let metadata = match usable {
            Some((_, metadata)) => metadata.clone(),
            None => {
                let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), http)
                    .await
                    .map_err(|e| {
                        Error::Unavailable(format!(
                            "OpenID provider `{}` ({}): discovery failed: {}",
                            self.name,
                            self.issuer.as_str(),
                            chain(&e)
                        ))
                    })?;
                *cached = Some((Instant::now(), metadata.clone()));
                metadata
            }
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone()))
    }
}

/// An error and its sources, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Why a callback did not log anyone in.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The dance went wrong (state, code, token): start again.
    Failed,
    /// The provider or the person refused.
    Refused,
    /// No verified identity in the claims.
    NoIdentity,
    /// The identity is outside the profile's domains.
    WrongDomain(String),
    /// The local login failed (no such user, disabled).
    Login(String, LoginFailure),
}

/// Who the provider says logged in: its subject, and the `id_field` claim.
pub(crate) struct Identity {
    pub(crate) subject: String,
    pub(crate) login_id: String,
}

/// Redeem the code and find the verified identity: `Err` when the provider
/// cannot be reached, `Ok(Err)` when the answer is refused.
pub(crate) async fn identify(
    p: &Profile,
    http: &reqwest::Client,
    nonce: &str,
    verifier: &str,
    code: &str,
    clock: &crate::authn::session::SessionState,
) -> Result<std::result::Result<Identity, Refusal>> {
    if let Some(plain) = &p.plain {
        let found = plain.identify(http, &p.name, verifier, code).await?;
        return Ok(match found {
            Ok((subject, login_id)) => Ok(Identity { subject, login_id }),
            Err(PlainRefusal::Failed) => Err(Refusal::Failed),
            Err(PlainRefusal::NoIdentity) => Err(Refusal::NoIdentity),
        });
    }
    let mut client = p.client(http, false).await?;
    let request = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| Error::Unavailable(format!("OpenID provider `{}`: {e}", p.name)))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
    let token: CoreTokenResponse = match request.request_async(http).await {
        Ok(token) => token,
        Err(RequestTokenError::ServerResponse(e)) => {
            log::info!(target: AUDIT, "OpenID provider `{}` refused the code: {e}", p.name);
            return Ok(Err(Refusal::Failed));
        }
        Err(RequestTokenError::Request(e)) => {
            return Err(Error::Unavailable(format!(
                "OpenID provider `{}`: the token request failed: {}",
                p.name,
                chain(&e)
            )))
        }
        Err(e) => {
            log::warn!(
                "kegauth: OpenID provider `{}`: bad token answer: {}",
                p.name,
                chain(&e)
            );
            return Ok(Err(Refusal::Failed));
        }
    };
    let Some(id_token) = token.id_token() else {
        log::warn!("kegauth: OpenID provider `{}` sent no ID token", p.name);
        return Ok(Err(Refusal::Failed));
    };
    let nonce = Nonce::new(nonce.to_string());
    let claims = match verified_claims(&client, id_token, &nonce, &token, clock) {
        Err(ClaimsVerificationError::SignatureVerification(_)) => {
            // The provider may have rotated its keys since the last discovery.
            client = p.client(http, true).await?;
            verified_claims(&client, id_token, &nonce, &token, clock)
        }
        other => other,
    };
    let claims = match claims {
        Ok(claims) => claims,
        Err(e) => {
            log::info!(target: AUDIT, "OpenID provider `{}`: ID token refused: {e}", p.name);
            return Ok(Err(Refusal::Failed));
        }
    };
    let subject = claims.subject().clone();
    let found = identity(
        &p.id_field,
        &subject,
        claims.email(),
        claims.email_verified(),
        claims.preferred_username(),
    );
    let with_subject = |found: std::result::Result<String, Refusal>| {
        found.map(|login_id| Identity {
            subject: subject.to_string(),
            login_id,
        })
    };
    if let Some(found) = found {
        return Ok(with_subject(found));
    }
    // Providers may keep the scopes' claims for the userinfo endpoint.
    let Ok(request) = client.user_info(token.access_token().clone(), Some(subject.clone())) else {
        return Ok(Err(Refusal::NoIdentity));
    };
    let info: openidconnect::core::CoreUserInfoClaims = match request.request_async(http).await {
        Ok(info) => info,
        Err(e) => {
            log::warn!(
                "kegauth: OpenID provider `{}`: userinfo failed: {}",
                p.name,
                chain(&e)
            );
            return Ok(Err(Refusal::Failed));
        }
    };
    Ok(with_subject(
        identity(
            &p.id_field,
            &subject,
            info.email(),
            info.email_verified(),
            info.preferred_username(),
        )
        .unwrap_or(Err(Refusal::NoIdentity)),
    ))
}

/// The ID token's claims, verified (signature, issuer, audience, expiry,
/// nonce, access token hash).
fn verified_claims(
    client: &Client,
    id_token: &CoreIdToken,
    nonce: &Nonce,
    token: &CoreTokenResponse,
    clock: &crate::authn::session::SessionState,
) -> std::result::Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let clock = clock.clock();
    // Signatures by the provider's published keys only: no HS* (a shared
    // secret) and, as always with openidconnect, no `none`.
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ASYMMETRIC_ALGS.to_vec())
        // `exp` by kegauth's clock (the store's, which tests can move).
        .set_time_fn(move || clock.now().and_utc());
    let claims = id_token.claims(&verifier, nonce)?;
    if let Some(expected) = claims.access_token_hash() {
        let actual = id_token
            .signing_alg()
            .ok()
            .zip(id_token.signing_key(&verifier).ok())
            .and_then(|(alg, key)| {
                AccessTokenHash::from_token(token.access_token(), alg, key).ok()
            });
        if actual.as_ref() != Some(expected) {
            return Err(ClaimsVerificationError::Other(
                "the access token hash does not match".into(),
            ));
        }
    }
    Ok(claims.clone())
}

/// The identity in a set of claims: `None` when the claim is absent (ask
/// userinfo), `Some(Err)` when present but not trusted.
fn identity(
    field: &IdField,
    subject: &SubjectIdentifier,
    email: Option<&EndUserEmail>,
    email_verified: Option<bool>,
    username: Option<&EndUserUsername>,
) -> Option<std::result::Result<String, Refusal>> {
    match field {
        IdField::Sub => Some(Ok(subject.to_string())),
        IdField::PreferredUsername => username.map(|u| Ok(u.to_string())),
        IdField::Email => match (email, email_verified) {
            (Some(email), Some(true)) => Some(Ok(email.to_string())),
            (Some(_), Some(false)) => Some(Err(Refusal::NoIdentity)),
            _ => None,
        },
        // Refused at launch for OpenID Connect profiles.
        IdField::Field(_) => Some(Err(Refusal::NoIdentity)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(profiles: serde_json::Value, server_name: Option<&str>) -> Result<Config> {
        use rocket::figment::providers::Serialized;
        // Not Rocket's figment: the demo's Rocket.toml would add its settings.
        let mut figment = rocket::figment::Figment::new()
            .merge(Serialized::default("kegauth.oauth_profiles", profiles));
        if let Some(name) = server_name {
            figment = figment.merge(Serialized::default("kegauth.server_name", name));
        }
        Config::from_figment(&figment)
    }

    fn profile(extra: serde_json::Value) -> serde_json::Value {
        let mut p = json!({
            "name": "okta",
            "issuer": "https://example.okta.com",
            "client_id": "app",
        });
        if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        p
    }

    fn problem(profiles: serde_json::Value) -> String {
        match config(profiles, Some("app.example.com")).and_then(|c| OAuth::from_config(&c)) {
            Ok(_) => "accepted".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn profiles_are_checked_at_launch() {
        assert_eq!(problem(json!([profile(json!({}))])), "accepted");
        assert_eq!(
            problem(json!([profile(json!({"issuer": "http://127.0.0.1:4000"}))])),
            "accepted"
        );
        for (profiles, expected) in [
            (
                json!([profile(json!({"name": "Okta"}))]),
                "lowercase letters",
            ),
            (
                json!([profile(json!({"name": "a/b"}))]),
                "lowercase letters",
            ),
            (
                json!([profile(json!({})), profile(json!({}))]),
                "two profiles",
            ),
            (
                json!([profile(json!({"issuer": "http://idp.example.com"}))]),
                "https://",
            ),
            (json!([profile(json!({"issuer": "not a url"}))]), "issuer"),
            (json!([profile(json!({"client_id": " "}))]), "client_id"),
            (
                json!([profile(json!({"domain_filter": "a@b.com"}))]),
                "domains like",
            ),
            (
                json!([
                    profile(json!({"domain_filter": "example.com"})),
                    profile(json!({"name": "g", "domain_filter": ["x.org", "Example.com"]}))
                ]),
                "both `okta` and `g`",
            ),
        ] {
            let got = problem(profiles.clone());
            assert!(got.contains(expected), "{profiles}: {got}");
        }
        let upn = problem(json!([profile(json!({"id_field": "upn"}))]));
        assert!(upn.contains("id_field `upn`"), "{upn}");
        let no_server = config(json!([profile(json!({}))]), None)
            .and_then(|c| OAuth::from_config(&c))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(no_server.contains("server_name"), "{no_server}");
    }

    fn plain(extra: serde_json::Value) -> serde_json::Value {
        let mut p = json!({"name": "github", "preset": "github", "client_id": "app"});
        if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        p
    }

    #[test]
    fn plain_profiles_are_checked_at_launch() {
        for ok in [
            plain(json!({})),
            plain(json!({"preset": "discord", "domain_filter": "example.com"})),
            plain(json!({"id_field": "login"})),
            json!({
                "name": "corp", "client_id": "app", "id_field": "data.user",
                "authorize_url": "https://sso.example.com/authorize",
                "token_url": "https://sso.example.com/token",
                "userinfo_url": "http://127.0.0.1:9/me",
            }),
        ] {
            assert_eq!(problem(json!([ok.clone()])), "accepted", "{ok}");
        }
        for (bad, expected) in [
            (
                json!({"name": "x", "client_id": "app"}),
                "needs an issuer (OpenID Connect), or a preset",
            ),
            (
                plain(json!({"issuer": "https://example.okta.com"})),
                "preset is for plain OAuth 2",
            ),
            (
                plain(json!({"token_url": "http://github.example.com/t"})),
                "token_url: `http://github.example.com/t` must be an https://",
            ),
            (
                json!({
                    "name": "corp", "client_id": "app",
                    "authorize_url": "https://sso.example.com/authorize",
                    "token_url": "https://sso.example.com/token",
                    "userinfo_url": "https://sso.example.com/me",
                }),
                "needs emails_url or email_verified_field",
            ),
            (
                plain(json!({"id_field": "login", "domain_filter": "example.com"})),
                "needs id_field = \"email\"",
            ),
            (plain(json!({"subject_field": "a..b"})), "dotted path"),
        ] {
            let got = problem(json!([bad.clone()]));
            assert!(got.contains(expected), "{bad}: {got}");
        }
        let c = config(json!([plain(json!({}))]), Some("app.example.com")).unwrap();
        let oauth = OAuth::from_config(&c).unwrap();
        let github = oauth.profile("github").unwrap();
        assert_eq!(github.issuer.as_str(), "https://github.com");
        let scopes: Vec<&str> = github.scopes.iter().map(|s| s.as_str()).collect();
        assert_eq!(scopes, ["read:user", "user:email"]);
    }

    #[test]
    fn provider_domains_match_login_ids() {
        let c = config(
            json!([profile(
                json!({"label": "Okta", "domain_filter": ["Example.com", "corp.example.org"]})
            )]),
            Some("app.example.com"),
        )
        .unwrap();
        let oauth = OAuth::from_config(&c).unwrap();
        let domains = oauth.domains();
        assert_eq!(domains.provider_of("ann@EXAMPLE.com"), Some("Okta"));
        assert_eq!(domains.provider_of("bo@corp.example.org"), Some("Okta"));
        assert_eq!(domains.provider_of("bo@sub.example.com"), None);
        assert_eq!(domains.provider_of("example.com"), None);
        assert_eq!(
            oauth.links(Some("/a b?c=1")),
            [(
                "Okta".to_string(),
                "/login/okta?next=%2Fa+b%3Fc%3D1".to_string()
            )]
        );
        assert_eq!(
            oauth.profiles[0].redirect.as_str(),
            "https://app.example.com/oauth-authorize/okta"
        );
    }

    #[test]
    fn only_verified_emails_are_identities() {
        let sub = SubjectIdentifier::new("s-1".into());
        let email = EndUserEmail::new("ann@example.com".into());
        let user = EndUserUsername::new("ann".into());
        let got = |field, verified| {
            identity(&field, &sub, Some(&email), verified, Some(&user))
                .map(|r| r.map_err(|e| format!("{e:?}")))
        };
        assert_eq!(
            got(IdField::Email, Some(true)),
            Some(Ok("ann@example.com".into()))
        );
        assert_eq!(
            got(IdField::Email, Some(false)),
            Some(Err("NoIdentity".into()))
        );
        assert_eq!(got(IdField::Email, None), None);
        assert_eq!(got(IdField::Sub, None), Some(Ok("s-1".into())));
        assert_eq!(
            got(IdField::PreferredUsername, None),
            Some(Ok("ann".into()))
        );
        assert_eq!(
            identity(&IdField::Email, &sub, None, Some(true), None).map(|r| r.is_ok()),
            None
        );
    }
}
