//! Entities: the app's own structs on the app's own tables.
//!
//! `#[derive(AuthEntity)]` glues a struct to one of five kinds. Table and
//! column names default to keg-auth's, so kegauth reads and writes a database
//! that keg-auth (Python) created.
//!
//! ```
//! use kegauth::entity::{AuthEntity, UserCore, UserEntity};
//!
//! #[derive(Debug, kegauth::AuthEntity)]
//! #[auth(user, table = "users", login = "email")]
//! struct User {
//!     id: i64,
//!     email: String,
//!     #[auth(cli_arg)]
//!     name: Option<String>,
//!     #[auth(core)]
//!     core: UserCore,
//! }
//!
//! let schema = User::schema();
//! assert_eq!(schema.table, "users");
//! assert!(schema.has_column("session_key"));
//! assert!(schema.has_column("is_verified")); // email login adds it
//! ```
//!
//! # Struct attribute
//! `#[auth(KIND, table = "...", login = "email" | "username", timestamps = true)]` where
//! KIND is `user`, `group`, `bundle`, `permission` or `attempt`. `timestamps` (default true)
//! says the table has keg-auth's `created_utc`/`updated_utc` columns, which the store writes.
//! A field named `created_utc` or `updated_utc` (a date-time, optional or not) is such a column,
//! written the same way with or without `timestamps`: both on insert, the updated one on every
//! update; see [`EntitySchema::timestamp_column`].
//!
//! # Field attributes
//! - roles: `id` (default: the field named `id`), `login` (default: the field named
//!   `email`/`username`), `name` (groups, bundles), `token` and `description` (permissions),
//!   `api_token` (users: a hashed API token, `Option<Vec<u8>>`), `core` (users: [`UserCore`],
//!   attempts: [`AttemptCore`]; rename its columns with `core(password = "pw_hash")`);
//! - `column = "name"`: the column name (default: the field name);
//! - `cli_arg`: the CLI's `create-user` may set it; `unique`; `max_len = N`;
//!   `read_only`: read but never written; `skip`: not a column (filled with `Default`).

mod core;
mod defaults;
mod schema;
mod value;

pub use self::core::{AttemptCore, AttemptType, UserCore};
pub use defaults::{Attempt, Bundle, Group, Permission};
pub use schema::{
    Column, CoreColumn, CoreField, CoreFlags, EmbeddedCore, EntitySchema, FieldOpts, Role,
    SchemaBuilder, ValueReader,
};
pub use value::{FieldValue, Kind, OptStr, Value, ValueError};

use crate::core::error::Error;
use chrono::NaiveDateTime;

/// The five kinds of entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// Users: log in, hold permissions, groups and bundles.
    User,
    /// Groups: hold users, permissions and bundles.
    Group,
    /// Bundles: named sets of permissions.
    Bundle,
    /// Permissions: tokens declared in code.
    Permission,
    /// Login/forgot/reset attempts, for limiting.
    Attempt,
}

/// How users log in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginKind {
    /// By email address; adds `is_verified` and the email flows.
    Email,
    /// By username.
    Username,
}

/// A struct glued to a table by `#[derive(AuthEntity)]`.
///
/// ```
/// use kegauth::entity::{AuthEntity, Group, GroupEntity};
/// let g = Group { id: 0, name: "admins".into() };
/// assert_eq!(Group::schema().table, "groups");
/// assert_eq!(g.name(), "admins");
/// ```
pub trait AuthEntity: Sized + Send + Sync + Unpin + 'static {
    /// The entity kind.
    const KIND: EntityKind;
    /// The table description.
    fn schema() -> &'static EntitySchema;
    /// The values of every column, in schema order.
    fn to_values(&self) -> Vec<Value>;
    /// Build from the values of every column, in schema order.
    fn from_values(reader: &mut ValueReader<'_>) -> Result<Self, Error>;
    /// The primary key (0 before the first insert).
    fn id(&self) -> i64;
    /// Set the primary key (done by the store on insert).
    fn set_id(&mut self, id: i64);
    /// Set a column field (not the id or a core column) from text a person
    /// typed, by Rust field name: how the CLI and the admin forms fill the
    /// app's own columns. `Ok(false)` when no such settable field exists.
    ///
    /// ```
    /// # use kegauth::entity::{AuthEntity, UserCore};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, age: Option<i64>, #[auth(core)] core: UserCore }
    /// let mut u = User { id: 0, email: String::new(), age: None, core: UserCore::new() };
    /// assert_eq!(u.set_from_input("age", "42"), Ok(true));
    /// assert_eq!(u.age, Some(42));
    /// assert!(u.set_from_input("age", "forty").is_err());
    /// assert_eq!(u.set_from_input("email", "ann@example.com"), Ok(true));
    /// assert_eq!(u.set_from_input("session_key", "x"), Ok(false)); // core: not settable
    /// ```
    fn set_from_input(&mut self, field: &str, input: &str) -> Result<bool, ValueError>;
}

