//! What a CRUD save or delete changed, as audit events (see [`crate::audit`]).

use super::{CrudCx, FieldKind, FormField, FormInput, SourceRef};
use crate::authz::admin_rules::Section;
use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
use serde_json::json;
use std::collections::BTreeMap;

/// A form's values as the audit trail records them: checkboxes as booleans,
/// multi-selects as the labels of the chosen options, other fields as text;
/// never a password.
fn shown_values(fields: &[FormField]) -> BTreeMap<String, serde_json::Value> {
    fields
        .iter()
        .filter(|f| f.kind != FieldKind::Password)
        .map(|f| {
            let value = match f.kind {
                FieldKind::Checkbox => json!(!f.value.is_empty()),
                FieldKind::MultiSelect => {
                    let mut chosen: Vec<&str> = f
                        .options
                        .iter()
                        .filter(|(v, _)| f.selected.contains(v))
                        .map(|(_, label)| label.as_str())
                        .collect();
                    chosen.sort_unstable();
                    json!(chosen)
                }
                _ => json!(f.value),
            };
            (f.name.clone(), value)
        })
        .collect()
}

/// An event of `kind` about record `id` of this view: its subject when
/// it is one of kegauth's sections, else the view's path and the id.
/// (`view` is the view's base path and source.)
pub(super) fn event(view: (&str, &SourceRef), kind: &str, id: i64) -> AuditEvent {
    let (base, source) = view;
    let event = AuditEvent::new(kind, Outcome::Success);
    match source {
        SourceRef::Builtin(section, _) => {
            let subject = match section {
                Section::Users => Some(Subject::User(id)),
                Section::Groups => Some(Subject::Group(id)),
                Section::Bundles => Some(Subject::Bundle(id)),
                Section::Permissions => Some(Subject::Permission(id)),
                Section::Audit => None,
            };
            let mut event = event.detail(json!({ "section": section.path() }));
            event.subject = subject;
            event
        }
        SourceRef::Custom(_) => event.detail(json!({ "view": base, "id": id })),
    }
}

/// Record an add or edit with the fields it changed: names with the
/// values before and after, except passwords, which show only that they
/// were set. A save that changed nothing is not recorded.
pub(super) fn record_save(
    view: (&str, &SourceRef),
    cx: &CrudCx<'_>,
    edit: bool,
    id: i64,
    before: &[FormField],
    after: &[FormField],
    input: &FormInput,
) {
    let old = shown_values(before);
    let mut changed = serde_json::Map::new();
    for (name, new) in shown_values(after) {
        let was = old.get(&name).cloned().unwrap_or(serde_json::Value::Null);
        if was != new {
            changed.insert(name, json!({ "from": was, "to": new }));
        }
    }
    let mut secrets = Vec::new();
    for f in after.iter().chain(before) {
        let given = input.get(&f.name).is_some_and(|v| !v.is_empty());
        if f.kind == FieldKind::Password && given && !secrets.contains(&f.name) {
            secrets.push(f.name.clone());
        }
    }
    // The confirmation is the same password, not a second one.
    secrets.retain(|n| n != "confirm");
    for name in &secrets {
        changed.insert(name.clone(), json!({ "set": true }));
    }
    if edit && changed.is_empty() {
        return;
    }
    let kind = if edit {
        kinds::ADMIN_EDIT
    } else {
        kinds::ADMIN_CREATE
    };
    let label = after.iter().find(|f| f.required).map(|f| f.value.clone());
    let event = event(view, kind, id).detail_merged(json!({ "label": label, "changed": changed }));
    let is_user = matches!(view.1, SourceRef::Builtin(Section::Users, _));
    cx.audit(event);
    if is_user && !secrets.is_empty() {
        cx.audit(
            AuditEvent::new(kinds::PASSWORD_SET, Outcome::Success)
                .subject(Subject::User(id))
                .detail(json!({ "via": "admin" })),
        );
    }
}
