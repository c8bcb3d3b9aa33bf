//! The three typed database backends kegauth runs on, and their differences.
//!
//! kegauth never uses `sqlx::Any` (in sqlx 0.7 it cannot decode booleans or
//! timestamps and does not rewrite placeholders). Instead [`Backend`] is
//! implemented for [`sqlx::Sqlite`], [`sqlx::Postgres`] and [`sqlx::MySql`]:
//! SQL is built once with the backend's placeholders and quoting, values are
//! bound and decoded per backend from the closed [`Value`] set.

use crate::core::entity::{Kind, Value};
use chrono::{NaiveDate, NaiveDateTime};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::Column as _;
use sqlx::{Row as _, TypeInfo as _};
use std::future::Future;

/// A bound query argument: a value and the column type it is for (PostgreSQL
/// needs the type even for `NULL`).
#[derive(Clone, Debug)]
pub struct Arg {
    /// The value.
    pub value: Value,
    /// The column type.
    pub kind: Kind,
}

/// The three SQL dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

impl Dialect {
    /// `"sqlite"`, `"postgres"` or `"mysql"`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }
}

/// What a result column is decoded as.
#[derive(Clone, Copy, Debug)]
pub struct OutCol {
    /// The type.
    pub kind: Kind,
}

/// A database kegauth can run on: SQLite, PostgreSQL or MySQL/MariaDB.
///
/// Implemented for the three sqlx database types; apps do not implement it.
pub trait Backend: sqlx::Database + Sized {
    /// Which SQL dialect.
    const DIALECT: Dialect;

    /// Append the placeholder for the `n`th (1-based) argument.
    fn placeholder(n: usize, out: &mut String);

    /// Append a quoted identifier.
    fn quote(ident: &str, out: &mut String);

    /// Run a query and decode every row.
    fn fetch<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a str,
        args: Vec<Arg>,
        out: &'a [OutCol],
    ) -> impl Future<Output = Result<Vec<Vec<Value>>, sqlx::Error>> + Send + 'a;

    /// Run a statement; the number of rows it affected.
    fn execute<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a str,
        args: Vec<Arg>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;

    /// Run an `INSERT` (without `RETURNING`) and return the new row's id.
    fn insert<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a str,
        args: Vec<Arg>,
        id_column: &'a str,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send + 'a;

    /// Run an `INSERT` of one row that may repeat a unique key on `columns`:
    /// 1 when inserted, 0 when the key already existed. Safe under concurrency
    /// (the unique index decides); other errors are errors.
    fn insert_new<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a str,
        args: Vec<Arg>,
        columns: &'a [&'a str],
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
        async move {
            let mut sql = sql.to_string();
            sql.push_str(" ON CONFLICT (");
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                Self::quote(c, &mut sql);
            }
            sql.push_str(") DO NOTHING");
            Self::execute(conn, &sql, args).await
        }
    }

    /// The DDL of an auto-increment integer primary key column.
    fn id_column_type() -> &'static str;

    /// The DDL of keg-auth's `created_utc`/`updated_utc` columns.
    fn timestamp_column_type() -> &'static str;

    /// Whether `CREATE INDEX IF NOT EXISTS` works; otherwise indexes go inside `CREATE TABLE`.
    const SEPARATE_INDEXES: bool = true;

    /// A statement run first in every write transaction. SQLite needs one so
    /// that the transaction takes the write lock before it reads: a deferred
    /// transaction that reads and then writes fails with SQLITE_BUSY when
    /// another writer got in between, instead of waiting.
    fn write_lock_statement(table: &str) -> Option<String>;

    /// The SQL type for a column (without NULL/NOT NULL).
    fn column_type(kind: Kind, max_len: Option<u32>, unique: bool, pg_type: Option<&str>)
        -> String;

    /// The clause after a table's column list (e.g. MySQL's engine and charset).
    fn table_options() -> &'static str {
        ""
    }
}

