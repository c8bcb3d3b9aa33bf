//! The `[kegauth.jwt]` settings, read with the rest of [`Config`](super::Config);
//! the loader that uses them is [`crate::loaders::JwtRequestLoader`].

use serde::Deserialize;

/// The `[kegauth.jwt]` settings of [`JwtRequestLoader`](crate::loaders::JwtRequestLoader).
///
/// ```toml
/// [default.kegauth.jwt]
/// algorithms = ["HS512"]   # accepted; the first signs new tokens
/// expire_mins = 15
/// issuer = "kegauth"
/// audience = "kegauth"
/// # secret = "<base64, 32 bytes or more>"   # default: derived from Rocket's secret_key
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// Accepted algorithms (HMAC only: `HS256`, `HS384`, `HS512`); the first
    /// signs. A token whose header names another algorithm is refused.
    pub algorithms: Vec<String>,
    /// Minutes an access token stays valid.
    pub expire_mins: u32,
    /// The `iss` claim written and required.
    pub issuer: String,
    /// The `aud` claim written and required.
    pub audience: String,
    /// The signing key (base64, at least 32 bytes), for sharing tokens with
    /// other services. Default: a key derived from Rocket's `secret_key`.
    pub secret: Option<String>,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            algorithms: vec!["HS512".into()],
            expire_mins: 15,
            issuer: "kegauth".into(),
            audience: "kegauth".into(),
            secret: None,
        }
    }
}
