//! `X-Auth-Token: <base64url(login id)>.<token>`: long-lived API tokens, stored hashed.

use super::{Credential, Loaded, LoaderSetup, RequestLoader};
use crate::core::entity::Role;
use crate::core::error::{Error, Result};
use crate::core::store::tokens::MAX_TOKEN_CHARS;
pub use crate::core::store::tokens::{generate_api_token, ApiTokenOptions, Charset};
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rocket::Request;

/// The longest `X-Auth-Token` value the loader looks at.
pub const MAX_API_TOKEN_HEADER_BYTES: usize = 2048;

/// The `X-Auth-Token` value for a user's login id and raw token.
///
/// ```
/// let value = kegauth::loaders::api_token_header("ann@example.com", "s3cr3t");
/// assert_eq!(value, "YW5uQGV4YW1wbGUuY29t.s3cr3t");
/// assert_eq!(
///     kegauth::loaders::parse_api_token_header(&value),
///     Ok(("ann@example.com".to_string(), "s3cr3t"))
/// );
/// ```
pub fn api_token_header(login_id: &str, raw_token: &str) -> String {
    format!("{}.{raw_token}", URL_SAFE_NO_PAD.encode(login_id))
}

const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Split an `X-Auth-Token` value into the login id and the raw token.
///
/// ```
/// use kegauth::loaders::parse_api_token_header as parse;
/// assert!(parse("no-dot").is_err());
/// assert!(parse("!!!.token").is_err());          // not base64url
/// assert!(parse(".token").is_err());             // empty login id
/// assert!(parse("YW5u.").is_err());               // empty token
/// assert!(parse("YW5u.to ken").is_err());         // a space in the token
/// ```
pub fn parse_api_token_header(value: &str) -> std::result::Result<(String, &str), &'static str> {
    if value.len() > MAX_API_TOKEN_HEADER_BYTES {
        return Err("too long");
    }
    let (login, token) = value.trim().split_once('.').ok_or("no `.` separator")?;
    let login = LENIENT_URL_SAFE
        .decode(login)
        .map_err(|_| "the login id is not base64url")?;
    let login = String::from_utf8(login).map_err(|_| "the login id is not UTF-8")?;
    if login.trim().is_empty() || login.len() > crate::core::store::MAX_LOOKUP_BYTES {
        return Err("bad login id length");
    }
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err("bad token length");
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("bad character in the token");
    }
    Ok((login, token))
}

/// keg-auth's `TokenRequestLoader`: `X-Auth-Token: <base64url(login id)>.<raw token>`
/// (see [`api_token_header`]).
///
/// The user entity needs an `#[auth(api_token)] token: Option<Vec<u8>>`
/// field (keg-auth's `UserTokenMixin`); the launch fails without one. The
/// column holds the token's SHA-256, never the token, and the check is in
/// constant time. Tokens hashed by keg-auth (passlib strings) still verify
/// and are re-stored as SHA-256 on first use. Give a user a token with
/// [`Store::reset_auth_token`](crate::Store::reset_auth_token), revoke it with
/// [`Store::clear_auth_token`](crate::Store::clear_auth_token).
#[derive(Clone, Debug)]
pub struct TokenRequestLoader {
    header: &'static str,
}

impl Default for TokenRequestLoader {
    fn default() -> Self {
        TokenRequestLoader {
            header: "X-Auth-Token",
        }
    }
}

impl TokenRequestLoader {
    /// Read the token from another header than `X-Auth-Token`.
    pub fn header(mut self, name: &'static str) -> Self {
        self.header = name;
        self
    }
}

impl RequestLoader for TokenRequestLoader {
    fn name(&self) -> &'static str {
        "token"
    }

    fn setup(&mut self, setup: &LoaderSetup<'_>) -> Result<()> {
        if setup.user_schema.column(Role::ApiToken).is_none() {
            return Err(Error::Config(
                "the TokenRequestLoader needs an #[auth(api_token)] field \
                 (Option<Vec<u8>>) on the user entity"
                    .into(),
            ));
        }
        Ok(())
    }

    fn load(&self, req: &Request<'_>) -> Loaded {
        let mut values = req.headers().get(self.header);
        let Some(value) = values.next() else {
            return Loaded::Absent;
        };
        if values.next().is_some() {
            return Loaded::Invalid("more than one token header");
        }
        match parse_api_token_header(value) {
            Ok((login_id, token)) => Loaded::Found(Credential::ApiToken {
                login_id,
                token: token.to_string(),
            }),
            Err(why) => Loaded::Invalid(why),
        }
    }
}
