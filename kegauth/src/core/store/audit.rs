//! The audit trail: recording, listing, verifying and purging rows of the
//! `kegauth_audit_events` table (see [`crate::audit`]).

use super::*;
use crate::core::audit::{
    chain_hash, kinds, AuditEvent, AuditFilter, AuditRecord, ChainReport, Outcome,
    Subject as AuditSubject, GENESIS,
};
use crate::core::ddl::AUDIT_EVENTS;
use chrono::{NaiveDateTime, Timelike};

/// Longest `detail` kept, serialized.
const MAX_DETAIL_BYTES: usize = 8 * 1024;

/// How often a write retries when another writer took the same link.
const CHAIN_TRIES: usize = 50;

/// Rows read per statement when verifying.
const VERIFY_PAGE: u32 = 1000;

const COLUMNS: [(&str, Kind); 11] = [
    ("id", Kind::Int),
    ("occurred_at", Kind::DateTime),
    ("kind", Kind::Text),
    ("actor_id", Kind::Int),
    ("subject_kind", Kind::Text),
    ("subject_id", Kind::Int),
    ("client_ip", Kind::Text),
    ("outcome", Kind::Text),
    ("detail", Kind::Text),
    ("prev_hash", Kind::Text),
    ("hash", Kind::Text),
];

fn whole_seconds(at: NaiveDateTime) -> NaiveDateTime {
    at.with_nanosecond(0).unwrap_or(at)
}

fn text_of(v: Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t),
        Value::Bytes(b) => String::from_utf8(b).ok(),
        _ => None,
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

