//! The launch lock: what an instance does at launch (create the schema,
//! check the tables, sync the permissions, make a record table) runs while
//! it holds a lock on the database, so that several instances launched at
//! the same moment on one database never collide: the second waits, then
//! finds the work done.
//!
//! | backend | the lock | held until |
//! |---|---|---|
//! | PostgreSQL | `pg_advisory_xact_lock`, taken in the launch transaction (per database and schema) | the transaction commits, so the work is also all or nothing |
//! | MySQL / MariaDB | `GET_LOCK('kegauth_launch:<database>')` | `RELEASE_LOCK` (DDL commits on its own there) |
//! | SQLite | its write lock (`BEGIN IMMEDIATE`) | the transaction commits |
//!
//! The work runs on the lock's own connection (a pool of one connection
//! still launches). A lock that is dropped before it is released rolls back
//! and frees the lock; an instance that dies while it holds the lock loses
//! its connection, and the database does the same.

use super::*;
use std::time::{Duration, Instant};

/// How long a launch waits for another instance's launch.
const WAIT: Duration = Duration::from_secs(300);

/// The database lock an instance holds while it does its launch work (see
/// [`Store::launch_lock`]); its [`conn`](LaunchLock::conn) is where the
/// work runs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// let store: kegauth::Store<sqlx::Sqlite, User> =
///     kegauth::Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
/// let mut lock = store.launch_lock().await?;
/// sqlx::query("CREATE TABLE IF NOT EXISTS app_settings (name TEXT PRIMARY KEY)")
///     .execute(lock.conn())
///     .await?;
/// lock.release().await?; // commits; another instance's launch goes on
/// # Ok(()) }
/// ```
pub struct LaunchLock<DB: Backend> {
    conn: Option<PoolConnection<DB>>,
}

impl<DB: Backend> std::fmt::Debug for LaunchLock<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchLock")
            .field("backend", &DB::DIALECT.name())
            .field("held", &self.conn.is_some())
            .finish()
    }
}

/// MySQL's lock name: per database (`GET_LOCK` is server-wide), at most 64 characters.
const MYSQL_NAME: &str = "CONCAT('kegauth_launch:', LEFT(IFNULL(DATABASE(), ''), 48))";
/// PostgreSQL's lock keys: kegauth's, and the schema's (advisory locks are per database).
const PG_KEYS: &str = "74657, hashtext(COALESCE(current_schema(), ''))";

impl<DB: Backend> LaunchLock<DB> {
    /// Take the lock on `pool`'s database, waiting (up to five minutes) for
    /// another instance that holds it; a wait is logged once.
    pub async fn acquire(pool: &Pool<DB>) -> Result<Self> {
        let conn = pool.acquire().await?;
        let mut lock = LaunchLock { conn: Some(conn) };
        let started = Instant::now();
        let waited = match DB::DIALECT {
            Dialect::Postgres => lock.acquire_postgres().await?,
            Dialect::MySql => lock.acquire_mysql().await?,
            Dialect::Sqlite => lock.acquire_sqlite().await?,
        };
        if waited {
            log::info!(
                "kegauth: launch lock taken after {} ms (another instance was launching)",
                started.elapsed().as_millis()
            );
        }
        Ok(lock)
    }

    fn waiting() {
        log::info!(
            "kegauth: another instance holds the launch lock on this database; waiting for it"
        );
    }

