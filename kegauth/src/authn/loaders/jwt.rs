//! `Authorization: Bearer <jwt>`: short-lived access tokens naming the user's session key.

use super::{Credential, Loaded, LoaderSetup, RequestLoader};
use crate::core::clock::Clock;
use crate::core::entity::UserEntity;
use crate::core::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::TimeDelta;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::rngs::OsRng;
use rand::RngCore;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The longest `Authorization` header value the JWT loader looks at.
pub const MAX_BEARER_BYTES: usize = 4096;

/// What the JWT access token says.
#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

const ACCESS: &str = "access";

struct Keys {
    sign: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    expire: TimeDelta,
    issuer: String,
    audience: String,
    clock: Arc<dyn Clock>,
    auditor: Option<crate::core::audit::Auditor>,
    /// Tokens already verified: the token → its subject and expiry. A token
    /// is the same bytes each time a client sends it, so its signature and
    /// claims need checking once; its expiry is checked on every use. Only
    /// tokens that verified are kept (a forged one never gets in).
    verified: std::sync::Mutex<Verified>,
}

/// Verified tokens: each with its subject and expiry.
type Verified = std::collections::HashMap<String, (String, i64), ahash::RandomState>;

/// Verified tokens kept at most; past it, all are forgotten.
const VERIFIED_CAPACITY: usize = 10_000;

/// keg-auth's `JwtRequestLoader`: `Authorization: Bearer <jwt>`.
///
/// The token is a JWT (HS512 by default) whose subject is the user's session
/// key, so anything that rotates the key (a rights change, a password change,
/// disabling the user, logging out) revokes every token of the user. Only
/// active users load. `exp`, `iat`, `iss`, `aud`, `sub` and `"type": "access"`
/// are required, with no leeway on expiry; a verification or reset token
/// from a mail is never accepted (other claims, another key).
///
/// Settings come from `[kegauth.jwt]` ([`JwtConfig`](crate::loaders::JwtConfig)). Issue tokens from a
/// handler that takes the loader as a request guard (the launch fails when the
/// loader is not registered):
///
/// ```
/// use kegauth::loaders::JwtRequestLoader;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// #[rocket::post("/api/token")]
/// fn token(jwt: &JwtRequestLoader, user: kegauth::AuthUser<User>) -> kegauth::Result<String> {
///     jwt.create_access_token(&*user)
/// }
/// ```
#[derive(Clone, Default)]
pub struct JwtRequestLoader {
    keys: Option<Arc<Keys>>,
}

impl std::fmt::Debug for JwtRequestLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtRequestLoader")
            .field("set_up", &self.keys.is_some())
            .finish_non_exhaustive()
    }
}

fn hmac_algorithm(name: &str) -> Result<Algorithm> {
    match name.trim().to_ascii_uppercase().as_str() {
        "HS256" => Ok(Algorithm::HS256),
        "HS384" => Ok(Algorithm::HS384),
        "HS512" => Ok(Algorithm::HS512),
        _ => Err(Error::Config(format!(
            "[kegauth.jwt] algorithms: `{name}` is not supported; use HS512, HS384 or HS256"
        ))),
    }
}

impl JwtRequestLoader {
    fn keys(&self) -> Result<&Keys> {
        self.keys.as_deref().ok_or_else(|| {
            Error::Config("the JwtRequestLoader is used before the AuthManager set it up".into())
        })
    }

    /// A new access token for `user` (keg-auth's `create_access_token`).
    /// Refused for a user who is not active, whose token would never load.
    pub fn create_access_token<U: UserEntity>(&self, user: &U) -> Result<String> {
        let keys = self.keys()?;
        let now = keys.clock.now();
        if !user.is_active_at(now) {
            return Err(Error::Invalid("the user is not active".into()));
        }
        let mut jti = [0u8; 16];
        OsRng.fill_bytes(&mut jti);
        let iat = now.and_utc().timestamp();
        let claims = Claims {
            sub: user.core().session_key.clone(),
            iat,
            exp: iat + keys.expire.num_seconds(),
            iss: keys.issuer.clone(),
            aud: keys.audience.clone(),
            kind: ACCESS.into(),
            jti: Some(URL_SAFE_NO_PAD.encode(jti)),
        };
        let token = jsonwebtoken::encode(&Header::new(keys.sign), &claims, &keys.encoding)
            .map_err(|e| Error::Config(format!("cannot sign an access token: {e}")))?;
        if let Some(auditor) = &keys.auditor {
            use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
            // The token id names it without being it.
            auditor.record(
                AuditEvent::new(kinds::TOKEN_ISSUED, Outcome::Success)
                    .subject(Subject::User(user.id()))
                    .detail(serde_json::json!({
                        "token": "jwt",
                        "jti": claims.jti,
                        "expires": claims.exp,
                    })),
            );
        }
        Ok(token)
    }

    /// How long new tokens stay valid.
    pub fn lifetime(&self) -> Option<TimeDelta> {
        self.keys.as_ref().map(|k| k.expire)
    }

