//! Users: lookups (by id, login id, session key), saves that keep the
//! session key in step with the user's rights, passwords and the enabled flag.

use super::*;

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// The user with this id.
    pub async fn user(&self, id: i64) -> Result<Option<U<E>>> {
        self.by_id(&mut *self.conn().await?, id).await
    }

    /// The user with this login id (email or username), compared case-insensitively.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<U<E>>> {
        self.by_text(&mut *self.conn().await?, Role::Login, login.trim(), true)
            .await
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

    /// The user holding this session key if the session cache has them,
    /// and has found session row `row` alive under it.
    pub(crate) fn cached_session_user(&self, key: &str, row: &str) -> Option<Arc<U<E>>> {
        self.sessions.user_with_row(key, row)
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
        self.by_text(&mut *self.conn().await?, role, key, false)
            .await
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
        let taken: Option<U<E>> = self.by_text(conn, Role::Login, login, true).await?;
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
        let Some(old) = self.by_id::<U<E>>(&mut tx, user.id()).await? else {
            return Ok(false);
        };
        if expected_key.is_some_and(|k| k != old.core().session_key) {
            return Ok(false);
        }
        if !old.login_id().eq_ignore_ascii_case(user.login_id()) {
            self.check_login_free(&mut tx, user).await?;
        }
        let rotated =
            rights_changed(&old, user) && old.core().session_key == user.core().session_key;
        if rotated {
            user.core_mut().rotate_session_key();
        }
        if !self.update_row_if(&mut tx, user, expected_key).await? {
            return Ok(false);
        }
        // Only this user's row changed: forget its sessions, not everyone's
        // (a login writes last_login_utc; a login storm must not empty the cache).
        self.announce(&mut tx, Notice::Users(&[user.id()])).await?;
        tx.commit().await?;
        self.sessions
            .evict(&[&old.core().session_key, &user.core().session_key]);
        // A new password is an event of its own (and a rehash at login none).
        let (o, n) = (old.core(), user.core());
        let rights: Vec<&str> = [
            ("is_enabled", o.is_enabled != n.is_enabled),
            ("is_superuser", o.is_superuser != n.is_superuser),
            ("disabled_utc", o.disabled_utc != n.disabled_utc),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect();
        if rotated && !rights.is_empty() {
            use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
            self.audit(
                AuditEvent::new(kinds::SESSIONS_ROTATED, Outcome::Success)
                    .subject(Subject::User(user.id()))
                    .detail(serde_json::json!({
                        "change": "user",
                        "fields": rights,
                        "users": [user.id()],
                        "count": 1,
                    })),
            );
        }
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
        if self.provider_domains().is_some() {
            let mut sql = Sql::<DB>::new("DELETE FROM ");
            sql.ident(crate::core::ddl::OAUTH_IDENTITIES)
                .push(" WHERE ")
                .ident("user_id")
                .push(" = ")
                .bind_int(id);
            DB::execute(&mut tx, &sql.text, sql.args).await?;
        }
        if Self::delete_row(&mut tx, schema_of::<U<E>>(), id).await? == 0 {
            return Err(Error::NotFound(format!("user {id}")));
        }
        self.commit(tx, Notice::Users(&[id])).await?;
        Ok(())
    }

    /// Hash `password` (off the executor) and save it; rotates the session key.
    pub async fn set_password(&self, user: &mut U<E>, password: &str) -> Result<()> {
        let hash = self.hasher.hash(password).await?;
        user.core_mut().password = Some(hash);
        self.update_user(user).await?;
        self.audit(
            crate::core::audit::AuditEvent::new(
                crate::core::audit::kinds::PASSWORD_SET,
                crate::core::audit::Outcome::Success,
            )
            .subject(crate::core::audit::Subject::User(user.id())),
        );
        Ok(())
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
}
