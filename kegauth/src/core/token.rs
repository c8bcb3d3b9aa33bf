//! Random values (session keys) and the signed tokens in verification and reset links.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

/// Bytes of randomness in a session key: 192 bits (a uuid4 has only 122).
pub const SESSION_KEY_BYTES: usize = 24;

/// A new session key from the OS CSPRNG: 24 random bytes as 32 base64url
/// characters, which fits keg-auth's `VARCHAR(36)` column.
///
/// ```
/// let key = kegauth::token::new_session_key();
/// assert_eq!(key.len(), 32);
/// assert_ne!(key, kegauth::token::new_session_key());
/// ```
pub fn new_session_key() -> String {
    let mut bytes = [0u8; SESSION_KEY_BYTES];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

// ----- verification and reset tokens ---------------------------------------------------------

#[cfg(feature = "mail")]
use crate::core::entity::UserEntity;
use crate::core::error::{Error, Result};
#[cfg(feature = "mail")]
use chrono::{NaiveDateTime, TimeDelta};
#[cfg(feature = "mail")]
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
#[cfg(feature = "mail")]
use serde::{Deserialize, Serialize};
#[cfg(feature = "mail")]
use sha2::{Digest, Sha512};

/// The shortest signing secret kegauth accepts (256 bits, as Rocket's `secret_key`).
pub const MIN_SECRET_BYTES: usize = 32;

/// The longest token kegauth will look at; real ones are about 200 characters.
pub const MAX_TOKEN_BYTES: usize = 1024;

#[cfg(feature = "mail")]
#[derive(Serialize, Deserialize)]
struct Claims {
    user_id: i64,
    iat: i64,
    exp: i64,
}

/// Signs and checks the expiring tokens in verification and reset-password
/// links (keg-auth's `token_generate` / `token_verify`).
///
/// A token is an HS512 JWT `{user_id, iat, exp}` whose key is
/// `sha512(salt + "signer" + secret)`. The salt is [`token_salt`]: the user's
/// login id, active flag, password hash and last login. Changing any of them
/// (logging in, setting a password, verifying the account, changing the email)
/// makes every outstanding token invalid, so a token works once.
///
/// ```
/// use kegauth::token::TokenSigner;
/// let now = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
/// let signer = TokenSigner::new(b"a 32-byte example secret, no less", 240).unwrap();
/// assert!(TokenSigner::new(b"too short", 240).is_err());
/// assert!(TokenSigner::new(&[7u8; 32], 240).is_err());     // a placeholder, not a secret
/// let token = signer.generate(5, "salt", now).unwrap();
/// assert!(signer.verify(&token, 5, "salt", now));
/// assert!(!signer.verify(&token, 6, "salt", now));          // another user
/// assert!(!signer.verify(&token, 5, "changed", now));       // the user changed
/// let exp = now + chrono::TimeDelta::minutes(240);
/// assert!(signer.verify(&token, 5, "salt", exp));           // valid at exp
/// assert!(!signer.verify(&token, 5, "salt", exp + chrono::TimeDelta::seconds(1)));
/// ```
#[cfg(feature = "mail")]
#[derive(Clone)]
pub struct TokenSigner {
    secret: std::sync::Arc<[u8]>,
    expire: TimeDelta,
}

#[cfg(feature = "mail")]
impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("expire", &self.expire)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "mail")]
impl TokenSigner {
    /// A signer with `secret` (at least [`MIN_SECRET_BYTES`]) whose tokens last
    /// `expire_mins` minutes.
    pub fn new(secret: &[u8], expire_mins: u32) -> Result<Self> {
        check_secret(secret)?;
        if expire_mins == 0 {
            return Err(Error::Config("token_expire_mins must be at least 1".into()));
        }
        Ok(TokenSigner {
            secret: secret.into(),
            expire: TimeDelta::minutes(i64::from(expire_mins)),
        })
    }

    /// How long a token stays valid.
    pub fn lifetime(&self) -> TimeDelta {
        self.expire
    }

    fn key(&self, salt: &str) -> Vec<u8> {
        let mut h = Sha512::new();
        h.update(salt.as_bytes());
        h.update(b"signer");
        h.update(&self.secret);
        h.finalize().to_vec()
    }