    /// The session key a token names, when the token is valid now: signed
    /// with an accepted algorithm and this key, not expired, with this
    /// issuer and audience and `"type": "access"`.
    pub fn verify(&self, token: &str) -> std::result::Result<String, &'static str> {
        let keys = self.keys().map_err(|_| "not set up")?;
        if token.len() > MAX_BEARER_BYTES {
            return Err("too long");
        }
        let now = keys.clock.now().and_utc().timestamp();
        let lock = || keys.verified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((sub, exp)) = lock().get(token).cloned() {
            return if now > exp { Err("expired") } else { Ok(sub) };
        }
        let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &keys.validation)
            .map_err(|_| "bad signature, algorithm or claims")?;
        let c = data.claims;
        if now > c.exp {
            return Err("expired");
        }
        if c.kind != ACCESS {
            return Err("not an access token");
        }
        if c.sub.is_empty() {
            return Err("empty subject");
        }
        let mut verified = lock();
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(token.to_string(), (c.sub.clone(), c.exp));
        Ok(c.sub)
    }
}

/// The token of an `Authorization: Bearer <token>` header value: `None` for
/// another scheme, `Some(Err(..))` for a malformed bearer value.
///
/// ```
/// use kegauth::loaders::bearer_token;
/// assert_eq!(bearer_token("Bearer abc.def.ghi"), Some(Ok("abc.def.ghi")));
/// assert_eq!(bearer_token("bearer  abc"), Some(Ok("abc")));
/// assert_eq!(bearer_token("Basic dXNlcjpwdw=="), None);
/// assert!(bearer_token("Bearer ").unwrap().is_err());
/// assert!(bearer_token("Bearer a b").unwrap().is_err());
/// ```
pub fn bearer_token(value: &str) -> Option<std::result::Result<&str, &'static str>> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    if value.len() > MAX_BEARER_BYTES {
        return Some(Err("too long"));
    }
    let token = rest.trim_start_matches([' ', '\t']);
    // RFC 6750 token68: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding.
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    Some(if ok {
        Ok(token)
    } else {
        Err("malformed bearer token")
    })
}

impl RequestLoader for JwtRequestLoader {
    fn name(&self) -> &'static str {
        "jwt"
    }

    fn setup(&mut self, setup: &LoaderSetup<'_>) -> Result<()> {
        let config = &setup.config.jwt;
        let algorithms = config
            .algorithms
            .iter()
            .map(|a| hmac_algorithm(a))
            .collect::<Result<Vec<_>>>()?;
        let Some(&sign) = algorithms.first() else {
            return Err(Error::Config(
                "[kegauth.jwt] algorithms must name at least one algorithm".into(),
            ));
        };
        if config.expire_mins == 0 {
            return Err(Error::Config(
                "[kegauth.jwt] expire_mins must be at least 1".into(),
            ));
        }
        if config.issuer.trim().is_empty() || config.audience.trim().is_empty() {
            return Err(Error::Config(
                "[kegauth.jwt] issuer and audience must not be empty".into(),
            ));
        }
        let secret = match &config.secret {
            Some(s) => {
                use base64::engine::general_purpose::STANDARD;
                let bytes = STANDARD
                    .decode(s.trim())
                    .map_err(|_| Error::Config("[kegauth.jwt] secret must be base64".into()))?;
                crate::core::token::check_secret(&bytes)
                    .map_err(|e| Error::Config(format!("[kegauth.jwt] secret: {e}")))?;
                bytes
            }
            None => setup.derive_key("kegauth jwt access token"),
        };
        let mut validation = Validation::new(sign);
        validation.algorithms = algorithms;
        validation.leeway = 0;
        // Expiry is checked against the injectable clock, after decoding.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        self.keys = Some(Arc::new(Keys {
            sign,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            expire: TimeDelta::minutes(i64::from(config.expire_mins)),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            clock: setup.clock.clone(),
            auditor: setup.auditor.clone(),
            verified: Default::default(),
        }));
        Ok(())
    }

    fn load(&self, req: &Request<'_>) -> Loaded {
        let mut values = req.headers().get("Authorization");
        let Some(value) = values.next() else {
            return Loaded::Absent;
        };
        let token = match bearer_token(value) {
            None => return Loaded::Absent,
            Some(Err(why)) => return Loaded::Invalid(why),
            Some(Ok(token)) => token,
        };
        if values.next().is_some() {
            return Loaded::Invalid("more than one Authorization header");
        }
        match self.verify(token) {
            Ok(key) => Loaded::Found(Credential::SessionKey(key)),
            Err(why) => Loaded::Invalid(why),
        }
    }

    fn challenge(&self) -> Option<&'static str> {
        Some("Bearer")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r JwtRequestLoader {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match super::registered::<JwtRequestLoader>(req) {
            Some(loader) => Outcome::Success(loader),
            None => {
                log::error!(
                    "kegauth: a handler takes the JwtRequestLoader, which is not registered"
                );
                Outcome::Error((Status::InternalServerError, ()))
            }
        }
    }
}

impl rocket::Sentinel for JwtRequestLoader {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        let missing = !super::is_registered::<JwtRequestLoader>(rocket);
        if missing {
            log::error!(
                "kegauth: a handler takes the JwtRequestLoader; register it with \
                 AuthManager::builder().request_loader(JwtRequestLoader::default())"
            );
        }
        missing
    }
}
