//! The CRUD pages of a `#[derive(Crud)]` record: a [`CrudSource`] over the
//! record's table on the app's database (through kegauth's store), and the
//! [`CrudView`] with the record's path and requirements.

use super::values::{add_error, cell, input_error, input_value, refused};
use super::{
    CrudCx, CrudSource, CrudView, Deleted, FieldErrors, FieldKind, FormField, FormInput, Found,
    GridColumn, GridPage, GridQuery, GridRow, Saved,
};
use crate::authz::admin_rules::Action;
use crate::core::entity::{Kind, Value};
use crate::core::error::{Error, Result};
use crate::core::records::{Record, RecordColumn, RecordStore};
use std::marker::PhantomData;

/// The records of `R`'s table, as a [`CrudSource`] (what
/// [`record_view`] mounts).
pub struct RecordSource<R>(PhantomData<fn() -> R>);

impl<R> Default for RecordSource<R> {
    fn default() -> Self {
        RecordSource(PhantomData)
    }
}

/// The CRUD pages of a `#[derive(Crud)]` record, at its `path`, with the
/// requirements its `#[crud(require(..))]` names (`auth-manage` for the
/// others). What the derive's `R::crud()` returns; adjust it (more
/// requirements, fewer actions) and mount its [`routes`](CrudView::routes).
///
/// ```
/// #[derive(kegauth::Crud, Default)]
/// #[crud(table = "widgets", path = "/widgets", name = "Widget", plural = "Widgets",
///        require(list = "widgets-view", edit = "widgets-edit"))]
/// struct Widget {
///     id: i64,
///     #[crud(list, label, form)]
///     name: String,
/// }
/// let routes = Widget::crud().routes();
/// assert!(routes.iter().any(|r| r.uri.path() == "/widgets/<id>/edit"));
/// ```
pub fn record_view<R: Record>() -> CrudView {
    let schema = R::schema();
    let mut view = CrudView::new(schema.path, RecordSource::<R>::default());
    for (action, token) in &schema.requirements {
        let action = match *action {
            "list" => Action::List,
            "add" => Action::Add,
            "edit" => Action::Edit,
            "delete" => Action::Delete,
            _ => continue, // the derive accepts only these four
        };
        view = view.require(action, *token);
    }
    view
}

fn records<'a>(cx: &CrudCx<'a>) -> Result<&'a dyn RecordStore> {
    cx.rocket
        .state::<crate::authn::service::Auth>()
        .map(|auth| auth.0.records())
        .ok_or_else(|| Error::Config("the AuthManager fairing is not attached".into()))
}

/// A save refused with one message about the whole form.
fn form_error(message: String) -> Found<Saved> {
    let mut errors = FieldErrors::new();
    add_error(&mut errors, "_form", message);
    Found::Yes(Saved::Invalid(errors))
}

/// The form field of a column with its current value.
fn form_field(col: &RecordColumn, value: &Value) -> FormField {
    let kind = match (col.choices, col.kind) {
        (Some(_), _) => FieldKind::Select,
        (None, Kind::Bool) => FieldKind::Checkbox,
        (None, Kind::Int | Kind::Float) => FieldKind::Number,
        (None, Kind::Date) => FieldKind::Date,
        (None, Kind::DateTime) => FieldKind::DateTime,
        _ => FieldKind::Text,
    };
    let mut field = FormField::new(col.field, &col.heading(), kind, input_value(value));
    if let Some(choices) = col.choices {
        field.options = choices();
    }
    field.required = col.required;
    field.readonly = col.readonly;
    field.max_len = col.max_len;
    field
}

impl<R: Record> RecordSource<R> {
    /// The record with `id`, if it exists.
    async fn find(&self, cx: &CrudCx<'_>, id: i64) -> Result<Option<R>> {
        match records(cx)?.record(R::schema(), id).await? {
            Some(values) => R::from_values(id, values).map(Some),
            None => Ok(None),
        }
    }

    /// The record with `id`, or a new one (`blank`) for the add form;
    /// `None` when there is no record with `id`.
    async fn find_or_blank(&self, cx: &CrudCx<'_>, id: Option<i64>) -> Result<Option<R>> {
        match id {
            None => Ok(Some(R::blank())),
            Some(id) => self.find(cx, id).await,
        }
    }

    /// Fill `record` from the form; the problems per field.
    fn fill(&self, cx: &CrudCx<'_>, record: &mut R, input: &FormInput) -> FieldErrors {
        let mut errors = FieldErrors::new();
        for col in R::schema().columns.iter().filter(|c| c.form) {
            if col.readonly {
                continue; // shown on the edit form, never written by a form
            }
            let text = match col.kind {
                Kind::Bool if col.choices.is_none() => if input.checked(col.field) {
                    "true"
                } else {
                    "false"
                }
                .to_string(),
                _ => input.get(col.field).unwrap_or("").trim().to_string(),
            };
            if text.is_empty() && col.required {
                add_error(&mut errors, col.field, cx.tr.t("field-required"));
                continue;
            }
            if let Some(max) = col.max_len
                && text.chars().count() > max as usize
            {
                add_error(
                    &mut errors,
                    col.field,
                    cx.tr.t_args("field-too-long", &[("max", max.to_string())]),
                );
                continue;
            }
            if let Some(choices) = col.choices
                && !text.is_empty()
                && !choices().iter().any(|(value, _)| *value == text)
            {
                add_error(
                    &mut errors,
                    col.field,
                    cx.tr.t_args("field-not-a-choice", &[("value", text)]),
                );
                continue;
            }
            if let Err(_e) = record.set_from_input(col.field, &text) {
                add_error(&mut errors, col.field, input_error(&cx.tr, col.kind, &text));
            }
        }
        if errors.is_empty() {
            record.validate(&mut errors);
        }
        errors
    }
}

