//! Users, groups and bundles for tests, their permissions checked against
//! the declared set.

use crate::core::backend::Backend;
use crate::core::entity::{blank, blank_user, BundleEntity, GroupEntity, LoginKind, UserEntity};
use crate::core::entity::{AuthEntity, EntitySet};
use crate::core::error::{Error, Result};
use crate::core::links::Link;
use crate::core::store::Store;
use std::collections::BTreeSet;

type U<E> = <E as EntitySet>::User;
type G<E> = <E as EntitySet>::Group;
type B<E> = <E as EntitySet>::Bundle;

/// Makes users, groups and bundles in a test's database.
///
/// Permission tokens are checked before anything is written: a token that is
/// not declared (or, for a factory made from a bare store, not in the
/// permissions table) is [`Error::Invalid`] naming it.
///
/// ```
/// # #[derive(Debug, kegauth::AuthEntity)] #[auth(user, login = "username")]
/// # struct User { id: i64, username: String, #[auth(core)] core: kegauth::UserCore }
/// # rocket::execute(async {
/// # let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
/// # let store: kegauth::Store<sqlx::Sqlite, User> = kegauth::Store::new(pool);
/// # store.create_schema().await?;
/// # store.sync_permissions(&[kegauth::PermissionDef::new("reports", None)]).await?;
/// use kegauth::testing::Factory;
/// let make = Factory::new(store.clone());
/// let group = make.group("Analysts").permissions(&["reports"]).create().await?;
/// let ann = make.user("ann").password("a long password").groups(&[group.id]).create().await?;
/// assert!(store.user_permissions(&ann).await?.contains("reports"));
/// let err = make.user("bob").permissions(&["no-such"]).create().await.unwrap_err();
/// assert!(err.to_string().contains("`no-such`"));
/// # Ok::<(), kegauth::Error>(())
/// # }).unwrap();
/// ```
pub struct Factory<DB: Backend, E: EntitySet> {
    store: Store<DB, E>,
    declared: Option<BTreeSet<String>>,
}

impl<DB: Backend, E: EntitySet> Factory<DB, E> {
    /// A factory on `store`, checking tokens against its permissions table.
    pub fn new(store: Store<DB, E>) -> Self {
        Factory {
            store,
            declared: None,
        }
    }

    /// A factory checking tokens against the app's declared permissions.
    pub(crate) fn declared(store: Store<DB, E>, declared: BTreeSet<String>) -> Self {
        Factory {
            store,
            declared: Some(declared),
        }
    }

    /// The store it writes to.
    pub fn store(&self) -> &Store<DB, E> {
        &self.store
    }

    /// A login id nobody has yet: `stem-<random>`, as an address at
    /// example.com for email-login users.
    pub fn fresh_login(&self, stem: &str) -> String {
        let n: u32 = rand::random();
        match <U<E> as UserEntity>::LOGIN {
            LoginKind::Email => format!("{stem}-{n:08x}@example.com"),
            LoginKind::Username => format!("{stem}-{n:08x}"),
        }
    }

    /// A verified, enabled user with login id `login`; finish with
    /// [`create`](UserSpec::create).
    pub fn user(&self, login: &str) -> UserSpec<'_, DB, E> {
        UserSpec {
            factory: self,
            login: login.to_string(),
            password: None,
            permissions: Vec::new(),
            groups: Vec::new(),
            bundles: Vec::new(),
            superuser: false,
            verified: true,
            enabled: true,
            edit: None,
        }
    }

    /// A group named `name`.
    pub fn group(&self, name: &str) -> SetSpec<'_, DB, E, GroupKind> {
        SetSpec::new(self, name, Link::GroupPermissions, Some(Link::GroupBundles))
    }

    /// A bundle named `name`.
    pub fn bundle(&self, name: &str) -> SetSpec<'_, DB, E, BundleKind> {
        SetSpec::new(self, name, Link::BundlePermissions, None)
    }

    /// The ids of `tokens`, each one declared.
    async fn permission_ids(&self, tokens: &[String]) -> Result<Vec<i64>> {
        if let Some(declared) = &self.declared
            && let Some(t) = tokens.iter().find(|t| !declared.contains(*t))
        {
            return Err(Error::Invalid(format!("permission `{t}` is not declared")));
        }
        self.store
            .permission_ids(tokens)
            .await
            .map_err(|e| match e {
                Error::NotFound(what) => Error::Invalid(format!("{what} is not declared")),
                e => e,
            })
    }
}

/// A user to create (see [`Factory::user`]).
#[must_use = "nothing is written until `create`"]
pub struct UserSpec<'f, DB: Backend, E: EntitySet> {
    factory: &'f Factory<DB, E>,
    login: String,
    password: Option<String>,
    permissions: Vec<String>,
    groups: Vec<i64>,
    bundles: Vec<i64>,
    superuser: bool,
    verified: bool,
    enabled: bool,
    #[allow(clippy::type_complexity)]
    edit: Option<Box<dyn FnOnce(&mut U<E>) + Send + 'f>>,
}

