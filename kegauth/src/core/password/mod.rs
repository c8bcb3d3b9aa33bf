//! Password hashing: argon2id for new hashes, verification of keg-auth's legacy
//! bcrypt (`$2b$`) and passlib `$pbkdf2-sha256$` hashes, and a rehash signal.
//!
//! Hashing is deliberately slow, so the async API runs it on the hasher's own
//! threads (by default one per core but one), never on the async executor. On
//! Linux they run under `SCHED_IDLE` by default: a storm of logins uses the
//! CPU that other requests leave idle instead of taking it from them, and
//! when other work leaves none, hashes also go to threads at nice 10 (see
//! [`HasherPriority::Idle`]).
//! Each thread keeps its argon2 memory (19 MiB) from one hash to the next,
//! zeroed after each: no allocation, page faults or unmapping per hash, and
//! no allocator or address-space lock held by a low-priority thread that
//! request threads would wait for.

mod hasher;
mod pool;
mod scheme;
#[cfg(feature = "testing")]
pub use hasher::HashHold;
pub use hasher::{PasswordHasher, Verified};
pub(crate) use pool::default_concurrency;
pub use pool::{HasherPriority, DEFAULT_HASHER_NICE, DEFAULT_HASHER_PRIORITY, IDLE_GRACE};
pub use scheme::{PasswordScheme, BCRYPT_COST};

/// Longest password accepted, in bytes: far above any real password, far below
/// anything that could slow hashing or reach the database in bulk.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// OWASP's argon2id parameters: m = 19456 KiB, t = 2, p = 1.
pub const ARGON2_M_COST: u32 = 19_456;
/// Iterations.
pub const ARGON2_T_COST: u32 = 2;
/// Parallelism.
pub const ARGON2_P_COST: u32 = 1;
