//! What the admin sections share: cells and inputs of the entities' own
//! columns, the link fields (a user's groups, a group's permissions, ...)
//! and the rules on who may grant what.

use crate::core::backend::Backend;
use crate::core::entity::{
    AuthEntity, BundleEntity, EntityKind, EntitySet, GroupEntity, Kind, PermissionEntity,
    UserEntity, Value,
};
use crate::core::error::Result;
use crate::core::links::Link;
use crate::core::store::Store;
use crate::services::i18n::Translator;
use crate::web::crud::{
    CrudCx, FieldErrors, FieldKind, FormField, FormInput, GridColumn, GridPage, GridQuery, GridRow,
};
use std::collections::BTreeSet;

pub use crate::authz::admin_rules::Section;
pub(super) use crate::core::records::title;
pub(super) use crate::web::crud::values::{add_error, cell, input_error, input_value, refused};

pub(super) const RESEND_VERIFICATION: &str = "resend-verification";
pub(super) const RESET_TWO_FACTOR: &str = "reset-two-factor";
pub(super) const END_SESSIONS: &str = "end-sessions";

/// The row actions of a section's grid.
pub(super) fn row_actions(section: Section) -> Vec<&'static str> {
    match section {
        Section::Users => vec![RESEND_VERIFICATION, RESET_TWO_FACTOR, END_SESSIONS],
        _ => Vec::new(),
    }
}

/// The app's own columns an admin form shows (not bytes, not read-only).
pub(super) fn extra_columns<T: AuthEntity>(
) -> impl Iterator<Item = &'static crate::core::entity::Column> {
    T::schema()
        .extra_columns()
        .filter(|c| c.writable() && c.kind != Kind::Bytes)
}

pub(super) fn extra_grid_columns<T: AuthEntity>() -> Vec<GridColumn> {
    extra_columns::<T>()
        .map(|c| GridColumn::new(c.name, &title(c.field)))
        .collect()
}

/// The value of the column named `name` among an entity's `values` (schema order).
pub(super) fn value_of<'v, T: AuthEntity>(values: &'v [Value], name: &str) -> Option<&'v Value> {
    let i = T::schema().columns.iter().position(|c| c.name == name)?;
    values.get(i)
}

pub(super) fn extra_fields<T: AuthEntity>(entity: &T) -> Vec<FormField> {
    let values = entity.to_values();
    extra_columns::<T>()
        .map(|c| {
            let value = value_of::<T>(&values, c.name)
                .map(input_value)
                .unwrap_or_default();
            let kind = match c.kind {
                Kind::Bool => FieldKind::Checkbox,
                Kind::Int | Kind::Float => FieldKind::Number,
                Kind::Date => FieldKind::Date,
                Kind::DateTime => FieldKind::DateTime,
                _ => FieldKind::Text,
            };
            FormField::new(c.field, &title(c.field), kind, value)
        })
        .collect()
}

/// Set the app's own columns from the form.
pub(super) fn apply_extras<T: AuthEntity>(
    entity: &mut T,
    input: &FormInput,
    errors: &mut FieldErrors,
    tr: &Translator,
) {
    for c in extra_columns::<T>() {
        let text = if c.kind == Kind::Bool {
            if input.checked(c.field) {
                "true"
            } else {
                "false"
            }
        } else {
            input.get(c.field).unwrap_or_default()
        };
        if entity.set_from_input(c.field, text).is_err() {
            add_error(errors, c.field, input_error(tr, c.kind, text));
        }
    }
}

/// The grid cells of an entity for the given column keys (column names).
pub(super) fn cells<T: AuthEntity>(
    entity: &T,
    columns: &[GridColumn],
    tr: &Translator,
) -> Vec<String> {
    let values = entity.to_values();
    columns
        .iter()
        .map(|col| {
            value_of::<T>(&values, &col.key)
                .map(|v| cell(v, tr))
                .unwrap_or_default()
        })
        .collect()
}

/// One grid page of `T`: the filter searches the grid's text columns
/// ([`Store::grid`] keeps only those); `decorate` adds row actions.
pub(super) async fn grid_page<DB: Backend, E: EntitySet, T: AuthEntity>(
    store: &Store<DB, E>,
    cx: &CrudCx<'_>,
    columns: &[GridColumn],
    query: &GridQuery,
    decorate: impl Fn(&T, &mut GridRow),
) -> Result<GridPage> {
    let keys: Vec<&str> = columns.iter().map(|c| c.key.as_str()).collect();
    let (items, total) = store.grid::<T>(query, &keys).await?;
    let rows = items
        .iter()
        .map(|e| {
            let mut row = GridRow::new(e.id(), cells(e, columns, &cx.tr));
            decorate(e, &mut row);
            row
        })
        .collect();
    Ok(GridPage { rows, total })
}

