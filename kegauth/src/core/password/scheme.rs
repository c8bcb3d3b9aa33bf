//! The hash kegauth writes: argon2id, or bcrypt while keg-auth shares the
//! database (`password_scheme`).

use crate::core::error::{Error, Result};

/// keg-auth's bcrypt cost (its `DEFAULT_BCRYPT_ROUNDS`), used for the hashes
/// kegauth writes with [`PasswordScheme::Bcrypt`].
pub const BCRYPT_COST: u32 = 12;

/// The hash kegauth writes for new and rehashed passwords (the
/// `password_scheme` setting). Whatever the scheme, argon2id, bcrypt and
/// passlib pbkdf2-sha256 hashes all verify.
///
/// ```
/// use kegauth::password::PasswordScheme;
/// let scheme: PasswordScheme = serde_json::from_str("\"bcrypt\"").unwrap();
/// assert_eq!(scheme, PasswordScheme::Bcrypt);
/// assert_eq!(PasswordScheme::default(), PasswordScheme::Argon2id);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordScheme {
    /// argon2id with OWASP's parameters (the default).
    #[default]
    Argon2id,
    /// bcrypt (`$2b$`) at cost [`BCRYPT_COST`], which keg-auth verifies: for an
    /// app that runs keg-auth and kegauth on one database while it moves
    /// over. Passwords over 71 bytes are refused (bcrypt reads only 72,
    /// its terminating NUL included).
    Bcrypt,
}

/// The longest password bcrypt reads whole (72 bytes with the terminating
/// NUL it hashes too; the bcrypt crate refuses a 72-byte one untruncated).
pub(crate) const BCRYPT_MAX_BYTES: usize = 71;

/// A bcrypt hash at [`BCRYPT_COST`]; a password bcrypt would truncate is refused.
pub(super) fn bcrypt_hash(password: &str) -> Result<String> {
    if password.len() > BCRYPT_MAX_BYTES {
        return Err(Error::Invalid(format!(
            "with password_scheme = \"bcrypt\", a password may have at most \
             {BCRYPT_MAX_BYTES} bytes"
        )));
    }
    bcrypt::non_truncating_hash(password, BCRYPT_COST).map_err(|e| Error::Hash(e.to_string()))
}

impl PasswordScheme {
    /// The longest password (in bytes) this scheme hashes whole, if it has a limit.
    pub fn max_password_bytes(self) -> Option<usize> {
        match self {
            PasswordScheme::Argon2id => None,
            PasswordScheme::Bcrypt => Some(BCRYPT_MAX_BYTES),
        }
    }
}

/// Whether `hash` is bcrypt at [`BCRYPT_COST`] or more.
pub(super) fn bcrypt_is_current(hash: &str) -> bool {
    hash.starts_with("$2")
        && hash
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|cost| cost >= BCRYPT_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_setting_reads_lowercase_names_only() {
        let read = |s: &str| serde_json::from_str::<PasswordScheme>(s);
        assert_eq!(read("\"argon2id\"").ok(), Some(PasswordScheme::Argon2id));
        assert_eq!(read("\"bcrypt\"").ok(), Some(PasswordScheme::Bcrypt));
        assert!(read("\"md5\"").is_err());
    }
}
