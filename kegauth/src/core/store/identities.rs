//! OAuth identities: which local user a provider's `(issuer, subject)` is
//! linked to (the `keg_auth_oauth_identities` table).

use super::*;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// The user an OAuth provider's `(issuer, subject)` is linked to (see
    /// [`link_oauth_identity`](Self::link_oauth_identity)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// # use kegauth::{entity::UserCore, Store};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let store: Store<sqlx::Sqlite, User> = Store::new(pool);
    /// store.create_schema().await?;
    /// let mut ann = User { id: 0, email: "ann@example.com".into(), core: UserCore::new() };
    /// store.insert_user(&mut ann).await?;
    /// let idp = "https://idp.example.com";
    /// store.link_oauth_identity(ann.id, idp, "sub-1").await?;
    /// assert_eq!(store.oauth_user_id(idp, "sub-1").await?, Some(ann.id));
    /// assert_eq!(store.oauth_subject(ann.id, idp).await?.as_deref(), Some("sub-1"));
    /// // One identity per user and issuer, one user per identity.
    /// assert!(store.link_oauth_identity(ann.id, idp, "sub-2").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn oauth_user_id(&self, issuer: &str, subject: &str) -> Result<Option<i64>> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("user_id")
            .push(" FROM ")
            .ident(crate::core::ddl::OAUTH_IDENTITIES)
            .push(" WHERE ")
            .ident("issuer")
            .push(" = ")
            .bind_text(issuer)
            .push(" AND ")
            .ident("subject")
            .push(" = ")
            .bind_text(subject);
        Ok(Self::ids(&mut *self.conn().await?, sql)
            .await?
            .first()
            .copied())
    }

    /// The subject user `user_id` is linked to at `issuer`, if any.
    pub async fn oauth_subject(&self, user_id: i64, issuer: &str) -> Result<Option<String>> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("subject")
            .push(" FROM ")
            .ident(crate::core::ddl::OAUTH_IDENTITIES)
            .push(" WHERE ")
            .ident("user_id")
            .push(" = ")
            .bind_int(user_id)
            .push(" AND ")
            .ident("issuer")
            .push(" = ")
            .bind_text(issuer);
        Ok(Self::texts(&mut *self.conn().await?, sql)
            .await?
            .into_iter()
            .next())
    }

    /// Link `user_id` to a provider's `(issuer, subject)`: from then on that
    /// identity logs in as that user, and no other identity of the issuer
    /// does. [`Error::Conflict`] when the identity or the user's link at
    /// the issuer already exists.
    pub async fn link_oauth_identity(
        &self,
        user_id: i64,
        issuer: &str,
        subject: &str,
    ) -> Result<()> {
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(crate::core::ddl::OAUTH_IDENTITIES)
            .push(" (")
            .ident("issuer")
            .push(", ")
            .ident("subject")
            .push(", ")
            .ident("user_id")
            .push(") VALUES (")
            .bind_text(issuer)
            .push(", ")
            .bind_text(subject)
            .push(", ")
            .bind_int(user_id)
            .push(")");
        DB::execute(&mut *self.conn().await?, &sql.text, sql.args)
            .await
            .map_err(|e| map_unique(e, || format!("the OAuth identity of user {user_id}")))?;
        Ok(())
    }

    /// Check at launch that the OAuth identities table can be read.
    pub async fn check_oauth_table(&self) -> Result<()> {
        self.check_readable(
            crate::core::ddl::OAUTH_IDENTITIES,
            &["user_id"],
            "oauth_profiles are configured",
        )
        .await
    }

    /// Read no row of kegauth's own `table` (its `columns`): a launch check.
    /// A missing table or column is an [`Error::Config`] saying why the
    /// table is needed (`because`) and how to create it.
    pub(crate) async fn check_readable(
        &self,
        table: &str,
        columns: &[&str],
        because: &str,
    ) -> Result<()> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.idents(columns.iter().copied())
            .push(" FROM ")
            .ident(table)
            .push(" WHERE 1 = 0");
        let mut conn = self.conn().await?;
        DB::execute(&mut conn, &sql.text, sql.args)
            .await
            .map_err(|e| {
                if crate::core::error::is_unavailable(&e) {
                    return Error::Database(e);
                }
                Error::Config(format!(
                    "{because}, but the table `{table}` cannot be read ({e}): create it \
                     (kegauth's DDL: `auth schema`, or AuthManager::builder().create_schema(true))"
                ))
            })?;
        Ok(())
    }
}
