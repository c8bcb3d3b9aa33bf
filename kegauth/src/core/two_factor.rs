//! Second factors: TOTP (RFC 6238) with its secret encrypted at rest, and
//! single-use recovery codes kept as digests.
//!
//! TOTP codes are 6 digits over 30-second steps, SHA-1 (what authenticator
//! apps read from an `otpauth://` URI), accepted one step either side of now,
//! and each step at most once per user: the store keeps the last step used
//! and refuses it and every earlier one (a code seen over a shoulder or in a
//! proxy log cannot be replayed).

use crate::core::error::{Error, Result};
#[cfg(feature = "two-factor")]
use aes_gcm::aead::{Aead, KeyInit};
#[cfg(feature = "two-factor")]
use aes_gcm::{Aes256Gcm, Nonce};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Seconds per TOTP step.
pub const TOTP_STEP_SECS: i64 = 30;
/// Digits in a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Steps accepted either side of the current one (clock drift, typing time).
pub const TOTP_WINDOW: i64 = 1;
/// Bytes of a TOTP secret (160 bits, RFC 4226's recommendation for SHA-1).
pub const TOTP_SECRET_BYTES: usize = 20;
/// Recovery codes made at enrolment and on regeneration.
pub const RECOVERY_CODES: usize = 10;

/// How long the second step waits for its code after the password was right.
pub const PENDING_LOGIN_SECS: i64 = 300;

/// A login waiting for its second factor, kept in the (encrypted, signed)
/// session cookie: no session exists yet. It is bound to the user's session
/// key, so a password change, a logout elsewhere or a rights change in the
/// meantime ends it, and it expires after [`PENDING_LOGIN_SECS`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingLogin {
    /// The user.
    #[serde(rename = "u")]
    pub user_id: i64,
    /// The session key the password login gave.
    #[serde(rename = "k")]
    pub session_key: String,
    /// The login id typed (attempt limiting counts second-step tries under it).
    #[serde(rename = "l")]
    pub login_id: String,
    /// Where to go after the login.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Unix seconds after which the step is over.
    #[serde(rename = "x")]
    pub until: i64,
    /// How the first step went (`password`, `ldap`, `oauth`), for the audit trail.
    #[serde(rename = "m")]
    pub method: String,
    /// The first step's attempt row, counted a success only once the login
    /// is done: a right password followed by wrong codes counts as failures.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<i64>,
    /// The login form's "remember me" was ticked.
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    pub remember: bool,
}

/// Whether users have a second factor (the `two_factor` setting).
///
/// ```
/// use kegauth::two_factor::TwoFactorMode;
/// assert_eq!(serde_json::from_str::<TwoFactorMode>("\"required\"").unwrap(), TwoFactorMode::Required);
/// assert_eq!(TwoFactorMode::default(), TwoFactorMode::Optional);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TwoFactorMode {
    /// No second factor: the account page answers 404 and logins take one step,
    /// even for users who enrolled before.
    Off,
    /// Users may turn it on from `/account/two-factor` (the default); those who
    /// did take the second step at login.
    #[default]
    Optional,
    /// Every user must: one who has not enrolled is sent to the enrolment
    /// page after login until they do.
    Required,
}

/// Which logins take the second step (`two_factor_for`): the password login,
/// an LDAP login, an OAuth login.
pub const LOGIN_METHODS: [&str; 3] = ["password", "ldap", "oauth"];

