//! `X-Auth-Token: <base64url(login id)>.<token>`: long-lived API tokens, stored hashed.

use super::{Credential, Loaded, LoaderSetup, RequestLoader};
use crate::entity::Role;
use crate::{Error, Result};
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rand::rngs::OsRng;
use rand::Rng;
use rocket::Request;

/// The longest `X-Auth-Token` value the loader looks at.
pub const MAX_API_TOKEN_HEADER_BYTES: usize = 2048;

/// The longest raw token accepted (and generated).
const MAX_TOKEN_CHARS: usize = 256;

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
    if login.trim().is_empty() || login.len() > crate::store::MAX_LOOKUP_BYTES {
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
