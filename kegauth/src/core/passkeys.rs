//! Passkeys and security keys (WebAuthn), on the relying-party side of
//! [`webauthn_rp`] (pure Rust on RustCrypto: no OpenSSL, in keeping with the
//! project's rustls-only stance; webauthn-rs, the usual choice, links
//! OpenSSL).
//!
//! Three ceremonies, each begun by the server (a challenge and options for
//! the browser's `navigator.credentials`) and finished with the browser's
//! answer:
//! - **registration** from the account page, as a *passkey* (a discoverable
//!   credential with user verification: it signs in alone) or a *security
//!   key* (a second factor after the password);
//! - **passkey login**: no login id typed, the authenticator says whose
//!   credential it holds (the user handle) and user verification is required;
//! - **the second step** of a password login: one of the user's registered
//!   credentials, instead of a TOTP code.
//!
//! The relying-party id and origin come from `server_name` and
//! `preferred_url_scheme`, never from the request's `Host`. What a ceremony
//! keeps between its two requests (the challenge, the options) travels in the
//! encrypted, authenticated session cookie as a [`Ceremony`], is taken out
//! when the answer comes, and expires with the options' 5-minute timeout;
//! signature counters are checked and stored, so an authenticator that counts
//! refuses a replayed assertion.
//!
//! This module holds what the store keeps; the ceremonies themselves
//! ([`RelyingParty`](crate::passkeys::RelyingParty)) are the services
//! layer's (`services/passkeys.rs`), for they need the `webauthn_rp` crate,
//! which the store never does.

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Bytes of a user handle (the random id authenticators keep for a user:
/// never the database id or the login id).
pub const USER_HANDLE_LEN: usize = 16;
/// Characters of a passkey's name.
pub const NAME_MAX_CHARS: usize = 100;

/// What a registered credential is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasskeyKind {
    /// Signs in alone (discoverable, user verification required), and also
    /// serves as a second factor.
    Passkey,
    /// A second factor after the password (user verification not asked).
    SecurityKey,
}

impl PasskeyKind {
    /// The stored (and form) name: `passkey`, `security-key`.
    ///
    /// ```
    /// use kegauth::passkeys::PasskeyKind;
    /// assert_eq!(PasskeyKind::parse(PasskeyKind::SecurityKey.as_str()), Some(PasskeyKind::SecurityKey));
    /// assert_eq!(PasskeyKind::parse("yubikey"), None);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PasskeyKind::Passkey => "passkey",
            PasskeyKind::SecurityKey => "security-key",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "passkey" => Some(PasskeyKind::Passkey),
            "security-key" => Some(PasskeyKind::SecurityKey),
            _ => None,
        }
    }
}

/// A registered credential, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Its row id.
    pub id: i64,
    /// Whose it is.
    pub user_id: i64,
    /// The credential id the authenticator gave.
    pub credential_id: Vec<u8>,
    /// The user handle it was registered under.
    pub user_handle: Vec<u8>,
    /// Its public key and fixed extensions (webauthn_rp's `StaticState`).
    pub public_key: Vec<u8>,
    /// Its signature counter and flags (webauthn_rp's `DynamicState`).
    pub sign_state: Vec<u8>,
    /// How the browser can reach it (webauthn_rp's `AuthTransports`).
    pub transports: u8,
    /// The name its owner gave it.
    pub name: String,
    /// What it is for.
    pub kind: PasskeyKind,
}

/// A credential a registration ceremony produced, for the store to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPasskey {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The user handle it was registered under.
    pub user_handle: Vec<u8>,
    /// Its public key (encoded `StaticState`).
    pub public_key: Vec<u8>,
    /// Its counter and flags (encoded `DynamicState`).
    pub sign_state: Vec<u8>,
    /// Its transports (encoded `AuthTransports`).
    pub transports: u8,
}

/// What a ceremony is doing, kept with its state in the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// Registering a credential for the logged-in user `user`.
    #[serde(rename = "r")]
    Register {
        /// The user.
        #[serde(rename = "u")]
        user: i64,
        /// What it will be.
        #[serde(rename = "k")]
        kind: PasskeyKind,
    },
    /// A passkey login.
    #[serde(rename = "l")]
    Login,
    /// The second step of `user`'s pending login.
    #[serde(rename = "s")]
    SecondStep {
        /// The user.
        #[serde(rename = "u")]
        user: i64,
    },
}

/// A ceremony between its two requests: what it is for and the server state
/// (webauthn_rp's, encoded), in the session cookie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    /// What it is for.
    #[serde(rename = "p")]
    pub purpose: Purpose,
    /// The encoded server state (base64url).
    #[serde(rename = "s")]
    pub state: String,
}

/// A new random user handle.
pub fn new_user_handle() -> Vec<u8> {
    let mut handle = vec![0u8; USER_HANDLE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut handle);
    handle
}