/// A user entity.
///
/// ```
/// # use kegauth::entity::{UserCore, UserEntity};
/// #[derive(kegauth::AuthEntity)]
/// #[auth(user, table = "users_no_email", login = "username")]
/// struct User { id: i64, username: String, #[auth(core)] core: UserCore }
///
/// let user = User { id: 0, username: "ann".into(), core: UserCore::new() };
/// assert_eq!(user.login_id(), "ann");
/// // username-login users need no verification
/// assert!(user.is_active_at(chrono::Utc::now().naive_utc()));
/// ```
pub trait UserEntity: AuthEntity {
    /// Email or username login.
    const LOGIN: LoginKind;
    /// The login id (email or username).
    fn login_id(&self) -> &str;
    /// Change the login id.
    fn set_login_id(&mut self, value: String);
    /// The core auth columns.
    fn core(&self) -> &UserCore;
    /// The core auth columns, mutably.
    fn core_mut(&mut self) -> &mut UserCore;
    /// The hashed API token, for entities with an `#[auth(api_token)]` field.
    fn api_token_hash(&self) -> Option<&[u8]> {
        None
    }
    /// Store a hashed API token; false when the entity has no such field.
    fn set_api_token_hash(&mut self, _hash: Option<Vec<u8>>) -> bool {
        false
    }
    /// keg-auth's `is_active` at `now` (email users must be verified).
    fn is_active_at(&self, now: NaiveDateTime) -> bool {
        self.core()
            .is_active_at(now, Self::LOGIN == LoginKind::Email)
    }
}

/// A group entity.
pub trait GroupEntity: AuthEntity {
    /// The unique name.
    fn name(&self) -> &str;
    /// Rename.
    fn set_name(&mut self, value: String);
}

/// A bundle entity.
pub trait BundleEntity: AuthEntity {
    /// The unique name.
    fn name(&self) -> &str;
    /// Rename.
    fn set_name(&mut self, value: String);
}

/// A permission entity.
pub trait PermissionEntity: AuthEntity {
    /// The unique token, as declared in code.
    fn token(&self) -> &str;
    /// The description, if the entity has one.
    fn description(&self) -> Option<&str> {
        None
    }
}

/// An attempt entity.
pub trait AttemptEntity: AuthEntity {
    /// The core attempt columns.
    fn core(&self) -> &AttemptCore;
    /// The core attempt columns, mutably.
    fn core_mut(&mut self) -> &mut AttemptCore;
}

/// The set of entity types an app uses: its user type plus group, bundle,
/// permission and attempt types (kegauth's keg-auth-compatible defaults unless given).
///
/// Any [`UserEntity`] is an `EntitySet` with the default other entities, so
/// `Store<Sqlite, User>` works; `Entities<User, MyGroup>` swaps one.
pub trait EntitySet: Send + Sync + 'static {
    /// Users.
    type User: UserEntity;
    /// Groups.
    type Group: GroupEntity;
    /// Bundles.
    type Bundle: BundleEntity;
    /// Permissions.
    type Permission: PermissionEntity;
    /// Attempts.
    type Attempt: AttemptEntity;
}

impl<U: UserEntity> EntitySet for U {
    type User = U;
    type Group = Group;
    type Bundle = Bundle;
    type Permission = Permission;
    type Attempt = Attempt;
}

/// An explicit [`EntitySet`], for apps with their own group, bundle, permission or attempt types.
///
/// ```
/// # use kegauth::entity::*;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)] struct User { id: i64, email: String, #[auth(core)] core: UserCore }
/// #[derive(kegauth::AuthEntity)]
/// #[auth(group, table = "teams")]
/// struct Team { id: i64, name: String, colour: Option<String> }
///
/// type MyEntities = Entities<User, Team>;
/// assert_eq!(<<MyEntities as EntitySet>::Group as AuthEntity>::schema().table, "teams");
/// ```
#[allow(clippy::type_complexity)]
pub struct Entities<U, G = Group, B = Bundle, P = Permission, A = Attempt>(
    std::marker::PhantomData<fn() -> (U, G, B, P, A)>,
);

impl<U, G, B, P, A> EntitySet for Entities<U, G, B, P, A>
where
    U: UserEntity,
    G: GroupEntity,
    B: BundleEntity,
    P: PermissionEntity,
    A: AttemptEntity,
{
    type User = U;
    type Group = G;
    type Bundle = B;
    type Permission = P;
    type Attempt = A;
}

/// Build an entity from one row's values.
pub(crate) fn from_row<E: AuthEntity>(values: Vec<Value>) -> Result<E, Error> {
    E::from_values(&mut ValueReader::new(E::schema(), values))
}

/// A new, unsaved user: every column empty (`NULL` where allowed, else zero,
/// `""` or `false`) and a fresh [`UserCore`]. The CLI and the admin forms
/// start from it and fill fields with [`AuthEntity::set_from_input`].
///
/// ```
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, name: Option<String>, #[auth(core)] core: kegauth::UserCore }
/// let u: User = kegauth::entity::blank_user().unwrap();
/// assert_eq!((u.id, u.email.as_str(), u.name.as_deref()), (0, "", None));
/// assert!(u.core.is_enabled && !u.core.session_key.is_empty());
/// ```
pub fn blank_user<U: UserEntity>() -> Result<U, Error> {
    let mut user: U = blank()?;
    *user.core_mut() = UserCore::new();
    Ok(user)
}

/// A new, unsaved entity with every column empty (see [`blank_user`]).
pub(crate) fn blank<T: AuthEntity>() -> Result<T, Error> {
    let schema = T::schema();
    let values = schema
        .columns
        .iter()
        .map(|c| match c.kind {
            _ if c.nullable => Value::Null,
            Kind::Int => Value::Int(0),
            Kind::Float => Value::Float(0.0),
            Kind::Bool => Value::Bool(false),
            Kind::Text | Kind::TextAsBytes => Value::Text(String::new()),
            Kind::Bytes => Value::Bytes(Vec::new()),
            Kind::DateTime => Value::DateTime(NaiveDateTime::default()),
            Kind::Date => Value::Date(chrono::NaiveDate::default()),
        })
        .collect();
    T::from_values(&mut ValueReader::new(schema, values))
}