#[cfg(feature = "sqlite")]
fn fmt_datetime(d: NaiveDateTime) -> String {
    // SQLAlchemy's format on SQLite, so text comparisons order correctly.
    d.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// SQL statements kegauth has sent in this process (every backend), for
/// benchmarks and tests that count queries per request.
static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many SQL statements kegauth has sent in this process so far.
///
/// ```
/// let before = kegauth::backend::statements_sent();
/// // ... a request ...
/// assert!(kegauth::backend::statements_sent() >= before);
/// ```
pub fn statements_sent() -> u64 {
    STATEMENTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Bind every argument; `$datetime` converts a timestamp to what the backend binds.
/// Every statement goes through here, so it is also where they are counted.
macro_rules! bind_args {
    ($query:expr, $args:expr, $datetime:expr) => {{
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut q = $query;
        for a in $args {
            q = match (a.value, a.kind) {
                (Value::Null, Kind::Int) => q.bind(None::<i64>),
                (Value::Null, Kind::Float) => q.bind(None::<f64>),
                (Value::Null, Kind::Bool) => q.bind(None::<bool>),
                (Value::Null, Kind::Text) => q.bind(None::<String>),
                (Value::Null, Kind::TextAsBytes | Kind::Bytes) => q.bind(None::<Vec<u8>>),
                (Value::Null, Kind::DateTime) => q.bind(None::<NaiveDateTime>),
                (Value::Null, Kind::Date) => q.bind(None::<NaiveDate>),
                (Value::Int(i), _) => q.bind(i),
                (Value::Float(f), _) => q.bind(f),
                (Value::Bool(b), _) => q.bind(b),
                (Value::Text(s), Kind::TextAsBytes | Kind::Bytes) => q.bind(s.into_bytes()),
                (Value::Text(s), _) => q.bind(s),
                (Value::Bytes(b), _) => q.bind(b),
                (Value::Date(d), _) => q.bind(d),
                (Value::DateTime(d), _) => q.bind($datetime(d)),
            };
        }
        q
    }};
}

/// Decode with `get` as `Option<T>`; `NULL` becomes [`Value::Null`].
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! opt {
    ($row:expr, $i:expr, $t:ty, $wrap:expr) => {
        $row.try_get::<Option<$t>, _>($i)
            .map(|v| v.map_or(Value::Null, $wrap))
    };
}

macro_rules! impl_common {
    ($db:ty, $conn:ty) => {
        async fn fetch(
            conn: &mut $conn,
            sql: &str,
            args: Vec<Arg>,
            out: &[OutCol],
        ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
            let rows = bind(sqlx::query(sql), args).fetch_all(&mut *conn).await?;
            rows.iter()
                .map(|row| {
                    out.iter()
                        .enumerate()
                        .map(|(i, col)| decode(row, i, col.kind))
                        .collect()
                })
                .collect()
        }

        async fn execute(conn: &mut $conn, sql: &str, args: Vec<Arg>) -> Result<u64, sqlx::Error> {
            Ok(bind(sqlx::query(sql), args)
                .execute(&mut *conn)
                .await?
                .rows_affected())
        }
    };
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use sqlx::sqlite::{SqliteArguments, SqliteRow};
    use sqlx::{Sqlite, SqliteConnection};

    type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

    fn bind(q: Query<'_>, args: Vec<Arg>) -> Query<'_> {
        bind_args!(q, args, fmt_datetime)
    }

    fn decode(row: &SqliteRow, i: usize, kind: Kind) -> Result<Value, sqlx::Error> {
        // SQLite is dynamically typed: a column declared BLOB may hold text
        // (or the reverse), so decode by the wanted kind, not the declared type.
        let raw = row.try_get_raw(i)?;
        if sqlx::ValueRef::is_null(&raw) {
            return Ok(Value::Null);
        }
        let stored = sqlx::ValueRef::type_info(&raw).name().to_ascii_uppercase();
        match kind {
            Kind::Int => row.try_get_unchecked::<i64, _>(i).map(Value::Int),
            Kind::Float => row.try_get_unchecked::<f64, _>(i).map(Value::Float),
            Kind::Bool => row
                .try_get_unchecked::<i64, _>(i)
                .map(|v| Value::Bool(v != 0)),
            Kind::Text => row.try_get_unchecked::<String, _>(i).map(Value::Text),
            Kind::TextAsBytes | Kind::Bytes if stored == "TEXT" => row
                .try_get_unchecked::<String, _>(i)
                .map(|s| Value::Bytes(s.into_bytes())),
            Kind::TextAsBytes | Kind::Bytes => {
                row.try_get_unchecked::<Vec<u8>, _>(i).map(Value::Bytes)
            }
            Kind::DateTime => row
                .try_get_unchecked::<NaiveDateTime, _>(i)
                .map(Value::DateTime),
            Kind::Date => row.try_get_unchecked::<NaiveDate, _>(i).map(Value::Date),
        }
    }

    impl Backend for Sqlite {
        const DIALECT: Dialect = Dialect::Sqlite;

        fn placeholder(_n: usize, out: &mut String) {
            out.push('?');
        }

        fn quote(ident: &str, out: &mut String) {
            out.push('"');
            out.push_str(&ident.replace('"', "\"\""));
            out.push('"');
        }

        impl_common!(Sqlite, SqliteConnection);

        async fn insert(
            conn: &mut SqliteConnection,
            sql: &str,
            args: Vec<Arg>,
            _id_column: &str,
        ) -> Result<i64, sqlx::Error> {
            let done = bind(sqlx::query(sql), args).execute(&mut *conn).await?;
            Ok(done.last_insert_rowid())
        }

        fn id_column_type() -> &'static str {
            "INTEGER NOT NULL"
        }

        fn timestamp_column_type() -> &'static str {
            "DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL"
        }

        fn write_lock_statement(table: &str) -> Option<String> {
            let mut s = String::from("DELETE FROM ");
            Self::quote(table, &mut s);
            s.push_str(" WHERE 1 = 0");
            Some(s)
        }

        fn column_type(
            kind: Kind,
            max_len: Option<u32>,
            _unique: bool,
            _pg: Option<&str>,
        ) -> String {
            match kind {
                Kind::Int => "INTEGER".into(),
                Kind::Float => "REAL".into(),
                Kind::Bool => "BOOLEAN".into(),
                Kind::Text => match max_len {
                    Some(n) => format!("VARCHAR({n})"),
                    None => "VARCHAR".into(),
                },
                Kind::TextAsBytes | Kind::Bytes => "BLOB".into(),
                Kind::DateTime => "DATETIME".into(),
                Kind::Date => "DATE".into(),
            }
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use sqlx::postgres::{PgArguments, PgRow};
    use sqlx::{PgConnection, Postgres};

    type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

    fn bind(q: Query<'_>, args: Vec<Arg>) -> Query<'_> {
        bind_args!(q, args, std::convert::identity::<NaiveDateTime>)
    }

    fn decode(row: &PgRow, i: usize, kind: Kind) -> Result<Value, sqlx::Error> {
        // PostgreSQL is strictly typed: pick the Rust type by the column's type.
        let ty = row.column(i).type_info().name().to_ascii_uppercase();
        match (kind, ty.as_str()) {
            (Kind::Int | Kind::Bool, "INT2") => opt!(row, i, i16, |v| Value::Int(v.into())),
            (Kind::Int | Kind::Bool, "INT4") => opt!(row, i, i32, |v| Value::Int(v.into())),
            (Kind::Int, _) => opt!(row, i, i64, Value::Int),
            (Kind::Float, "FLOAT4") => opt!(row, i, f32, |v| Value::Float(v.into())),
            (Kind::Float, _) => opt!(row, i, f64, Value::Float),
            (Kind::Bool, _) => opt!(row, i, bool, Value::Bool),
            (Kind::Text | Kind::TextAsBytes | Kind::Bytes, "BYTEA") => {
                opt!(row, i, Vec<u8>, Value::Bytes)
            }
            (Kind::Text | Kind::TextAsBytes | Kind::Bytes, _) => opt!(row, i, String, Value::Text),
            (Kind::DateTime, "TIMESTAMPTZ") => {
                opt!(row, i, chrono::DateTime<chrono::Utc>, |v| Value::DateTime(
                    v.naive_utc()
                ))
            }
            (Kind::DateTime, _) => opt!(row, i, NaiveDateTime, Value::DateTime),
            (Kind::Date, _) => opt!(row, i, NaiveDate, Value::Date),
        }
        .map(|v| match (kind, v) {
            (Kind::Bool, Value::Int(n)) => Value::Bool(n != 0),
            (_, v) => v,
        })
    }

    impl Backend for Postgres {
        const DIALECT: Dialect = Dialect::Postgres;

        fn placeholder(n: usize, out: &mut String) {
            out.push('$');
            out.push_str(&n.to_string());
        }

        fn quote(ident: &str, out: &mut String) {
            out.push('"');
            out.push_str(&ident.replace('"', "\"\""));
            out.push('"');
        }

        impl_common!(Postgres, PgConnection);

        async fn insert(
            conn: &mut PgConnection,
            sql: &str,
            args: Vec<Arg>,
            id_column: &str,
        ) -> Result<i64, sqlx::Error> {
            let mut sql = sql.to_string();
            sql.push_str(" RETURNING ");
            Self::quote(id_column, &mut sql);
            let row = bind(sqlx::query(&sql), args).fetch_one(&mut *conn).await?;
            match decode(&row, 0, Kind::Int)? {
                Value::Int(id) => Ok(id),
                _ => Err(sqlx::Error::Protocol("INSERT returned no id".into())),
            }
        }

        fn id_column_type() -> &'static str {
            "SERIAL NOT NULL"
        }

        fn timestamp_column_type() -> &'static str {
            "TIMESTAMP WITHOUT TIME ZONE DEFAULT TIMEZONE('utc', CURRENT_TIMESTAMP) NOT NULL"
        }

        fn write_lock_statement(_table: &str) -> Option<String> {
            None
        }

        fn column_type(
            kind: Kind,
            max_len: Option<u32>,
            _unique: bool,
            pg: Option<&str>,
        ) -> String {
            if let Some(t) = pg {
                return t.to_string();
            }
            match kind {
                Kind::Int => "BIGINT".into(),
                Kind::Float => "DOUBLE PRECISION".into(),
                Kind::Bool => "BOOLEAN".into(),
                Kind::Text => match max_len {
                    Some(n) => format!("VARCHAR({n})"),
                    None => "VARCHAR".into(),
                },
                Kind::TextAsBytes | Kind::Bytes => "BYTEA".into(),
                Kind::DateTime => "TIMESTAMP WITHOUT TIME ZONE".into(),
                Kind::Date => "DATE".into(),
            }
        }
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;
    use sqlx::mysql::{MySqlArguments, MySqlRow};
    use sqlx::{MySql, MySqlConnection};

    type Query<'q> = sqlx::query::Query<'q, MySql, MySqlArguments>;

    fn bind(q: Query<'_>, args: Vec<Arg>) -> Query<'_> {
        bind_args!(q, args, std::convert::identity::<NaiveDateTime>)
    }

    fn decode(row: &MySqlRow, i: usize, kind: Kind) -> Result<Value, sqlx::Error> {
        let ty = row.column(i).type_info().name().to_ascii_uppercase();
        match kind {
            Kind::Int if ty.contains("UNSIGNED") => {
                opt!(row, i, u64, |v| Value::Int(
                    i64::try_from(v).unwrap_or(i64::MAX)
                ))
            }
            Kind::Int => opt!(row, i, i64, Value::Int),
            Kind::Float => opt!(row, i, f64, Value::Float),
            Kind::Bool => opt!(row, i, bool, Value::Bool),
            Kind::Text if !ty.contains("BLOB") && !ty.contains("BINARY") => {
                opt!(row, i, String, Value::Text)
            }
            Kind::Text | Kind::TextAsBytes | Kind::Bytes => row
                .try_get_unchecked::<Option<Vec<u8>>, _>(i)
                .map(|v| v.map_or(Value::Null, Value::Bytes)),
            Kind::DateTime => opt!(row, i, NaiveDateTime, Value::DateTime),
            Kind::Date => opt!(row, i, NaiveDate, Value::Date),
        }
    }

    impl Backend for MySql {
        const DIALECT: Dialect = Dialect::MySql;

        fn placeholder(_n: usize, out: &mut String) {
            out.push('?');
        }

        fn quote(ident: &str, out: &mut String) {
            out.push('`');
            out.push_str(&ident.replace('`', "``"));
            out.push('`');
        }

        impl_common!(MySql, MySqlConnection);

        async fn insert(
            conn: &mut MySqlConnection,
            sql: &str,
            args: Vec<Arg>,
            _id_column: &str,
        ) -> Result<i64, sqlx::Error> {
            let done = bind(sqlx::query(sql), args).execute(&mut *conn).await?;
            i64::try_from(done.last_insert_id())
                .map_err(|_| sqlx::Error::Protocol("insert id out of range".into()))
        }

        /// `ON DUPLICATE KEY UPDATE` counts a found duplicate as affected
        /// (sqlx sets CLIENT_FOUND_ROWS) and `INSERT IGNORE` would also hide
        /// truncation and foreign-key errors; so insert plainly and treat a
        /// duplicate key as "not inserted". MySQL rolls back only the failed
        /// statement, not the surrounding transaction.
        async fn insert_new(
            conn: &mut MySqlConnection,
            sql: &str,
            args: Vec<Arg>,
            _columns: &[&str],
        ) -> Result<u64, sqlx::Error> {
            match Self::execute(conn, sql, args).await {
                Err(sqlx::Error::Database(e))
                    if matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation) =>
                {
                    Ok(0)
                }
                other => other,
            }
        }

        fn id_column_type() -> &'static str {
            "INTEGER NOT NULL AUTO_INCREMENT"
        }

        fn timestamp_column_type() -> &'static str {
            "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
        }

        const SEPARATE_INDEXES: bool = false;

        fn write_lock_statement(_table: &str) -> Option<String> {
            None
        }

        fn column_type(
            kind: Kind,
            max_len: Option<u32>,
            unique: bool,
            _pg: Option<&str>,
        ) -> String {
            match kind {
                Kind::Int => "BIGINT".into(),
                Kind::Float => "DOUBLE".into(),
                Kind::Bool => "BOOLEAN".into(),
                // InnoDB index keys are limited to 3072 bytes: 768 utf8mb4 characters.
                Kind::Text => match max_len {
                    Some(n) if unique => format!("VARCHAR({})", n.min(768)),
                    Some(n) => format!("VARCHAR({n})"),
                    None if unique => "VARCHAR(768)".into(),
                    None => "TEXT".into(),
                },
                Kind::TextAsBytes | Kind::Bytes => "BLOB".into(),
                Kind::DateTime => "DATETIME(6)".into(),
                Kind::Date => "DATE".into(),
            }
        }

        fn table_options() -> &'static str {
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        }
    }
}