    /// A new token for `user_id`, issued at `now`.
    pub fn generate(&self, user_id: i64, salt: &str, now: NaiveDateTime) -> Result<String> {
        let iat = now.and_utc().timestamp();
        let claims = Claims {
            user_id,
            iat,
            exp: iat + self.expire.num_seconds(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(&self.key(salt)),
        )
        .map_err(|e| Error::Config(format!("cannot sign a token: {e}")))
    }

    /// Whether `token` was issued to `user_id` with this `salt`, is signed
    /// HS512 with this secret, and has not expired at `now` (no leeway: valid
    /// up to and including `exp`). `iat` and `exp` must be numbers.
    pub fn verify(&self, token: &str, user_id: i64, salt: &str, now: NaiveDateTime) -> bool {
        if token.len() > MAX_TOKEN_BYTES {
            return false;
        }
        let mut validation = Validation::new(Algorithm::HS512);
        validation.leeway = 0;
        // Expiry is checked below against the injectable clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iat"]);
        let key = DecodingKey::from_secret(&self.key(salt));
        let Ok(data) = jsonwebtoken::decode::<Claims>(token, &key, &validation) else {
            return false;
        };
        let now = now.and_utc().timestamp();
        let c = data.claims;
        c.user_id == user_id && c.iat <= now && now <= c.exp
    }
}

pub(crate) fn check_secret(secret: &[u8]) -> Result<()> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(Error::Config(format!(
            "the secret key must be at least {MIN_SECRET_BYTES} bytes; generate one with \
             `openssl rand -base64 32`"
        )));
    }
    let distinct = secret
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if distinct < 12 {
        return Err(Error::Config(
            "the secret key looks like a placeholder (too few distinct bytes); generate one \
             with `openssl rand -base64 32`"
                .into(),
        ));
    }
    Ok(())
}

/// keg-auth's `get_token_salt`: the JSON list `[login id, is_active, password
/// hash or "", last login (ISO 8601) or null]`.
///
/// ```
/// # use kegauth::entity::UserCore;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
/// let now = chrono::Utc::now().naive_utc();
/// let user = User { id: 1, email: "ann@example.com".into(), core: UserCore::new() };
/// assert_eq!(kegauth::token::token_salt(&user, now), r#"["ann@example.com",false,"",null]"#);
/// ```
#[cfg(feature = "mail")]
pub fn token_salt<U: UserEntity>(user: &U, now: NaiveDateTime) -> String {
    let core = user.core();
    serde_json::json!([
        user.login_id(),
        user.is_active_at(now),
        core.password.as_deref().unwrap_or(""),
        core.last_login_utc
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
    ])
    .to_string()
}

/// The token-signing secret from a Rocket figment's `secret_key` (base64 or
/// hex, as Rocket reads it). `Ok(None)` when none is configured, which is only
/// allowed in the debug profile (kegauth then makes a random one per process).
pub fn secret_from_figment(figment: &rocket::figment::Figment) -> Result<Option<Vec<u8>>> {
    use base64::engine::general_purpose::STANDARD;
    use rocket::figment::value::Value;
    let Ok(value) = figment.find_value("secret_key") else {
        return Ok(None);
    };
    let bytes = match value {
        Value::String(_, s) => {
            let s = s.trim();
            let bad = || {
                Error::Config(
                    "secret_key must be 44 or 88 base64 characters or 64 hex digits".into(),
                )
            };
            match s.len() {
                64 if s.bytes().all(|b| b.is_ascii_hexdigit()) => (0..64)
                    .step_by(2)
                    .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
                    .collect(),
                44 | 88 => STANDARD.decode(s).map_err(|_| bad())?,
                _ => return Err(bad()),
            }
        }
        Value::Array(_, items) => items
            .iter()
            .map(|v| {
                v.to_num()
                    .and_then(|n| n.to_u128())
                    .and_then(|n| u8::try_from(n).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| Error::Config("secret_key must be a list of bytes".into()))?,
        _ => return Err(Error::Config("secret_key must be a string".into())),
    };
    if bytes.iter().all(|b| *b == 0) {
        // Rocket's "zero" key: the same as none.
        return Ok(None);
    }
    check_secret(&bytes)?;
    Ok(Some(bytes))
}

/// A random secret for the debug profile when no `secret_key` is configured.
pub(crate) fn random_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 64];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    /// SECURITY-CHECKLIST row 21: session keys are 192 random bits, unique
    /// over 10,000 draws.
    #[test]
    fn session_keys_are_long_and_unique() {
        let keys: std::collections::HashSet<String> =
            (0..10_000).map(|_| super::new_session_key()).collect();
        assert_eq!(keys.len(), 10_000);
        for key in &keys {
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, key)
                    .expect("base64url");
            assert_eq!(bytes.len(), super::SESSION_KEY_BYTES);
            assert!(bytes.len() >= 16);
        }
    }
}
