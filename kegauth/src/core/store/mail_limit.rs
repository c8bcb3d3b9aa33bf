//! The per-address mail limit (`mail_limit`, `mail_limit_timespan`): how
//! many mails a request from outside may make kegauth send to one address,
//! per kind of mail, in a window. A mail takes a slot of its address, kind
//! and window in [`MAIL_SENDS`](crate::ddl::MAIL_SENDS); the table's primary
//! key makes taking a slot atomic on every backend, so the limit holds with
//! several instances on one database. Windows are fixed (the clock's time
//! divided by the timespan), so at a window's edge at most twice the limit
//! can go out within one timespan.

use super::*;
use crate::core::config::mail::MailLimit;
use crate::core::ddl::MAIL_SENDS;

/// The table's columns, its primary key.
const COLUMNS: [&str; 4] = ["address", "kind", "window_start", "slot"];

/// The longest address kept (the column's size); longer ones are cut.
const MAX_ADDRESS_CHARS: usize = 255;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Limit the mails a request from outside makes kegauth send to one
    /// address: `per_window` per kind of mail in each window of
    /// `window_secs` seconds (`per_window = 0`: no limit). The `AuthManager`
    /// sets it from `mail_limit` and `mail_limit_timespan`; the default is
    /// 3 per 15 minutes.
    pub fn with_mail_limit(mut self, per_window: u32, window_secs: u32) -> Self {
        self.mail_limit = (per_window > 0).then_some(MailLimit {
            per_window,
            window_secs: i64::from(window_secs.max(1)),
        });
        self
    }

    /// Take a slot for a mail of `kind` to `address`: false when the
    /// address had its limit of such mails in this window (send nothing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// let store: kegauth::Store<sqlx::Sqlite, User> =
    ///     kegauth::Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?)
    ///         .with_mail_limit(2, 900);
    /// store.create_schema().await?;
    /// assert!(store.reserve_mail("ann@example.com", "reset").await?);
    /// assert!(store.reserve_mail("ANN@example.com", "reset").await?);
    /// assert!(!store.reserve_mail("ann@example.com", "reset").await?); // the third
    /// assert!(store.reserve_mail("ann@example.com", "verify").await?); // another kind
    /// assert!(store.reserve_mail("bob@example.com", "reset").await?); // another address
    /// # Ok(()) }
    /// ```
    pub async fn reserve_mail(&self, address: &str, kind: &str) -> Result<bool> {
        let Some(limit) = self.mail_limit else {
            return Ok(true);
        };
        let address: String = address
            .trim()
            .to_lowercase()
            .chars()
            .take(MAX_ADDRESS_CHARS)
            .collect();
        let now = self.now().and_utc().timestamp();
        let window = now - now.rem_euclid(limit.window_secs);
        let mut conn = self.conn().await?;
        // Windows before this one are over.
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(MAIL_SENDS)
            .push(" WHERE ")
            .ident("window_start")
            .push(" < ")
            .bind_int(window);
        DB::execute(&mut conn, &sql.text, sql.args).await?;
        for slot in 0..limit.per_window {
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(MAIL_SENDS)
                .push(" (")
                .idents(COLUMNS)
                .push(") VALUES (")
                .bind_text(&address)
                .push(", ")
                .bind_text(kind)
                .push(", ")
                .bind_int(window)
                .push(", ")
                .bind_int(i64::from(slot))
                .push(")");
            if DB::insert_new(&mut conn, &sql.text, sql.args, &COLUMNS).await? == 1 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