/// What a URI component escapes: all but RFC 3986's unreserved characters.
#[cfg(feature = "two-factor")]
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A TOTP secret, zeroed when dropped.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new random secret from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; TOTP_SECRET_BYTES]);
        OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret from its bytes (at least 16).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 16 {
            return Err(Error::Invalid(
                "a TOTP secret needs at least 128 bits".into(),
            ));
        }
        Ok(TotpSecret(Zeroizing::new(bytes.to_vec())))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32 without padding, as authenticator apps take it typed in.
    ///
    /// ```
    /// let s = kegauth::two_factor::TotpSecret::from_bytes(b"12345678901234567890").unwrap();
    /// assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /// ```
    #[cfg(feature = "two-factor")]
    pub fn base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The `otpauth://totp/...` URI an authenticator app reads from a QR code.
    ///
    /// ```
    /// let s = kegauth::two_factor::TotpSecret::from_bytes(b"12345678901234567890").unwrap();
    /// assert_eq!(
    ///     s.otpauth_uri("Example App", "ann@example.com"),
    ///     "otpauth://totp/Example%20App:ann%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
    ///      &issuer=Example%20App&algorithm=SHA1&digits=6&period=30"
    /// );
    /// ```
    #[cfg(feature = "two-factor")]
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        use percent_encoding::utf8_percent_encode;
        let issuer = utf8_percent_encode(issuer, URI_COMPONENT).to_string();
        let account = utf8_percent_encode(account, URI_COMPONENT).to_string();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1\
             &digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
            self.base32()
        )
    }

    /// The code for `step` (Unix time / 30).
    ///
    /// ```
    /// // RFC 6238's SHA-1 test vector at T = 59 s: 94287082 (8 digits), 287082 (6).
    /// let s = kegauth::two_factor::TotpSecret::from_bytes(b"12345678901234567890").unwrap();
    /// assert_eq!(s.code_at(59 / 30), "287082");
    /// ```
    #[cfg(feature = "two-factor")]
    pub fn code_at(&self, step: i64) -> String {
        let totp = totp_rs::TOTP::new_unchecked(
            totp_rs::Algorithm::SHA1,
            TOTP_DIGITS,
            0,
            TOTP_STEP_SECS as u64,
            self.0.to_vec(),
        );
        totp.generate(u64::try_from(step.max(0)).unwrap_or(0) * TOTP_STEP_SECS as u64)
    }

    /// The step, within [`TOTP_WINDOW`] of `unix_secs`'s, whose code is
    /// `code` (spaces ignored), compared in constant time; `None` when none is.
    /// Whether the step was used before is the caller's to check.
    /// (Without the `two-factor` feature no code matches.)
    #[cfg(not(feature = "two-factor"))]
    pub fn matching_step(&self, _code: &str, _unix_secs: i64) -> Option<i64> {
        None
    }

    /// The step, within [`TOTP_WINDOW`] of `unix_secs`'s, whose code is
    /// `code` (spaces ignored), compared in constant time; `None` when none is.
    /// Whether the step was used before is the caller's to check.
    #[cfg(feature = "two-factor")]
    pub fn matching_step(&self, code: &str, unix_secs: i64) -> Option<i64> {
        use subtle::ConstantTimeEq;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_secs.div_euclid(TOTP_STEP_SECS);
        let mut found = None;
        // Every step is computed and compared, so timing tells nothing of which matched.
        for step in (now - TOTP_WINDOW)..=(now + TOTP_WINDOW) {
            if bool::from(self.code_at(step).as_bytes().ct_eq(code.as_bytes())) {
                found = found.or(Some(step));
            }
        }
        found
    }
}

/// Encrypts TOTP secrets at rest: AES-256-GCM under a key derived from the
/// app's secret key by HKDF-SHA256 (its own key, not the cookies' or the
/// tokens'). A stored value is a 12-byte random nonce and the ciphertext.
#[cfg(feature = "two-factor")]
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

/// Without the `two-factor` feature there is no key to seal with: no value
/// of this type can exist, so nothing is ever sealed or opened.
#[cfg(not(feature = "two-factor"))]
#[derive(Clone)]
pub enum SecretBox {}

#[cfg(not(feature = "two-factor"))]
impl SecretBox {
    /// Never called: there is no `SecretBox` without the feature.
    pub fn seal(&self, _plain: &[u8]) -> Result<Vec<u8>> {
        match *self {}
    }

    /// Never called: there is no `SecretBox` without the feature.
    pub fn open(&self, _sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        match *self {}
    }
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// HKDF's info for the TOTP key: a new purpose gets a new label.
#[cfg(feature = "two-factor")]
const TOTP_KEY_INFO: &[u8] = b"kegauth two-factor secrets v1";

#[cfg(feature = "two-factor")]
impl SecretBox {
    /// The box keyed from the app's `secret` (Rocket's `secret_key`).
    ///
    /// ```
    /// use kegauth::two_factor::SecretBox;
    /// let sealed = SecretBox::new(&[7u8; 64]).seal(b"secret bytes").unwrap();
    /// assert_eq!(&SecretBox::new(&[7u8; 64]).open(&sealed).unwrap()[..], b"secret bytes");
    /// assert!(SecretBox::new(&[8u8; 64]).open(&sealed).is_err());
    /// ```
    pub fn new(secret: &[u8]) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"kegauth"), secret);
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit (8160): this cannot fail.
        let _ = hk.expand(TOTP_KEY_INFO, &mut key[..]);
        SecretBox {
            cipher: Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(&key[..])),
        }
    }

    /// Encrypt `plain` under a fresh random nonce.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain)
            .map_err(|_| Error::Hash("encrypting a two-factor secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(out)
    }

    /// Decrypt what [`seal`](Self::seal) made with the same key. A value
    /// sealed under another secret key (the app's key changed) or altered is
    /// an [`Error::Config`]: the user's second factor must be reset.
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let refused = || {
            Error::Config(
                "a two-factor secret does not decrypt (was the secret_key changed?)".into(),
            )
        };
        if sealed.len() < 12 + 16 {
            return Err(refused());
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map(Zeroizing::new)
            .map_err(|_| refused())
    }
}