impl<R: Record> CrudSource for RecordSource<R> {
    fn names(&self) -> (&str, &str) {
        let schema = R::schema();
        (schema.name, schema.plural)
    }

    fn columns(&self) -> Vec<GridColumn> {
        R::schema()
            .columns
            .iter()
            .filter(|c| c.list)
            .map(|c| GridColumn {
                key: c.field.into(),
                label: c.heading(),
                sortable: c.sort,
            })
            .collect()
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> super::BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let schema = R::schema();
            let (rows, total) = records(cx)?.record_page(schema, query).await?;
            // The grid's columns, each with its select's choices (listed once
            // per page, not per row).
            let shown: Vec<_> = schema
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.list)
                .map(|(i, c)| (i, c.choices.map(|choices| choices())))
                .collect();
            let rows = rows
                .into_iter()
                .map(|(id, values)| {
                    let cells = shown
                        .iter()
                        .map(|(i, choices)| {
                            let value = values.get(*i).unwrap_or(&Value::Null);
                            match (choices, value) {
                                // A select shows its choice's label.
                                (Some(choices), Value::Text(t)) => choices
                                    .iter()
                                    .find(|(v, _)| v == t)
                                    .map_or_else(|| t.clone(), |(_, label)| label.clone()),
                                _ => cell(value, &cx.tr),
                            }
                        })
                        .collect();
                    GridRow::new(id, cells)
                })
                .collect();
            Ok(GridPage { rows, total })
        })
    }

    fn form<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
    ) -> super::BoxFuture<'a, Result<Found<Vec<FormField>>>> {
        Box::pin(async move {
            let Some(record) = self.find_or_blank(cx, id).await? else {
                return Ok(Found::NotFound);
            };
            let values = record.to_values();
            let fields = R::schema()
                .columns
                .iter()
                .zip(&values)
                .filter(|(c, _)| c.form && !(c.readonly && id.is_none()))
                .map(|(c, v)| form_field(c, v))
                .collect();
            Ok(Found::Yes(fields))
        })
    }

    fn save<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
        input: &'a FormInput,
    ) -> super::BoxFuture<'a, Result<Found<Saved>>> {
        Box::pin(async move {
            let schema = R::schema();
            let Some(mut record) = self.find_or_blank(cx, id).await? else {
                return Ok(Found::NotFound);
            };
            let errors = self.fill(cx, &mut record, input);
            if !errors.is_empty() {
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            let store = records(cx)?;
            let written = match id {
                None => store
                    .insert_record(schema, record.to_values())
                    .await
                    .map(Some),
                Some(id) => store
                    .update_record(schema, id, record.to_values())
                    .await
                    .map(|found| found.then_some(id)),
            };
            match written {
                Ok(Some(id)) => Ok(Found::Yes(Saved::Done { id, relogin: None })),
                Ok(None) => Ok(Found::NotFound),
                // A taken unique key, a missing referenced row: the form says so.
                Err(Error::Conflict(_)) => Ok(form_error(cx.tr.t("field-in-use"))),
                Err(Error::Invalid(message)) => Ok(form_error(message)),
                Err(e) => Err(e),
            }
        })
    }

    fn label<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: i64,
    ) -> super::BoxFuture<'a, Result<Found<String>>> {
        Box::pin(async move {
            let schema = R::schema();
            let Some(record) = self.find(cx, id).await? else {
                return Ok(Found::NotFound);
            };
            let values = record.to_values();
            let label = schema
                .columns
                .iter()
                .position(|c| c.field == schema.label)
                .and_then(|i| values.get(i))
                .map_or_else(|| id.to_string(), input_value);
            Ok(Found::Yes(label))
        })
    }

    fn delete<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: i64,
    ) -> super::BoxFuture<'a, Result<Found<Deleted>>> {
        Box::pin(async move {
            match records(cx)?.delete_record(R::schema(), id).await {
                Ok(true) => Ok(Found::Yes(Deleted::Done)),
                Ok(false) => Ok(Found::NotFound),
                // The label only to say why (the view read it before already).
                Err(Error::Referenced(_)) => {
                    let label = match self.label(cx, id).await? {
                        Found::Yes(label) => label,
                        _ => id.to_string(),
                    };
                    Ok(Found::Yes(refused(&cx.tr, &label)))
                }
                Err(e) => Err(e),
            }
        })
    }
}
