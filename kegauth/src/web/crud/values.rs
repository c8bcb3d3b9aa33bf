//! Column values as grid cells and form inputs, the message for input that
//! does not parse, and the form and delete messages: shared by the admin
//! pages and the record pages.

use super::{Deleted, FieldErrors};
use crate::core::entity::{Kind, Value};
use crate::services::i18n::Translator;

/// A column value as a grid cell (yes and no in the viewer's language).
pub(crate) fn cell(value: &Value, tr: &Translator) -> String {
    match value {
        Value::Bool(b) => tr.t(if *b { "admin-yes" } else { "admin-no" }),
        other => input_value(other),
    }
}

/// A column value as a form field's value.
pub(crate) fn input_value(value: &Value) -> String {
    match value {
        Value::Null | Value::Bytes(_) | Value::Bool(false) => String::new(),
        Value::Bool(true) => "true".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::DateTime(d) => d.format("%Y-%m-%dT%H:%M").to_string(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
    }
}

/// The message for `input` that does not parse as a value of `kind`.
pub(crate) fn input_error(tr: &Translator, kind: Kind, input: &str) -> String {
    let key = match kind {
        Kind::Int => "field-not-whole-number",
        Kind::Float => "field-not-number",
        Kind::Date => "field-not-date",
        Kind::DateTime => "field-not-date-time",
        _ => "field-not-valid",
    };
    tr.t_args(key, &[("value", input.to_string())])
}

/// Add `message` under `field` (`"_form"`: about the whole form).
pub(crate) fn add_error(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}

/// A delete refused because other rows refer to the record `label`.
pub(crate) fn refused(tr: &Translator, label: &str) -> Deleted {
    Deleted::Refused(tr.t_args("admin-delete-referenced", &[("label", label.to_string())]))
}
