//! Attempt limiting on the store: logging login, forgot and reset attempts,
//! deciding whether an input or address is locked out, and purging old rows.
//!
//! keg-auth's rules: login and forgot count the failures since the last
//! success within the timespan; reset counts every try. Once the count
//! reaches the limit, further tries are refused (and logged with
//! `is_during_lockout`) until the lockout has passed since the attempt that
//! reached it. With the IP option, attempts match by input *or* source IP.

use crate::core::backend::{Backend, OutCol, Sql};
use crate::core::entity::{AttemptType, AuthEntity, CoreField, EntitySet, Kind, Role, Value};
use crate::core::error::{Error, Result};
use crate::core::store::Store;
use chrono::{NaiveDateTime, TimeDelta};
use std::net::IpAddr;

mod policy;
pub use policy::{AttemptLimits, AttemptPolicy};

type A<E> = <E as EntitySet>::Attempt;

/// The longest input kept, in characters (the column's size); longer inputs
/// are logged and matched cut short.
pub const MAX_INPUT_CHARS: usize = 512;

/// How inputs are compared: trimmed, lowercased (logins are case-insensitive)
/// and cut to [`MAX_INPUT_CHARS`].
fn normalize(input: &str) -> String {
    let mut input = input.trim().to_lowercase();
    if let Some((i, _)) = input.char_indices().nth(MAX_INPUT_CHARS) {
        input.truncate(i);
    }
    input
}

/// What [`Store::open_attempt`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Gate {
    /// Limiting is off: go ahead; nothing was logged.
    Unlimited,
    /// Locked out: refuse without checking the input. The try was logged
    /// with `is_during_lockout`.
    Locked,
    /// Go ahead. The try was logged as a failure with this id; call
    /// [`Store::attempt_succeeded`] when it succeeds.
    Open(i64),
}

impl Gate {
    /// Whether the try must be refused.
    pub fn is_locked(self) -> bool {
        self == Gate::Locked
    }
}

struct Cols {
    table: &'static str,
    id: &'static str,
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
        id: s.require(Role::Id)?.name,
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
    ) -> Result<i64> {
        let input = normalize(input);
        let c = cols::<A<E>>()?;
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(c.table).push(" (");
        sql.idents([c.input, c.when, c.kind, c.lockout, c.success, c.ip]);
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
        Ok(DB::insert(&mut conn, &sql.text, sql.args, c.id).await?)
    }

    /// keg-auth's `check_blocking`, for a login, forgot or reset view: when
    /// `input` (or, with the IP option, `ip`) is locked out, log the try as
    /// during the lockout and answer [`Gate::Locked`]; otherwise log it as a
    /// failure and answer [`Gate::Open`]. Logging before the slow part (the
    /// password hash) makes a burst of parallel tries count at once.
    ///
    /// ```no_run
    /// # async fn f<DB: kegauth::Backend, E: kegauth::EntitySet>(store: kegauth::Store<DB, E>) -> kegauth::Result<()> {
    /// # let (ip, password_ok) = (None, true);
    /// use kegauth::attempts::Gate;
    /// let gate = store.open_attempt(kegauth::AttemptType::Login, "ann@example.com", ip).await?;
    /// if gate.is_locked() {
    ///     // answer as for a wrong password, without checking it
    /// } else if password_ok {
    ///     store.attempt_succeeded(gate).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn open_attempt(
        &self,
        kind: AttemptType,
        input: &str,
        ip: Option<IpAddr>,
    ) -> Result<Gate> {
        let Some(limits) = self.attempt_policy().limits(kind).copied() else {
            return Ok(Gate::Unlimited);
        };
        let ip = ip.map(|ip| ip.to_string());
        let ip = ip.as_deref();
        let locked = self.attempt_locked_out(kind, input, ip, &limits).await?;
        let id = self.log_attempt(kind, input, ip, false, locked).await?;
        Ok(if locked { Gate::Locked } else { Gate::Open(id) })
    }

    /// Mark the try behind an open gate as a success (nothing to do for the others).
    pub async fn attempt_succeeded(&self, gate: Gate) -> Result<()> {
        let Gate::Open(id) = gate else {
            return Ok(());
        };
        let c = cols::<A<E>>()?;
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(c.table)
            .push(" SET ")
            .ident(c.success)
            .push(" = ");
        sql.bind(Value::Bool(true), Kind::Bool);
        sql.push(" WHERE ").ident(c.id).push(" = ").bind_int(id);
        let mut conn = self.pool().acquire().await?;
        DB::execute(&mut conn, &sql.text, sql.args).await?;
        Ok(())
    }

    /// Check at launch that the attempt table can be written and read, with
    /// the columns the entity names.
    pub async fn check_attempt_table(&self) -> Result<()> {
        let table = A::<E>::schema().table;
        // Read-only, after the launch lock's work: on a pool connection.
        let mut sql = self.select::<A<E>>();
        sql.push(" WHERE 1 = 0");
        let mut conn = self.pool().acquire().await?;
        DB::execute(&mut conn, &sql.text, sql.args)
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "attempt limiting is on (attempt_limit_enabled), but the attempt table \
                     `{table}` cannot be read ({e}): create it (kegauth's DDL, or \
                     AuthManager::builder().create_schema(true)) or set \
                     attempt_limit_enabled = false"
                ))
            })?;
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
            // An older success cannot matter (it is before every try counted
            // below), and bounding the scan keeps the check cheap on inputs
            // with a long history.
            sql.push(" AND ").ident(c.when).push(" > ");
            let horizon = now - limits.lockout - limits.timespan;
            sql.bind(Value::DateTime(horizon), Kind::DateTime);
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
        // The counted tries in the timespan that ends with it, counted no
        // further than the limit: a flood of tries on one input or address
        // does not make each check slower.
        let mut sql = Sql::<DB>::new("SELECT COUNT(*) FROM (SELECT 1 AS one FROM ");
        sql.ident(c.table);
        Self::attempt_filter(&mut sql, &c, kind, &input, ip);
        counted(&mut sql);
        sql.push(" AND ").ident(c.when).push(" > ");
        sql.bind(
            Value::DateTime(after(last - limits.timespan)),
            Kind::DateTime,
        );
        sql.push(" AND ").ident(c.when).push(" <= ");
        sql.bind(Value::DateTime(last), Kind::DateTime);
        // (The limit is a number from the configuration, not input.)
        sql.push(&format!(" LIMIT {}) AS capped", limits.limit));
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
