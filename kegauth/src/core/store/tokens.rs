//! API tokens: generated from the OS CSPRNG (keg-auth's
//! `generate_raw_auth_token`), stored as a SHA-256 digest, looked up by login
//! id and token. The `X-Auth-Token` loader that reads them is
//! [`TokenRequestLoader`](crate::loaders::TokenRequestLoader).

use super::*;
use crate::core::password::PasswordScheme;
use rand::rngs::OsRng;
use rand::Rng;

/// The longest raw token accepted (and generated).
pub(crate) const MAX_TOKEN_CHARS: usize = 256;

/// The least randomness a generated token may have (ASVS 7.2.3 / 11.5.1).
const MIN_TOKEN_BITS: f64 = 128.0;

/// The characters a generated token is drawn from (passlib's charsets, as keg-auth uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Charset {
    /// Digits and letters without look-alikes (`0`, `1`, `5`, `8`, `i`, `l`, `o`, ...): 50 characters.
    #[default]
    Ascii50,
    /// Digits and letters: 62 characters.
    Ascii62,
    /// Digits, letters and `!@#$%^&*?/`: 72 characters.
    Ascii72,
    /// Lowercase hex digits: 16 characters.
    Hex,
}

impl Charset {
    /// The characters.
    pub fn chars(self) -> &'static [u8] {
        match self {
            Charset::Ascii50 => b"234679abcdefghjkmnpqrstuvwxyzACDEFGHJKMNPQRTUVWXYZ",
            Charset::Ascii62 => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            Charset::Ascii72 => {
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!@#$%^&*?/"
            }
            Charset::Hex => b"0123456789abcdef",
        }
    }

    fn bits_per_char(self) -> f64 {
        (self.chars().len() as f64).log2()
    }
}

/// keg-auth's `generate_raw_auth_token(length=32, entropy=None, charset='ascii_50')`.
///
/// With `entropy` (bits), the token is long enough for it (and at least
/// `length`). Tokens under 128 bits or over 256 characters are refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ApiTokenOptions {
    /// Characters in the token.
    pub length: usize,
    /// Bits of randomness wanted, if more than `length` gives.
    pub entropy: Option<u32>,
    /// The alphabet.
    pub charset: Charset,
}

impl Default for ApiTokenOptions {
    fn default() -> Self {
        ApiTokenOptions {
            length: 32,
            entropy: None,
            charset: Charset::Ascii50,
        }
    }
}

