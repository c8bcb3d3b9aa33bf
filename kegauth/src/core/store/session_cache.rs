//! A short-lived, in-process cache of session users and their permissions,
//! keyed by session key (`session_cache_secs`; one second by default, 0
//! turns it off).
//!
//! Every write the store makes takes effect at once: a write to one user's
//! row drops that user's entries (its old and new session key), a write to
//! memberships or permissions drops everything. So on one instance a logout, password or rights change takes
//! effect on the next request. Writes made elsewhere (another instance, the
//! app's own SQL) take effect when the entries expire: that is the price of
//! the saved queries, and why the default is as short as one second. On
//! PostgreSQL, kegauth's writes also announce themselves (`NOTIFY`, see
//! `services/revocations.rs`), and every instance drops the entries a write
//! made elsewhere has changed as soon as it hears of it; while an instance
//! cannot hear (its listening connection is down), its cache is bypassed.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The maps kegauth consults on every request, keyed by strings from the
/// session cookie (here the session key; in
/// [`DecodedSessions`](crate::authn::decoded_sessions::DecodedSessions) the raw ~280-byte
/// cookie, where std's SipHash cost more than the rest of the lookup). The
/// hash is ahash, randomly keyed too; only keys that came from the database
/// or decrypted are ever inserted, a lookup never inserts.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// Entries kept at most; past it, expired entries go, then everything.
const CAPACITY: usize = 10_000;

struct Entry<U> {
    user: Arc<U>,
    permissions: Option<Arc<BTreeSet<String>>>,
    /// Session rows (`kegauth_sessions`) found alive under this key since
    /// `at`; a few at most (one per device of the user).
    rows: Vec<String>,
    at: Instant,
}

/// Session rows kept at most per entry.
const ROWS_PER_ENTRY: usize = 16;

/// Which session key an API token last led to: `(login id as sent, token
/// digest)` → the session key of the user it matched. Never trusted alone:
/// a hit is the user by that session key (through the session cache, which
/// every write to that user's row evicts), accepted only while their row
/// still holds the same login id and token digest. So the token costs no
/// query while the cache serves the user, and a changed, cleared or
/// regenerated token, a renamed login or a rotated session key fails over to
/// the full lookup.
#[derive(Default)]
pub(crate) struct TokenKeys {
    entries: Mutex<HashMap<(String, Vec<u8>), String>>,
}

impl TokenKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Vec<u8>), String>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session key `login_id` with a token of `digest` last led to.
    pub(crate) fn get(&self, login_id: &str, digest: &[u8]) -> Option<String> {
        self.lock()
            .get(&(login_id.to_string(), digest.to_vec()))
            .cloned()
    }

    /// Remember that `login_id` with a token of `digest` led to `session_key`.
    pub(crate) fn put(&self, login_id: &str, digest: Vec<u8>, session_key: String) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert((login_id.to_string(), digest), session_key);
    }
}

/// The cache (shared by a store's clones).
pub(crate) struct SessionCache<U> {
    ttl: Duration,
    /// Off while writes made elsewhere may go unheard (the revocation
    /// listener is down): nothing is served from the cache, nothing stored.
    live: AtomicBool,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Entry<U>>>,
}

impl<U> SessionCache<U> {
    pub(crate) fn new(ttl: Duration) -> Self {
        SessionCache {
            ttl,
            live: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::default()),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.live.load(Ordering::Acquire)
    }

