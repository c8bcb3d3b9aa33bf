//! The audit page (`/audit`): the audit trail on the CRUD grid, filtered by
//! user and event kind, sorted, paged and exported like the other grids.

use crate::core::backend::Backend;
use crate::core::entity::{AuthEntity, EntitySet, UserEntity};
use crate::core::error::Result;
use crate::core::store::Store;
use crate::services::i18n::Translator;
use crate::web::crud::{
    BoxFuture, CrudCx, CrudSource, GridColumn, GridFilter, GridPage, GridQuery, GridRow,
};
use std::collections::HashMap;

use crate::core::audit::{kinds, AuditFilter, AuditRecord, Subject};

pub(super) struct Audit<DB: Backend, E: EntitySet> {
    pub(super) store: Store<DB, E>,
}

/// The catalog key of an event kind's label (kegauth's kinds; an app's own
/// kinds show as they are).
fn kind_label(tr: &Translator, kind: &str) -> String {
    if kinds::ALL.contains(&kind) {
        tr.t(&format!("audit-kind-{kind}"))
    } else {
        kind.to_string()
    }
}

impl<DB: Backend, E: EntitySet> Audit<DB, E> {
    /// The user the `user` filter names: `#7` or `7` by id, else a login id.
    /// `None` when nobody has that login id.
    async fn user_filter(&self, text: &str) -> Result<Option<i64>> {
        let by_id = text.strip_prefix('#').unwrap_or(text);
        if let Ok(id) = by_id.parse::<i64>() {
            return Ok(Some(id));
        }
        Ok(self.store.user_by_login(text).await?.map(|u| u.id()))
    }

    /// A user as a cell: their login id and id, or the id of one deleted since.
    async fn user_cell(&self, id: i64, names: &mut HashMap<i64, String>) -> Result<String> {
        if let Some(name) = names.get(&id) {
            return Ok(name.clone());
        }
        let name = match self.store.user(id).await? {
            Some(u) => format!("{} (#{id})", u.login_id()),
            None => format!("#{id}"),
        };
        names.insert(id, name.clone());
        Ok(name)
    }

    async fn row(
        &self,
        tr: &Translator,
        r: &AuditRecord,
        names: &mut HashMap<i64, String>,
    ) -> Result<GridRow> {
        let e = &r.event;
        let actor = match e.actor {
            Some(id) => self.user_cell(id, names).await?,
            None => String::new(),
        };
        let subject = match e.subject {
            Some(Subject::User(id)) => self.user_cell(id, names).await?,
            Some(Subject::Group(id)) => format!("{} #{id}", tr.t("admin-group")),
            Some(Subject::Bundle(id)) => format!("{} #{id}", tr.t("admin-bundle")),
            Some(Subject::Permission(id)) => format!("{} #{id}", tr.t("admin-permission")),
            None => String::new(),
        };
        let detail = detail_lines(&e.detail);
        Ok(GridRow::new(
            r.id,
            vec![
                e.at.map(|a| a.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                kind_label(tr, &e.kind),
                tr.t(&format!("audit-outcome-{}", e.outcome.as_str())),
                actor,
                subject,
                e.client_ip.clone().unwrap_or_default(),
                detail,
            ],
        ))
    }
}

/// An event's detail as `key: value` lines, for the grid and its exports
/// (the page escapes it): nested objects by dotted keys, a change as
/// `key: before → after`, strings as they are, lists comma-separated.
fn detail_lines(detail: &serde_json::Value) -> String {
    use serde_json::Value;
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    fn push(lines: &mut Vec<String>, key: &str, v: &Value) {
        match v {
            Value::Object(m) if m.len() == 2 && m.contains_key("from") && m.contains_key("to") => {
                lines.push(format!("{key}: {} → {}", text(&m["from"]), text(&m["to"])))
            }
            Value::Object(m) => {
                for (k, v) in m {
                    push(lines, &format!("{key}.{k}"), v);
                }
            }
            other => lines.push(format!("{key}: {}", text(other))),
        }
    }
    match detail {
        Value::Object(m) => {
            let mut lines = Vec::new();
            for (k, v) in m {
                push(&mut lines, k, v);
            }
            lines.join("\n")
        }
        Value::Null => String::new(),
        other => text(other),
    }
}

impl<DB: Backend, E: EntitySet> CrudSource for Audit<DB, E> {
    fn names(&self) -> (&str, &str) {
        ("audit-event", "audit-events")
    }

    fn columns(&self) -> Vec<GridColumn> {
        let mut cols = vec![
            GridColumn::new("occurred_at", "audit-time"),
            GridColumn::new("kind", "audit-kind"),
            GridColumn::new("outcome", "audit-outcome"),
            GridColumn::new("actor_id", "audit-actor"),
            GridColumn::new("subject_id", "audit-subject"),
            GridColumn::new("client_ip", "audit-client"),
            GridColumn::new("detail", "audit-detail"),
        ];
        if let Some(detail) = cols.last_mut() {
            detail.sortable = false;
        }
        cols
    }

    fn filters(&self) -> Vec<GridFilter> {
        let kinds: Vec<(String, String)> = kinds::ALL
            .iter()
            .map(|k| (k.to_string(), format!("audit-kind-{k}")))
            .collect();
        vec![
            GridFilter::text("user", "audit-user"),
            GridFilter {
                key: "kind".into(),
                label: "audit-kind".into(),
                options: kinds,
            },
        ]
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let mut filter = AuditFilter {
                kind: query.params.get("kind").cloned(),
                text: Some(query.filter.clone()).filter(|t| !t.is_empty()),
                sort: query.sort.clone(),
                ascending: !query.descending,
                limit: Some(query.per_page),
                offset: u32::try_from(query.offset()).ok(),
                ..AuditFilter::default()
            };
            if let Some(user) = query.params.get("user") {
                match self.user_filter(user).await? {
                    Some(id) => filter.user = Some(id),
                    // Nobody by that name: no events.
                    None => {
                        return Ok(GridPage {
                            rows: Vec::new(),
                            total: 0,
                        })
                    }
                }
            }
            let total = self.store.count_audit_events(&filter).await?;
            let mut rows = Vec::new();
            let mut names = HashMap::new();
            // A CSV export asks for more than one call returns: page through.
            let mut left = query.per_page;
            while left > 0 {
                filter.limit = Some(left.min(10_000));
                let page = self.store.audit_events(&filter).await?;
                let n = page.len() as u32;
                for r in &page {
                    rows.push(self.row(&cx.tr, r, &mut names).await?);
                }
                if n < filter.limit.unwrap_or(0) {
                    break;
                }
                left -= n;
                filter.offset = Some(filter.offset.unwrap_or(0).saturating_add(n));
            }
            Ok(GridPage { rows, total })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::detail_lines;
    use serde_json::json;

    #[test]
    fn details_read_as_key_value_lines() {
        assert_eq!(
            detail_lines(&json!({"method": "oauth", "attempts": 3, "who": {"id": 1}})),
            "attempts: 3\nmethod: oauth\nwho.id: 1"
        );
        assert_eq!(
            detail_lines(&json!({"changed": {
                "email": {"from": "", "to": "ann@example.com"},
                "group_ids": {"from": [], "to": ["Analysts", "Ops"]},
            }})),
            "changed.email:  → ann@example.com\nchanged.group_ids:  → Analysts, Ops"
        );
        assert_eq!(detail_lines(&json!({})), "");
        assert_eq!(detail_lines(&json!(null)), "");
        assert_eq!(detail_lines(&json!("x")), "x");
    }
}