    async fn one(&mut self, sql: &str, kind: Kind) -> Result<Value> {
        let rows = DB::fetch(self.conn(), sql, Vec::new(), &[OutCol { kind }]).await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|mut r| r.pop())
            .unwrap_or(Value::Null))
    }

    async fn run(&mut self, sql: &str) -> Result<()> {
        DB::execute(self.conn(), sql, Vec::new()).await?;
        Ok(())
    }

    async fn acquire_postgres(&mut self) -> Result<bool> {
        self.run("BEGIN").await?;
        let sql = format!("SELECT pg_try_advisory_xact_lock({PG_KEYS})");
        if self.one(&sql, Kind::Bool).await? == Value::Bool(true) {
            return Ok(false);
        }
        Self::waiting();
        self.run(&format!("SET LOCAL lock_timeout = '{}s'", WAIT.as_secs()))
            .await?;
        self.run(&format!("SELECT pg_advisory_xact_lock({PG_KEYS})"))
            .await?;
        Ok(true)
    }

    async fn acquire_mysql(&mut self) -> Result<bool> {
        let sql = |secs: u64| format!("SELECT GET_LOCK({MYSQL_NAME}, {secs})");
        if self.one(&sql(0), Kind::Int).await? == Value::Int(1) {
            return Ok(false);
        }
        Self::waiting();
        match self.one(&sql(WAIT.as_secs()), Kind::Int).await? {
            Value::Int(1) => Ok(true),
            _ => Err(Error::Unavailable(format!(
                "the launch lock: another instance held it for {} s",
                WAIT.as_secs()
            ))),
        }
    }

    async fn acquire_sqlite(&mut self) -> Result<bool> {
        // Each try waits the connection's busy timeout (sqlx: 5 s).
        let deadline = Instant::now() + WAIT;
        let mut waited = false;
        loop {
            match DB::execute(self.conn(), "BEGIN IMMEDIATE", Vec::new()).await {
                Ok(_) => return Ok(waited),
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    if !waited {
                        Self::waiting();
                        waited = true;
                    }
                }
                Err(e) => return Err(Error::Database(e)),
            }
        }
    }

    /// The connection the launch work runs on.
    pub fn conn(&mut self) -> &mut DB::Connection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            // Only `release` and `drop` take it, and both consume the lock.
            None => unreachable!("a released launch lock"),
        }
    }

    /// Commit the work and free the lock.
    pub async fn release(mut self) -> Result<()> {
        let sql = match DB::DIALECT {
            Dialect::Postgres | Dialect::Sqlite => "COMMIT".to_string(),
            Dialect::MySql => format!("SELECT RELEASE_LOCK({MYSQL_NAME})"),
        };
        self.run(&sql).await?;
        // Back to the pool, with no transaction and no lock left on it.
        self.conn.take();
        Ok(())
    }
}

impl<DB: Backend> Drop for LaunchLock<DB> {
    /// Not released (the work failed, or the launch was cancelled): roll back
    /// and free the lock on the connection (in a task, as sqlx rolls back a
    /// dropped transaction), then return it to the pool; if that fails, or
    /// outside a runtime, close it instead, which makes the database roll
    /// back and free the lock. The connection is kept where it can be, for an
    /// in-memory SQLite database ends with its last connection.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let undo = match DB::DIALECT {
            Dialect::Postgres | Dialect::Sqlite => "ROLLBACK".to_string(),
            Dialect::MySql => format!("SELECT RELEASE_LOCK({MYSQL_NAME})"),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if DB::execute(&mut conn, &undo, Vec::new()).await.is_err() {
                        drop(conn.detach());
                    }
                });
            }
            Err(_) => drop(conn.detach()),
        }
    }
}

/// SQLITE_BUSY, with or without an extended code.
fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Take the launch lock on this store's database (see [`LaunchLock`]):
    /// what [`create_schema`](Self::create_schema),
    /// [`sync_permissions`](Self::sync_permissions),
    /// [`create_record_table`](Self::create_record_table) and the
    /// [`AuthManager`](crate::AuthManager)'s launch run under. An app's own
    /// launch work (its tables, say) can run under it too.
    pub async fn launch_lock(&self) -> Result<LaunchLock<DB>> {
        LaunchLock::acquire(&self.pool).await
    }

    /// Run `sql` on the launch connection where it may fail without ending
    /// the work: PostgreSQL's launch transaction would be aborted by a
    /// failed statement, so the probe runs inside a savepoint there.
    pub(crate) async fn probe_on(
        conn: &mut DB::Connection,
        sql: &str,
        args: Vec<crate::core::backend::Arg>,
    ) -> Result<std::result::Result<(), sqlx::Error>> {
        let pg = DB::DIALECT == Dialect::Postgres;
        if pg {
            DB::execute(conn, "SAVEPOINT kegauth_probe", Vec::new()).await?;
        }
        let outcome = DB::execute(conn, sql, args).await.map(|_| ());
        if pg {
            let end = match outcome {
                Ok(()) => "RELEASE SAVEPOINT kegauth_probe",
                Err(_) => "ROLLBACK TO SAVEPOINT kegauth_probe",
            };
            DB::execute(conn, end, Vec::new()).await?;
        }
        Ok(outcome)
    }

    /// Check at launch that the tables `config` needs can be read: the
    /// sessions' always, and those of the features it turns on.
    pub async fn check_feature_tables(&self, config: &crate::core::config::Config) -> Result<()> {
        self.check_sessions_table().await?;
        if !config.oauth_profiles.is_empty() {
            self.check_oauth_table().await?;
        }
        if config.two_factor_on() {
            self.check_two_factor_tables().await?;
        }
        if config.passkeys_on() {
            self.check_passkeys_table().await?;
        }
        if config.attempt_limit_enabled {
            self.check_attempt_table().await?;
        }
        Ok(())
    }
}
