//! Password hashing: argon2id for new hashes, verification of keg-auth's legacy
//! bcrypt (`$2b$`) and passlib `$pbkdf2-sha256$` hashes, and a rehash signal.
//!
//! Hashing is deliberately slow, so the async API runs it on Tokio's blocking
//! pool behind a semaphore: a storm of logins cannot starve the executor or
//! take more than `concurrency` cores.

use crate::{Error, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// Longest password accepted, in bytes: far above any real password, far below
/// anything that could slow hashing or reach the database in bulk.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// OWASP's argon2id parameters: m = 19456 KiB, t = 2, p = 1.
pub const ARGON2_M_COST: u32 = 19_456;
/// Iterations.
pub const ARGON2_T_COST: u32 = 2;
/// Parallelism.
pub const ARGON2_P_COST: u32 = 1;

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// The hash is legacy or weaker than current parameters: store a new one.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use kegauth::password::PasswordHasher;
/// let hasher = PasswordHasher::new();
/// let hash = hasher.hash("correct horse battery staple").await.unwrap();
/// assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// let v = hasher.verify("correct horse battery staple", &hash).await.unwrap();
/// assert!(v.ok && !v.needs_rehash);
/// assert!(!hasher.verify("wrong", &hash).await.unwrap().ok);
/// # }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    verifications: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// One hash at a time per core but one (at least one): a login storm keeps a
/// core free for every other request. Measured with `benches/load.sh` on 2
/// cores: the p99 of a session page during 20 concurrent logins went from
/// 10.1 ms to 7.1 ms (idle: 3.7 ms), for 28 instead of 47 logins per second.
fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

impl PasswordHasher {
    /// OWASP argon2id parameters; at most one hash at a time per core but one
    /// (at least one), so that logins cannot take every core.
    pub fn new() -> Self {
        Self::with_concurrency(default_concurrency())
    }

    /// At most `n` (at least 1) hashes at a time.
    pub fn with_concurrency(n: usize) -> Self {
        // The constants are valid argon2 parameters; `Params::DEFAULT` is the fallback.
        let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, None)
            .unwrap_or(Params::DEFAULT);
        PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(n.max(1))),
            verifications: Arc::default(),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hash synchronously (for the CLI and blocking contexts).
    pub fn hash_blocking(&self, password: &str) -> Result<String> {
        check_len(password)?;
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Hash(e.to_string()))
    }

    /// Verify synchronously. A malformed hash verifies as false (and needs a rehash).
    pub fn verify_blocking(&self, password: &str, hash: &str) -> Verified {
        let needs_rehash = self.needs_rehash(hash);
        if password.len() > MAX_PASSWORD_BYTES || password.is_empty() {
            // Still spend the time, so the length does not show in the timing.
            let _ = self.dummy_blocking();
            return Verified {
                ok: false,
                needs_rehash,
            };
        }
        let ok = if hash.starts_with("$argon2") {
            PasswordHash::new(hash)
                .map(|parsed| {
                    self.argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        } else if hash.starts_with("$2") {
            // passlib's bcrypt truncates at 72 bytes; so does bcrypt::verify.
            hash.is_ascii() && bcrypt::verify(password, hash).unwrap_or(false)
        } else if hash.starts_with("$pbkdf2-sha256$") {
            verify_passlib_pbkdf2(password, hash)
        } else {
            false
        };
        Verified { ok, needs_rehash }
    }

    /// Whether `hash` is not argon2id with the current parameters.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                p.m_cost() < self.params.m_cost()
                    || p.t_cost() < self.params.t_cost()
                    || p.p_cost() != self.params.p_cost()
            }
            Err(_) => true,
        }
    }

    fn dummy_blocking(&self) -> bool {
        // A fixed valid argon2id hash with the current parameters.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = DUMMY.get_or_init(|| {
            self.hash_blocking("kegauth dummy password")
                .unwrap_or_default()
        });
        PasswordHash::new(hash)
            .map(|p| self.argon2().verify_password(b"x", &p).is_ok())
            .unwrap_or(false)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(PasswordHasher) -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Hash(e.to_string()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || job(this))
            .await
            .map_err(|e| Error::Hash(e.to_string()))
    }

    /// Hash `password` with argon2id off the async executor.
    pub async fn hash(&self, password: &str) -> Result<String> {
        check_len(password)?;
        let password = password.to_owned();
        self.run(move |h| h.hash_blocking(&password)).await?
    }

    /// How many verifications (real or dummy) this hasher and its clones have run:
    /// lets tests check that every failed login costs exactly one.
    pub fn verification_count(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Verify `password` against `hash` off the async executor.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<Verified> {
        self.count();
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move |h| h.verify_blocking(&password, &hash)).await
    }

    /// Spend one verification's worth of time on nothing, for unknown users,
    /// so response time does not tell whether a login id exists.
    pub async fn verify_dummy(&self) -> Result<()> {
        self.count();
        self.run(|h| {
            h.dummy_blocking();
        })
        .await
    }
}

fn check_len(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Invalid(format!(
            "passwords are limited to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// passlib's "adapted base64": `.` instead of `+`, no padding.
fn ab64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD.decode(s.replace('.', "+")).ok()
}

/// `$pbkdf2-sha256$<rounds>$<salt>$<checksum>` as passlib writes it.
fn verify_passlib_pbkdf2(password: &str, hash: &str) -> bool {
    let mut parts = hash.split('$').skip(2);
    let (Some(rounds), Some(salt), Some(checksum), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(rounds) = rounds.parse::<u32>() else {
        return false;
    };
    // A stored hash is trusted data, but an absurd round count must not hang a worker.
    if rounds == 0 || rounds > 10_000_000 {
        return false;
    }
    let (Some(salt), Some(expected)) = (ab64_decode(salt), ab64_decode(checksum)) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, rounds, &mut out);
    out.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_hashes_verify_false_without_panic() {
        let h = PasswordHasher::with_concurrency(1);
        for bad in [
            "",
            "$2b$",
            "$2b$12$ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ",
            "$pbkdf2-sha256$x$y$z",
            "$pbkdf2-sha256$99999999999$c2FsdA$c2FsdA",
            "$argon2id$v=19$m=1,t=1,p=1$bad",
            "plaintext",
        ] {
            let v = h.verify_blocking("password", bad);
            assert!(!v.ok, "{bad}");
            assert!(v.needs_rehash, "{bad}");
        }
    }

    #[test]
    fn empty_and_oversized_passwords_never_verify() {
        let h = PasswordHasher::with_concurrency(1);
        let hash = h.hash_blocking("").expect("hashing an empty string works");
        assert!(!h.verify_blocking("", &hash).ok);
        let big = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(h.hash_blocking(&big), Err(Error::Invalid(_))));
        assert!(!h.verify_blocking(&big, &hash).ok);
    }
}
