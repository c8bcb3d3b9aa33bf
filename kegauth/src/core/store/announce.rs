//! Announcing a change that ends or narrows sessions (see
//! [`notices`](super::notices)), in the transaction of the change.

use super::*;
#[cfg(feature = "postgres")]
use crate::core::store::notices::WeakSessions;
use crate::core::store::notices::CHANNEL;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Announce `notice` in the transaction (or on the connection) of the
    /// write it is about; nothing on SQLite and MySQL.
    pub(crate) async fn announce(
        &self,
        conn: &mut DB::Connection,
        notice: Notice<'_>,
    ) -> Result<()> {
        if DB::DIALECT != Dialect::Postgres {
            return Ok(());
        }
        if let Notice::Users([]) = notice {
            return Ok(());
        }
        let mut sql = Sql::<DB>::new("SELECT pg_notify(");
        sql.bind_text(CHANNEL)
            .push(", ")
            .bind_text(&notice.payload());
        sql.push(")");
        DB::execute(conn, &sql.text, sql.args).await?;
        Ok(())
    }

    /// What the revocation listener holds of this store: its session cache,
    /// weakly (the listener stops when the store's last clone is gone).
    #[cfg(feature = "postgres")]
    pub(crate) fn listening_handle(&self) -> WeakSessions<E> {
        WeakSessions(Arc::downgrade(&self.sessions))
    }
}
