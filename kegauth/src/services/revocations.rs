//! The revocation listener (PostgreSQL): each instance `LISTEN`s on
//! kegauth's channel ([`CHANNEL`](crate::core::store::notices::CHANNEL)) on
//! a connection of its own (never one of the app's pool) and drops from its
//! session and menu caches what a write announced there changed, so that a
//! change committed by any instance (or by `auth` on the command line) is
//! refused on every other one at once instead of when their caches expire.
//!
//! While that connection is down, the instance cannot hear: it bypasses its
//! caches (every request reads the database, as with `session_cache_secs =
//! 0`), logs the outage once, and reconnects with a backoff (0.1 s doubling
//! to 5 s). Once it listens again it drops what it cached before and serves
//! from the cache again.

use crate::core::backend::Backend;
use crate::core::entity::EntitySet;
use crate::core::store::Store;

/// Start listening when `store` is on PostgreSQL; nothing on the other
/// backends (there the cache period bounds what another instance may miss).
/// The task ends when the store's last clone is gone.
pub(crate) fn start<DB: Backend, E: EntitySet>(store: &Store<DB, E>) {
    #[cfg(feature = "postgres")]
    if let Some(pool) = (store.pool() as &dyn std::any::Any).downcast_ref::<sqlx::PgPool>() {
        let options = (*pool.connect_options()).clone();
        tokio::spawn(postgres::listen(options, store.listening_handle()));
    }
    #[cfg(not(feature = "postgres"))]
    let _ = store;
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::core::store::notices::WeakSessions;
    use crate::core::store::notices::CHANNEL;
    use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
    use std::time::Duration;

    /// The `application_name` of the listening connection (in `pg_stat_activity`).
    pub(crate) const APPLICATION_NAME: &str = "kegauth-revocations";

    const FIRST_RETRY: Duration = Duration::from_millis(100);
    const LAST_RETRY: Duration = Duration::from_secs(5);
    /// How often a listener with nothing to hear checks that its store is still in use.
    const CHECK_IN_USE: Duration = Duration::from_secs(5);

    /// A listener on a pool of its own (one connection, never idle-closed).
    async fn connect(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().application_name(APPLICATION_NAME))
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    pub(super) async fn listen<E: EntitySet>(options: PgConnectOptions, sessions: WeakSessions<E>) {
        let mut retry = FIRST_RETRY;
        // Whether an outage was logged and not yet its end.
        let mut outage = false;
        let at = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        while sessions.in_use() {
            match connect(&options).await {
                Ok(mut listener) => {
                    if !sessions.set_live(true) {
                        return;
                    }
                    if outage {
                        log::warn!(
                            "kegauth: listening for revocations at {at} again; the session cache \
                             is on again"
                        );
                    }
                    retry = FIRST_RETRY;
                    let Some(why) = hear(&mut listener, &sessions).await else {
                        return;
                    };
                    if !sessions.set_live(false) {
                        return;
                    }
                    log::warn!(
                        "kegauth: the revocation listener lost its connection to {at} ({why}); \
                         the session cache is bypassed until it is back"
                    );
                    outage = true;
                }
                Err(e) => {
                    if !sessions.set_live(false) {
                        return;
                    }
                    if !outage {
                        log::warn!(
                            "kegauth: cannot listen for revocations at {at} ({e}); the session \
                             cache is bypassed until it can"
                        );
                        outage = true;
                    }
                }
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(LAST_RETRY);
        }
    }

    /// Act on every notice until the connection is lost (why), or the store
    /// is gone (`None`).
    async fn hear<E: EntitySet>(
        listener: &mut PgListener,
        sessions: &WeakSessions<E>,
    ) -> Option<String> {
        let mut tick = tokio::time::interval(CHECK_IN_USE);
        loop {
            let next = listener.try_recv();
            tokio::pin!(next);
            let got = loop {
                tokio::select! {
                    got = &mut next => break got,
                    _ = tick.tick() => {
                        if !sessions.in_use() {
                            return None;
                        }
                    }
                }
            };
            match got {
                Ok(Some(notice)) => {
                    if !sessions.heard(notice.payload()) {
                        return None;
                    }
                }
                Ok(None) => return Some("closed by the server".into()),
                Err(e) => return Some(e.to_string()),
            }
        }
    }
}
