//! The store: kegauth's data operations on the app's entities, generic over
//! SQLite, PostgreSQL and MySQL.
//!
//! Every operation that changes what a user may do (their permissions,
//! groups, bundles, superuser or enabled flags, disabled date or password, or
//! a group or bundle they inherit from) rotates the `session_key` of exactly
//! the users affected, in the same transaction. Sessions and tokens carry the
//! key, so the change logs those users out everywhere.

mod announce;
mod audit;
pub(crate) mod grid;
mod groups;
mod identities;
mod launch;
mod mail_limit;
pub(crate) mod notices;
pub mod passkeys;
mod permissions;
mod records;
pub(crate) mod session_cache;
pub mod sessions;
mod tables;
pub(crate) mod tokens;
pub mod two_factor;
mod users;

use crate::core::backend::{Backend, Dialect, OutCol, Sql};
use crate::core::clock::{Clock, SystemClock};
use crate::core::entity::{
    from_row, AttemptEntity, AuthEntity, BundleEntity, CoreField, EntityKind, EntitySchema,
    EntitySet, GroupEntity, Kind, PermissionEntity, Role, UserEntity, Value,
};
use crate::core::error::{Error, Result};
use crate::core::links::Link;
use crate::core::password::{PasswordHasher, Verified};
use crate::core::permissions::PermissionDef;
use crate::core::store::notices::Notice;
pub use launch::LaunchLock;
use sqlx::pool::PoolConnection;
use sqlx::{Pool, Transaction};
use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

/// Largest text or bytes value kegauth writes to any column. Far below sqlx
/// 0.7's 4 GiB encoding flaw (RUSTSEC-2024-0363).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Longest text accepted as a lookup key (login id, name, token, session key).
/// Far below sqlx 0.7's 4 GiB encoding flaw (RUSTSEC-2024-0363) and any real value.
pub const MAX_LOOKUP_BYTES: usize = 1024;

type U<E> = <E as EntitySet>::User;
type G<E> = <E as EntitySet>::Group;
type B<E> = <E as EntitySet>::Bundle;
type P<E> = <E as EntitySet>::Permission;
type A<E> = <E as EntitySet>::Attempt;

/// What [`Store::sync_permissions`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Declared permissions inserted.
    pub added: u64,
    /// Descriptions updated.
    pub updated: u64,
    /// Undeclared permissions deleted.
    pub removed: u64,
}

/// Whose rights an operation changes.
#[derive(Clone, Copy, Debug)]
enum Subject {
    User(i64),
    Group(i64),
    Bundle(i64),
    Permission(i64),
}

/// kegauth's data operations over a typed pool.
///
/// `Store<DB, E>` where `DB` is `sqlx::Sqlite`, `sqlx::Postgres` or
/// `sqlx::MySql` and `E` the app's [`EntitySet`] (its user type, with the
/// default group, bundle, permission and attempt types, or [`Entities`](crate::entity::Entities)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
/// use kegauth::{entity::UserCore, Store};
/// #[derive(kegauth::AuthEntity)]
/// #[auth(user)]
/// struct User { id: i64, email: String, #[auth(core)] core: UserCore }
///
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let store: Store<sqlx::Sqlite, User> = Store::new(pool);
/// store.create_schema().await?;
/// store.sync_permissions(&[kegauth::PermissionDef::new("reports", None)]).await?;
///
/// let mut ann = User { id: 0, email: "ann@example.com".into(), core: UserCore::new() };
/// store.insert_user(&mut ann).await?;
/// let reports = store.permission_ids(&["reports"]).await?;
/// store.set_links(kegauth::Link::UserPermissions, ann.id, &reports).await?;
/// let ann = store.user_by_login("ANN@example.com").await?.expect("case-insensitive");
/// assert!(store.user_permissions(&ann).await?.contains("reports"));
/// # Ok(()) }
/// ```
pub struct Store<DB: Backend, E: EntitySet> {
    pool: Pool<DB>,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    /// The layers above's state (the account flows', `services/accounts.rs`).
    pub(crate) extensions: crate::core::extensions::Extensions,
    /// Domains whose users log in through an OAuth provider; `Some` when
    /// OAuth profiles are configured (their identities table is in use).
    providers: Option<Arc<crate::core::config::oauth::ProviderDomains>>,
    attempts: crate::core::attempts::AttemptPolicy,
    sessions: Arc<crate::core::store::session_cache::SessionCache<U<E>>>,
    /// Where API tokens led (checked against the user on every use).
    token_keys: Arc<crate::core::store::session_cache::TokenKeys>,
    /// Where the store's own audit events go (rights changes that rotated
    /// session keys, passwords set and API tokens issued through the store),
    /// and what they say did it (`"app"`, `"cli"`).
    auditor: Option<(crate::core::audit::Auditor, &'static str)>,
    /// The user table has no API token column (found at launch with
    /// [`Store::allow_missing_api_token_column`]): it is read as `NULL` and
    /// never written.
    token_column_absent: Arc<std::sync::atomic::AtomicBool>,
    /// Seals second-factor secrets (keyed from the app's secret key).
    sealer: Option<Arc<crate::core::two_factor::SecretBox>>,
    /// Passkeys are on: their table is read and they count as second factors.
    passkeys: bool,
    /// Mails per address, kind and window (`mail_limit`), or none.
    mail_limit: Option<crate::core::config::mail::MailLimit>,
    _entities: PhantomData<fn() -> E>,
}

impl<DB: Backend, E: EntitySet> Clone for Store<DB, E> {
    fn clone(&self) -> Self {
        Store {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            attempts: self.attempts,
            sessions: self.sessions.clone(),
            token_keys: self.token_keys.clone(),
            hasher: self.hasher.clone(),
            extensions: self.extensions.clone(),
            providers: self.providers.clone(),
            auditor: self.auditor.clone(),
            token_column_absent: self.token_column_absent.clone(),
            sealer: self.sealer.clone(),
            passkeys: self.passkeys,
            mail_limit: self.mail_limit,
            _entities: PhantomData,
        }
    }
}

impl<DB: Backend, E: EntitySet> std::fmt::Debug for Store<DB, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &DB::DIALECT.name())
            .finish()
    }
}