    /// Serve from the cache (`true`), or bypass it while writes made
    /// elsewhere may go unheard (`false`). Either way everything cached so
    /// far is dropped: what was missed meanwhile is unknown.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn set_live(&self, live: bool) {
        let mut entries = self.lock();
        self.live.store(live, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Forget the entries of the users `gone` picks (a write made elsewhere
    /// to these users' rows or rights).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn evict_users(&self, gone: impl Fn(&U) -> bool) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, e| !gone(&e.user));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<U>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current generation; read it before a lookup that may be cached.
    /// While the cache is bypassed it moves on at every read, so that what
    /// is derived from it (a menu) is not kept either.
    pub(crate) fn generation(&self) -> u64 {
        if self.live.load(Ordering::Acquire) {
            self.generation.load(Ordering::Acquire)
        } else {
            self.generation.fetch_add(1, Ordering::AcqRel) + 1
        }
    }

    /// Forget everything (after a write that may change any user or their rights).
    /// The generation moves on even with the cache off: menus read it too.
    pub(crate) fn invalidate(&self) {
        if self.enabled() {
            let mut entries = self.lock();
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        } else {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Forget the entries of these session keys (after a write to one user's
    /// row: its old and its new key). Reads in flight still cannot store what
    /// they read before the write (the generation moves on).
    pub(crate) fn evict(&self, keys: &[&str]) {
        if self.enabled() {
            let mut entries = self.lock();
            self.generation.fetch_add(1, Ordering::AcqRel);
            for key in keys {
                entries.remove(*key);
            }
        } else {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn fresh(&self, entry: &Entry<U>) -> bool {
        entry.at.elapsed() < self.ttl
    }

    /// What `pick` takes from the fresh entry for `key`.
    fn lookup<T>(&self, key: &str, pick: impl FnOnce(&Entry<U>) -> Option<T>) -> Option<T> {
        if !self.enabled() {
            return None;
        }
        self.lock()
            .get(key)
            .filter(|e| self.fresh(e))
            .and_then(pick)
    }

    /// The cached user for `key`, if fresh.
    pub(crate) fn user(&self, key: &str) -> Option<Arc<U>> {
        self.lookup(key, |e| Some(e.user.clone()))
    }

    /// The cached permissions of the user holding `key`, if fresh.
    pub(crate) fn permissions(&self, key: &str) -> Option<Arc<BTreeSet<String>>> {
        self.lookup(key, |e| e.permissions.clone())
    }

    /// The entries, locked, unless a write happened since `generation` was
    /// read (checked under the lock, which writers hold while they move the
    /// generation on).
    fn lock_unchanged(
        &self,
        generation: u64,
    ) -> Option<std::sync::MutexGuard<'_, HashMap<String, Entry<U>>>> {
        if !self.enabled() {
            return None;
        }
        let entries = self.lock();
        (generation == self.generation()).then_some(entries)
    }

    /// Keep `user` for `key`, unless a write happened since `generation` was read.
    pub(crate) fn put_user(&self, key: &str, user: Arc<U>, generation: u64) {
        let Some(mut entries) = self.lock_unchanged(generation) else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| self.fresh(e));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key.to_string(),
            Entry {
                user,
                permissions: None,
                rows: Vec::new(),
                at: Instant::now(),
            },
        );
    }

    /// The cached user for `key`, if fresh and session row `row` was found
    /// alive under it (one lookup for both).
    pub(crate) fn user_with_row(&self, key: &str, row: &str) -> Option<Arc<U>> {
        self.lookup(key, |e| {
            e.rows.iter().any(|r| r == row).then(|| e.user.clone())
        })
    }

    /// Keep that session row `row` is alive under `key` (with the cached
    /// user holding `key`; nothing is kept without one).
    pub(crate) fn put_row(&self, key: &str, row: &str, generation: u64) {
        let Some(mut entries) = self.lock_unchanged(generation) else {
            return;
        };
        if let Some(entry) = entries.get_mut(key) {
            if entry.rows.len() >= ROWS_PER_ENTRY {
                entry.rows.clear();
            }
            if !entry.rows.iter().any(|r| r == row) {
                entry.rows.push(row.to_string());
            }
        }
    }

    /// Keep the permissions of the (cached) user holding `key`.
    pub(crate) fn put_permissions(
        &self,
        key: &str,
        permissions: Arc<BTreeSet<String>>,
        generation: u64,
    ) {
        let Some(mut entries) = self.lock_unchanged(generation) else {
            return;
        };
        if let Some(entry) = entries.get_mut(key) {
            entry.permissions = Some(permissions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_between_read_and_put_keeps_the_stale_value_out() {
        let cache = SessionCache::<u8>::new(Duration::from_secs(60));
        let seen = cache.generation();
        cache.invalidate(); // a write commits while the read is in flight
        cache.put_user("k", Arc::new(1), seen);
        assert!(cache.user("k").is_none());
        let now = cache.generation();
        cache.put_user("k", Arc::new(2), now);
        assert_eq!(cache.user("k").as_deref(), Some(&2));
        cache.put_permissions("k", Arc::new(BTreeSet::from(["p".to_string()])), now);
        assert!(cache.permissions("k").is_some());
        cache.invalidate();
        assert!(cache.user("k").is_none() && cache.permissions("k").is_none());
    }

    #[test]
    fn a_session_row_is_kept_with_its_user_and_goes_with_it() {
        let cache = SessionCache::<u8>::new(Duration::from_secs(60));
        let seen = cache.generation();
        cache.put_row("k", "r1", seen);
        assert!(
            cache.user_with_row("k", "r1").is_none(),
            "no user entry, nothing kept"
        );
        cache.put_user("k", Arc::new(1), seen);
        cache.put_row("k", "r1", seen);
        assert_eq!(cache.user_with_row("k", "r1").as_deref(), Some(&1));
        assert!(cache.user_with_row("k", "r2").is_none());
        assert!(cache.user("k").is_some());
        cache.evict_users(|u| *u == 1);
        assert!(cache.user_with_row("k", "r1").is_none());
        // A row read before a write cannot be kept after it.
        let before = cache.generation();
        cache.put_user("k", Arc::new(1), before);
        cache.invalidate();
        cache.put_user("k", Arc::new(1), cache.generation());
        cache.put_row("k", "r1", before);
        assert!(cache.user_with_row("k", "r1").is_none());
    }

    #[test]
    fn evicting_one_key_keeps_the_others() {
        let cache = SessionCache::<u8>::new(Duration::from_secs(60));
        let seen = cache.generation();
        cache.put_user("a", Arc::new(1), seen);
        cache.put_user("b", Arc::new(2), seen);
        cache.evict(&["a", "x"]);
        assert!(cache.user("a").is_none());
        assert_eq!(cache.user("b").as_deref(), Some(&2));
        // A read of "a" that began before the eviction cannot store its result.
        cache.put_user("a", Arc::new(1), seen);
        assert!(cache.user("a").is_none());
        cache.put_permissions("b", Arc::new(BTreeSet::new()), seen);
        assert!(cache.permissions("b").is_none());
    }

    #[test]
    fn a_bypassed_cache_serves_and_keeps_nothing_and_drops_users_by_test() {
        let cache = SessionCache::<u8>::new(Duration::from_secs(60));
        cache.put_user("a", Arc::new(1), cache.generation());
        cache.put_user("b", Arc::new(2), cache.generation());
        cache.evict_users(|u| *u == 1);
        assert!(cache.user("a").is_none());
        assert_eq!(cache.user("b").as_deref(), Some(&2));
        cache.set_live(false);
        assert!(
            cache.user("b").is_none(),
            "dropped when the listener went down"
        );
        let seen = cache.generation();
        assert_ne!(
            seen,
            cache.generation(),
            "no generation holds while bypassed"
        );
        cache.put_user("c", Arc::new(3), cache.generation());
        assert!(cache.user("c").is_none());
        cache.set_live(true);
        cache.put_user("c", Arc::new(3), cache.generation());
        assert_eq!(cache.user("c").as_deref(), Some(&3));
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = SessionCache::<u8>::new(Duration::from_millis(20));
        cache.put_user("k", Arc::new(1), cache.generation());
        assert!(cache.user("k").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.user("k").is_none());
        let off = SessionCache::<u8>::new(Duration::ZERO);
        off.put_user("k", Arc::new(1), off.generation());
        assert!(off.user("k").is_none());
    }
}
