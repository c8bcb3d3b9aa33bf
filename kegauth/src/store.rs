//! The store: kegauth's data operations on the app's entities, generic over
//! SQLite, PostgreSQL and MySQL.
//!
//! Every operation that changes what a user may do (their permissions,
//! groups, bundles, superuser or enabled flags, disabled date or password, or
//! a group or bundle they inherit from) rotates the `session_key` of exactly
//! the users affected, in the same transaction. Sessions and tokens carry the
//! key, so the change logs those users out everywhere.

use crate::backend::{Backend, Dialect, OutCol, Sql};
use crate::clock::{Clock, SystemClock};
use crate::entity::{
    from_row, AttemptEntity, AuthEntity, BundleEntity, CoreField, EntityKind, EntitySchema,
    EntitySet, GroupEntity, Kind, PermissionEntity, Role, UserEntity, Value,
};
use crate::links::Link;
use crate::password::{PasswordHasher, Verified};
use crate::permissions::PermissionDef;
use crate::{Error, Result};
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
    pub(crate) flows: crate::accounts::Flows,
    attempts: crate::attempts::AttemptPolicy,
    sessions: Arc<crate::session_cache::SessionCache<U<E>>>,
    _entities: PhantomData<fn() -> E>,
}

impl<DB: Backend, E: EntitySet> Clone for Store<DB, E> {
    fn clone(&self) -> Self {
        Store {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            attempts: self.attempts,
            sessions: self.sessions.clone(),
            hasher: self.hasher.clone(),
            flows: self.flows.clone(),
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
) -> Result<Vec<(&'static crate::entity::Column, Value)>> {
    let schema = schema_of::<T>();
    let mut out = Vec::new();
    for (col, value) in schema.columns.iter().zip(entity.to_values()) {
        if !col.writable() {
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
            flows: crate::accounts::Flows::default(),
            attempts: crate::attempts::AttemptPolicy::default(),
            sessions: Arc::new(crate::session_cache::SessionCache::new(
                std::time::Duration::ZERO,
            )),
            _entities: PhantomData,
        }
    }

    /// Keep session users and their permissions in memory for `ttl` (zero,
    /// the default, turns it off); see `session_cache_secs` in
    /// [`Config`](crate::config::Config). Every write this store (or a clone
    /// of it) makes takes effect at once: a write to one user's row drops
    /// that user's entries, a write to memberships or permissions drops them all.
    pub fn with_session_cache(mut self, ttl: std::time::Duration) -> Self {
        self.sessions = Arc::new(crate::session_cache::SessionCache::new(ttl));
        self
    }

    /// A number that moves on with every write this store makes to users,
    /// memberships or permissions (what is derived from them, such as a
    /// menu, is stale when it changed).
    pub(crate) fn write_generation(&self) -> u64 {
        self.sessions.generation()
    }

    /// Commit a write that may change any user's rights, then clear the session cache.
    async fn commit(&self, tx: Transaction<'static, DB>) -> Result<()> {
        tx.commit().await?;
        self.sessions.invalidate();
        Ok(())
    }

    /// Limit attempts with `policy` (default: keg-auth's limits; the fairing
    /// takes them from the configuration).
    pub fn with_attempt_policy(mut self, policy: crate::attempts::AttemptPolicy) -> Self {
        self.attempts = policy;
        self
    }

    /// The attempt limits.
    pub fn attempt_policy(&self) -> &crate::attempts::AttemptPolicy {
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
    pub(crate) fn select<T: AuthEntity>() -> Sql<DB> {
        let schema = schema_of::<T>();
        let mut sql = Sql::<DB>::new("SELECT ");
        for (i, col) in schema.columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
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

    async fn by_id<T: AuthEntity>(conn: &mut DB::Connection, id: i64) -> Result<Option<T>> {
        let mut sql = Self::select::<T>();
        sql.push(" WHERE ")
            .qualified("t", schema_of::<T>().id_column())
            .push(" = ")
            .bind_int(id);
        Self::fetch_one(conn, sql).await
    }

    /// Exact (or, for logins, case-insensitive) match on a role's column.
    async fn by_text<T: AuthEntity>(
        conn: &mut DB::Connection,
        role: Role,
        value: &str,
        case_insensitive: bool,
    ) -> Result<Option<T>> {
        if !check_lookup(value) {
            return Ok(None);
        }
        let col = schema_of::<T>().require(role)?.name;
        let mut sql = Self::select::<T>();
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
        let mut sql = Self::select::<T>();
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
        let values = writable_values(entity)?;
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
        for (col, value) in writable_values(entity)? {
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
            sql.bind_text(&crate::token::new_session_key());
            Self::set_updated(&mut sql, schema, self.now(), ", ");
            sql.push(" WHERE ")
                .ident(schema.id_column())
                .push(" = ")
                .bind_int(*id);
            DB::execute(conn, &sql.text, sql.args).await?;
        }
        Ok(())
    }

    // ----- users ----------------------------------------------------------------------------

    /// The user with this id.
    pub async fn user(&self, id: i64) -> Result<Option<U<E>>> {
        Self::by_id(&mut *self.conn().await?, id).await
    }

    /// The user with this login id (email or username), compared case-insensitively.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<U<E>>> {
        Self::by_text(&mut *self.conn().await?, Role::Login, login.trim(), true).await
    }

    /// The user holding this session key, from the session cache when it is
    /// on (see [`with_session_cache`](Self::with_session_cache)).
    pub async fn session_user(&self, key: &str) -> Result<Option<Arc<U<E>>>> {
        if let Some(user) = self.sessions.user(key) {
            return Ok(Some(user));
        }
        let generation = self.sessions.generation();
        let user = self.user_by_session_key(key).await?.map(Arc::new);
        if let Some(user) = &user {
            self.sessions.put_user(key, user.clone(), generation);
        }
        Ok(user)
    }

    /// The user holding this session key if the session cache has them.
    pub(crate) fn cached_session_user(&self, key: &str) -> Option<Arc<U<E>>> {
        self.sessions.user(key)
    }

    /// [`user_permissions`](Self::user_permissions) of a user from
    /// [`session_user`](Self::session_user), from the session cache when it is on.
    pub async fn session_permissions(&self, user: &U<E>) -> Result<Arc<BTreeSet<String>>> {
        let key = &user.core().session_key;
        if let Some(permissions) = self.sessions.permissions(key) {
            return Ok(permissions);
        }
        let generation = self.sessions.generation();
        let permissions = Arc::new(self.user_permissions(user).await?);
        self.sessions
            .put_permissions(key, permissions.clone(), generation);
        Ok(permissions)
    }

    /// The user holding this session key.
    pub async fn user_by_session_key(&self, key: &str) -> Result<Option<U<E>>> {
        let role = Role::Core(CoreField::SessionKey);
        Self::by_text(&mut *self.conn().await?, role, key, false).await
    }

    /// Every user, by login id.
    pub async fn users(&self) -> Result<Vec<U<E>>> {
        self.list(Role::Login).await
    }

    /// Insert a new user; sets its id. A taken login id is [`Error::Conflict`].
    pub async fn insert_user(&self, user: &mut U<E>) -> Result<()> {
        let login = user.login_id().trim().to_string();
        if login.is_empty() {
            return Err(Error::Invalid("the login id must not be empty".into()));
        }
        if user.core().session_key.is_empty() {
            user.core_mut().rotate_session_key();
        }
        user.set_login_id(login);
        let mut tx = self.begin_write().await?;
        self.check_login_free(&mut tx, user).await?;
        self.insert_row(&mut tx, user).await?;
        // A new row changes no cached session (the cache holds only users found by their key).
        tx.commit().await?;
        Ok(())
    }

    /// Logins are looked up case-insensitively, so two users whose login ids
    /// differ only by case would make each other unreachable: refuse that.
    async fn check_login_free(&self, conn: &mut DB::Connection, user: &U<E>) -> Result<()> {
        let login = user.login_id();
        if login.len() > MAX_LOOKUP_BYTES {
            return Err(Error::Invalid("the login id is too long".into()));
        }
        let taken: Option<U<E>> = Self::by_text(conn, Role::Login, login, true).await?;
        match taken {
            Some(other) if other.id() != user.id() => {
                Err(Error::Conflict(format!("a user with login id `{login}`")))
            }
            _ => Ok(()),
        }
    }

    /// Save every column of `user`. When its enabled or superuser flag, disabled
    /// date or password changed, its session key is rotated (in `user` too).
    pub async fn update_user(&self, user: &mut U<E>) -> Result<()> {
        if self.save_user(user, None).await? {
            Ok(())
        } else {
            Err(Error::NotFound(format!("user {}", user.id())))
        }
    }

    /// Like [`update_user`](Self::update_user), but only while the stored
    /// session key is still `expected_key`; `Ok(false)` (and nothing written)
    /// when it has changed since, e.g. because a concurrent request used the
    /// same reset token first.
    pub async fn update_user_if_key(&self, user: &mut U<E>, expected_key: &str) -> Result<bool> {
        self.save_user(user, Some(expected_key)).await
    }

    async fn save_user(&self, user: &mut U<E>, expected_key: Option<&str>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some(old) = Self::by_id::<U<E>>(&mut tx, user.id()).await? else {
            return Ok(false);
        };
        if expected_key.is_some_and(|k| k != old.core().session_key) {
            return Ok(false);
        }
        if !old.login_id().eq_ignore_ascii_case(user.login_id()) {
            self.check_login_free(&mut tx, user).await?;
        }
        if rights_changed(&old, user) && old.core().session_key == user.core().session_key {
            user.core_mut().rotate_session_key();
        }
        if !self.update_row_if(&mut tx, user, expected_key).await? {
            return Ok(false);
        }
        // Only this user's row changed: forget its sessions, not everyone's
        // (a login writes last_login_utc; a login storm must not empty the cache).
        tx.commit().await?;
        self.sessions
            .evict(&[&old.core().session_key, &user.core().session_key]);
        Ok(true)
    }

    /// Record a password login at `now`: set the user's last login time,
    /// only while their row still holds the session key and the password
    /// hash that `user` (read before the password was checked) holds.
    /// `Ok(false)`, with nothing written, when either changed since: a
    /// password change, a rights change or disabling (both rotate the key),
    /// or a logout elsewhere; read the user again. One statement and no
    /// transaction, and no other column is written, so a change made while
    /// the password was being hashed is never overwritten with the row read
    /// before it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// use kegauth::{entity::UserCore, Store};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
    /// let store: Store<sqlx::Sqlite, User> = Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// store.create_schema().await?;
    /// let mut ann = User { id: 0, email: "ann@example.com".into(), core: UserCore::new() };
    /// store.insert_user(&mut ann).await?;
    /// assert!(store.record_login(&mut ann, store.now()).await?);
    /// assert!(ann.core.last_login_utc.is_some());
    /// // Logged out elsewhere meanwhile: her key changed, nothing is written.
    /// store.rotate_session_key(&mut store.user(ann.id).await?.expect("ann")).await?;
    /// assert!(!store.record_login(&mut ann, store.now()).await?);
    /// # Ok(()) }
    /// ```
    pub async fn record_login(&self, user: &mut U<E>, now: chrono::NaiveDateTime) -> Result<bool> {
        let schema = schema_of::<U<E>>();
        let column = |field| schema.require(Role::Core(field));
        let last_login = column(CoreField::LastLoginUtc)?;
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(schema.table)
            .push(" SET ")
            .ident(last_login.name)
            .push(" = ")
            .bind_cast(Value::DateTime(now), last_login.kind, last_login.pg_type);
        Self::set_updated(&mut sql, schema, now, ", ");
        sql.push(" WHERE ")
            .ident(schema.id_column())
            .push(" = ")
            .bind_int(user.id());
        let core = user.core();
        // As read: the password hash is stored as bytes (keg-auth's schema).
        for (field, value) in [
            (CoreField::SessionKey, Some(&core.session_key)),
            (CoreField::Password, core.password.as_ref()),
        ] {
            let col = column(field)?;
            sql.push(" AND ").ident(col.name);
            match value {
                Some(v) => sql
                    .push(" = ")
                    .bind_cast(Value::Text(v.clone()), col.kind, col.pg_type),
                None => sql.push(" IS NULL"),
            };
        }
        let n = DB::execute(&mut *self.conn().await?, &sql.text, sql.args).await?;
        if n == 0 {
            return Ok(false);
        }
        user.core_mut().last_login_utc = Some(now);
        self.sessions.evict(&[&user.core().session_key]);
        Ok(true)
    }

    /// Delete a user and its memberships. When a row of the app's own tables
    /// still refers to the user, nothing is removed and the error is
    /// [`Error::Referenced`].
    pub async fn delete_user(&self, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for link in [Link::UserPermissions, Link::UserBundles, Link::UserGroups] {
            self.unlink_all(&mut tx, link, true, id).await?;
        }
        if self.flows.oauth() {
            let mut sql = Sql::<DB>::new("DELETE FROM ");
            sql.ident(crate::ddl::OAUTH_IDENTITIES)
                .push(" WHERE ")
                .ident("user_id")
                .push(" = ")
                .bind_int(id);
            DB::execute(&mut tx, &sql.text, sql.args).await?;
        }
        if Self::delete_row(&mut tx, schema_of::<U<E>>(), id).await? == 0 {
            return Err(Error::NotFound(format!("user {id}")));
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Hash `password` (off the executor) and save it; rotates the session key.
    pub async fn set_password(&self, user: &mut U<E>, password: &str) -> Result<()> {
        let hash = self.hasher.hash(password).await?;
        user.core_mut().password = Some(hash);
        self.update_user(user).await
    }

    /// Check `password` against the user's hash. A user with no password never matches,
    /// and costs one dummy verification so that timing does not tell.
    pub async fn verify_password(&self, user: &U<E>, password: &str) -> Result<Verified> {
        match &user.core().password {
            Some(hash) => self.hasher.verify(password, hash).await,
            None => {
                self.hasher.verify_dummy().await?;
                Ok(Verified {
                    ok: false,
                    needs_rehash: false,
                })
            }
        }
    }

    /// Enable or disable a user; enabling clears a past `disabled_utc`.
    pub async fn set_enabled(&self, user: &mut U<E>, enabled: bool) -> Result<()> {
        let now = self.now();
        user.core_mut().set_enabled(enabled, now);
        self.update_user(user).await
    }

    /// Log the user out of every session and token.
    pub async fn rotate_session_key(&self, user: &mut U<E>) -> Result<()> {
        user.core_mut().rotate_session_key();
        self.update_user(user).await
    }

    /// keg-auth's `is_active` with the store's clock.
    pub fn is_active(&self, user: &U<E>) -> bool {
        user.is_active_at(self.now())
    }

    // ----- grids (the admin pages) --------------------------------------------------------

    /// One page of `T`'s rows for a grid, and how many rows match the
    /// filter: sorted by the column named `query.sort` (unknown names sort by
    /// id), NULLs last, ties by id; filtered to rows where one of
    /// `filter_columns` contains `query.filter` (case-insensitive, `%` and `_`
    /// taken literally).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// use kegauth::{crud::GridQuery, entity::Group, Store};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// let store: Store<sqlx::Sqlite, User> = Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// store.create_schema().await?;
    /// for name in ["alpha", "beta", "al_pha"] {
    ///     store.insert_group(&mut Group { id: 0, name: name.into() }).await?;
    /// }
    /// let query = GridQuery { sort: Some("name".into()), descending: true, filter: "AL".into(), page: 1, per_page: 25 };
    /// let (rows, total) = store.grid::<Group>(&query, &["name"]).await?;
    /// assert_eq!(total, 2);
    /// assert_eq!(rows.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["alpha", "al_pha"]);
    /// # Ok(()) }
    /// ```
    pub async fn grid<T: AuthEntity>(
        &self,
        query: &crate::crud::GridQuery,
        filter_columns: &[&str],
    ) -> Result<(Vec<T>, u64)> {
        let schema = schema_of::<T>();
        let filter_cols: Vec<&'static str> = schema
            .columns
            .iter()
            .filter(|c| filter_columns.contains(&c.name) && c.kind == Kind::Text)
            .map(|c| c.name)
            .collect();
        let pattern = (!query.filter.is_empty() && !filter_cols.is_empty()).then(|| {
            let mut p = String::from("%");
            for ch in query.filter.to_lowercase().chars() {
                if matches!(ch, '!' | '%' | '_') {
                    p.push('!');
                }
                p.push(ch);
            }
            p.push('%');
            p
        });
        let push_where = |sql: &mut Sql<DB>| {
            if let Some(pattern) = &pattern {
                sql.push(" WHERE (");
                for (i, col) in filter_cols.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    sql.push("LOWER(").qualified("t", col).push(") LIKE ");
                    sql.bind_text(pattern).push(" ESCAPE '!'");
                }
                sql.push(")");
            }
        };
        let mut conn = self.conn().await?;
        let mut count = Sql::<DB>::new("SELECT COUNT(*) FROM ");
        count.ident(schema.table).push(" t");
        push_where(&mut count);
        let rows = DB::fetch(
            &mut conn,
            &count.text,
            count.args,
            &[OutCol { kind: Kind::Int }],
        )
        .await?;
        let total = match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        let mut sql = Self::select::<T>();
        push_where(&mut sql);
        sql.push(" ORDER BY ");
        let sort = query
            .sort
            .as_deref()
            .and_then(|s| schema.columns.iter().find(|c| c.name == s));
        if let Some(col) = sort {
            let dir = if query.descending { " DESC" } else { " ASC" };
            sql.push("CASE WHEN ")
                .qualified("t", col.name)
                .push(" IS NULL THEN 1 ELSE 0 END, ");
            sql.qualified("t", col.name).push(dir).push(", ");
        }
        sql.qualified("t", schema.id_column());
        sql.push(&format!(
            " LIMIT {} OFFSET {}",
            query.per_page.max(1),
            query.offset()
        ));
        let rows = Self::fetch_all(&mut conn, sql).await?;
        Ok((rows, total))
    }

    /// Insert a group or bundle (by kind); a taken name is [`Error::Conflict`].
    pub(crate) async fn insert_entity<T: AuthEntity>(&self, entity: &mut T) -> Result<()> {
        self.insert_row(&mut *self.conn().await?, entity).await
    }

    /// Save a group's or bundle's columns.
    pub(crate) async fn update_entity<T: AuthEntity>(&self, entity: &T) -> Result<()> {
        self.update_row(&mut *self.conn().await?, entity).await
    }

    /// A row of `T` by id.
    pub(crate) async fn entity<T: AuthEntity>(&self, id: i64) -> Result<Option<T>> {
        Self::by_id(&mut *self.conn().await?, id).await
    }

    /// Delete a group or bundle (by kind), rotating the affected users' keys.
    pub(crate) async fn delete_entity(&self, kind: EntityKind, id: i64) -> Result<()> {
        self.delete_with_links(kind, Self::subject(kind, id), id)
            .await
            .map(drop)
    }

    // ----- launch checks --------------------------------------------------------------------

    /// Read no row of `T`'s table with every column `T` names: fails when the
    /// table or a column is missing.
    pub(crate) async fn probe_table<T: AuthEntity>(&self) -> std::result::Result<(), sqlx::Error> {
        let mut sql = Self::select::<T>();
        sql.push(" WHERE 1 = 0");
        let mut conn = self.pool.acquire().await?;
        DB::execute(&mut conn, &sql.text, sql.args).await?;
        Ok(())
    }

    /// Check at launch that the user, group, bundle and permission tables have
    /// every column their entities name, so that a schema behind the code (a
    /// new `#[auth(api_token)]` field, say) stops the launch with a message
    /// instead of failing requests.
    pub async fn check_tables(&self) -> Result<()> {
        async fn one<DB: Backend, E: EntitySet, T: AuthEntity>(store: &Store<DB, E>) -> Result<()> {
            store.probe_table::<T>().await.map_err(|e| {
                if crate::error::is_unavailable(&e) {
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
        one::<DB, E, U<E>>(self).await?;
        one::<DB, E, G<E>>(self).await?;
        one::<DB, E, B<E>>(self).await?;
        one::<DB, E, P<E>>(self).await
    }

    // ----- API tokens -----------------------------------------------------------------------

    /// Give `user` a new API token (keg-auth's `reset_auth_token`) and return
    /// it: the raw value exists only in the return value, the user row keeps
    /// its SHA-256. The previous token stops working. Send it as
    /// [`api_token_header`](crate::loaders::api_token_header)`(login id, token)`
    /// in `X-Auth-Token` (see [`TokenRequestLoader`](crate::loaders::TokenRequestLoader)).
    ///
    /// Only the token column is written. [`Error::Config`] when the user
    /// entity has no `#[auth(api_token)]` field.
    pub async fn reset_auth_token(
        &self,
        user: &mut U<E>,
        options: &crate::loaders::ApiTokenOptions,
    ) -> Result<String> {
        let raw = crate::loaders::generate_api_token(options)?;
        self.write_api_token(user, Some(api_token_digest(&raw)))
            .await?;
        Ok(raw)
    }

    /// Revoke `user`'s API token.
    pub async fn clear_auth_token(&self, user: &mut U<E>) -> Result<()> {
        self.write_api_token(user, None).await
    }

    async fn write_api_token(&self, user: &mut U<E>, hash: Option<Vec<u8>>) -> Result<()> {
        if !user.set_api_token_hash(hash.clone()) {
            return Err(Error::Config(
                "API tokens need an #[auth(api_token)] field (Option<Vec<u8>>) on the user entity"
                    .into(),
            ));
        }
        let schema = schema_of::<U<E>>();
        let col = schema.require(Role::ApiToken)?;
        let value = hash.map_or(Value::Null, Value::Bytes);
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(schema.table)
            .push(" SET ")
            .ident(col.name)
            .push(" = ");
        sql.bind_cast(value, col.kind, col.pg_type);
        sql.push(" WHERE ")
            .ident(schema.id_column())
            .push(" = ")
            .bind_int(user.id());
        if DB::execute(&mut *self.conn().await?, &sql.text, sql.args).await? == 0 {
            return Err(Error::NotFound(format!("user {}", user.id())));
        }
        Ok(())
    }

    /// The user with this login id whose API token is `raw_token` (compared
    /// in constant time through its SHA-256), whether active or not. A token
    /// hashed by keg-auth (a passlib string) is checked with the password
    /// hasher and, when it matches, re-stored as SHA-256.
    pub async fn user_by_api_token(&self, login_id: &str, raw_token: &str) -> Result<Option<U<E>>> {
        use subtle::ConstantTimeEq;
        let digest = api_token_digest(raw_token);
        let Some(mut user) = self.user_by_login(login_id).await? else {
            return Ok(None);
        };
        let stored = user.api_token_hash().map(<[u8]>::to_vec);
        let matches = match stored.as_deref() {
            Some(s) if s.len() == digest.len() => bool::from(s.ct_eq(&digest)),
            Some(s) if s.starts_with(b"$") => {
                let Ok(legacy) = std::str::from_utf8(s) else {
                    return Ok(None);
                };
                let ok = match self.hasher.verify(raw_token, legacy).await {
                    Ok(v) => v.ok,
                    Err(e) => {
                        log::warn!("kegauth: user {}'s API token hash: {e}", user.id());
                        false
                    }
                };
                if ok {
                    self.write_api_token(&mut user, Some(digest)).await?;
                }
                ok
            }
            _ => false,
        };
        Ok(matches.then_some(user))
    }

    // ----- groups and bundles ---------------------------------------------------------------

    /// The group with this id.
    pub async fn group(&self, id: i64) -> Result<Option<G<E>>> {
        Self::by_id(&mut *self.conn().await?, id).await
    }

    /// The group with this name.
    pub async fn group_by_name(&self, name: &str) -> Result<Option<G<E>>> {
        Self::by_text(&mut *self.conn().await?, Role::Name, name, false).await
    }

    /// Every group, by name.
    pub async fn groups(&self) -> Result<Vec<G<E>>> {
        self.list(Role::Name).await
    }

    /// Insert a group; a taken name is [`Error::Conflict`].
    pub async fn insert_group(&self, group: &mut G<E>) -> Result<()> {
        check_name(group.name())?;
        self.insert_row(&mut *self.conn().await?, group).await
    }

    /// Save a group's columns (its name and app columns; not its rights).
    pub async fn update_group(&self, group: &G<E>) -> Result<()> {
        check_name(group.name())?;
        self.update_row(&mut *self.conn().await?, group).await
    }

    /// Delete a group; its members' session keys rotate.
    pub async fn delete_group(&self, id: i64) -> Result<()> {
        self.delete_with_links(EntityKind::Group, Subject::Group(id), id)
            .await
            .map(drop)
    }

    /// The bundle with this id.
    pub async fn bundle(&self, id: i64) -> Result<Option<B<E>>> {
        Self::by_id(&mut *self.conn().await?, id).await
    }

    /// The bundle with this name.
    pub async fn bundle_by_name(&self, name: &str) -> Result<Option<B<E>>> {
        Self::by_text(&mut *self.conn().await?, Role::Name, name, false).await
    }

    /// Every bundle, by name.
    pub async fn bundles(&self) -> Result<Vec<B<E>>> {
        self.list(Role::Name).await
    }

    /// Insert a bundle; a taken name is [`Error::Conflict`].
    pub async fn insert_bundle(&self, bundle: &mut B<E>) -> Result<()> {
        check_name(bundle.name())?;
        self.insert_row(&mut *self.conn().await?, bundle).await
    }

    /// Save a bundle's columns (its name and app columns; not its rights).
    pub async fn update_bundle(&self, bundle: &B<E>) -> Result<()> {
        check_name(bundle.name())?;
        self.update_row(&mut *self.conn().await?, bundle).await
    }

    /// Delete a bundle; the session keys of users holding it (directly or through a group) rotate.
    pub async fn delete_bundle(&self, id: i64) -> Result<()> {
        self.delete_with_links(EntityKind::Bundle, Subject::Bundle(id), id)
            .await
            .map(drop)
    }

    /// Delete a row of `kind` and every mapping row naming it, rotating the affected users.
    async fn delete_with_links(&self, kind: EntityKind, subject: Subject, id: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let affected = self.affected_users(&mut tx, subject).await?;
        for link in Link::ALL {
            let (l, r) = link.kinds();
            if l == kind {
                self.unlink_all(&mut tx, link, true, id).await?;
            } else if r == kind {
                self.unlink_all(&mut tx, link, false, id).await?;
            }
        }
        let n = Self::delete_row(&mut tx, self.table_of(kind), id).await?;
        if n == 0 {
            return Err(Error::NotFound(format!("{kind:?} {id}").to_lowercase()));
        }
        self.rotate_keys(&mut tx, &affected).await?;
        self.commit(tx).await?;
        Ok(n)
    }

    // ----- permissions ----------------------------------------------------------------------

    /// Every permission, by token.
    pub async fn permissions(&self) -> Result<Vec<P<E>>> {
        self.list(Role::Token).await
    }

    /// The permission with this token.
    pub async fn permission_by_token(&self, token: &str) -> Result<Option<P<E>>> {
        Self::by_text(&mut *self.conn().await?, Role::Token, token, false).await
    }

    /// The ids of these permission tokens; an unknown token is [`Error::NotFound`] naming it.
    pub async fn permission_ids<S: AsRef<str>>(&self, tokens: &[S]) -> Result<Vec<i64>> {
        let all = self.permissions().await?;
        tokens
            .iter()
            .map(|t| {
                let t = t.as_ref();
                all.iter()
                    .find(|p| p.token() == t)
                    .map(|p| p.id())
                    .ok_or_else(|| Error::NotFound(format!("permission `{t}`")))
            })
            .collect()
    }

    /// Make the permissions table match the permissions declared in code:
    /// insert missing ones, update changed descriptions, delete undeclared ones
    /// (rotating the session keys of users who held them).
    ///
    /// Safe to run from several app instances at once: inserts skip existing
    /// tokens instead of failing on the unique constraint, and each statement
    /// stands alone.
    pub async fn sync_permissions(&self, declared: &[PermissionDef]) -> Result<SyncReport> {
        crate::permissions::validate(declared)?;
        let schema = schema_of::<P<E>>();
        let token_col = schema.require(Role::Token)?.name;
        let desc_col = schema.column(Role::Description).map(|c| c.name);
        let stamps: Vec<_> = schema.timestamp_columns().collect();
        let now = self.now();
        let mut report = SyncReport::default();
        let mut conn = self.conn().await?;

        for def in declared {
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(schema.table).push(" (").ident(token_col);
            if let Some(d) = desc_col {
                sql.push(", ").ident(d);
            }
            for s in &stamps {
                sql.push(", ").ident(s);
            }
            sql.push(") VALUES (").bind_text(def.token);
            if desc_col.is_some() {
                let d = def
                    .description
                    .map_or(Value::Null, |d| Value::Text(d.into()));
                sql.push(", ").bind(d, Kind::Text);
            }
            for _ in &stamps {
                sql.push(", ").bind(Value::DateTime(now), Kind::DateTime);
            }
            sql.push(")");
            report.added += DB::insert_new(&mut conn, &sql.text, sql.args, &[token_col]).await?;
        }

        if let Some(d) = desc_col {
            for def in declared {
                let mut sql = Sql::<DB>::new("UPDATE ");
                sql.ident(schema.table).push(" SET ").ident(d).push(" = ");
                match def.description {
                    Some(text) => sql.bind_text(text),
                    None => sql.push("NULL"),
                };
                Self::set_updated(&mut sql, schema, now, ", ");
                sql.push(" WHERE ")
                    .ident(token_col)
                    .push(" = ")
                    .bind_text(def.token);
                match def.description {
                    Some(text) => {
                        sql.push(" AND (").ident(d).push(" IS NULL OR ").ident(d);
                        sql.push(" <> ").bind_text(text).push(")");
                    }
                    None => {
                        sql.push(" AND ").ident(d).push(" IS NOT NULL");
                    }
                }
                report.updated += DB::execute(&mut conn, &sql.text, sql.args).await?;
            }
        }
        drop(conn);

        for perm in self.permissions().await? {
            if declared.iter().any(|d| d.token == perm.token()) {
                continue;
            }
            match self
                .delete_with_links(
                    EntityKind::Permission,
                    Subject::Permission(perm.id()),
                    perm.id(),
                )
                .await
            {
                Ok(n) => report.removed += n,
                // Another instance deleted it first.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.sessions.invalidate();
        Ok(report)
    }

    // ----- memberships ----------------------------------------------------------------------

    async fn unlink_all(
        &self,
        conn: &mut DB::Connection,
        link: Link,
        left_side: bool,
        id: i64,
    ) -> Result<u64> {
        let (l, r) = link.columns();
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(link.table()).push(" WHERE ");
        sql.ident(if left_side { l } else { r })
            .push(" = ")
            .bind_int(id);
        Ok(DB::execute(conn, &sql.text, sql.args).await?)
    }

    async fn require_ids(
        &self,
        conn: &mut DB::Connection,
        kind: EntityKind,
        ids: &[i64],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let schema = self.table_of(kind);
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(schema.id_column())
            .push(" FROM ")
            .ident(schema.table);
        sql.push(" WHERE ")
            .ident(schema.id_column())
            .push(" IN ")
            .bind_int_list(ids);
        let found = Self::ids(conn, sql).await?;
        match ids.iter().find(|id| found.binary_search(id).is_err()) {
            Some(missing) => Err(Error::NotFound(
                format!("{kind:?} {missing}").to_lowercase(),
            )),
            None => Ok(()),
        }
    }

    fn subject(kind: EntityKind, id: i64) -> Subject {
        match kind {
            EntityKind::Group => Subject::Group(id),
            EntityKind::Bundle => Subject::Bundle(id),
            EntityKind::Permission => Subject::Permission(id),
            _ => Subject::User(id),
        }
    }

    /// The ids on the right side of `link` for `left_id` (e.g. a user's group ids).
    pub async fn linked(&self, link: Link, left_id: i64) -> Result<Vec<i64>> {
        let (l, r) = link.columns();
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(r)
            .push(" FROM ")
            .ident(link.table())
            .push(" WHERE ")
            .ident(l);
        sql.push(" = ").bind_int(left_id);
        Self::ids(&mut *self.conn().await?, sql).await
    }

    /// The ids on the left side of `link` for `right_id` (e.g. a group's member ids).
    pub async fn linked_to(&self, link: Link, right_id: i64) -> Result<Vec<i64>> {
        let (l, r) = link.columns();
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(l)
            .push(" FROM ")
            .ident(link.table())
            .push(" WHERE ")
            .ident(r);
        sql.push(" = ").bind_int(right_id);
        Self::ids(&mut *self.conn().await?, sql).await
    }

    /// Replace the right-side ids of `left_id` in `link` (e.g. a group's permissions).
    /// Unknown ids are [`Error::NotFound`]. When the set changes, the affected users'
    /// session keys rotate; returns whether it changed.
    pub async fn set_links(&self, link: Link, left_id: i64, right_ids: &[i64]) -> Result<bool> {
        let mut wanted = right_ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let (lk, rk) = link.kinds();
        let (l, r) = link.columns();
        let mut tx = self.begin_write().await?;
        self.require_ids(&mut tx, lk, &[left_id]).await?;
        self.require_ids(&mut tx, rk, &wanted).await?;
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(r)
            .push(" FROM ")
            .ident(link.table())
            .push(" WHERE ")
            .ident(l);
        sql.push(" = ").bind_int(left_id);
        if Self::ids(&mut tx, sql).await? == wanted {
            return Ok(false);
        }
        self.unlink_all(&mut tx, link, true, left_id).await?;
        if !wanted.is_empty() {
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(link.table())
                .push(" (")
                .ident(l)
                .push(", ")
                .ident(r)
                .push(") VALUES ");
            for (i, id) in wanted.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind_int(left_id)
                    .push(", ")
                    .bind_int(*id)
                    .push(")");
            }
            DB::execute(&mut tx, &sql.text, sql.args).await?;
        }
        let affected = self
            .affected_users(&mut tx, Self::subject(lk, left_id))
            .await?;
        self.rotate_keys(&mut tx, &affected).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    /// Add one link (e.g. a user to a group); rotates the affected users' keys if it was new.
    pub async fn add_link(&self, link: Link, left_id: i64, right_id: i64) -> Result<bool> {
        let (lk, rk) = link.kinds();
        let (l, r) = link.columns();
        let mut tx = self.begin_write().await?;
        self.require_ids(&mut tx, lk, &[left_id]).await?;
        self.require_ids(&mut tx, rk, &[right_id]).await?;
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(link.table())
            .push(" (")
            .ident(l)
            .push(", ")
            .ident(r)
            .push(") VALUES (");
        sql.bind_int(left_id)
            .push(", ")
            .bind_int(right_id)
            .push(")");
        if DB::insert_new(&mut tx, &sql.text, sql.args, &[l, r]).await? == 0 {
            return Ok(false);
        }
        let affected = self
            .affected_users(&mut tx, Self::subject(lk, left_id))
            .await?;
        self.rotate_keys(&mut tx, &affected).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    /// Remove one link; rotates the affected users' keys if it existed.
    pub async fn remove_link(&self, link: Link, left_id: i64, right_id: i64) -> Result<bool> {
        let (lk, _) = link.kinds();
        let (l, r) = link.columns();
        let mut tx = self.begin_write().await?;
        let affected = self
            .affected_users(&mut tx, Self::subject(lk, left_id))
            .await?;
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(link.table())
            .push(" WHERE ")
            .ident(l)
            .push(" = ")
            .bind_int(left_id);
        sql.push(" AND ").ident(r).push(" = ").bind_int(right_id);
        if DB::execute(&mut tx, &sql.text, sql.args).await? == 0 {
            return Ok(false);
        }
        self.rotate_keys(&mut tx, &affected).await?;
        self.commit(tx).await?;
        Ok(true)
    }

    // ----- effective permissions ------------------------------------------------------------

    async fn tokens(&self, subquery: Option<Sql<DB>>) -> Result<BTreeSet<String>> {
        let schema = schema_of::<P<E>>();
        let token = schema.require(Role::Token)?.name;
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident(token).push(" FROM ").ident(schema.table);
        if let Some(sub) = subquery {
            sql.push(" WHERE ").ident(schema.id_column()).push(" IN (");
            // The outer query binds nothing, so the subquery's numbered
            // placeholders ($1..) stay in order.
            sql.push(&sub.text);
            sql.args.extend(sub.args);
            sql.push(")");
        }
        Ok(Self::texts(&mut *self.conn().await?, sql)
            .await?
            .into_iter()
            .collect())
    }

    /// Every permission token in the table.
    pub async fn all_permission_tokens(&self) -> Result<BTreeSet<String>> {
        self.tokens(None).await
    }

    /// A user's effective permission tokens: direct, through bundles, through
    /// groups and their bundles. A superuser has every permission.
    pub async fn user_permissions(&self, user: &U<E>) -> Result<BTreeSet<String>> {
        if user.core().is_superuser {
            return self.all_permission_tokens().await;
        }
        self.tokens(Some(Self::permission_ids_sql(Subject::User(user.id()))))
            .await
    }

    /// A group's effective permission tokens: direct and through its bundles.
    pub async fn group_permissions(&self, group_id: i64) -> Result<BTreeSet<String>> {
        self.tokens(Some(Self::permission_ids_sql(Subject::Group(group_id))))
            .await
    }

    /// A bundle's permission tokens.
    pub async fn bundle_permissions(&self, bundle_id: i64) -> Result<BTreeSet<String>> {
        self.tokens(Some(Self::permission_ids_sql(Subject::Bundle(bundle_id))))
            .await
    }

    /// `SELECT permission_id ...` for everything that grants permissions to `subject`.
    fn permission_ids_sql(subject: Subject) -> Sql<DB> {
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
            Subject::User(id) => {
                sql.push("SELECT permission_id FROM ")
                    .ident(up)
                    .push(" WHERE user_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT bp.permission_id FROM ")
                    .ident(bp)
                    .push(" bp JOIN ")
                    .ident(ub);
                sql.push(" ub ON ub.bundle_id = bp.bundle_id WHERE ub.user_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT gp.permission_id FROM ")
                    .ident(gp)
                    .push(" gp JOIN ")
                    .ident(ug);
                sql.push(" ug ON ug.group_id = gp.group_id WHERE ug.user_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT bp.permission_id FROM ")
                    .ident(bp)
                    .push(" bp JOIN ")
                    .ident(gb);
                sql.push(" gb ON gb.bundle_id = bp.bundle_id JOIN ")
                    .ident(ug);
                sql.push(" ug ON ug.group_id = gb.group_id WHERE ug.user_id = ")
                    .bind_int(id);
            }
            Subject::Group(id) => {
                sql.push("SELECT permission_id FROM ")
                    .ident(gp)
                    .push(" WHERE group_id = ")
                    .bind_int(id);
                sql.push(" UNION SELECT bp.permission_id FROM ")
                    .ident(bp)
                    .push(" bp JOIN ")
                    .ident(gb);
                sql.push(" gb ON gb.bundle_id = bp.bundle_id WHERE gb.group_id = ")
                    .bind_int(id);
            }
            Subject::Bundle(id) | Subject::Permission(id) => {
                sql.push("SELECT permission_id FROM ")
                    .ident(bp)
                    .push(" WHERE bundle_id = ")
                    .bind_int(id);
            }
        }
        sql
    }

    // ----- attempts -------------------------------------------------------------------------

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

    // ----- schema ---------------------------------------------------------------------------

    // ----- OAuth identities -------------------------------------------------------------

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
            .ident(crate::ddl::OAUTH_IDENTITIES)
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
            .ident(crate::ddl::OAUTH_IDENTITIES)
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
        sql.ident(crate::ddl::OAUTH_IDENTITIES)
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
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("user_id")
            .push(" FROM ")
            .ident(crate::ddl::OAUTH_IDENTITIES)
            .push(" WHERE 1 = 0");
        let mut conn = self.conn().await?;
        DB::execute(&mut conn, &sql.text, sql.args)
            .await
            .map_err(|e| {
                if crate::error::is_unavailable(&e) {
                    return Error::Database(e);
                }
                Error::Config(format!(
                    "oauth_profiles are configured, but the table `{}` cannot be read ({e}): \
                 create it (kegauth's DDL: `auth schema`, or \
                 AuthManager::builder().create_schema(true))",
                    crate::ddl::OAUTH_IDENTITIES
                ))
            })?;
        Ok(())
    }

    /// The DDL for this backend and entity set (see [`crate::ddl`]).
    pub fn schema_sql(&self) -> Vec<String> {
        crate::ddl::statements::<DB, E>()
    }

    /// Create the tables, types and indexes that do not exist yet.
    pub async fn create_schema(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        for stmt in self.schema_sql() {
            DB::execute(&mut conn, &stmt, Vec::new()).await?;
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::Invalid("the name must not be empty".into()));
    }
    if name.chars().count() > 1024 {
        return Err(Error::Invalid(
            "the name is longer than 1024 characters".into(),
        ));
    }
    Ok(())
}
