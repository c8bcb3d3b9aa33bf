//! Session cookies already decrypted (see [`DecodedSessions`]).

use crate::core::store::session_cache::HashMap;
use std::sync::{Arc, Mutex};

/// Session cookies already decrypted, by their raw (encrypted) value: with
/// the session cache on (`session_cache_secs`), a repeat request skips the
/// decryption and the JSON. Only what decrypted and parsed is kept; a raw
/// value always decrypts to the same data, so entries never go stale. Values
/// over [`DECODED_MAX_RAW`] bytes are not kept, and past [`DECODED_CAPACITY`]
/// entries the map starts over.
pub(crate) struct DecodedSessions<T>(Mutex<HashMap<String, Arc<T>>>);

/// Entries kept at most in [`DecodedSessions`].
const DECODED_CAPACITY: usize = 10_000;
/// Largest raw cookie value kept in [`DecodedSessions`] (a logged-in session's is about 250).
const DECODED_MAX_RAW: usize = 512;

impl<T> DecodedSessions<T> {
    pub(crate) fn new() -> Self {
        DecodedSessions(Mutex::new(HashMap::default()))
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<T>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self, raw: &str) -> Option<Arc<T>> {
        self.lock().get(raw).cloned()
    }

    pub(super) fn put(&self, raw: &str, data: &Arc<T>) {
        if raw.len() > DECODED_MAX_RAW {
            return;
        }
        let mut map = self.lock();
        if map.len() >= DECODED_CAPACITY {
            map.clear();
        }
        map.insert(raw.to_owned(), Arc::clone(data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_sessions_are_bounded() {
        let cache = DecodedSessions::<()>::new();
        let data = Arc::new(());
        cache.put(&"x".repeat(DECODED_MAX_RAW + 1), &data);
        assert!(cache.lock().is_empty());
        for i in 0..=DECODED_CAPACITY {
            cache.put(&i.to_string(), &data);
        }
        assert!(cache.lock().len() <= DECODED_CAPACITY);
    }
}
