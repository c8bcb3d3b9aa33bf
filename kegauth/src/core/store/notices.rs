//! Revocation notices: on PostgreSQL, every write that ends or narrows a
//! session (a session key rotated, rights changed through users, groups,
//! bundles or permissions, a user disabled or deleted, a password changed)
//! is announced with `NOTIFY` on [`CHANNEL`] in the same transaction as the
//! change, so it is heard exactly when it commits, and never when it rolls
//! back. Every instance listens on a connection of its own
//! (`services/revocations.rs`) and drops what its session and menu caches
//! hold of the users named. SQLite and MySQL have no such channel: there the
//! cache period (`session_cache_secs`) bounds how long another instance may
//! serve what was true before a change.

#[cfg(feature = "postgres")]
use crate::core::entity::{AuthEntity, EntitySet};
#[cfg(feature = "postgres")]
use crate::core::store::session_cache::SessionCache;
use std::collections::BTreeSet;

/// The PostgreSQL channel kegauth announces its writes on.
pub const CHANNEL: &str = "kegauth_sessions";

/// Users named in one notice at most; a write touching more announces
/// "everyone" (a `NOTIFY` payload holds at most 8000 bytes).
const MAX_USERS: usize = 200;

/// Whose cached sessions a write made stale.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Notice<'a> {
    /// These users' (over 200 of them: anyone's).
    Users(&'a [i64]),
}

impl Notice<'_> {
    /// The payload: `*`, or `u:` and the user ids, comma-separated.
    pub(crate) fn payload(self) -> String {
        match self {
            Notice::Users(ids) if ids.len() <= MAX_USERS => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!("u:{}", ids.join(","))
            }
            _ => "*".to_string(),
        }
    }
}

/// What a payload asks for: `None` for everyone, else these users. A
/// payload kegauth did not write (another program on the channel) counts as
/// "everyone": dropping a cache is always safe.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn parse(payload: &str) -> Option<BTreeSet<i64>> {
    let ids = payload.strip_prefix("u:")?;
    ids.split(',')
        .map(|id| id.trim().parse::<i64>().ok())
        .collect()
}

/// A store's session cache as the revocation listener holds it.
#[cfg(feature = "postgres")]
pub(crate) struct WeakSessions<E: EntitySet>(pub(crate) std::sync::Weak<SessionCache<E::User>>);

#[cfg(feature = "postgres")]
impl<E: EntitySet> WeakSessions<E> {
    /// Whether the store is still in use.
    pub(crate) fn in_use(&self) -> bool {
        self.0.strong_count() > 0
    }

    /// Act on a notice heard on [`CHANNEL`] (a write committed by this or
    /// another instance): drop the cached sessions of the users it names.
    /// False when the store is gone.
    pub(crate) fn heard(&self, payload: &str) -> bool {
        let Some(sessions) = self.0.upgrade() else {
            return false;
        };
        match parse(payload) {
            Some(ids) => sessions.evict_users(|u| ids.contains(&u.id())),
            None => sessions.invalidate(),
        }
        true
    }

    /// Serve sessions from the cache (`true`: every write made elsewhere
    /// will be heard), or bypass it (`false`: the listener is down). False
    /// when the store is gone.
    pub(crate) fn set_live(&self, live: bool) -> bool {
        let Some(sessions) = self.0.upgrade() else {
            return false;
        };
        sessions.set_live(live);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_users_or_everyone_and_read_back() {
        assert_eq!(Notice::Users(&[3, 14]).payload(), "u:3,14");
        let many: Vec<i64> = (0..=MAX_USERS as i64).collect();
        assert_eq!(Notice::Users(&many).payload(), "*");
        assert!(Notice::Users(&many[..MAX_USERS]).payload().len() < 8000);
        assert_eq!(parse("u:3,14"), Some(BTreeSet::from([3, 14])));
        for everyone in ["*", "", "u:", "u:3,x", "hello"] {
            assert_eq!(parse(everyone), None, "{everyone:?}");
        }
    }
}