pub(super) type LinkSpec = (Link, &'static str, &'static str);

pub(super) type Choices = Vec<(String, String)>;

/// `(id, label)` pairs for a multi-select.
pub(super) fn pairs<T: AuthEntity>(items: Vec<T>, label: fn(&T) -> &str) -> Choices {
    items
        .iter()
        .map(|t| (t.id().to_string(), label(t).to_string()))
        .collect()
}

/// The choices of a multi-select linking to `kind`.
pub(super) async fn choices<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    kind: EntityKind,
) -> Result<Choices> {
    Ok(match kind {
        EntityKind::Permission => pairs(store.permissions().await?, |p| p.token()),
        EntityKind::Bundle => pairs(store.bundles().await?, |b| b.name()),
        EntityKind::Group => pairs(store.groups().await?, |g| g.name()),
        _ => Vec::new(),
    })
}

/// A multi-select for `link`, with the current choices of `id`.
pub(super) async fn link_field<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    link: Link,
    id: Option<i64>,
    name: &str,
    label: &str,
) -> Result<FormField> {
    let options = choices(store, link.kinds().1).await?;
    let selected = match id {
        Some(id) => store
            .linked(link, id)
            .await?
            .iter()
            .map(i64::to_string)
            .collect(),
        None => Vec::new(),
    };
    Ok(FormField::multi(name, label, options, selected))
}

/// The chosen ids of a multi-select; ids that are not among `options` are errors.
pub(super) fn chosen(
    options: &Choices,
    input: &FormInput,
    name: &str,
    errors: &mut FieldErrors,
    tr: &Translator,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for value in input.all(name) {
        match value.parse::<i64>() {
            Ok(id) if options.iter().any(|(v, _)| v == value) => ids.push(id),
            _ => add_error(
                errors,
                name,
                tr.t_args("field-not-a-choice", &[("value", value.clone())]),
            ),
        }
    }
    ids
}

/// The chosen ids of every multi-select in `links` for record `id` (`None`
/// when new). A viewer who is not a superuser may only add links that grant
/// permissions they hold themselves (links the record already has stay,
/// whoever edits it); anything else is an error on the field.
pub(super) async fn chosen_links<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    cx: &CrudCx<'_>,
    links: &[LinkSpec],
    id: Option<i64>,
    input: &FormInput,
    errors: &mut FieldErrors,
) -> Result<Vec<(Link, Vec<i64>)>> {
    let viewer = cx.viewer.user::<E::User>();
    let held = match viewer {
        Some(v) if v.core().is_superuser => None,
        Some(v) => Some(store.user_permissions(v).await?),
        None => Some(BTreeSet::new()),
    };
    let mut all = Vec::new();
    for &(link, field, _) in links {
        let options = choices(store, link.kinds().1).await?;
        let ids = chosen(&options, input, field, errors, &cx.tr);
        if let Some(held) = &held {
            let lacking = ungrantable(store, link, id, &ids, &options, held).await?;
            if !lacking.is_empty() {
                let list = lacking.into_iter().collect::<Vec<_>>().join(", ");
                add_error(
                    errors,
                    field,
                    cx.tr.t_args("admin-cannot-grant", &[("permissions", list)]),
                );
            }
        }
        all.push((link, ids));
    }
    Ok(all)
}

/// The permissions outside `held` that linking record `id` to `ids` would
/// newly grant (through a permission, a bundle or a group); `options` are
/// the field's choices (a permission's label is its token).
pub(super) async fn ungrantable<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    link: Link,
    id: Option<i64>,
    ids: &[i64],
    options: &Choices,
    held: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    let existing = match id {
        Some(id) => store.linked(link, id).await?,
        None => Vec::new(),
    };
    let added: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|t| !existing.contains(t))
        .collect();
    let mut lacking = BTreeSet::new();
    if added.is_empty() {
        return Ok(lacking);
    }
    for target in added {
        let grants = match link.kinds().1 {
            EntityKind::Permission => options
                .iter()
                .filter(|(v, _)| *v == target.to_string())
                .map(|(_, token)| token.clone())
                .collect(),
            EntityKind::Bundle => store.bundle_permissions(target).await?,
            EntityKind::Group => store.group_permissions(target).await?,
            _ => BTreeSet::new(),
        };
        lacking.extend(grants.difference(held).cloned());
    }
    Ok(lacking)
}
