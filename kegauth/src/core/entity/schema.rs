//! Table descriptions built by `#[derive(AuthEntity)]`, and the reader that
//! turns a row of [`Value`]s back into an entity.

use super::value::{FieldValue, Kind, Value};
use super::{EntityKind, LoginKind};
use crate::core::error::Error;

/// The meaning of a core column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreField {
    /// `users.is_enabled`
    IsEnabled,
    /// `users.is_superuser`
    IsSuperuser,
    /// `users.is_verified` (email-login users only)
    IsVerified,
    /// `users.password`: the password hash (PHC string), `NULL` if none is set
    Password,
    /// `users.session_key`: rotated to log out every session and token of the user
    SessionKey,
    /// `users.last_login_utc`
    LastLoginUtc,
    /// `users.disabled_utc`: the user is inactive from this moment on
    DisabledUtc,
    /// `attempts.user_input`
    UserInput,
    /// `attempts.datetime_utc`
    DatetimeUtc,
    /// `attempts.attempt_type`
    AttemptType,
    /// `attempts.is_during_lockout`
    IsDuringLockout,
    /// `attempts.success`
    Success,
    /// `attempts.source_ip`
    SourceIp,
}

/// What a column means to kegauth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The integer primary key.
    Id,
    /// The user's login id (`email` or `username`).
    Login,
    /// A group's or bundle's name.
    Name,
    /// A permission's token.
    Token,
    /// A permission's description.
    Description,
    /// A user's hashed API token.
    ApiToken,
    /// `created_utc`: written once, by the store.
    Created,
    /// `updated_utc`: written by the store on every update.
    Updated,
    /// One of the library's core columns (from `UserCore` or `AttemptCore`).
    Core(CoreField),
    /// An app column.
    Extra,
}

/// Options of an app column, from the field's `#[auth(...)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldOpts {
    /// `#[auth(cli_arg)]`: the CLI's create-user may set it.
    pub cli_arg: bool,
    /// `#[auth(unique)]`: a unique constraint in the DDL.
    pub unique: bool,
    /// `#[auth(max_len = N)]`: `VARCHAR(N)` in the DDL, and the input cap.
    pub max_len: Option<u32>,
    /// `#[auth(read_only)]`: read, never written by kegauth.
    pub read_only: bool,
}

/// One column of an entity's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The Rust field (for core columns, the core struct's field).
    pub field: &'static str,
    /// The column name.
    pub name: &'static str,
    /// The column type.
    pub kind: Kind,
    /// Whether `NULL` is allowed.
    pub nullable: bool,
    /// What the column means.
    pub role: Role,
    /// Field options.
    pub opts: FieldOpts,
    /// A PostgreSQL type the value is cast to on write and from on read (keg-auth's enum types).
    pub pg_type: Option<&'static str>,
}

impl Column {
    /// Whether kegauth writes this column on insert/update.
    pub fn writable(&self) -> bool {
        !self.opts.read_only && !matches!(self.role, Role::Id | Role::Created | Role::Updated)
    }
}

/// An entity's table: its name and columns in field order.
#[derive(Clone, Debug)]
pub struct EntitySchema {
    /// Which kind of entity.
    pub kind: EntityKind,
    /// For users: email or username login.
    pub login: LoginKind,
    /// The table name.
    pub table: &'static str,
    /// Columns, in the order of [`AuthEntity::to_values`](super::AuthEntity::to_values).
    pub columns: Vec<Column>,
    /// Whether the table has keg-auth's `created_utc`/`updated_utc` columns.
    pub timestamps: bool,
}

impl EntitySchema {
    /// The column with a role, if the entity has one.
    pub fn column(&self, role: Role) -> Option<&Column> {
        self.columns.iter().find(|c| c.role == role)
    }

    /// The column with a role, or an error naming what is missing.
    pub fn require(&self, role: Role) -> Result<&Column, Error> {
        self.column(role).ok_or_else(|| {
            Error::Config(format!(
                "the {:?} entity on table `{}` has no {:?} column",
                self.kind, self.table, role
            ))
        })
    }

    /// The primary key column name.
    pub fn id_column(&self) -> &'static str {
        self.column(Role::Id).map_or("id", |c| c.name)
    }

    /// Columns the derive did not map but keg-auth's schema has (timestamps).
    pub fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }

    /// The column a timestamp role ([`Role::Created`] or [`Role::Updated`])
    /// is kept in: the mapped field's, else keg-auth's `created_utc` or
    /// `updated_utc` when the entity keeps [`timestamps`](Self::timestamps)
    /// and no other field took that name. The store stamps it with the time
    /// (both on insert, the updated one on every update).
    ///
    /// ```
    /// use kegauth::entity::{AuthEntity, Role};
    ///
    /// #[derive(kegauth::AuthEntity)]
    /// #[auth(group, table = "teams", timestamps = false)]
    /// struct Team { id: i64, name: String, updated_utc: Option<chrono::NaiveDateTime> }
    ///
    /// let schema = Team::schema();
    /// assert_eq!(schema.timestamp_column(Role::Created), None);
    /// assert_eq!(schema.timestamp_column(Role::Updated), Some("updated_utc"));
    /// assert_eq!(kegauth::entity::Group::schema().timestamp_column(Role::Created), Some("created_utc"));
    /// ```
    pub fn timestamp_column(&self, role: Role) -> Option<&'static str> {
        let default = match role {
            Role::Created => "created_utc",
            Role::Updated => "updated_utc",
            _ => return None,
        };
        match self.column(role) {
            Some(c) => Some(c.name),
            None => (self.timestamps && !self.has_column(default)).then_some(default),
        }
    }

    /// The columns of [`timestamp_column`](Self::timestamp_column), created first.
    pub fn timestamp_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        [Role::Created, Role::Updated]
            .into_iter()
            .filter_map(|role| self.timestamp_column(role))
    }

    /// App columns (role [`Role::Extra`]).
    pub fn extra_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == Role::Extra)
    }
}