/// A stored row as a record, with its detail text as stored (the hash
/// covers that text, not a re-serialization).
fn record_of(row: Vec<Value>) -> Option<(AuditRecord, String)> {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(Value::Null);
    let id = int_of(&next())?;
    let at = match next() {
        Value::DateTime(d) => d,
        _ => return None,
    };
    let kind = text_of(next())?;
    let actor = int_of(&next());
    let subject_kind = text_of(next());
    let subject_id = int_of(&next());
    let client_ip = text_of(next());
    let outcome = text_of(next())?;
    let detail_text = text_of(next())?;
    let prev_hash = text_of(next())?;
    let hash = text_of(next())?;
    let subject = match (subject_kind, subject_id) {
        (Some(k), Some(i)) => Some(AuditSubject::from_parts(&k, i)?),
        _ => None,
    };
    let event = AuditEvent {
        at: Some(at),
        kind,
        actor,
        subject,
        client_ip,
        outcome: Outcome::parse(&outcome)?,
        detail: serde_json::from_str(&detail_text).ok()?,
    };
    Some((
        AuditRecord {
            id,
            event,
            prev_hash,
            hash,
        },
        detail_text,
    ))
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    fn audit_select() -> Sql<DB> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.idents(COLUMNS.iter().map(|c| c.0))
            .push(" FROM ")
            .ident(AUDIT_EVENTS);
        sql
    }

    async fn audit_rows(
        conn: &mut DB::Connection,
        sql: Sql<DB>,
    ) -> Result<Vec<(AuditRecord, String)>> {
        let out: Vec<OutCol> = COLUMNS.iter().map(|c| OutCol { kind: c.1 }).collect();
        let rows = DB::fetch(conn, &sql.text, sql.args, &out).await?;
        rows.into_iter()
            .map(|row| {
                record_of(row).ok_or_else(|| {
                    Error::Invalid(format!("a row of {AUDIT_EVENTS} that kegauth cannot read"))
                })
            })
            .collect()
    }

    /// The hash of the newest row, or [`GENESIS`] when there is none.
    async fn audit_head(conn: &mut DB::Connection) -> Result<String> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("hash")
            .push(" FROM ")
            .ident(AUDIT_EVENTS)
            .push(" ORDER BY ")
            .ident("id")
            .push(" DESC LIMIT 1");
        Ok(Self::texts(conn, sql)
            .await?
            .pop()
            .unwrap_or_else(|| GENESIS.to_string()))
    }

    /// Append `event` to the audit trail, chained to the newest row. Its
    /// time is the store's clock unless `event.at` is set (whole seconds
    /// either way). Several writers at once (other instances of the app
    /// too) each get their own link: `UNIQUE (prev_hash)` refuses a second
    /// row on the same link, and the loser reads the new head and tries
    /// again.
    ///
    /// [`Error::Invalid`] for a kind that is empty or longer than 64 bytes,
    /// a client address longer than 64, or a detail over 8 KiB.
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<AuditRecord> {
        if event.kind.is_empty() || event.kind.len() > 64 {
            return Err(Error::Invalid(
                "an audit event kind has 1 to 64 bytes".into(),
            ));
        }
        if event.client_ip.as_ref().is_some_and(|ip| ip.len() > 64) {
            return Err(Error::Invalid(
                "an audit event's client address has at most 64 bytes".into(),
            ));
        }
        let detail = event.detail.to_string();
        if detail.len() > MAX_DETAIL_BYTES {
            return Err(Error::Invalid(format!(
                "an audit event's detail has at most {MAX_DETAIL_BYTES} bytes"
            )));
        }
        let at = whole_seconds(event.at.unwrap_or_else(|| self.now()));
        let subject = event.subject.map(AuditSubject::parts);
        let mut conn = self.conn().await?;
        for _ in 0..CHAIN_TRIES {
            let prev = Self::audit_head(&mut conn).await?;
            let hash = chain_hash(&prev, event, at, &detail);
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(AUDIT_EVENTS)
                .push(" (")
                .idents(COLUMNS[1..].iter().map(|c| c.0))
                .push(") VALUES (")
                .bind(Value::DateTime(at), Kind::DateTime)
                .push(", ")
                .bind_text(&event.kind)
                .push(", ")
                .bind(event.actor.map_or(Value::Null, Value::Int), Kind::Int)
                .push(", ")
                .bind(
                    subject.map_or(Value::Null, |s| Value::Text(s.0.into())),
                    Kind::Text,
                )
                .push(", ")
                .bind(subject.map_or(Value::Null, |s| Value::Int(s.1)), Kind::Int)
                .push(", ")
                .bind(
                    event.client_ip.clone().map_or(Value::Null, Value::Text),
                    Kind::Text,
                )
                .push(", ")
                .bind_text(event.outcome.as_str())
                .push(", ")
                .bind_text(&detail)
                .push(", ")
                .bind_text(&prev)
                .push(", ")
                .bind_text(&hash)
                .push(")");
            match DB::insert(&mut conn, &sql.text, sql.args, "id").await {
                Ok(id) => {
                    let mut event = event.clone();
                    event.at = Some(at);
                    return Ok(AuditRecord {
                        id,
                        event,
                        prev_hash: prev,
                        hash,
                    });
                }
                Err(e) if Error::is_unique_violation(&e) => continue,
                Err(e) => return Err(Error::Database(e)),
            }
        }
        Err(Error::Conflict(
            "the audit trail is being written by too many at once".into(),
        ))
    }

    /// `WHERE ...` for what `filter` selects (always a WHERE clause).
    fn audit_where(sql: &mut Sql<DB>, filter: &AuditFilter) {
        sql.push(" WHERE 1 = 1");
        if let Some(user) = filter.user {
            sql.push(" AND (")
                .ident("actor_id")
                .push(" = ")
                .bind_int(user)
                .push(" OR (")
                .ident("subject_kind")
                .push(" = ")
                .bind_text("user")
                .push(" AND ")
                .ident("subject_id")
                .push(" = ")
                .bind_int(user)
                .push("))");
        }
        if let Some(kind) = &filter.kind {
            sql.push(" AND ").ident("kind").push(" = ").bind_text(kind);
        }
        if let Some(since) = filter.since {
            sql.push(" AND ")
                .ident("occurred_at")
                .push(" >= ")
                .bind(Value::DateTime(since), Kind::DateTime);
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
            let text: String = text.chars().take(super::grid::MAX_FILTER_CHARS).collect();
            let pattern = super::grid::contains_pattern(&text);
            sql.push(" AND (");
            for (i, col) in ["kind", "client_ip", "detail"].iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("LOWER(").ident(col).push(") LIKE ");
                sql.bind_text(&pattern).push(" ESCAPE '!'");
            }
            sql.push(")");
        }
    }

    /// The events `filter` selects, newest first unless it sorts otherwise
    /// (at most 100 unless `filter.limit` says otherwise, and never more
    /// than 10,000 per call: page with `offset`).
    pub async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut sql = Self::audit_select();
        Self::audit_where(&mut sql, filter);
        let limit = filter.limit.unwrap_or(100).min(10_000);
        sql.push(" ORDER BY ");
        let sort = filter
            .sort
            .as_deref()
            .and_then(|s| crate::core::audit::SORTABLE.iter().find(|c| **c == s));
        if let Some(col) = sort {
            // NULLs last either way, as on the other grids.
            sql.push("CASE WHEN ")
                .ident(col)
                .push(" IS NULL THEN 1 ELSE 0 END, ")
                .ident(col)
                .push(if filter.ascending {
                    " ASC, "
                } else {
                    " DESC, "
                });
        }
        sql.ident("id").push(&format!(
            " DESC LIMIT {limit} OFFSET {}",
            filter.offset.unwrap_or(0)
        ));
        let rows = Self::audit_rows(&mut *self.conn().await?, sql).await?;
        Ok(rows.into_iter().map(|(r, _)| r).collect())
    }

    /// How many events `filter` selects (its limit and offset aside).
    pub async fn count_audit_events(&self, filter: &AuditFilter) -> Result<u64> {
        let mut sql = Sql::<DB>::new("SELECT COUNT(*) FROM ");
        sql.ident(AUDIT_EVENTS);
        Self::audit_where(&mut sql, filter);
        let rows = DB::fetch(
            &mut *self.conn().await?,
            &sql.text,
            sql.args,
            &[OutCol { kind: Kind::Int }],
        )
        .await?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        })
    }

    /// Walk the audit trail in id order and report the first broken link: a
    /// row whose hash does not match its fields (it was changed), or whose
    /// `prev_hash` is not the hash of the row before (one was removed or
    /// added). The oldest row must start the chain, or follow rows that
    /// [`purge_audit`](Self::purge_audit) deleted and recorded.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport> {
        let mut conn = self.conn().await?;
        let mut report = ChainReport::default();
        let mut prev: Option<String> = None;
        let mut after = i64::MIN;
        let anchors = self.purge_anchors(&mut conn).await?;
        loop {
            let mut sql = Self::audit_select();
            sql.push(" WHERE ")
                .ident("id")
                .push(" > ")
                .bind_int(after)
                .push(" ORDER BY ")
                .ident("id")
                .push(&format!(" LIMIT {VERIFY_PAGE}"));
            let rows = Self::audit_rows(&mut conn, sql).await?;
            let n = rows.len();
            for (record, detail) in rows {
                report.rows += 1;
                after = record.id;
                let linked = match &prev {
                    Some(p) => *p == record.prev_hash,
                    None => record.prev_hash == GENESIS || anchors.contains(&record.prev_hash),
                };
                let at = record.event.at.unwrap_or_default();
                let intact =
                    chain_hash(&record.prev_hash, &record.event, at, &detail) == record.hash;
                if !(linked && intact) {
                    report.first_broken = Some(record.id);
                    return Ok(report);
                }
                prev = Some(record.hash);
            }
            if n < VERIFY_PAGE as usize {
                return Ok(report);
            }
        }
    }

    /// The links that purges left as the start of the trail.
    async fn purge_anchors(&self, conn: &mut DB::Connection) -> Result<BTreeSet<String>> {
        let mut sql = Self::audit_select();
        sql.push(" WHERE ")
            .ident("kind")
            .push(" = ")
            .bind_text(kinds::AUDIT_PURGED);
        Ok(Self::audit_rows(conn, sql)
            .await?
            .into_iter()
            .filter_map(|(r, _)| r.event.detail.get("anchor")?.as_str().map(String::from))
            .collect())
    }

    /// Delete the events older than `before`, and record that (an
    /// [`kinds::AUDIT_PURGED`] event by `actor`, with how many rows went and
    /// the link the trail now starts from, so that
    /// [`verify_audit_chain`](Self::verify_audit_chain) still holds).
    /// Returns how many rows were deleted.
    pub async fn purge_audit(&self, before: NaiveDateTime, actor: Option<i64>) -> Result<u64> {
        let mut conn = self.conn().await?;
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(AUDIT_EVENTS)
            .push(" WHERE ")
            .ident("occurred_at")
            .push(" < ")
            .bind(Value::DateTime(whole_seconds(before)), Kind::DateTime);
        let deleted = DB::execute(&mut conn, &sql.text, sql.args).await?;
        let mut first = Self::audit_select();
        first.push(" ORDER BY ").ident("id").push(" LIMIT 1");
        let anchor = match Self::audit_rows(&mut conn, first).await?.pop() {
            Some((r, _)) => r.prev_hash,
            None => Self::audit_head(&mut conn).await?,
        };
        drop(conn);
        let mut event =
            AuditEvent::new(kinds::AUDIT_PURGED, Outcome::Success).detail(serde_json::json!({
                "deleted": deleted,
                "before": whole_seconds(before).format("%Y-%m-%dT%H:%M:%S").to_string(),
                "anchor": anchor,
            }));
        event.actor = actor;
        self.record_audit(&event).await?;
        Ok(deleted)
    }
}
