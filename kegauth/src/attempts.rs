//! Attempt limiting on the store: logging login, forgot and reset attempts,
//! deciding whether an input or address is locked out, and purging old rows.
//!
//! keg-auth's rules: login and forgot count the failures since the last
//! success within the timespan; reset counts every try. Once the count
//! reaches the limit, further tries are refused (and logged with
//! `is_during_lockout`) until the lockout has passed since the attempt that
//! reached it. With the IP option, attempts match by input *or* source IP.

use crate::backend::{Backend, OutCol, Sql};
use crate::config::Config;
use crate::entity::{AttemptType, AuthEntity, CoreField, EntitySet, Kind, Role, Value};
use crate::store::{Store, MAX_LOOKUP_BYTES};
use crate::{Error, Result};
use chrono::{NaiveDateTime, TimeDelta};

type A<E> = <E as EntitySet>::Attempt;

/// The numbers that limit one kind of attempt.
///
/// ```
/// use kegauth::attempts::AttemptLimits;
/// let config = kegauth::config::Config { login_attempt_limit: Some(5), ..Default::default() };
/// let login = AttemptLimits::for_kind(&config, kegauth::AttemptType::Login);
/// assert_eq!(login.limit, 5);
/// assert_eq!(login.timespan, chrono::TimeDelta::seconds(600));
/// assert!(login.by_ip);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptLimits {
    /// Failures (all tries, for reset) allowed within the timespan.
    pub limit: u32,
    /// The window the limit applies to.
    pub timespan: TimeDelta,
    /// How long a lockout lasts.
    pub lockout: TimeDelta,
    /// Match attempts by source IP as well as by input.
    pub by_ip: bool,
}

impl AttemptLimits {
    /// The configured limits for `kind` (per-kind overrides, else the general ones).
    pub fn for_kind(config: &Config, kind: AttemptType) -> Self {
        AttemptLimits {
            limit: config.attempt_limit_for(kind),
            timespan: TimeDelta::seconds(i64::from(config.attempt_timespan_for(kind))),
            lockout: TimeDelta::seconds(i64::from(config.attempt_lockout_for(kind))),
            by_ip: config.attempt_ip_limit,
        }
    }
}

/// How inputs are compared: trimmed and lowercased (logins are case-insensitive).
fn normalize(input: &str) -> String {
    input.trim().to_lowercase()
}

struct Cols {
    table: &'static str,
    input: &'static str,
    when: &'static str,
    kind: &'static str,
    kind_pg: Option<&'static str>,
    lockout: &'static str,
    success: &'static str,
    ip: &'static str,
}

