//! Column values: the small closed set of types kegauth reads and writes.
//!
//! Every entity field converts to and from a [`Value`] through [`FieldValue`].
//! Keeping the set closed lets one store serve SQLite, PostgreSQL and MySQL
//! without `sqlx::Any`, and lets the CLI and admin forms set an app's extra
//! columns from text ([`FieldValue::parse_input`]).

use chrono::{NaiveDate, NaiveDateTime};
use std::fmt;

/// The SQL-level type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Integer (`INTEGER`/`BIGINT`); read from any integer width.
    Int,
    /// Floating point.
    Float,
    /// Boolean (`BOOLEAN`, MySQL `TINYINT(1)`).
    Bool,
    /// Text (`VARCHAR`/`TEXT`).
    Text,
    /// Text kept in a binary column (`BLOB`/`BYTEA`), as keg-auth stores password hashes.
    TextAsBytes,
    /// Raw bytes.
    Bytes,
    /// A timestamp without time zone, always UTC.
    DateTime,
    /// A calendar date.
    Date,
}

/// One column value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A UTC timestamp.
    DateTime(NaiveDateTime),
    /// A date.
    Date(NaiveDate),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "boolean",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::DateTime(_) => "timestamp",
            Value::Date(_) => "date",
        }
    }
}

/// Why a value could not become a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

fn mismatch(expected: &str, got: &Value) -> ValueError {
    ValueError(format!("expected {expected}, found {}", got.type_name()))
}

/// A Rust type an entity field may have.
///
/// Implemented for `i64`, `i32`, `i16`, `bool`, `f64`, `String`, `Vec<u8>`,
/// `chrono::NaiveDateTime`, `chrono::NaiveDate`, [`AttemptType`](crate::entity::AttemptType)
/// and `Option` of each.
///
/// ```
/// use kegauth::entity::{FieldValue, Value};
/// assert_eq!(42i64.to_value(), Value::Int(42));
/// assert_eq!(<Option<i64>>::parse_input("").unwrap(), None);
/// assert_eq!(<i64>::parse_input("7").unwrap(), 7);
/// ```
pub trait FieldValue: Sized {
    /// The column type.
    const KIND: Kind;
    /// Whether the column accepts `NULL`.
    const NULLABLE: bool = false;
    /// The value to write.
    fn to_value(&self) -> Value;
    /// Build the field from a value read from the database.
    fn from_value(value: Value) -> Result<Self, ValueError>;
    /// Parse text typed by a person (CLI argument, form field).
    fn parse_input(input: &str) -> Result<Self, ValueError>;
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            const KIND: Kind = Kind::Int;
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
            fn from_value(value: Value) -> Result<Self, ValueError> {
                match value {
                    Value::Int(i) => <$t>::try_from(i)
                        .map_err(|_| ValueError(format!("{i} does not fit in {}", stringify!($t)))),
                    other => Err(mismatch("integer", &other)),
                }
            }
            fn parse_input(input: &str) -> Result<Self, ValueError> {
                input.trim().parse().map_err(|_| ValueError(format!("`{input}` is not a whole number")))
            }
        }
    )*};
}
int_field!(i64, i32, i16);

impl FieldValue for bool {
    const KIND: Kind = Kind::Bool;
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            other => Err(mismatch("boolean", &other)),
        }
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" => Ok(true),
            "false" | "no" | "off" | "0" | "n" | "" => Ok(false),
            _ => Err(ValueError(format!("`{input}` is not yes or no"))),
        }
    }
}

impl FieldValue for f64 {
    const KIND: Kind = Kind::Float;
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Float(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(mismatch("float", &other)),
        }
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        input
            .trim()
            .parse()
            .map_err(|_| ValueError(format!("`{input}` is not a number")))
    }
}

impl FieldValue for String {
    const KIND: Kind = Kind::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Text(s) => Ok(s),
            Value::Bytes(b) => {
                String::from_utf8(b).map_err(|_| ValueError("bytes are not UTF-8 text".into()))
            }
            other => Err(mismatch("text", &other)),
        }
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        Ok(input.to_string())
    }
}

impl FieldValue for Vec<u8> {
    const KIND: Kind = Kind::Bytes;
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Bytes(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Err(mismatch("bytes", &other)),
        }
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        Ok(input.as_bytes().to_vec())
    }
}

impl FieldValue for NaiveDateTime {
    const KIND: Kind = Kind::DateTime;
    fn to_value(&self) -> Value {
        Value::DateTime(*self)
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::DateTime(d) => Ok(d),
            other => Err(mismatch("timestamp", &other)),
        }
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| {
            ValueError(format!(
                "`{input}` is not a date and time (YYYY-MM-DD HH:MM)"
            ))
        })
    }
}

impl FieldValue for NaiveDate {
    const KIND: Kind = Kind::Date;
    fn to_value(&self) -> Value {
        Value::Date(*self)
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Date(d) => Ok(d),
            Value::DateTime(d) => Ok(d.date()),
            other => Err(mismatch("date", &other)),
        }
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
            .map_err(|_| ValueError(format!("`{input}` is not a date (YYYY-MM-DD)")))
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    const KIND: Kind = T::KIND;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
    /// Empty (or blank) input is `None`.
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        if input.trim().is_empty() {
            Ok(None)
        } else {
            T::parse_input(input).map(Some)
        }
    }
}

/// Text that may be absent: lets a permission's `description` be `String` or `Option<String>`.
pub trait OptStr {
    /// The text, if any.
    fn opt_str(&self) -> Option<&str>;
}

impl OptStr for String {
    fn opt_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl OptStr for Option<String> {
    fn opt_str(&self) -> Option<&str> {
        self.as_deref()
    }
}