/// A column of an embedded core struct, before renames.
#[derive(Clone, Copy, Debug)]
pub struct CoreColumn {
    /// The core struct's field, also the default column name.
    pub field: &'static str,
    /// Its meaning.
    pub role: CoreField,
    /// Column type.
    pub kind: Kind,
    /// `NULL` allowed.
    pub nullable: bool,
    /// `VARCHAR(N)`.
    pub max_len: Option<u32>,
    /// Unique constraint.
    pub unique: bool,
    /// PostgreSQL enum type, if any.
    pub pg_type: Option<&'static str>,
}

/// Options the derive passes to an embedded core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreFlags {
    /// The user core has the `is_verified` column (email login).
    pub verified: bool,
}

/// A library struct embedded in an app entity with `#[auth(core)]`, standing for several columns.
pub trait EmbeddedCore: Sized {
    /// The columns, in the order of `push_values`/`read`.
    fn columns(flags: CoreFlags) -> Vec<CoreColumn>;
    /// Append this core's values.
    fn push_values(&self, out: &mut Vec<Value>, flags: CoreFlags);
    /// Read this core's values.
    fn read(reader: &mut ValueReader<'_>, flags: CoreFlags) -> Result<Self, Error>;
}

/// Used by the derive to describe an entity's table.
pub struct SchemaBuilder {
    schema: EntitySchema,
}

impl SchemaBuilder {
    /// Start a table description.
    pub fn new(kind: EntityKind, table: &'static str, login: LoginKind, timestamps: bool) -> Self {
        SchemaBuilder {
            schema: EntitySchema {
                kind,
                login,
                table,
                columns: Vec::new(),
                timestamps,
            },
        }
    }

    /// Add a column for a field of type `T`.
    pub fn field<T: FieldValue>(
        &mut self,
        field: &'static str,
        name: &'static str,
        role: Role,
        mut opts: FieldOpts,
    ) {
        let login = self.schema.login;
        if opts.max_len.is_none() {
            opts.max_len = default_max_len(self.schema.kind, login, role);
        }
        if matches!(role, Role::Login | Role::Name | Role::Token) {
            opts.unique = true;
        }
        self.schema.columns.push(Column {
            field,
            name,
            kind: T::KIND,
            nullable: T::NULLABLE,
            role,
            opts,
            pg_type: None,
        });
    }

    /// Add the columns of an embedded core struct, applying `(field, column)` renames.
    pub fn core<C: EmbeddedCore>(
        &mut self,
        _field: &'static str,
        renames: &'static [(&'static str, &'static str)],
        flags: CoreFlags,
    ) {
        for c in C::columns(flags) {
            let name = renames
                .iter()
                .find(|(f, _)| *f == c.field)
                .map_or(c.field, |(_, col)| *col);
            self.schema.columns.push(Column {
                field: c.field,
                name,
                kind: c.kind,
                nullable: c.nullable,
                role: Role::Core(c.role),
                opts: FieldOpts {
                    cli_arg: false,
                    unique: c.unique,
                    max_len: c.max_len,
                    read_only: false,
                },
                pg_type: c.pg_type,
            });
        }
    }

    /// Finish.
    pub fn build(self) -> EntitySchema {
        self.schema
    }
}

fn default_max_len(kind: EntityKind, login: LoginKind, role: Role) -> Option<u32> {
    match (kind, role) {
        (EntityKind::User, Role::Login) => Some(match login {
            LoginKind::Email => 255,
            LoginKind::Username => 512,
        }),
        (_, Role::Name | Role::Token) => Some(1024),
        _ => None,
    }
}

/// Hands out a row's values, in column order, to the fields being built.
pub struct ValueReader<'a> {
    schema: &'a EntitySchema,
    values: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'a> ValueReader<'a> {
    /// A reader over one row of `schema`'s columns.
    pub fn new(schema: &'a EntitySchema, values: Vec<Value>) -> Self {
        ValueReader {
            schema,
            values: values.into_iter(),
            index: 0,
        }
    }

    /// The next column, converted to the field's type.
    pub fn field<T: FieldValue>(&mut self) -> Result<T, Error> {
        let column = self.schema.columns.get(self.index).map_or("?", |c| c.name);
        let table = self.schema.table;
        self.index += 1;
        let value = self.values.next().ok_or_else(|| Error::Decode {
            table,
            column,
            message: "the row has fewer values than the entity has columns".into(),
        })?;
        T::from_value(value).map_err(|e| Error::Decode {
            table,
            column,
            message: e.0,
        })
    }
}