impl<'f, DB: Backend, E: EntitySet> UserSpec<'f, DB, E> {
    /// Set a password (hashed as a login would check it).
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_string());
        self
    }

    /// Grant these permissions directly.
    pub fn permissions(mut self, tokens: &[&str]) -> Self {
        self.permissions = tokens.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Make the user a member of these groups (by id).
    pub fn groups(mut self, ids: &[i64]) -> Self {
        self.groups = ids.to_vec();
        self
    }

    /// Give the user these bundles (by id).
    pub fn bundles(mut self, ids: &[i64]) -> Self {
        self.bundles = ids.to_vec();
        self
    }

    /// A superuser.
    pub fn superuser(mut self) -> Self {
        self.superuser = true;
        self
    }

    /// Not verified yet (email-login users then cannot log in).
    pub fn unverified(mut self) -> Self {
        self.verified = false;
        self
    }

    /// Disabled.
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }

    /// Set the app's own columns before the row is written.
    pub fn with(mut self, edit: impl FnOnce(&mut U<E>) + Send + 'f) -> Self {
        self.edit = Some(Box::new(edit));
        self
    }

    /// Write the user and their links; the user as stored afterwards (links
    /// rotate the session key, so use this value, not an earlier one).
    pub async fn create(self) -> Result<U<E>> {
        let f = self.factory;
        let permission_ids = f.permission_ids(&self.permissions).await?;
        let mut user: U<E> = blank_user()?;
        user.set_login_id(self.login);
        {
            let core = user.core_mut();
            core.is_superuser = self.superuser;
            core.is_verified = self.verified;
            core.is_enabled = self.enabled;
        }
        if let Some(edit) = self.edit {
            edit(&mut user);
        }
        f.store.insert_user(&mut user).await?;
        if let Some(password) = &self.password {
            f.store.set_password(&mut user, password).await?;
        }
        let id = user.id();
        for (link, ids) in [
            (Link::UserPermissions, &permission_ids),
            (Link::UserGroups, &self.groups),
            (Link::UserBundles, &self.bundles),
        ] {
            if !ids.is_empty() {
                f.store.set_links(link, id, ids).await?;
            }
        }
        f.store
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))
    }
}

/// [`SetSpec`] for a group.
pub enum GroupKind {}
/// [`SetSpec`] for a bundle.
pub enum BundleKind {}

/// A group or bundle to create (see [`Factory::group`], [`Factory::bundle`]).
#[must_use = "nothing is written until `create`"]
pub struct SetSpec<'f, DB: Backend, E: EntitySet, T> {
    factory: &'f Factory<DB, E>,
    name: String,
    permissions: Vec<String>,
    bundles: Vec<i64>,
    permission_link: Link,
    bundle_link: Option<Link>,
    _kind: std::marker::PhantomData<fn() -> T>,
}

impl<'f, DB: Backend, E: EntitySet, T> SetSpec<'f, DB, E, T> {
    fn new(
        factory: &'f Factory<DB, E>,
        name: &str,
        permission_link: Link,
        bundle_link: Option<Link>,
    ) -> Self {
        SetSpec {
            factory,
            name: name.to_string(),
            permissions: Vec::new(),
            bundles: Vec::new(),
            permission_link,
            bundle_link,
            _kind: std::marker::PhantomData,
        }
    }

    /// Grant these permissions.
    pub fn permissions(mut self, tokens: &[&str]) -> Self {
        self.permissions = tokens.iter().map(|t| t.to_string()).collect();
        self
    }

    async fn link(&self, id: i64) -> Result<()> {
        let f = self.factory;
        let permission_ids = f.permission_ids(&self.permissions).await?;
        if !permission_ids.is_empty() {
            f.store
                .set_links(self.permission_link, id, &permission_ids)
                .await?;
        }
        if let (Some(link), false) = (self.bundle_link, self.bundles.is_empty()) {
            f.store.set_links(link, id, &self.bundles).await?;
        }
        Ok(())
    }
}

impl<DB: Backend, E: EntitySet> SetSpec<'_, DB, E, GroupKind> {
    /// Give the group these bundles (by id).
    pub fn bundles(mut self, ids: &[i64]) -> Self {
        self.bundles = ids.to_vec();
        self
    }

    /// Write the group and its links.
    pub async fn create(self) -> Result<G<E>> {
        // Check the tokens before writing anything.
        self.factory.permission_ids(&self.permissions).await?;
        let mut group: G<E> = blank()?;
        group.set_name(self.name.clone());
        self.factory.store.insert_group(&mut group).await?;
        self.link(group.id()).await?;
        Ok(group)
    }
}

impl<DB: Backend, E: EntitySet> SetSpec<'_, DB, E, BundleKind> {
    /// Write the bundle and its links.
    pub async fn create(self) -> Result<B<E>> {
        self.factory.permission_ids(&self.permissions).await?;
        let mut bundle: B<E> = blank()?;
        BundleEntity::set_name(&mut bundle, self.name.clone());
        self.factory.store.insert_bundle(&mut bundle).await?;
        self.link(bundle.id()).await?;
        Ok(bundle)
    }
}
