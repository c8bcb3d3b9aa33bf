//! Logged-in sessions as records (`kegauth_sessions`): one row per login,
//! named by the session cookie. A user sees and ends their sessions on the
//! account page; an admin ends them all from the user's page.
//!
//! A request checks its row at most once per session-cache period (the check
//! rides the session cache's entry of the user); the row's last-seen time is
//! written at most once a minute. Ending a row is a write to that user, so
//! it takes effect at once here and, on PostgreSQL, on every instance.

use super::*;
use crate::core::ddl::SESSIONS;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use rand::RngCore;

/// Seconds between two writes of a session's last-seen time (at most).
pub const TOUCH_SECS: i64 = 60;
/// Longest user agent kept (the column's size).
const USER_AGENT_MAX: usize = 255;

/// One logged-in session, as the account page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The row's id (random; the session cookie names it).
    pub id: String,
    /// Whose session it is.
    pub user_id: i64,
    /// When the login happened (UTC).
    pub created_at: NaiveDateTime,
    /// When the session was last used (UTC, to the minute).
    pub last_seen_at: NaiveDateTime,
    /// When a remembered session ends (UTC); `None`: it ends with the browser.
    pub expires_at: Option<NaiveDateTime>,
    /// The browser's `User-Agent` at login.
    pub user_agent: Option<String>,
    /// The client's address at login (by the trusted-proxy rules).
    pub client_ip: Option<String>,
    session_key: String,
}

impl SessionRecord {
    /// Whether this is a remembered ("remember me") session.
    pub fn remembered(&self) -> bool {
        self.expires_at.is_some()
    }
}

/// A session to record at login.
#[derive(Clone, Debug, Default)]
pub struct NewSession<'a> {
    /// Who logged in.
    pub user_id: i64,
    /// Their session key (the row dies when it rotates).
    pub session_key: &'a str,
    /// For "remember me": when the session ends.
    pub remember_until: Option<NaiveDateTime>,
    /// The browser's `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// The client's address.
    pub client_ip: Option<&'a str>,
}

pub use crate::core::config::SessionLimits;

/// Whether `record`, under the user's current `key`, is alive at `now` by `limits`.
fn alive(limits: &SessionLimits, record: &SessionRecord, key: &str, now: NaiveDateTime) -> bool {
    if record.session_key != key {
        return false;
    }
    if let Some(until) = record.expires_at {
        return until > now;
    }
    let within = |since: NaiveDateTime, secs: i64| secs == 0 || (now - since).num_seconds() <= secs;
    // Last-seen lags up to a minute behind the last request.
    let idle = match limits.idle_secs {
        0 => 0,
        secs => i64::from(secs) + TOUCH_SECS,
    };
    within(record.created_at, i64::from(limits.absolute_secs)) && within(record.last_seen_at, idle)
}

fn new_id() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

const COLUMNS: [&str; 8] = [
    "id",
    "user_id",
    "session_key",
    "created_at",
    "last_seen_at",
    "expires_at",
    "user_agent",
    "client_ip",
];

const OUT: [OutCol; 8] = [
    OutCol { kind: Kind::Text },
    OutCol { kind: Kind::Int },
    OutCol { kind: Kind::Text },
    OutCol {
        kind: Kind::DateTime,
    },
    OutCol {
        kind: Kind::DateTime,
    },
    OutCol {
        kind: Kind::DateTime,
    },
    OutCol { kind: Kind::Text },
    OutCol { kind: Kind::Text },
];