/// A new raw API token (keg-auth's `generate_raw_auth_token`), from the OS CSPRNG.
/// Store only its hash: [`Store::reset_auth_token`](crate::Store::reset_auth_token)
/// does both.
///
/// ```
/// use kegauth::loaders::{generate_api_token, ApiTokenOptions, Charset};
/// let t = generate_api_token(&ApiTokenOptions::default()).unwrap();
/// assert_eq!(t.len(), 32);                                    // 180 bits
/// let hex = ApiTokenOptions { length: 0, entropy: Some(256), charset: Charset::Hex };
/// assert_eq!(generate_api_token(&hex).unwrap().len(), 64);
/// let weak = ApiTokenOptions { length: 16, ..Default::default() }; // 90 bits
/// assert!(generate_api_token(&weak).is_err());
/// ```
pub fn generate_api_token(options: &ApiTokenOptions) -> Result<String> {
    let bits = options.charset.bits_per_char();
    let for_entropy = options
        .entropy
        .map_or(0, |e| (f64::from(e) / bits).ceil() as usize);
    let length = options.length.max(for_entropy);
    if length > MAX_TOKEN_CHARS {
        return Err(Error::Invalid(format!(
            "an API token may have at most {MAX_TOKEN_CHARS} characters"
        )));
    }
    if (length as f64) * bits < MIN_TOKEN_BITS {
        return Err(Error::Invalid(format!(
            "an API token needs at least {MIN_TOKEN_BITS} bits of randomness; \
             {length} characters of {:?} give {:.0}",
            options.charset,
            length as f64 * bits
        )));
    }
    let chars = options.charset.chars();
    Ok((0..length)
        .map(|_| char::from(chars[OsRng.gen_range(0..chars.len())]))
        .collect())
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Give `user` a new API token (keg-auth's `reset_auth_token`) and return
    /// it: the raw value exists only in the return value, the user row keeps
    /// its SHA-256 (with `password_scheme = "bcrypt"`, its bcrypt hash, which
    /// keg-auth verifies). The previous token stops working. Send it as
    /// [`api_token_header`](crate::loaders::api_token_header)`(login id, token)`
    /// in `X-Auth-Token` (see [`TokenRequestLoader`](crate::loaders::TokenRequestLoader)).
    ///
    /// Only the token column is written. [`Error::Config`] when the user
    /// entity has no `#[auth(api_token)]` field.
    pub async fn reset_auth_token(
        &self,
        user: &mut U<E>,
        options: &ApiTokenOptions,
    ) -> Result<String> {
        let raw = generate_api_token(options)?;
        let stored = match self.hasher.scheme() {
            // While keg-auth shares the table: a hash it can verify.
            PasswordScheme::Bcrypt => self.hasher.hash(&raw).await?.into_bytes(),
            PasswordScheme::Argon2id => api_token_digest(&raw),
        };
        self.write_api_token(user, Some(stored)).await?;
        self.audit_token(user, crate::core::audit::kinds::TOKEN_ISSUED);
        Ok(raw)
    }

    /// Revoke `user`'s API token.
    pub async fn clear_auth_token(&self, user: &mut U<E>) -> Result<()> {
        self.write_api_token(user, None).await?;
        self.audit_token(user, crate::core::audit::kinds::TOKEN_REVOKED);
        Ok(())
    }

    fn audit_token(&self, user: &U<E>, kind: &str) {
        use crate::core::audit::{AuditEvent, Outcome, Subject};
        self.audit(
            AuditEvent::new(kind, Outcome::Success)
                .subject(Subject::User(user.id()))
                .detail(serde_json::json!({ "token": "api" })),
        );
    }

    async fn write_api_token(&self, user: &mut U<E>, hash: Option<Vec<u8>>) -> Result<()> {
        if self.token_column_absent() {
            return Err(Error::Config(format!(
                "API tokens are off: the `{}` table has no `{}` column",
                schema_of::<U<E>>().table,
                schema_of::<U<E>>()
                    .column(Role::ApiToken)
                    .map_or("token", |c| c.name)
            )));
        }
        if !user.set_api_token_hash(hash.clone()) {
            return Err(Error::Config(
                "API tokens need an #[auth(api_token)] field (Option<Vec<u8>>) on the user entity"
                    .into(),
            ));
        }
        let schema = schema_of::<U<E>>();
        let col = schema.require(Role::ApiToken)?;
        let value = hash.map_or(Value::Null, Value::Bytes);
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(schema.table)
            .push(" SET ")
            .ident(col.name)
            .push(" = ");
        sql.bind_cast(value, col.kind, col.pg_type);
        sql.push(" WHERE ")
            .ident(schema.id_column())
            .push(" = ")
            .bind_int(user.id());
        let mut conn = self.conn().await?;
        if DB::execute(&mut conn, &sql.text, sql.args).await? == 0 {
            return Err(Error::NotFound(format!("user {}", user.id())));
        }
        // The old token ends now: here (the cached user holds its digest)
        // and, on PostgreSQL, on every instance that hears of it.
        self.sessions.evict(&[&user.core().session_key]);
        self.announce(&mut conn, Notice::Users(&[user.id()]))
            .await?;
        Ok(())
    }

    /// [`user_by_api_token`](Self::user_by_api_token), without a query
    /// while the session cache holds the user the token led to last time
    /// (see `TokenKeys`): the request loaders' lookup.
    pub(crate) async fn user_by_api_token_cached(
        &self,
        login_id: &str,
        raw_token: &str,
    ) -> Result<Option<Arc<U<E>>>> {
        use subtle::ConstantTimeEq;
        let digest = api_token_digest(raw_token);
        if let Some(key) = self.token_keys.get(login_id, &digest)
            && let Some(user) = self.session_user(&key).await?
            && user.login_id() == login_id
            && user
                .api_token_hash()
                .is_some_and(|h| h.len() == digest.len() && bool::from(h.ct_eq(&digest)))
        {
            return Ok(Some(user));
        }
        let generation = self.sessions.generation();
        let user = self
            .user_by_api_token(login_id, raw_token)
            .await?
            .map(Arc::new);
        if let Some(user) = &user
            && user.login_id() == login_id
        {
            let key = &user.core().session_key;
            self.sessions.put_user(key, user.clone(), generation);
            self.token_keys.put(login_id, digest, key.clone());
        }
        Ok(user)
    }

    /// The user with this login id whose API token is `raw_token` (compared
    /// in constant time through its SHA-256), whether active or not. A token
    /// hashed by keg-auth (a passlib string) is checked with the password
    /// hasher and, when it matches, re-stored as SHA-256 (not with
    /// `password_scheme = "bcrypt"`: keg-auth would no longer accept it).
    pub async fn user_by_api_token(&self, login_id: &str, raw_token: &str) -> Result<Option<U<E>>> {
        use subtle::ConstantTimeEq;
        let digest = api_token_digest(raw_token);
        let Some(mut user) = self.user_by_login(login_id).await? else {
            return Ok(None);
        };
        let stored = user.api_token_hash().map(<[u8]>::to_vec);
        let matches = match stored.as_deref() {
            Some(s) if s.len() == digest.len() => bool::from(s.ct_eq(&digest)),
            Some(s) if s.starts_with(b"$") => {
                let Ok(legacy) = std::str::from_utf8(s) else {
                    return Ok(None);
                };
                let ok = match self.hasher.verify(raw_token, legacy).await {
                    Ok(v) => v.ok,
                    Err(e) => {
                        log::warn!("kegauth: user {}'s API token hash: {e}", user.id());
                        false
                    }
                };
                // Re-stored as SHA-256, unless keg-auth still shares the table.
                if ok && self.hasher.scheme() == PasswordScheme::Argon2id {
                    self.write_api_token(&mut user, Some(digest)).await?;
                }
                ok
            }
            _ => false,
        };
        Ok(matches.then_some(user))
    }
}
