//! The hasher: argon2id hashes, legacy verification, rehash signals, and
//! the async API that hands the work to the hashing threads (`pool.rs`).

use super::pool::{default_concurrency, HashPool, Lanes, Shared, MEMORY};
use super::pool::{HasherPriority, DEFAULT_HASHER_PRIORITY, IDLE_GRACE};
use super::scheme::{self, PasswordScheme};
use super::{ARGON2_M_COST, ARGON2_P_COST, ARGON2_T_COST, MAX_PASSWORD_BYTES};
use crate::core::error::{Error, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use std::sync::Arc;
use subtle::ConstantTimeEq;

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
    scheme: PasswordScheme,
    lanes: Arc<Lanes>,
    verifications: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// OWASP argon2id parameters, on one hashing thread per core but one (at
    /// least one), at [`DEFAULT_HASHER_PRIORITY`] on Linux: logins cannot
    /// take the CPU from other requests.
    pub fn new() -> Self {
        Self::with_concurrency(default_concurrency())
    }

    /// `n` (at least 1) hashing threads, started on first use, at
    /// [`DEFAULT_HASHER_PRIORITY`] on Linux.
    pub fn with_concurrency(n: usize) -> Self {
        Self::with_priority(n, DEFAULT_HASHER_PRIORITY)
    }

    /// `threads` hashing threads (at least 1) at nice value `nice` on Linux
    /// (0: normal priority; at most 19).
    ///
    /// ```
    /// let hasher = kegauth::password::PasswordHasher::with_threads(2, 0);
    /// # let _ = hasher;
    /// ```
    pub fn with_threads(threads: usize, nice: u8) -> Self {
        Self::with_priority(threads, HasherPriority::Nice(nice))
    }

    /// `threads` hashing threads (at least 1) scheduled as `priority` on
    /// Linux (a nice value above 19 counts as 19). With
    /// [`HasherPriority::Idle`], at most `threads` hash at a time while the
    /// idle threads progress, and up to twice that while they are starved.
    pub fn with_priority(threads: usize, priority: HasherPriority) -> Self {
        let priority = match priority {
            HasherPriority::Nice(nice) => HasherPriority::Nice(nice.min(19)),
            HasherPriority::Idle(nice) => HasherPriority::Idle(nice.min(19)),
        };
        // The constants are valid argon2 parameters; `Params::DEFAULT` is the fallback.
        let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, None)
            .unwrap_or(Params::DEFAULT);
        PasswordHasher {
            params,
            scheme: PasswordScheme::Argon2id,
            lanes: Arc::new(Lanes {
                idle: match priority {
                    HasherPriority::Idle(_) => Some(HashPool::new(threads, priority)),
                    HasherPriority::Nice(_) => None,
                },
                normal: HashPool::new(
                    threads,
                    match priority {
                        HasherPriority::Idle(nice) | HasherPriority::Nice(nice) => {
                            HasherPriority::Nice(nice)
                        }
                    },
                ),
                grace: IDLE_GRACE,
            }),
            verifications: Arc::default(),
        }
    }

    /// The same hasher (its threads shared), writing `scheme`'s hashes.
    ///
    /// ```
    /// use kegauth::password::{PasswordHasher, PasswordScheme};
    /// let hasher = PasswordHasher::new().with_scheme(PasswordScheme::Bcrypt);
    /// let hash = hasher.hash_blocking("correct horse battery staple").unwrap();
    /// assert!(hash.starts_with("$2b$12$"));
    /// assert!(hasher.verify_blocking("correct horse battery staple", &hash).ok);
    /// ```
    pub fn with_scheme(mut self, scheme: PasswordScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The scheme new hashes are written with.
    pub fn scheme(&self) -> PasswordScheme {
        self.scheme
    }

    /// Hash synchronously (for the CLI and blocking contexts).
    pub fn hash_blocking(&self, password: &str) -> Result<String> {
        check_len(password)?;
        if self.scheme == PasswordScheme::Bcrypt {
            return scheme::bcrypt_hash(password);
        }
        let fail = |e: &dyn std::fmt::Display| Error::Hash(e.to_string());
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| fail(&e))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2_into(&argon2, password.as_bytes(), salt_bytes, &mut out).map_err(|e| fail(&e))?;
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| fail(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
        };
        Ok(hash.to_string())
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
            verify_argon2(password.as_bytes(), hash)
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

    /// Whether `hash` is not of the current scheme with the current
    /// parameters (argon2id: at least OWASP's costs; bcrypt: at least cost
    /// [`BCRYPT_COST`](super::BCRYPT_COST)).
    pub fn needs_rehash(&self, hash: &str) -> bool {
        if self.scheme == PasswordScheme::Bcrypt {
            return !scheme::bcrypt_is_current(hash);
        }
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
        // A fixed valid hash of the current scheme with the current parameters.
        static ARGON2: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static BCRYPT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let cell = match self.scheme {
            PasswordScheme::Argon2id => &ARGON2,
            PasswordScheme::Bcrypt => &BCRYPT,
        };
        let hash = cell.get_or_init(|| {
            self.hash_blocking("kegauth dummy password")
                .unwrap_or_default()
        });
        match self.scheme {
            PasswordScheme::Argon2id => verify_argon2(b"x", hash),
            PasswordScheme::Bcrypt => bcrypt::verify("x", hash).unwrap_or(false),
        }
    }

    /// Run `work` on the hashing threads: on the idle lane, if there is one,
    /// and on the normal lane too if the idle threads are starved (each has
    /// run its job for longer than [`IDLE_GRACE`]).
    async fn run<T: Send + 'static>(
        &self,
        work: impl Fn(&PasswordHasher) -> T + Send + Sync + 'static,
    ) -> Result<T> {
        let (reply, mut result) = tokio::sync::oneshot::channel();
        let job = Arc::new(Shared {
            work: Box::new(work),
            reply: std::sync::Mutex::new(Some(reply)),
        });
        let lanes = &self.lanes;
        let queued = |lane: &HashPool| {
            let (job, this) = (job.clone(), self.clone());
            lane.send(Box::new(move || job.run(&this)))
        };
        let failed = |_| Error::Hash("a hashing job failed".into());
        if let Some(idle) = &lanes.idle {
            queued(idle)?;
            loop {
                match tokio::time::timeout(lanes.grace, &mut result).await {
                    Ok(answer) => return answer.map_err(failed),
                    Err(_) if idle.starved(lanes.grace) => break,
                    Err(_) => {} // the idle threads make progress: wait on
                }
            }
        }
        queued(&lanes.normal)?;
        drop(job); // a job that panics on every lane closes `result`
        result.await.map_err(failed)
    }

    /// Hash `password` with the hasher's scheme off the async executor.
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

    /// Hold every hashing thread of this hasher (and its clones) until the
    /// returned guard is dropped: hashes asked for meanwhile wait. Tests use it
    /// to act while a login is being hashed (feature `testing`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let hasher = kegauth::password::PasswordHasher::with_threads(1, 0);
    /// let hold = hasher.hold();
    /// let hash = hasher.hash("correct horse battery staple");
    /// tokio::pin!(hash);
    /// let waited = tokio::time::timeout(std::time::Duration::from_millis(100), &mut hash).await;
    /// assert!(waited.is_err(), "held");
    /// drop(hold);
    /// assert!(hash.await.is_ok());
    /// # }
    /// ```
    #[cfg(feature = "testing")]
    pub fn hold(&self) -> HashHold {
        let released = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let lanes = self.lanes.idle.iter().chain([&self.lanes.normal]);
        for lane in lanes {
            for _ in 0..lane.threads {
                let released = released.clone();
                let _ = lane.send(Box::new(move || {
                    let (done, wake) = &*released;
                    let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
                    while !*done {
                        done = wake.wait(done).unwrap_or_else(|p| p.into_inner());
                    }
                }));
            }
        }
        HashHold { released }
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

/// What [`PasswordHasher::hold`] returns: the hashing threads wait until it is dropped.
#[cfg(feature = "testing")]
#[must_use = "the hashing threads are released when this is dropped"]
pub struct HashHold {
    released: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

#[cfg(feature = "testing")]
impl Drop for HashHold {
    fn drop(&mut self) {
        let (done, wake) = &*self.released;
        *done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }
}

/// Blocks kept between hashes at most (more than kegauth's own parameters
/// need): a stored hash with a larger memory cost gets memory for itself.
const KEPT_BLOCKS: usize = 4 * ARGON2_M_COST as usize;

/// argon2 of `pwd` and `salt` into `out`: in the thread's kept memory on a
/// hashing thread, else in memory of its own.
fn argon2_into(argon2: &Argon2<'_>, pwd: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    use zeroize::Zeroize;
    let needed = argon2.params().block_count();
    MEMORY.with_borrow_mut(|kept| {
        let mut own = Vec::new();
        let memory = match kept {
            Some(memory) if needed <= KEPT_BLOCKS => memory,
            _ => &mut own,
        };
        if memory.len() < needed {
            memory.resize(needed, Block::default());
        }
        let blocks = &mut memory[..needed];
        let result = argon2.hash_password_into_with_memory(pwd, salt, out, &mut *blocks);
        blocks.iter_mut().for_each(Zeroize::zeroize);
        result
    })
}

/// Whether `password` matches a PHC argon2 hash (argon2id, argon2i or
/// argon2d, version 0x10 or 0x13, any parameters); a malformed hash does not.
fn verify_argon2(password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    argon2_into(&argon2, password, salt_bytes, out).is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
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
    use crate::core::password::pool::DEFAULT_HASHER_NICE;

    /// What a job sees of the thread it runs on: its name, and on Linux its
    /// policy and nice value.
    #[derive(Debug, PartialEq, Eq)]
    struct Seen {
        name: String,
        #[cfg(target_os = "linux")]
        policy: thread_priority::ThreadSchedulePolicy,
        #[cfg(target_os = "linux")]
        nice: i32,
    }

    fn seen() -> Seen {
        Seen {
            name: std::thread::current().name().unwrap_or("").to_owned(),
            #[cfg(target_os = "linux")]
            policy: thread_priority::thread_schedule_policy().expect("the policy"),
            #[cfg(target_os = "linux")]
            nice: rustix::process::getpriority_process(None).expect("getpriority"),
        }
    }

    #[cfg(target_os = "linux")]
    fn policy(
        normal: thread_priority::NormalThreadSchedulePolicy,
    ) -> thread_priority::ThreadSchedulePolicy {
        thread_priority::ThreadSchedulePolicy::Normal(normal)
    }

    #[tokio::test]
    async fn jobs_run_on_the_hashing_threads_and_survive_a_panic() {
        for h in [
            PasswordHasher::with_concurrency(2),
            PasswordHasher::with_threads(2, DEFAULT_HASHER_NICE),
        ] {
            let thread = h.run(|_| seen()).await.expect("the job runs");
            let lanes = ["kegauth-hash-", "kegauth-idle-"];
            assert!(
                lanes.iter().any(|l| thread.name.starts_with(l)),
                "{thread:?}"
            );
            let failed = h.run(|_| -> u8 { panic!("a job that panics") }).await;
            assert!(matches!(failed, Err(Error::Hash(_))));
            for _ in 0..3 {
                assert_eq!(h.run(|_| 7).await.expect("the threads live on"), 7);
            }
        }
        #[cfg(target_os = "linux")]
        {
            use thread_priority::NormalThreadSchedulePolicy::{Idle, Other};
            let by_default = PasswordHasher::new().run(|_| seen()).await.expect("runs");
            assert_eq!(by_default.policy, policy(Idle), "{by_default:?}");
            let nice = PasswordHasher::with_threads(1, 12).run(|_| seen()).await;
            let nice = nice.expect("runs");
            assert_eq!((nice.policy, nice.nice), (policy(Other), 12), "{nice:?}");
        }
    }

    /// Idle hashing threads that get no CPU (here: busy for longer than the
    /// grace period) hand waiting jobs to threads at the nice value.
    #[tokio::test]
    async fn jobs_waiting_on_starved_idle_threads_run_at_the_nice_value() {
        let grace = std::time::Duration::from_millis(50);
        let mut h = PasswordHasher::with_priority(1, HasherPriority::Idle(11));
        Arc::get_mut(&mut h.lanes).expect("not shared yet").grace = grace;
        let idle = h.lanes.idle.as_ref().expect("an idle lane");
        // A job that keeps the idle thread for 2 s, sent as is (it waits for no one).
        let (release, hold) = std::sync::mpsc::channel::<()>();
        idle.send(Box::new(move || {
            let _ = hold.recv_timeout(std::time::Duration::from_secs(2));
        }))
        .expect("queued");
        let start = std::time::Instant::now();
        let thread = h.run(|_| seen()).await.expect("the job runs");
        let waited = start.elapsed();
        let _ = release.send(());
        assert!(waited < std::time::Duration::from_secs(1), "{waited:?}");
        assert_eq!(thread.name, "kegauth-hash-0", "{thread:?}");
        #[cfg(target_os = "linux")]
        {
            use thread_priority::NormalThreadSchedulePolicy::Other;
            assert_eq!(
                (thread.policy, thread.nice),
                (policy(Other), 11),
                "{thread:?}"
            );
        }
    }

    /// Idle hashing threads that make progress keep their jobs, however
    /// long these queue (a login storm): the normal-policy threads never start.
    #[tokio::test]
    async fn idle_threads_that_progress_keep_their_queue() {
        let h = PasswordHasher::with_priority(1, HasherPriority::Idle(DEFAULT_HASHER_NICE));
        let start = std::time::Instant::now();
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let h = h.clone();
            jobs.spawn(async move {
                h.run(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(40));
                    seen()
                })
                .await
            });
        }
        let threads = jobs.join_all().await;
        assert!(
            start.elapsed() > IDLE_GRACE,
            "the queue outlasted the grace period"
        );
        for thread in threads {
            let thread = thread.expect("the job runs");
            assert_eq!(thread.name, "kegauth-idle-0", "{thread:?}");
        }
        assert!(
            h.lanes.normal.queue.get().is_none(),
            "the normal lane never started"
        );
    }

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

    /// SECURITY-CHECKLIST row 4: long Unicode passwords are neither
    /// truncated nor mangled.
    #[test]
    fn long_unicode_passwords_round_trip_untruncated() {
        let h = PasswordHasher::with_concurrency(1);
        let password = "🔑🐢é中".repeat(32); // 128 characters, 352 bytes
        let hash = h.hash_blocking(&password).expect("hashed");
        assert!(h.verify_blocking(&password, &hash).ok);
        let prefix: String = password.chars().take(127).collect();
        assert!(!h.verify_blocking(&prefix, &hash).ok, "no truncation");
        let first_72_bytes = &password.as_bytes()[..72];
        let first_72 = String::from_utf8_lossy(first_72_bytes);
        assert!(!h.verify_blocking(&first_72, &hash).ok, "no 72-byte limit");
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

    /// Hashes made in the kept memory (a hashing thread) and in memory of
    /// their own (any other thread) are the argon2 crate's own, both ways:
    /// any algorithm, version, cost and output length it writes verifies,
    /// whatever size of hash ran before on the thread.
    #[tokio::test]
    async fn kept_memory_hashes_match_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = PasswordHasher::with_concurrency(1);
        let ours = h.hash("correct horse").await.expect("hashed");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        let standard = Argon2::default();
        assert!(standard.verify_password(b"correct horse", &parsed).is_ok());
        assert!(standard.verify_password(b"correct horsf", &parsed).is_err());
        let salt = SaltString::generate(&mut OsRng);
        for (algorithm, version, m, t, len) in [
            (Algorithm::Argon2id, Version::V0x13, ARGON2_M_COST, 2, 32),
            (Algorithm::Argon2id, Version::V0x13, 8 * 1024, 3, 16),
            (Algorithm::Argon2i, Version::V0x13, 4 * 1024, 1, 32),
            (Algorithm::Argon2d, Version::V0x10, 12 * 1024, 2, 64),
            // More than the kept memory: a one-off allocation.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                KEPT_BLOCKS as u32 + 8,
                1,
                32,
            ),
            (Algorithm::Argon2id, Version::V0x13, 1024, 1, 32),
        ] {
            let params = Params::new(m, t, 1, Some(len)).expect("params");
            let theirs = Argon2::new(algorithm, version, params)
                .hash_password(b"tr0ub4dor&3", &salt)
                .expect("hashed")
                .to_string();
            let case = format!("{algorithm:?} {version:?} m={m} t={t} len={len}");
            assert!(verify_argon2(b"tr0ub4dor&3", &theirs), "{case}");
            assert!(!verify_argon2(b"tr0ub4dor&4", &theirs), "{case}");
            let kept = |password: &str| {
                let (h, password, theirs) = (h.clone(), password.to_owned(), theirs.clone());
                async move { h.verify(&password, &theirs).await.expect("ran").ok }
            };
            assert!(kept("tr0ub4dor&3").await, "{case}");
            assert!(!kept("tr0ub4dor&4").await, "{case}");
        }
        // And ours again, after the smaller and larger runs above.
        assert!(h.verify("correct horse", &ours).await.expect("ran").ok);
        assert!(h.verify_blocking("correct horse", &ours).ok);
    }

    #[tokio::test]
    async fn only_hashing_threads_keep_memory_and_it_is_zeroed_after_each_hash() {
        // One lane of one thread: the probe below must run on the thread that
        // hashed (with an idle lane, a loaded machine may hand it to the other).
        let h = PasswordHasher::with_threads(1, DEFAULT_HASHER_NICE);
        let hash = h.hash("correct horse").await.expect("hashed");
        assert!(h.verify("correct horse", &hash).await.expect("ran").ok);
        let (kept, zeroed) = h
            .run(|_| {
                MEMORY.with_borrow(|memory| {
                    let memory = memory.as_deref().unwrap_or_default();
                    let zeroed = memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0));
                    (memory.len(), zeroed)
                })
            })
            .await
            .expect("ran");
        assert!(
            kept >= ARGON2_M_COST as usize,
            "memory is kept: {kept} blocks"
        );
        assert!(zeroed, "and zeroed");
        // The blocking API on another thread keeps nothing.
        assert!(h.verify_blocking("correct horse", &hash).ok);
        assert!(MEMORY.with_borrow(Option::is_none));
    }

    // keg-auth's bcrypt scheme, through the hasher.

    const BCRYPT_PASSWORD: &str = "correct horse battery staple";

    fn bcrypt_hasher() -> PasswordHasher {
        PasswordHasher::with_concurrency(1).with_scheme(PasswordScheme::Bcrypt)
    }

    #[test]
    fn bcrypt_writes_what_keg_auth_writes_and_every_scheme_verifies() {
        let hasher = bcrypt_hasher();
        let hash = hasher.hash_blocking(BCRYPT_PASSWORD).expect("a hash");
        assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "{hash}");
        let v = hasher.verify_blocking(BCRYPT_PASSWORD, &hash);
        assert!(v.ok && !v.needs_rehash);
        assert!(!hasher.verify_blocking("wrong", &hash).ok);
        // argon2id hashes still verify, and are rehashed to bcrypt.
        let argon = PasswordHasher::with_concurrency(1)
            .hash_blocking(BCRYPT_PASSWORD)
            .expect("argon2id");
        let v = hasher.verify_blocking(BCRYPT_PASSWORD, &argon);
        assert!(v.ok && v.needs_rehash);
        // ...and the default scheme rehashes bcrypt to argon2id.
        let v = PasswordHasher::with_concurrency(1).verify_blocking(BCRYPT_PASSWORD, &hash);
        assert!(v.ok && v.needs_rehash);
    }

    #[test]
    fn bcrypt_below_keg_auths_cost_or_passlib_pbkdf2_is_rehashed() {
        let hasher = bcrypt_hasher();
        let cheap = bcrypt::hash(BCRYPT_PASSWORD, 4).expect("cost 4");
        let v = hasher.verify_blocking(BCRYPT_PASSWORD, &cheap);
        assert!(v.ok && v.needs_rehash);
        assert!(hasher.needs_rehash(
            "$pbkdf2-sha256$29000$sNb6v1dqjVFKKaVUSqmVsg$/GpE5BABlWn.BlPfSyowSiP3lojT20HcHlxWl2/jeCs"
        ));
        assert!(!hasher.needs_rehash(&bcrypt::hash(BCRYPT_PASSWORD, 13).expect("cost 13")));
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
}