fn cols<T: AuthEntity>() -> Result<Cols> {
    let s = T::schema();
    let c = |f| s.require(Role::Core(f));
    let kind = c(CoreField::AttemptType)?;
    Ok(Cols {
        table: s.table,
        input: c(CoreField::UserInput)?.name,
        when: c(CoreField::DatetimeUtc)?.name,
        kind: kind.name,
        kind_pg: kind.pg_type,
        lockout: c(CoreField::IsDuringLockout)?.name,
        success: c(CoreField::Success)?.name,
        ip: c(CoreField::SourceIp)?.name,
    })
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Log an attempt of `kind` on `input` from `ip`, at the store's clock.
    pub async fn log_attempt(
        &self,
        kind: AttemptType,
        input: &str,
        ip: Option<&str>,
        success: bool,
        during_lockout: bool,
    ) -> Result<()> {
        let mut input = normalize(input);
        // The column holds 512 characters; a longer input is logged cut short.
        if let Some((i, _)) = input.char_indices().nth(512) {
            input.truncate(i);
        }
        let c = cols::<A<E>>()?;
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(c.table).push(" (");
        for (i, col) in [c.input, c.when, c.kind, c.lockout, c.success, c.ip]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                sql.push(", ");
            }
            sql.ident(col);
        }
        sql.push(") VALUES (").bind_text(&input).push(", ");
        sql.bind(Value::DateTime(self.now()), Kind::DateTime)
            .push(", ");
        sql.bind_cast(Value::Text(kind.as_str().into()), Kind::Text, c.kind_pg);
        sql.push(", ").bind(Value::Bool(during_lockout), Kind::Bool);
        sql.push(", ")
            .bind(Value::Bool(success), Kind::Bool)
            .push(", ");
        match ip {
            Some(ip) => sql.bind_text(&ip.chars().take(50).collect::<String>()),
            None => sql.bind(Value::Null, Kind::Text),
        };
        sql.push(")");
        let mut conn = self.pool().acquire().await?;
        DB::execute(&mut conn, &sql.text, sql.args).await?;
        Ok(())
    }

    /// `WHERE type = kind AND (input = ? [OR ip = ?])`
    fn attempt_filter(
        sql: &mut Sql<DB>,
        c: &Cols,
        kind: AttemptType,
        input: &str,
        ip: Option<&str>,
    ) {
        sql.push(" WHERE ").ident(c.kind).push(" = ");
        sql.bind_cast(Value::Text(kind.as_str().into()), Kind::Text, c.kind_pg);
        sql.push(" AND (")
            .ident(c.input)
            .push(" = ")
            .bind_text(input);
        if let Some(ip) = ip {
            sql.push(" OR ").ident(c.ip).push(" = ").bind_text(ip);
        }
        sql.push(")");
    }

    async fn latest(
        conn: &mut DB::Connection,
        mut sql: Sql<DB>,
        c: &Cols,
    ) -> Result<Option<NaiveDateTime>> {
        sql.push(" ORDER BY ").ident(c.when).push(" DESC LIMIT 1");
        let rows = DB::fetch(
            conn,
            &sql.text,
            sql.args,
            &[OutCol {
                kind: Kind::DateTime,
            }],
        )
        .await?;
        Ok(rows.into_iter().next().and_then(|mut r| match r.pop() {
            Some(Value::DateTime(t)) => Some(t),
            _ => None,
        }))
    }

    /// Whether attempts of `kind` on `input` (or, with `limits.by_ip`, from
    /// `ip`) are locked out now: the next try must be refused without
    /// checking it, and logged with `during_lockout`.
    pub async fn attempt_locked_out(
        &self,
        kind: AttemptType,
        input: &str,
        ip: Option<&str>,
        limits: &AttemptLimits,
    ) -> Result<bool> {
        let c = cols::<A<E>>()?;
        let input = normalize(input);
        if input.len() > MAX_LOOKUP_BYTES {
            return Err(Error::Invalid("the input is too long".into()));
        }
        let ip = ip.filter(|_| limits.by_ip);
        let now = self.now();
        let select = |what: &str| {
            let mut sql = Sql::<DB>::new("SELECT ");
            sql.push(what).push(" FROM ").ident(c.table);
            Self::attempt_filter(&mut sql, &c, kind, &input, ip);
            sql
        };
        // One connection for the (up to) three queries of the check.
        let mut conn = self.pool().acquire().await?;
        // Login and forgot: a success starts the count again.
        let mut success_at = None;
        if kind != AttemptType::Reset {
            let mut sql = select(&quote::<DB>(c.when));
            sql.push(" AND ").ident(c.success).push(" = ");
            sql.bind(Value::Bool(true), Kind::Bool);
            success_at = Self::latest(&mut conn, sql, &c).await?;
        }
        let after = |t: NaiveDateTime| success_at.map_or(t, |s| s.max(t));
        let counted = |sql: &mut Sql<DB>| {
            sql.push(" AND ").ident(c.lockout).push(" = ");
            sql.bind(Value::Bool(false), Kind::Bool);
            if kind != AttemptType::Reset {
                sql.push(" AND ").ident(c.success).push(" = ");
                sql.bind(Value::Bool(false), Kind::Bool);
            }
        };
        // The latest counted try recent enough to hold a lockout now.
        let mut sql = select(&quote::<DB>(c.when));
        counted(&mut sql);
        sql.push(" AND ").ident(c.when).push(" > ");
        sql.bind(Value::DateTime(after(now - limits.lockout)), Kind::DateTime);
        let Some(last) = Self::latest(&mut conn, sql, &c).await? else {
            return Ok(false);
        };
        // The counted tries in the timespan that ends with it.
        let mut sql = select("COUNT(*)");
        counted(&mut sql);
        sql.push(" AND ").ident(c.when).push(" > ");
        sql.bind(
            Value::DateTime(after(last - limits.timespan)),
            Kind::DateTime,
        );
        sql.push(" AND ").ident(c.when).push(" <= ");
        sql.bind(Value::DateTime(last), Kind::DateTime);
        let rows = DB::fetch(
            &mut conn,
            &sql.text,
            sql.args,
            &[OutCol { kind: Kind::Int }],
        )
        .await?;
        let count = match rows.into_iter().next().and_then(|mut r| r.pop()) {
            Some(Value::Int(n)) => n,
            _ => 0,
        };
        Ok(count >= i64::from(limits.limit))
    }

    /// keg-auth's `purge_attempts`: delete attempts, optionally only those on
    /// `input`, older than `older_than_days`, or of `kind`. Returns how many.
    pub async fn purge_attempts(
        &self,
        input: Option<&str>,
        older_than_days: Option<u32>,
        kind: Option<AttemptType>,
    ) -> Result<u64> {
        let c = cols::<A<E>>()?;
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(c.table).push(" WHERE 1 = 1");
        if let Some(input) = input {
            sql.push(" AND ").ident(c.input).push(" = ");
            sql.bind_text(&normalize(input));
        }
        if let Some(days) = older_than_days {
            sql.push(" AND ").ident(c.when).push(" < ");
            let cutoff = self.now() - TimeDelta::days(i64::from(days));
            sql.bind(Value::DateTime(cutoff), Kind::DateTime);
        }
        if let Some(kind) = kind {
            sql.push(" AND ").ident(c.kind).push(" = ");
            sql.bind_cast(Value::Text(kind.as_str().into()), Kind::Text, c.kind_pg);
        }
        let mut conn = self.pool().acquire().await?;
        Ok(DB::execute(&mut conn, &sql.text, sql.args).await?)
    }
}

fn quote<DB: Backend>(name: &str) -> String {
    let mut sql = Sql::<DB>::new("");
    sql.ident(name);
    sql.text
}