fn from_row(row: Vec<Value>) -> Option<SessionRecord> {
    let mut it = row.into_iter();
    let text = |v: Option<Value>| match v {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    };
    let when = |v: Option<Value>| match v {
        Some(Value::DateTime(t)) => Some(t),
        _ => None,
    };
    let id = text(it.next())?;
    let user_id = match it.next() {
        Some(Value::Int(n)) => n,
        _ => return None,
    };
    Some(SessionRecord {
        id,
        user_id,
        session_key: text(it.next())?,
        created_at: when(it.next())?,
        last_seen_at: when(it.next())?,
        expires_at: when(it.next()),
        user_agent: text(it.next()),
        client_ip: text(it.next()),
    })
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    fn select_sessions(column: &str, bind: impl FnOnce(&mut Sql<DB>)) -> Sql<DB> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.idents(COLUMNS)
            .push(" FROM ")
            .ident(SESSIONS)
            .push(" WHERE ")
            .ident(column)
            .push(" = ");
        bind(&mut sql);
        sql
    }

    async fn fetch_sessions(&self, sql: Sql<DB>) -> Result<Vec<SessionRecord>> {
        let rows = DB::fetch(&mut *self.conn().await?, &sql.text, sql.args, &OUT).await?;
        Ok(rows.into_iter().filter_map(from_row).collect())
    }

    /// `DELETE` of `user_id`'s row `id`.
    fn delete_session(user_id: i64, id: &str) -> Sql<DB> {
        let mut sql = Self::delete_sessions_where(user_id);
        sql.push(" AND ").ident("id").push(" = ").bind_text(id);
        sql
    }

    fn delete_sessions_where(user_id: i64) -> Sql<DB> {
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(SESSIONS)
            .push(" WHERE ")
            .ident("user_id")
            .push(" = ")
            .bind_int(user_id);
        sql
    }

    /// Record a login; the new row's id (for the session cookie). The
    /// user's dead rows (under an older key, or past their limits) go.
    pub async fn start_session(
        &self,
        new: &NewSession<'_>,
        limits: SessionLimits,
    ) -> Result<String> {
        let now = self.now();
        // The user's dead rows go first: one statement, whatever their number.
        let mut sql = Self::delete_sessions_where(new.user_id);
        sql.push(" AND (").ident("session_key").push(" <> ");
        sql.bind_text(new.session_key).push(" OR ");
        Self::push_dead(&mut sql, limits, now);
        sql.push(")");
        let mut conn = self.conn().await?;
        DB::execute(&mut conn, &sql.text, sql.args).await?;
        let id = new_id();
        let text_or_null = |v: Option<&str>, max: usize| match v {
            Some(s) if !s.is_empty() => Value::Text(s.chars().take(max).collect::<String>()),
            _ => Value::Null,
        };
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(SESSIONS)
            .push(" (")
            .idents(COLUMNS)
            .push(") VALUES (");
        sql.bind_text(&id)
            .push(", ")
            .bind_int(new.user_id)
            .push(", ");
        sql.bind_text(new.session_key).push(", ");
        sql.bind(Value::DateTime(now), Kind::DateTime).push(", ");
        sql.bind(Value::DateTime(now), Kind::DateTime).push(", ");
        let until = new.remember_until.map_or(Value::Null, Value::DateTime);
        sql.bind(until, Kind::DateTime).push(", ");
        sql.bind(text_or_null(new.user_agent, USER_AGENT_MAX), Kind::Text)
            .push(", ");
        sql.bind(text_or_null(new.client_ip, 64), Kind::Text)
            .push(")");
        DB::execute(&mut conn, &sql.text, sql.args).await?;
        Ok(id)
    }

    /// The session row `id`, if it exists.
    pub async fn session_record(&self, id: &str) -> Result<Option<SessionRecord>> {
        let sql = Self::select_sessions("id", |s| {
            s.bind_text(id);
        });
        Ok(self.fetch_sessions(sql).await?.into_iter().next())
    }

    /// Whether session row `id` still stands for the session key `key`
    /// (not ended, not past its remembered end), asking the database at most
    /// once per session-cache period; its last-seen time is written when a
    /// minute has passed. Call it after loading the user by `key` (the
    /// answer is kept with that user's cache entry).
    pub async fn session_alive(&self, key: &str, id: &str) -> Result<bool> {
        if self.sessions.user_with_row(key, id).is_some() {
            return Ok(true);
        }
        let generation = self.sessions.generation();
        let now = self.now();
        let Some(record) = self.session_record(id).await? else {
            return Ok(false);
        };
        if record.session_key != key || record.expires_at.is_some_and(|t| t <= now) {
            return Ok(false);
        }
        if (now - record.last_seen_at).num_seconds() >= TOUCH_SECS {
            // Not a rights change: no commit, no announcement, no eviction.
            let mut sql = Sql::<DB>::new("UPDATE ");
            sql.ident(SESSIONS)
                .push(" SET ")
                .ident("last_seen_at")
                .push(" = ");
            sql.bind(Value::DateTime(now), Kind::DateTime)
                .push(" WHERE ")
                .ident("id")
                .push(" = ")
                .bind_text(id);
            DB::execute(&mut *self.conn().await?, &sql.text, sql.args).await?;
        }
        self.sessions.put_row(key, id, generation);
        Ok(true)
    }

    /// `user_id`'s live sessions under their current `key`, the latest
    /// used first.
    pub async fn user_sessions(
        &self,
        user_id: i64,
        key: &str,
        limits: SessionLimits,
    ) -> Result<Vec<SessionRecord>> {
        let now = self.now();
        let mut live: Vec<SessionRecord> = self
            .fetch_sessions(Self::select_sessions("user_id", |s| {
                s.bind_int(user_id);
            }))
            .await?
            .into_iter()
            .filter(|r| alive(&limits, r, key, now))
            .collect();
        live.sort_by_key(|r| std::cmp::Reverse((r.last_seen_at, r.created_at)));
        Ok(live)
    }

    /// End `user_id`'s session `id` (that device is logged out at its next
    /// request); whether there was one.
    pub async fn end_session(&self, user_id: i64, id: &str) -> Result<bool> {
        let sql = Self::delete_session(user_id, id);
        let audit = (Some(user_id), serde_json::json!({ "session": id }));
        Ok(self.end_sessions(user_id, sql, Some(audit)).await? == 1)
    }

    /// End `user_id`'s session `id` at its logout (recorded as a logout, not
    /// here); whether there was one.
    pub async fn log_out_session(&self, user_id: i64, id: &str) -> Result<bool> {
        let sql = Self::delete_session(user_id, id);
        Ok(self.end_sessions(user_id, sql, None).await? == 1)
    }

    /// End every session of `user_id` but `keep` (their current one); how
    /// many ended.
    pub async fn end_other_sessions(&self, user_id: i64, keep: &str) -> Result<u64> {
        let mut sql = Self::delete_sessions_where(user_id);
        sql.push(" AND ").ident("id").push(" <> ").bind_text(keep);
        let audit = (Some(user_id), serde_json::json!({ "others": true }));
        self.end_sessions(user_id, sql, Some(audit)).await
    }

    /// End every session of `user` (an admin's "End all sessions"): the
    /// rows go and the session key rotates, so API tokens' and JWTs' logins
    /// end too. `actor` is who did it.
    pub async fn end_all_sessions(&self, user: &mut U<E>, actor: Option<i64>) -> Result<u64> {
        self.rotate_session_key(user).await?;
        let sql = Self::delete_sessions_where(user.id());
        let audit = (actor, serde_json::json!({ "all": true }));
        self.end_sessions(user.id(), sql, Some(audit)).await
    }

    /// Run `sql`, a DELETE of `user_id`'s rows, as a write to that user
    /// (dropped from the session caches here and, on PostgreSQL, on every
    /// instance); recorded as `sessions-ended` by `audit`'s actor with its
    /// detail (none: the caller records it otherwise). How many rows went.
    async fn end_sessions(
        &self,
        user_id: i64,
        sql: Sql<DB>,
        audit: Option<(Option<i64>, serde_json::Value)>,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let gone = DB::execute(&mut tx, &sql.text, sql.args).await?;
        self.commit(tx, Notice::Users(&[user_id])).await?;
        let Some((actor, detail)) = audit else {
            return Ok(gone);
        };
        if gone > 0 || actor != Some(user_id) {
            let mut detail = detail;
            if let serde_json::Value::Object(map) = &mut detail {
                map.insert("sessions".into(), gone.into());
            }
            let mut event = crate::core::audit::AuditEvent::new(
                crate::core::audit::kinds::SESSIONS_ENDED,
                crate::core::audit::Outcome::Success,
            )
            .subject(crate::core::audit::Subject::User(user_id))
            .detail(detail);
            event.actor = actor;
            self.audit(event);
        }
        Ok(gone)
    }

    /// `sql` goes on with the condition of a row dead at `now` whatever its
    /// key (the SQL of [`alive`]'s other tests): past its remembered end, or
    /// (not remembered) past `limits`.
    fn push_dead(sql: &mut Sql<DB>, limits: SessionLimits, now: NaiveDateTime) {
        sql.ident("expires_at").push(" <= ");
        sql.bind(Value::DateTime(now), Kind::DateTime);
        let ago = |secs: i64| Value::DateTime(now - chrono::TimeDelta::seconds(secs));
        if limits.absolute_secs > 0 {
            sql.push(" OR (").ident("expires_at").push(" IS NULL AND ");
            sql.ident("created_at").push(" < ");
            sql.bind(ago(i64::from(limits.absolute_secs)), Kind::DateTime)
                .push(")");
        }
        if limits.idle_secs > 0 {
            // Last-seen lags up to a minute behind the last request.
            sql.push(" OR (").ident("expires_at").push(" IS NULL AND ");
            sql.ident("last_seen_at").push(" < ");
            let idle = i64::from(limits.idle_secs) + TOUCH_SECS;
            sql.bind(ago(idle), Kind::DateTime).push(")");
        }
    }

    /// Delete every dead session row, of any user: under a session key its
    /// user no longer holds, past its remembered end, or (not remembered)
    /// past `limits`; how many went (`auth purge-sessions`). A user's own
    /// dead rows also go at their next login.
    pub async fn purge_sessions(&self, limits: SessionLimits) -> Result<u64> {
        let now = self.now();
        let users = schema_of::<U<E>>();
        let key = users.require(Role::Core(CoreField::SessionKey))?.name;
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(SESSIONS)
            .push(" WHERE NOT EXISTS (SELECT 1 FROM ");
        sql.ident(users.table).push(" u WHERE ");
        sql.qualified("u", users.id_column()).push(" = ");
        sql.ident(SESSIONS).push(".").ident("user_id").push(" AND ");
        sql.qualified("u", key).push(" = ");
        sql.ident(SESSIONS)
            .push(".")
            .ident("session_key")
            .push(") OR ");
        Self::push_dead(&mut sql, limits, now);
        Ok(DB::execute(&mut *self.conn().await?, &sql.text, sql.args).await?)
    }

    /// Carry session row `id` over to the user's new session key (their
    /// own change rotated it and this session goes on).
    pub async fn rekey_session(&self, id: &str, key: &str) -> Result<()> {
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(SESSIONS)
            .push(" SET ")
            .ident("session_key")
            .push(" = ")
            .bind_text(key)
            .push(" WHERE ")
            .ident("id")
            .push(" = ")
            .bind_text(id);
        DB::execute(&mut *self.conn().await?, &sql.text, sql.args).await?;
        Ok(())
    }

    /// Check at launch that the sessions table can be read.
    pub async fn check_sessions_table(&self) -> Result<()> {
        self.check_readable(SESSIONS, &COLUMNS, "logins are recorded as sessions")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .expect("a valid time")
    }

    fn record(created: NaiveDateTime, seen: NaiveDateTime) -> SessionRecord {
        SessionRecord {
            id: "r".into(),
            user_id: 1,
            created_at: created,
            last_seen_at: seen,
            expires_at: None,
            user_agent: None,
            client_ip: None,
            session_key: "k".into(),
        }
    }

    #[test]
    fn a_row_lives_by_its_key_its_timeouts_or_its_remembered_end() {
        let limits = SessionLimits {
            idle_secs: 1800,
            absolute_secs: 12 * 3600,
        };
        let r = record(at(8, 0, 0), at(9, 0, 0));
        assert!(alive(&limits, &r, "k", at(9, 30, 0)));
        assert!(!alive(&limits, &r, "rotated", at(9, 30, 0)));
        // Idle: 30 minutes, plus the minute last-seen may lag behind.
        assert!(alive(&limits, &r, "k", at(9, 31, 0)));
        assert!(!alive(&limits, &r, "k", at(9, 31, 1)));
        // Absolute: 12 hours from the login.
        let busy = record(at(8, 0, 0), at(20, 0, 0));
        assert!(!alive(&limits, &busy, "k", at(20, 0, 1)));
        let off = SessionLimits::default();
        assert!(alive(&off, &busy, "k", at(23, 0, 0)));
        // Remembered: its own end, whatever the timeouts.
        let remembered = SessionRecord {
            expires_at: Some(at(22, 0, 0)),
            ..record(at(8, 0, 0), at(8, 0, 0))
        };
        assert!(remembered.remembered());
        assert!(alive(&limits, &remembered, "k", at(21, 59, 59)));
        assert!(!alive(&limits, &remembered, "k", at(22, 0, 0)));
    }
}