/// SQL text with its bound arguments, built with a backend's placeholders and quoting.
pub(crate) struct Sql<DB: Backend> {
    pub text: String,
    pub args: Vec<Arg>,
    _db: std::marker::PhantomData<fn() -> DB>,
}

impl<DB: Backend> Sql<DB> {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
            _db: std::marker::PhantomData,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn ident(&mut self, name: &str) -> &mut Self {
        DB::quote(name, &mut self.text);
        self
    }

    /// `a, b, c`, each quoted.
    pub fn idents<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for (i, name) in names.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.ident(name);
        }
        self
    }

    /// `a.b`, both quoted.
    pub fn qualified(&mut self, alias: &str, name: &str) -> &mut Self {
        self.text.push_str(alias);
        self.text.push('.');
        self.ident(name)
    }

    pub fn bind(&mut self, value: Value, kind: Kind) -> &mut Self {
        self.args.push(Arg { value, kind });
        DB::placeholder(self.args.len(), &mut self.text);
        self
    }

    /// A placeholder cast to a PostgreSQL enum type where the column has one.
    pub fn bind_cast(&mut self, value: Value, kind: Kind, pg_type: Option<&str>) -> &mut Self {
        self.bind(value, kind);
        if let (Some(t), Dialect::Postgres) = (pg_type, DB::DIALECT) {
            self.text.push_str("::");
            self.text.push_str(t);
        }
        self
    }

    pub fn bind_int(&mut self, v: i64) -> &mut Self {
        self.bind(Value::Int(v), Kind::Int)
    }

    pub fn bind_text(&mut self, v: &str) -> &mut Self {
        self.bind(Value::Text(v.to_string()), Kind::Text)
    }

    /// `(?, ?, ?)` for a list of ids.
    pub fn bind_int_list(&mut self, ids: &[i64]) -> &mut Self {
        self.text.push('(');
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind_int(*id);
        }
        self.text.push(')');
        self
    }
}