fn schema_of<T: AuthEntity>() -> &'static EntitySchema {
    T::schema()
}

fn out_cols(schema: &EntitySchema) -> Vec<OutCol> {
    schema
        .columns
        .iter()
        .map(|c| OutCol { kind: c.kind })
        .collect()
}

/// What the user row keeps of an API token: its SHA-256 (a token has at
/// least 128 random bits, so a fast hash is enough; ASVS 6.5.2).
fn api_token_digest(raw: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(raw.as_bytes()).to_vec()
}

fn check_lookup(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_LOOKUP_BYTES
}

/// The values of an entity's writable columns, checked against each column's
/// `max_len` and [`MAX_VALUE_BYTES`], so every backend refuses over-long input
/// the same way (SQLite would store it, the others fail with a database error).
fn writable_values<T: AuthEntity>(
    entity: &T,
    token_column_absent: bool,
) -> Result<Vec<(&'static crate::core::entity::Column, Value)>> {
    let schema = schema_of::<T>();
    let mut out = Vec::new();
    for (col, value) in schema.columns.iter().zip(entity.to_values()) {
        if !col.writable() || (token_column_absent && col.role == Role::ApiToken) {
            continue;
        }
        let too_long = match (&value, col.opts.max_len) {
            (Value::Text(t), _) if t.len() > MAX_VALUE_BYTES => true,
            (Value::Bytes(b), _) if b.len() > MAX_VALUE_BYTES => true,
            (Value::Text(t), Some(max)) => t.chars().count() > max as usize,
            _ => false,
        };
        if too_long {
            let limit = col
                .opts
                .max_len
                .map_or(format!("{MAX_VALUE_BYTES} bytes"), |m| {
                    format!("{m} characters")
                });
            return Err(Error::Invalid(format!(
                "`{}` is longer than {limit}",
                col.field
            )));
        }
        out.push((col, value));
    }
    Ok(out)
}

fn map_unique(err: sqlx::Error, what: impl FnOnce() -> String) -> Error {
    if Error::is_unique_violation(&err) {
        Error::Conflict(what())
    } else {
        Error::Database(err)
    }
}

