//! The app's own tables as CRUD records: what `#[derive(Crud)]` describes
//! ([`RecordSchema`], [`Record`]) and what the store does with them
//! ([`RecordStore`]: one page of rows, one row, insert, update, delete, in
//! parameterised SQL on every backend). The pages over them are
//! [`crate::crud`]'s (`web/crud/record.rs`).

use crate::core::entity::{Kind, Value, ValueError};
use crate::core::error::{Error, Result};
use crate::core::store::grid::GridQuery;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future (what [`RecordStore`] methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One column of a record's table (not its id), from a field of the struct.
#[derive(Clone, Debug)]
pub struct RecordColumn {
    /// The Rust field, also the form field's name.
    pub field: &'static str,
    /// The column name.
    pub name: &'static str,
    /// The grid heading and form label (`#[crud(title = ..)]`); `None`:
    /// the field's name as words ([`RecordColumn::heading`]).
    pub title: Option<&'static str>,
    /// The column type.
    pub kind: Kind,
    /// Whether the column takes `NULL` (an `Option` field).
    pub nullable: bool,
    /// `#[crud(list)]`: a grid column.
    pub list: bool,
    /// `#[crud(sort)]`: the grid sorts by it.
    pub sort: bool,
    /// `#[crud(filter)]`: the grid's text filter searches it.
    pub filter: bool,
    /// `#[crud(form)]`: on the add and edit forms.
    pub form: bool,
    /// `#[crud(required)]`: the form refuses it empty.
    pub required: bool,
    /// `#[crud(readonly)]`: shown on the edit form, never written by it.
    pub readonly: bool,
    /// `#[crud(max_len = N)]`: the longest text the form accepts, in characters.
    pub max_len: Option<u32>,
    /// `#[crud(select)]`: the field's type offers these `(value, label)`
    /// choices ([`Choices`]); the form shows a select.
    pub choices: Option<ChoicesFn>,
}

impl RecordColumn {
    /// The grid heading and form label: the `title`, else the field's name
    /// as words (`due_date` -> `Due Date`).
    pub fn heading(&self) -> String {
        self.title.map_or_else(|| title(self.field), str::to_string)
    }
}

/// `first_name` -> `First Name`.
pub(crate) fn title(field: &str) -> String {
    field
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What lists a select's `(value, label)` choices ([`Choices::choices`]).
pub type ChoicesFn = fn() -> Vec<(String, String)>;

/// A table described by `#[derive(Crud)]`.
#[derive(Clone, Debug)]
pub struct RecordSchema {
    /// The table.
    pub table: &'static str,
    /// The primary key column (an integer the database assigns).
    pub id: &'static str,
    /// Where the pages are mounted (`/widgets`).
    pub path: &'static str,
    /// The singular name (`Widget`).
    pub name: &'static str,
    /// The plural name (`Widgets`).
    pub plural: &'static str,
    /// The field whose value names a record (the delete page's label).
    pub label: &'static str,
    /// The columns other than the id, in [`Record::to_values`] order.
    pub columns: Vec<RecordColumn>,
    /// The permission each action requires, by action (`list`, `add`,
    /// `edit`, `delete`); actions not named need `auth-manage`.
    pub requirements: Vec<(&'static str, &'static str)>,
}

impl RecordSchema {
    /// The column of a Rust field.
    pub fn column(&self, field: &str) -> Option<&RecordColumn> {
        self.columns.iter().find(|c| c.field == field)
    }
}

/// Messages per form field (the key `"_form"` for the whole form).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A struct mapped to one of the app's tables by `#[derive(Crud)]`.
///
/// ```
/// use kegauth::crud::Record;
///
/// #[derive(kegauth::Crud, Default)]
/// #[crud(table = "widgets", path = "/widgets", name = "Widget", plural = "Widgets")]
/// struct Widget {
///     id: i64,
///     #[crud(list, sort, filter, label, form, required, max_len = 80)]
///     name: String,
///     #[crud(list, form)]
///     in_stock: bool,
/// }
///
/// let schema = Widget::schema();
/// assert_eq!((schema.table, schema.id, schema.label), ("widgets", "id", "name"));
/// let mut w = Widget::blank();
/// assert_eq!(w.set_from_input("name", "sprocket"), Ok(true));
/// assert_eq!(w.name, "sprocket");
/// ```
pub trait Record: Sized + Send + Sync + 'static {
    /// The table description.
    fn schema() -> &'static RecordSchema;
    /// The primary key (0 before the first insert).
    fn id(&self) -> i64;
    /// Set the primary key (done on insert).
    fn set_id(&mut self, id: i64);
    /// The values of every column but the id, in schema order.
    fn to_values(&self) -> Vec<Value>;
    /// Build from the id and the values of every other column, in schema order.
    fn from_values(id: i64, values: Vec<Value>) -> Result<Self>;
    /// A new record, as the add form shows it ([`CrudRules::blank`], else
    /// `Default`).
    fn blank() -> Self;
    /// Set a field from text a person typed, by Rust field name;
    /// `Ok(false)` when there is no such field.
    fn set_from_input(&mut self, field: &str, input: &str)
        -> std::result::Result<bool, ValueError>;
    /// The app's checks of a record about to be saved ([`CrudRules::validate`]).
    fn validate(&self, _errors: &mut FieldErrors) {}
}

/// What an app adds to a `#[derive(Crud)]` record with `#[crud(rules)]`:
/// the add form's defaults and checks of its own, reported under the
/// fields like kegauth's (a message under `"_form"` is about the whole form).
///
/// ```
/// use kegauth::crud::{CrudRules, FieldErrors};
///
/// #[derive(kegauth::Crud, Default)]
/// #[crud(table = "widgets", path = "/widgets", name = "Widget", plural = "Widgets", rules)]
/// struct Widget {
///     id: i64,
///     #[crud(list, label, form)]
///     name: String,
///     #[crud(list, form)]
///     price: f64,
/// }
///
/// impl CrudRules for Widget {
///     fn blank() -> Self {
///         Widget { price: 1.0, ..Default::default() }
///     }
///     fn validate(&self, errors: &mut FieldErrors) {
///         if self.price < 0.0 {
///             errors.entry("price".into()).or_default().push("A price is never negative.".into());
///         }
///     }
/// }
/// use kegauth::crud::Record;
/// assert_eq!(<Widget as Record>::blank().price, 1.0); // the add form's default
/// ```
pub trait CrudRules: Sized {
    /// A new record, as the add form shows it.
    fn blank() -> Self;
    /// Add a message per field that is not acceptable (nothing: save).
    fn validate(&self, _errors: &mut FieldErrors) {}
}

/// The choices of a field shown as a select (`#[crud(form, select)]`): an
/// enum stored as text, say. Its [`FieldValue`](crate::entity::FieldValue)
/// reads and writes the stored value; `choices` lists `(value, label)` pairs.
///
/// ```
/// use kegauth::crud::Choices;
/// use kegauth::entity::{FieldValue, Kind, Value, ValueError};
///
/// #[derive(Clone, Copy, Debug, Default, PartialEq)]
/// enum Status { #[default] Open, Done }
///
/// impl FieldValue for Status {
///     const KIND: Kind = Kind::Text;
///     fn to_value(&self) -> Value {
///         Value::Text(match self { Status::Open => "open", Status::Done => "done" }.into())
///     }
///     fn from_value(value: Value) -> Result<Self, ValueError> {
///         match value { Value::Text(t) => Self::parse_input(&t), _ => Err(ValueError("not text".into())) }
///     }
///     fn parse_input(input: &str) -> Result<Self, ValueError> {
///         match input {
///             "open" => Ok(Status::Open),
///             "done" => Ok(Status::Done),
///             other => Err(ValueError(format!("`{other}` is not a status"))),
///         }
///     }
/// }
///
/// impl Choices for Status {
///     fn choices() -> Vec<(String, String)> {
///         vec![("open".into(), "Open".into()), ("done".into(), "Done".into())]
///     }
/// }
/// assert_eq!(Status::choices().len(), 2);
/// ```
pub trait Choices {
    /// `(stored value, label)` pairs, in the order the select shows them.
    fn choices() -> Vec<(String, String)>;
}

/// A page of records: each row's id and its other columns' values.
pub type RecordRows = Vec<(i64, Vec<Value>)>;

/// What the store does with the rows of a [`RecordSchema`]'s table; the
/// CRUD pages reach it through kegauth's state, on the app's database.
pub trait RecordStore: Send + Sync {
    /// One page of rows matching `query`'s text filter (on the `filter`
    /// columns), sorted by a `sort` column when it names one (else by id),
    /// and the number of rows matching the filter.
    fn record_page<'a>(
        &'a self,
        schema: &'static RecordSchema,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<(RecordRows, u64)>>;
    /// The values of one row (not its id), if it exists.
    fn record(
        &self,
        schema: &'static RecordSchema,
        id: i64,
    ) -> BoxFuture<'_, Result<Option<Vec<Value>>>>;
    /// Insert a row; its new id.
    fn insert_record(
        &self,
        schema: &'static RecordSchema,
        values: Vec<Value>,
    ) -> BoxFuture<'_, Result<i64>>;
    /// Update a row's columns but the `readonly` ones; whether it exists.
    fn update_record(
        &self,
        schema: &'static RecordSchema,
        id: i64,
        values: Vec<Value>,
    ) -> BoxFuture<'_, Result<bool>>;
    /// Delete a row: whether it existed; [`Error::Referenced`] when other
    /// rows refer to it.
    fn delete_record(&self, schema: &'static RecordSchema, id: i64) -> BoxFuture<'_, Result<bool>>;
}

/// The error of a value read from a record's column that its field cannot take.
pub fn decode_error(schema: &RecordSchema, index: usize, e: ValueError) -> Error {
    Error::Decode {
        table: schema.table,
        column: schema.columns.get(index).map_or("?", |c| c.name),
        message: e.0,
    }
}
