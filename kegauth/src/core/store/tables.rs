//! Launch checks: the tables match the entities, an optional API token
//! column, and the DDL.

use super::*;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Read no row of `T`'s table with every column `T` names: fails when the
    /// table or a column is missing.
    pub(crate) async fn probe_table<T: AuthEntity>(
        &self,
        conn: &mut DB::Connection,
    ) -> Result<std::result::Result<(), sqlx::Error>> {
        let mut sql = self.select::<T>();
        sql.push(" WHERE 1 = 0");
        Self::probe_on(conn, &sql.text, sql.args).await
    }

    /// Whether the user table was found without its API token column (see
    /// [`Store::allow_missing_api_token_column`]).
    pub fn token_column_absent(&self) -> bool {
        self.token_column_absent
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Look for the user entity's `#[auth(api_token)]` column; when the
    /// table has none (keg-auth's tables where the user class has no
    /// `UserTokenMixin`), read it as `NULL` from now on and never write it:
    /// API tokens are then off ([`Store::reset_auth_token`] is a
    /// [`Error::Config`]). Whether the column is missing. The
    /// [`AuthManager`](crate::AuthManager) calls this at launch when built
    /// with `optional_api_token_column(true)`.
    pub async fn allow_missing_api_token_column(&self) -> Result<bool> {
        let mut lock = self.launch_lock().await?;
        let absent = self.allow_missing_api_token_column_on(lock.conn()).await?;
        lock.release().await?;
        Ok(absent)
    }

    /// [`allow_missing_api_token_column`](Self::allow_missing_api_token_column)
    /// on the launch lock's connection.
    pub(crate) async fn allow_missing_api_token_column_on(
        &self,
        conn: &mut DB::Connection,
    ) -> Result<bool> {
        let schema = schema_of::<U<E>>();
        let Some(col) = schema.column(Role::ApiToken) else {
            return Ok(false);
        };
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.qualified("t", col.name)
            .push(" FROM ")
            .ident(schema.table)
            .push(" t WHERE 1 = 0");
        let absent = match Self::probe_on(conn, &sql.text, sql.args).await? {
            Ok(()) => false,
            Err(e) if crate::core::error::is_unavailable(&e) => return Err(Error::Database(e)),
            Err(_) => true,
        };
        self.token_column_absent
            .store(absent, std::sync::atomic::Ordering::Relaxed);
        Ok(absent)
    }

    /// Check at launch that the user, group, bundle and permission tables have
    /// every column their entities name, so that a schema behind the code (a
    /// new `#[auth(api_token)]` field, say) stops the launch with a message
    /// instead of failing requests.
    pub async fn check_tables(&self) -> Result<()> {
        let mut lock = self.launch_lock().await?;
        self.check_tables_on(lock.conn()).await?;
        lock.release().await
    }

    /// [`check_tables`](Self::check_tables) on the launch lock's connection.
    pub(crate) async fn check_tables_on(&self, conn: &mut DB::Connection) -> Result<()> {
        async fn one<DB: Backend, E: EntitySet, T: AuthEntity>(
            store: &Store<DB, E>,
            conn: &mut DB::Connection,
        ) -> Result<()> {
            store.probe_table::<T>(conn).await?.map_err(|e| {
                if crate::core::error::is_unavailable(&e) {
                    return Error::Database(e);
                }
                Error::Config(format!(
                    "the `{}` table does not match the {} entity ({e}): add the missing table \
                     or columns (kegauth's DDL: `auth schema`), or \
                     AuthManager::builder().create_schema(true) for new tables",
                    T::schema().table,
                    std::any::type_name::<T>()
                ))
            })
        }
        one::<DB, E, U<E>>(self, conn).await?;
        one::<DB, E, G<E>>(self, conn).await?;
        one::<DB, E, B<E>>(self, conn).await?;
        one::<DB, E, P<E>>(self, conn).await
    }

    /// The DDL for this backend and entity set (see [`crate::ddl`]).
    pub fn schema_sql(&self) -> Vec<String> {
        crate::core::ddl::statements::<DB, E>()
    }

    /// Create the tables, types and indexes that do not exist yet, under the
    /// launch lock (see [`LaunchLock`]): safe beside another instance doing
    /// the same at the same moment.
    pub async fn create_schema(&self) -> Result<()> {
        let mut lock = self.launch_lock().await?;
        self.create_schema_on(lock.conn()).await?;
        lock.release().await
    }

    /// [`create_schema`](Self::create_schema) on the launch lock's connection.
    pub(crate) async fn create_schema_on(&self, conn: &mut DB::Connection) -> Result<()> {
        for stmt in self.schema_sql() {
            DB::execute(conn, &stmt, Vec::new()).await?;
        }
        Ok(())
    }
}