/// Whether a user's rights-relevant core fields differ.
fn rights_changed<T: UserEntity>(old: &T, new: &T) -> bool {
    let (o, n) = (old.core(), new.core());
    o.is_enabled != n.is_enabled
        || o.is_superuser != n.is_superuser
        || o.disabled_utc != n.disabled_utc
        || o.password != n.password
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// A store on `pool` with the system clock and OWASP argon2id hashing.
    pub fn new(pool: Pool<DB>) -> Self {
        Store {
            pool,
            clock: Arc::new(SystemClock),
            hasher: PasswordHasher::new(),
            extensions: Default::default(),
            providers: None,
            attempts: crate::core::attempts::AttemptPolicy::default(),
            sessions: Arc::new(crate::core::store::session_cache::SessionCache::new(
                std::time::Duration::ZERO,
            )),
            token_keys: Arc::default(),
            auditor: None,
            token_column_absent: Arc::default(),
            sealer: None,
            passkeys: false,
            mail_limit: Some(crate::core::config::mail::MailLimit::default()),
            _entities: PhantomData,
        }
    }

    /// OAuth profiles are configured: their identities table is in use, and
    /// users of `providers`' domains log in through their provider.
    pub(crate) fn set_provider_domains(
        &mut self,
        providers: crate::core::config::oauth::ProviderDomains,
    ) {
        self.providers = Some(Arc::new(providers));
    }

    /// The OAuth providers' domains, when OAuth profiles are configured.
    pub(crate) fn provider_domains(&self) -> Option<&crate::core::config::oauth::ProviderDomains> {
        self.providers.as_deref()
    }

    /// Record the store's own events through `auditor` (the `AuthManager`
    /// does this), saying they were done by `via` (`"app"`, `"cli"`).
    pub(crate) fn with_auditor(
        mut self,
        auditor: crate::core::audit::Auditor,
        via: &'static str,
    ) -> Self {
        self.auditor = Some((auditor, via));
        self
    }

    /// Record one of the store's own events (with `via` in its detail).
    pub(crate) fn audit(&self, mut event: crate::core::audit::AuditEvent) {
        if let Some((auditor, via)) = &self.auditor {
            if let serde_json::Value::Object(detail) = &mut event.detail {
                detail.insert("via".into(), (*via).into());
            }
            auditor.record(event);
        }
    }

    /// Keep session users and their permissions in memory for `ttl` (zero,
    /// the default, turns it off); see `session_cache_secs` in
    /// [`Config`](crate::config::Config). Every write this store (or a clone
    /// of it) makes takes effect at once: a write to one user's row drops
    /// that user's entries, a write to memberships or permissions drops them all.
    pub fn with_session_cache(mut self, ttl: std::time::Duration) -> Self {
        self.sessions = Arc::new(crate::core::store::session_cache::SessionCache::new(ttl));
        self
    }

    /// A number that moves on with every write this store makes to users,
    /// memberships or permissions (what is derived from them, such as a
    /// menu, is stale when it changed).
    pub(crate) fn write_generation(&self) -> u64 {
        self.sessions.generation()
    }

    /// Commit a write that may change the rights of the users `notice`
    /// names (announced in the transaction), then clear the session cache.
    async fn commit(&self, mut tx: Transaction<'static, DB>, notice: Notice<'_>) -> Result<()> {
        self.announce(&mut tx, notice).await?;
        tx.commit().await?;
        self.sessions.invalidate();
        Ok(())
    }

    /// Limit attempts with `policy` (default: keg-auth's limits; the fairing
    /// takes them from the configuration).
    pub fn with_attempt_policy(mut self, policy: crate::core::attempts::AttemptPolicy) -> Self {
        self.attempts = policy;
        self
    }

    /// The attempt limits.
    pub fn attempt_policy(&self) -> &crate::core::attempts::AttemptPolicy {
        &self.attempts
    }

    /// Use another clock (tests inject a [`ManualClock`](crate::clock::ManualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Use another password hasher.
    pub fn with_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = hasher;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The clock, shared (for what kegauth sets up beside the store).
    pub(crate) fn shared_clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The current UTC time from the store's clock.
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now()
    }

    fn table_of(&self, kind: EntityKind) -> &'static EntitySchema {
        match kind {
            EntityKind::User => schema_of::<U<E>>(),
            EntityKind::Group => schema_of::<G<E>>(),
            EntityKind::Bundle => schema_of::<B<E>>(),
            EntityKind::Permission => schema_of::<P<E>>(),
            EntityKind::Attempt => schema_of::<A<E>>(),
        }
    }

    async fn conn(&self) -> Result<PoolConnection<DB>> {
        Ok(self.pool.acquire().await?)
    }

    /// Begin a transaction that will write (see [`Backend::write_lock_statement`]).
    async fn begin_write(&self) -> Result<Transaction<'static, DB>> {
        let mut tx = self.pool.begin().await?;
        if let Some(stmt) = DB::write_lock_statement(schema_of::<U<E>>().table) {
            DB::execute(&mut tx, &stmt, Vec::new()).await?;
        }
        Ok(tx)
    }

    // ----- generic entity rows -------------------------------------------------------------

    /// `SELECT <all columns> FROM <table> AS t`
    pub(crate) fn select<T: AuthEntity>(&self) -> Sql<DB> {
        let schema = schema_of::<T>();
        let absent = self.token_column_absent();
        let mut sql = Sql::<DB>::new("SELECT ");
        for (i, col) in schema.columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            if absent && col.role == Role::ApiToken {
                sql.push(match DB::DIALECT {
                    Dialect::Postgres => "NULL::bytea",
                    _ => "NULL",
                });
                continue;
            }
            sql.qualified("t", col.name);
            if let (Some(_), Dialect::Postgres) = (col.pg_type, DB::DIALECT) {
                sql.push("::text");
            }
        }
        sql.push(" FROM ").ident(schema.table).push(" t");
        sql
    }

    async fn fetch_all<T: AuthEntity>(conn: &mut DB::Connection, sql: Sql<DB>) -> Result<Vec<T>> {
        let cols = out_cols(schema_of::<T>());
        let rows = DB::fetch(conn, &sql.text, sql.args, &cols).await?;
        rows.into_iter().map(from_row::<T>).collect()
    }

    async fn fetch_one<T: AuthEntity>(
        conn: &mut DB::Connection,
        mut sql: Sql<DB>,
    ) -> Result<Option<T>> {
        sql.push(" LIMIT 2");
        let mut rows = Self::fetch_all::<T>(conn, sql).await?;
        Ok(if rows.len() == 1 { rows.pop() } else { None })
    }

    async fn by_id<T: AuthEntity>(&self, conn: &mut DB::Connection, id: i64) -> Result<Option<T>> {
        let mut sql = self.select::<T>();
        sql.push(" WHERE ")
            .qualified("t", schema_of::<T>().id_column())
            .push(" = ")
            .bind_int(id);
        Self::fetch_one(conn, sql).await
    }

    /// Exact (or, for logins, case-insensitive) match on a role's column.
    async fn by_text<T: AuthEntity>(
        &self,
        conn: &mut DB::Connection,
        role: Role,
        value: &str,
        case_insensitive: bool,
    ) -> Result<Option<T>> {
        if !check_lookup(value) {
            return Ok(None);
        }
        let col = schema_of::<T>().require(role)?.name;
        let mut sql = self.select::<T>();
        sql.push(" WHERE ");
        if case_insensitive {
            sql.push("LOWER(").qualified("t", col).push(") = LOWER(");
            sql.bind_text(value).push(")");
        } else {
            sql.qualified("t", col).push(" = ").bind_text(value);
        }
        Self::fetch_one(conn, sql).await
    }

    async fn list<T: AuthEntity>(&self, order: Role) -> Result<Vec<T>> {
        let schema = schema_of::<T>();
        let mut sql = self.select::<T>();
        let col = schema.column(order).map_or(schema.id_column(), |c| c.name);
        sql.push(" ORDER BY ").qualified("t", col);
        Self::fetch_all(&mut *self.conn().await?, sql).await
    }

    /// `<separator><updated column> = <now>`, when the table has an updated
    /// column (every UPDATE of a row stamps it).
    fn set_updated(
        sql: &mut Sql<DB>,
        schema: &EntitySchema,
        now: chrono::NaiveDateTime,
        separator: &str,
    ) {
        if let Some(updated) = schema.timestamp_column(Role::Updated) {
            sql.push(separator)
                .ident(updated)
                .push(" = ")
                .bind(Value::DateTime(now), Kind::DateTime);
        }
    }

    fn conflict_message<T: AuthEntity>(entity: &T) -> String {
        let schema = schema_of::<T>();
        let values = entity.to_values();
        let unique = schema
            .columns
            .iter()
            .zip(values)
            .find(|(c, _)| matches!(c.role, Role::Login | Role::Name | Role::Token));
        match unique {
            Some((c, Value::Text(v))) => format!("a {:?} with {} `{v}`", schema.kind, c.name),
            _ => format!("a {:?} with these values", schema.kind),
        }
        .to_lowercase()
    }

    async fn insert_row<T: AuthEntity>(
        &self,
        conn: &mut DB::Connection,
        entity: &mut T,
    ) -> Result<()> {
        let schema = schema_of::<T>();
        let now = self.now();
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(schema.table).push(" (");
        let values = writable_values(entity, self.token_column_absent())?;
        let stamps: Vec<_> = schema.timestamp_columns().collect();
        let names = values
            .iter()
            .map(|(c, _)| c.name)
            .chain(stamps.iter().copied());
        sql.idents(names);
        sql.push(") VALUES (");
        let mut first = true;
        for (col, value) in values {
            if !first {
                sql.push(", ");
            }
            first = false;
            sql.bind_cast(value, col.kind, col.pg_type);
        }
        for _ in &stamps {
            if !first {
                sql.push(", ");
            }
            first = false;
            sql.bind(Value::DateTime(now), Kind::DateTime);
        }
        sql.push(")");
        let id = DB::insert(conn, &sql.text, sql.args, schema.id_column())
            .await
            .map_err(|e| map_unique(e, || Self::conflict_message(entity)))?;
        entity.set_id(id);
        Ok(())
    }

    async fn update_row<T: AuthEntity>(&self, conn: &mut DB::Connection, entity: &T) -> Result<()> {
        if self.update_row_if(conn, entity, None).await? {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "{:?} {}",
                schema_of::<T>().kind,
                entity.id()
            )))
        }
    }

    /// Update a row; with `expected_key`, only while its session key still has
    /// that value (an optimistic check that is atomic on every backend).
    /// Whether a row was updated.
    async fn update_row_if<T: AuthEntity>(
        &self,
        conn: &mut DB::Connection,
        entity: &T,
        expected_key: Option<&str>,
    ) -> Result<bool> {
        let schema = schema_of::<T>();
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(schema.table).push(" SET ");
        let mut first = true;
        for (col, value) in writable_values(entity, self.token_column_absent())? {
            if !first {
                sql.push(", ");
            }
            first = false;
            sql.ident(col.name).push(" = ");
            sql.bind_cast(value, col.kind, col.pg_type);
        }
        Self::set_updated(&mut sql, schema, self.now(), if first { "" } else { ", " });
        sql.push(" WHERE ")
            .ident(schema.id_column())
            .push(" = ")
            .bind_int(entity.id());
        if let Some(key) = expected_key {
            let col = schema.require(Role::Core(CoreField::SessionKey))?.name;
            sql.push(" AND ").ident(col).push(" = ").bind_text(key);
        }
        let n = DB::execute(conn, &sql.text, sql.args)
            .await
            .map_err(|e| map_unique(e, || Self::conflict_message(entity)))?;
        Ok(n > 0)
    }

    async fn delete_row(conn: &mut DB::Connection, schema: &EntitySchema, id: i64) -> Result<u64> {
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(schema.table)
            .push(" WHERE ")
            .ident(schema.id_column())
            .push(" = ")
            .bind_int(id);
        DB::execute(conn, &sql.text, sql.args).await.map_err(|e| {
            if Error::is_foreign_key_violation(&e) {
                Error::Referenced(format!("{:?} {id}", schema.kind).to_lowercase())
            } else {
                Error::Database(e)
            }
        })
    }

    /// The text column a one-column query selects, row by row.
    async fn texts(conn: &mut DB::Connection, sql: Sql<DB>) -> Result<Vec<String>> {
        let rows = DB::fetch(conn, &sql.text, sql.args, &[OutCol { kind: Kind::Text }]).await?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| match r.pop() {
                Some(Value::Text(t)) => Some(t),
                Some(Value::Bytes(b)) => String::from_utf8(b).ok(),
                _ => None,
            })
            .collect())
    }

    async fn ids(conn: &mut DB::Connection, sql: Sql<DB>) -> Result<Vec<i64>> {
        let rows = DB::fetch(conn, &sql.text, sql.args, &[OutCol { kind: Kind::Int }]).await?;
        let mut out: Vec<i64> = rows
            .into_iter()
            .filter_map(|mut r| match r.pop() {
                Some(Value::Int(i)) => Some(i),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    // ----- session keys ---------------------------------------------------------------------

    /// The users whose effective rights depend on `subject`.
    async fn affected_users(
        &self,
        conn: &mut DB::Connection,
        subject: Subject,
    ) -> Result<Vec<i64>> {
        let (up, ub, ug) = (
            Link::UserPermissions.table(),
            Link::UserBundles.table(),
            Link::UserGroups.table(),
        );
        let (gp, gb, bp) = (
            Link::GroupPermissions.table(),
            Link::GroupBundles.table(),
            Link::BundlePermissions.table(),
        );
        let mut sql = Sql::<DB>::new("");
        match subject {
            Subject::User(id) => return Ok(vec![id]),
            Subject::Group(id) => {
                sql.push("SELECT user_id FROM ")
                    .ident(ug)
                    .push(" WHERE group_id = ")
                    .bind_int(id);
            }
            Subject::Bundle(id) => {
                sql.push("SELECT user_id FROM ")
                    .ident(ub)
                    .push(" WHERE bundle_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT ug.user_id FROM ")
                    .ident(ug)
                    .push(" ug JOIN ")
                    .ident(gb);
                sql.push(" gb ON gb.group_id = ug.group_id WHERE gb.bundle_id = ")
                    .bind_int(id);
            }
            Subject::Permission(id) => {
                sql.push("SELECT user_id FROM ").ident(up);
                sql.push(" WHERE permission_id = ").bind_int(id);
                sql.push(" UNION SELECT ub.user_id FROM ")
                    .ident(ub)
                    .push(" ub JOIN ")
                    .ident(bp);
                sql.push(" bp ON bp.bundle_id = ub.bundle_id WHERE bp.permission_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT ug.user_id FROM ")
                    .ident(ug)
                    .push(" ug JOIN ")
                    .ident(gp);
                sql.push(" gp ON gp.group_id = ug.group_id WHERE gp.permission_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT ug.user_id FROM ")
                    .ident(ug)
                    .push(" ug JOIN ")
                    .ident(gb);
                sql.push(" gb ON gb.group_id = ug.group_id JOIN ").ident(bp);
                sql.push(" bp ON bp.bundle_id = gb.bundle_id WHERE bp.permission_id = ")
                    .bind_int(id);
            }
        }
        Self::ids(conn, sql).await
    }

    /// Rotate the keys of `affected` in `tx`, commit, then record the
    /// rotation (a rights change of `kind` `id`, `change` saying what).
    async fn rotate_and_commit(
        &self,
        mut tx: Transaction<'static, DB>,
        affected: &[i64],
        kind: EntityKind,
        id: i64,
        change: &str,
    ) -> Result<()> {
        self.rotate_keys(&mut tx, affected).await?;
        self.commit(tx, Notice::Users(affected)).await?;
        self.audit_rotation(affected, kind, id, change);
        Ok(())
    }

    /// Record that the keys of `affected` were rotated by a rights change of
    /// `kind` `id` (`change` saying what); nothing when nobody was affected.
    fn audit_rotation(&self, affected: &[i64], kind: EntityKind, id: i64, change: &str) {
        if affected.is_empty() {
            return;
        }
        use crate::core::audit::{kinds, AuditEvent, Outcome, Subject as Of};
        let mut event =
            AuditEvent::new(kinds::SESSIONS_ROTATED, Outcome::Success).detail(serde_json::json!({
                "change": change,
                "users": affected.iter().take(100).collect::<Vec<_>>(),
                "count": affected.len(),
            }));
        event.subject = match kind {
            EntityKind::User => Some(Of::User(id)),
            EntityKind::Group => Some(Of::Group(id)),
            EntityKind::Bundle => Some(Of::Bundle(id)),
            EntityKind::Permission => Some(Of::Permission(id)),
            EntityKind::Attempt => None,
        };
        self.audit(event);
    }

    /// Give each user a new session key.
    async fn rotate_keys(&self, conn: &mut DB::Connection, user_ids: &[i64]) -> Result<()> {
        let schema = schema_of::<U<E>>();
        let key_col = schema.require(Role::Core(CoreField::SessionKey))?.name;
        for id in user_ids {
            let mut sql = Sql::<DB>::new("UPDATE ");
            sql.ident(schema.table)
                .push(" SET ")
                .ident(key_col)
                .push(" = ");
            sql.bind_text(&crate::core::token::new_session_key());
            Self::set_updated(&mut sql, schema, self.now(), ", ");
            sql.push(" WHERE ")
                .ident(schema.id_column())
                .push(" = ")
                .bind_int(*id);
            DB::execute(conn, &sql.text, sql.args).await?;
        }
        Ok(())
    }

    // ----- attempts (the limiter's queries are in crate::core::attempts) ------------

    /// Record an attempt; sets its id.
    pub async fn insert_attempt(&self, attempt: &mut A<E>) -> Result<()> {
        if attempt.core().user_input.len() > MAX_LOOKUP_BYTES {
            return Err(Error::Invalid("the input is too long".into()));
        }
        self.insert_row(&mut *self.conn().await?, attempt).await
    }

    /// Every attempt, oldest first.
    pub async fn attempts(&self) -> Result<Vec<A<E>>> {
        self.list(Role::Id).await
    }
}