/// The characters of recovery codes: digits and lowercase letters without
/// look-alikes (`0`/`o`, `1`/`l`/`i`), 31 of them.
const RECOVERY_CHARS: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// [`RECOVERY_CODES`] new recovery codes, `xxxxx-xxxxx` (10 characters of 31:
/// 49 bits each), from the OS CSPRNG.
///
/// ```
/// let codes = kegauth::two_factor::generate_recovery_codes();
/// assert_eq!(codes.len(), 10);
/// assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
/// ```
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code: String = (0..10)
                .map(|_| char::from(RECOVERY_CHARS[OsRng.gen_range(0..RECOVERY_CHARS.len())]))
                .collect();
            code.insert(5, '-');
            code
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its characters, case,
/// spaces and dashes ignored (the codes are random, so a fast digest is
/// enough, as for API tokens). `None` for what cannot be a recovery code.
///
/// ```
/// use kegauth::two_factor::recovery_digest;
/// assert_eq!(recovery_digest("abcde-fghjk"), recovery_digest(" ABCDE FGHJK "));
/// assert_eq!(recovery_digest("123456"), None);
/// ```
pub fn recovery_digest(code: &str) -> Option<Vec<u8>> {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if normal.len() != 10 || !normal.bytes().all(|b| RECOVERY_CHARS.contains(&b)) {
        return None;
    }
    Some(Sha256::digest(normal.as_bytes()).to_vec())
}

#[cfg(all(test, feature = "two-factor"))]
mod tests {
    use super::*;

    fn rfc() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").expect("20 bytes")
    }

    #[test]
    fn rfc_6238_sha1_vectors_in_six_digits() {
        // RFC 6238 appendix B, the last six of each eight-digit code.
        for (t, code) in [
            (59_i64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(rfc().code_at(t / TOTP_STEP_SECS), code, "T = {t}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let s = rfc();
        let now = 1_700_000_015_i64; // step 56666667, 15 s into it
        let step = now / TOTP_STEP_SECS;
        for (delta, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = s.code_at(step + delta);
            assert_eq!(
                s.matching_step(&code, now),
                accepted.then_some(step + delta),
                "step {delta:+}"
            );
        }
        // The window's edges, in seconds: the previous step's code is good
        // until the end of the next step.
        let prev = s.code_at(step - 1);
        let next_step_end = (step + 1) * TOTP_STEP_SECS + TOTP_STEP_SECS - 1;
        assert_eq!(
            s.matching_step(&prev, step * TOTP_STEP_SECS + 29),
            Some(step - 1)
        );
        assert_eq!(
            s.matching_step(&prev, (step + 1) * TOTP_STEP_SECS - 1),
            Some(step - 1)
        );
        assert_eq!(s.matching_step(&prev, (step + 1) * TOTP_STEP_SECS), None);
        assert!(s
            .matching_step(&s.code_at(step + 2), next_step_end)
            .is_some());
    }

    #[test]
    fn malformed_codes_and_other_secrets_are_refused() {
        let s = rfc();
        let now = 1_700_000_000;
        let code = s.code_at(now / TOTP_STEP_SECS);
        assert!(s
            .matching_step(&format!(" {} {} ", &code[..3], &code[3..]), now)
            .is_some());
        for bad in ["", "12345", "1234567", "abcdef", "１２３４５６"] {
            assert_eq!(s.matching_step(bad, now), None, "{bad:?}");
        }
        let other = TotpSecret::generate();
        assert_ne!(other.as_bytes(), s.as_bytes());
        assert_eq!(other.as_bytes().len(), TOTP_SECRET_BYTES);
        assert!(TotpSecret::from_bytes(&[1; 15]).is_err());
    }

    #[test]
    fn sealed_secrets_need_the_same_key_and_are_not_malleable() {
        let sb = SecretBox::new(b"one app secret, at least 32 bytes long");
        let a = sb.seal(b"12345678901234567890").unwrap();
        let b = sb.seal(b"12345678901234567890").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert_eq!(&sb.open(&a).unwrap()[..], b"12345678901234567890");
        let mut flipped = a.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(sb.open(&flipped), Err(Error::Config(_))));
        assert!(sb.open(&a[..20]).is_err());
        let other = SecretBox::new(b"another app secret, at least 32 bytes");
        assert!(other.open(&a).is_err());
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_through_their_digest() {
        let codes = generate_recovery_codes();
        let digests: std::collections::BTreeSet<_> = codes
            .iter()
            .map(|c| recovery_digest(c).expect("valid"))
            .collect();
        assert_eq!(digests.len(), RECOVERY_CODES);
        assert_eq!(
            recovery_digest(&codes[0].to_uppercase()),
            recovery_digest(&codes[0])
        );
        assert_eq!(
            recovery_digest("abcde-fghj0"),
            None,
            "0 is not a code character"
        );
    }
}
