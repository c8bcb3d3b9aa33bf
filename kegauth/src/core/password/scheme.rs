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
    use super::super::PasswordHasher;
    use super::*;

    const PASSWORD: &str = "correct horse battery staple";

    fn bcrypt_hasher() -> PasswordHasher {
        PasswordHasher::with_concurrency(1).with_scheme(PasswordScheme::Bcrypt)
    }

    #[test]
    fn bcrypt_writes_what_keg_auth_writes_and_every_scheme_verifies() {
        let hasher = bcrypt_hasher();
        let hash = hasher.hash_blocking(PASSWORD).expect("a hash");
        assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "{hash}");
        let v = hasher.verify_blocking(PASSWORD, &hash);
        assert!(v.ok && !v.needs_rehash);
        assert!(!hasher.verify_blocking("wrong", &hash).ok);
        // argon2id hashes still verify, and are rehashed to bcrypt.
        let argon = PasswordHasher::with_concurrency(1)
            .hash_blocking(PASSWORD)
            .expect("argon2id");
        let v = hasher.verify_blocking(PASSWORD, &argon);
        assert!(v.ok && v.needs_rehash);
        // ...and the default scheme rehashes bcrypt to argon2id.
        let v = PasswordHasher::with_concurrency(1).verify_blocking(PASSWORD, &hash);
        assert!(v.ok && v.needs_rehash);
    }

    #[test]
    fn bcrypt_below_keg_auths_cost_or_passlib_pbkdf2_is_rehashed() {
        let hasher = bcrypt_hasher();
        let cheap = bcrypt::hash(PASSWORD, 4).expect("cost 4");
        let v = hasher.verify_blocking(PASSWORD, &cheap);
        assert!(v.ok && v.needs_rehash);
        assert!(hasher.needs_rehash(
            "$pbkdf2-sha256$29000$sNb6v1dqjVFKKaVUSqmVsg$/GpE5BABlWn.BlPfSyowSiP3lojT20HcHlxWl2/jeCs"
        ));
        assert!(!hasher.needs_rehash(&bcrypt::hash(PASSWORD, 13).expect("cost 13")));
        assert!(hasher.needs_rehash("$2b$xx$garbage"));
    }

    #[test]
    fn bcrypt_refuses_what_it_would_truncate() {
        let hasher = bcrypt_hasher();
        assert!(hasher.hash_blocking(&"a".repeat(71)).is_ok());
        let err = hasher.hash_blocking(&"a".repeat(72)).expect_err("72 bytes");
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("71 bytes")),
            "{err}"
        );
    }

    #[test]
    fn the_scheme_setting_reads_lowercase_names_only() {
        let read = |s: &str| serde_json::from_str::<PasswordScheme>(s);
        assert_eq!(read("\"argon2id\"").ok(), Some(PasswordScheme::Argon2id));
        assert_eq!(read("\"bcrypt\"").ok(), Some(PasswordScheme::Bcrypt));
        assert!(read("\"md5\"").is_err());
    }
}
