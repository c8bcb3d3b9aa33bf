//! The audit trail as data: security events as rows of kegauth's
//! `kegauth_audit_events` table, each carrying the hash of the row before it
//! (a hash chain), so that a changed or removed row shows as a broken link
//! ([`Store::verify_audit_chain`](crate::Store::verify_audit_chain)).
//!
//! An [`AuditEvent`] says what happened (its [`kind`](AuditEvent::kind), one
//! of [`kinds`] or the app's own), who did it (`actor`), to whom or what
//! (`subject`), from where (`client_ip`), with what [`Outcome`], and a small
//! JSON `detail` (never a password, hash, token or session key).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
//! # use kegauth::{entity::UserCore, Store};
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
//! use kegauth::audit::{kinds, AuditEvent, AuditFilter, Outcome, Subject};
//!
//! let store: Store<sqlx::Sqlite, User> = Store::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
//! store.create_schema().await?;
//! let event = AuditEvent::new(kinds::LOGIN_FAILURE, Outcome::Refused)
//!     .subject(Subject::User(7))
//!     .client_ip("203.0.113.9")
//!     .detail(serde_json::json!({ "reason": "bad password" }));
//! store.record_audit(&event).await?;
//! let rows = store.audit_events(&AuditFilter::default().user(7)).await?;
//! assert_eq!(rows[0].event.kind, "login-failure");
//! assert_eq!(store.verify_audit_chain().await?.first_broken, None);
//! # Ok(()) }
//! ```

use chrono::NaiveDateTime;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// The event kinds kegauth records. Apps may record kinds of their own.
pub mod kinds {
    /// A login that succeeded (password, LDAP, OAuth).
    pub const LOGIN_SUCCESS: &str = "login-success";
    /// A login refused (unknown user, bad password, disabled, unverified).
    pub const LOGIN_FAILURE: &str = "login-failure";
    /// A login refused because the attempt limiter locked it out.
    pub const LOGIN_LOCKOUT: &str = "login-lockout";
    /// A logout.
    pub const LOGOUT: &str = "logout";
    /// A session that ended by a timeout.
    pub const SESSION_EXPIRED: &str = "session-expired";
    /// A password set (CLI, admin, reset or verification link).
    pub const PASSWORD_SET: &str = "password-set";
    /// A password reset mail sent.
    pub const PASSWORD_RESET_REQUESTED: &str = "password-reset-requested";
    /// An account verified through its link.
    pub const VERIFIED: &str = "verified";
    /// An API token or JWT issued.
    pub const TOKEN_ISSUED: &str = "token-issued";
    /// An API token revoked.
    pub const TOKEN_REVOKED: &str = "token-revoked";
    /// An admin created a user, group, bundle or permission.
    pub const ADMIN_CREATE: &str = "admin-create";
    /// An admin changed one (the detail names the fields).
    pub const ADMIN_EDIT: &str = "admin-edit";
    /// An admin deleted one.
    pub const ADMIN_DELETE: &str = "admin-delete";
    /// A rights change that rotated users' session keys.
    pub const SESSIONS_ROTATED: &str = "sessions-rotated";
    /// A form that failed the CSRF check.
    pub const CSRF_REFUSED: &str = "csrf-refused";
    /// A form posted from another site.
    pub const CROSS_SITE_REFUSED: &str = "cross-site-refused";
    /// Old audit rows deleted (`purge-audit`).
    pub const AUDIT_PURGED: &str = "audit-purged";
    /// A TOTP authenticator confirmed: two-factor authentication on.
    pub const TWO_FACTOR_ENABLED: &str = "two-factor-enabled";
    /// Two-factor authentication turned off (by the user, or reset by an admin).
    pub const TWO_FACTOR_DISABLED: &str = "two-factor-disabled";
    /// A login's second step: a right code (success) or a wrong one (refused).
    pub const TWO_FACTOR_CHECKED: &str = "two-factor-checked";
    /// A recovery code used.
    pub const RECOVERY_CODE_USED: &str = "recovery-code-used";
    /// New recovery codes made (the old ones stop working).
    pub const RECOVERY_CODES_REGENERATED: &str = "recovery-codes-regenerated";
    /// A passkey or security key registered.
    pub const PASSKEY_ADDED: &str = "passkey-added";
    /// A passkey or security key removed by its owner.
    pub const PASSKEY_REMOVED: &str = "passkey-removed";
    /// A mail held back: its address had its `mail_limit` of such mails in
    /// the window (the detail names the kind of mail).
    pub const MAIL_HELD: &str = "mail-held";
    /// Sessions ended from the account page or by an admin (the detail
    /// says how many, and whether all of them).
    pub const SESSIONS_ENDED: &str = "sessions-ended";
    /// A user changed their own password on the account page.
    pub const PASSWORD_CHANGED: &str = "password-changed";
    /// A user changed their own login id (a username, or an email address
    /// through the link mailed to it).
    pub const LOGIN_CHANGED: &str = "login-changed";

    /// Every kind above.
    pub const ALL: [&str; 28] = [
        LOGIN_SUCCESS,
        LOGIN_FAILURE,
        LOGIN_LOCKOUT,
        LOGOUT,
        SESSION_EXPIRED,
        PASSWORD_SET,
        PASSWORD_RESET_REQUESTED,
        VERIFIED,
        TOKEN_ISSUED,
        TOKEN_REVOKED,
        ADMIN_CREATE,
        ADMIN_EDIT,
        ADMIN_DELETE,
        SESSIONS_ROTATED,
        CSRF_REFUSED,
        CROSS_SITE_REFUSED,
        AUDIT_PURGED,
        TWO_FACTOR_ENABLED,
        TWO_FACTOR_DISABLED,
        TWO_FACTOR_CHECKED,
        RECOVERY_CODE_USED,
        RECOVERY_CODES_REGENERATED,
        PASSKEY_ADDED,
        PASSKEY_REMOVED,
        MAIL_HELD,
        SESSIONS_ENDED,
        PASSWORD_CHANGED,
        LOGIN_CHANGED,
    ];
}

/// How an audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was refused (bad credentials, lockout, missing right, CSRF).
    Refused,
    /// It failed for a reason that is not the user's.
    Error,
}

impl Outcome {
    /// The stored name: `success`, `refused` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
            Self::Error => "error",
        }
    }

    /// The outcome a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "success" => Self::Success,
            "refused" => Self::Refused,
            "error" => Self::Error,
            _ => return None,
        })
    }
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A user, by id.
    User(i64),
    /// A group, by id.
    Group(i64),
    /// A bundle, by id.
    Bundle(i64),
    /// A permission, by id.
    Permission(i64),
}

impl Subject {
    /// The stored kind (`user`, `group`, `bundle`, `permission`) and id.
    pub fn parts(self) -> (&'static str, i64) {
        match self {
            Self::User(id) => ("user", id),
            Self::Group(id) => ("group", id),
            Self::Bundle(id) => ("bundle", id),
            Self::Permission(id) => ("permission", id),
        }
    }

    /// The subject a stored kind and id stand for.
    pub fn from_parts(kind: &str, id: i64) -> Option<Self> {
        Some(match kind {
            "user" => Self::User(id),
            "group" => Self::Group(id),
            "bundle" => Self::Bundle(id),
            "permission" => Self::Permission(id),
            _ => return None,
        })
    }
}

/// One security event.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// When (UTC, whole seconds; set by the store's clock when recorded if `None`).
    pub at: Option<NaiveDateTime>,
    /// What happened: one of [`kinds`] or the app's own (at most 64 bytes).
    pub kind: String,
    /// The user who did it, when one is known.
    pub actor: Option<i64>,
    /// What it was done to.
    pub subject: Option<Subject>,
    /// The client's address, by the same trusted-proxy rules as attempt limiting.
    pub client_ip: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// A small JSON object of details; never a secret.
    pub detail: Json,
}

impl AuditEvent {
    /// An event of `kind` with `outcome`, nothing else known yet.
    ///
    /// ```
    /// use kegauth::audit::{kinds, AuditEvent, Outcome};
    /// let e = AuditEvent::new(kinds::LOGOUT, Outcome::Success).actor(3);
    /// assert_eq!((e.kind.as_str(), e.actor), ("logout", Some(3)));
    /// ```
    pub fn new(kind: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            at: None,
            kind: kind.into(),
            actor: None,
            subject: None,
            client_ip: None,
            outcome,
            detail: Json::Object(Default::default()),
        }
    }

    /// Who did it.
    pub fn actor(mut self, user_id: i64) -> Self {
        self.actor = Some(user_id);
        self
    }

    /// What it was done to.
    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = Some(subject);
        self
    }

    /// From where.
    pub fn client_ip(mut self, ip: impl Into<String>) -> Self {
        self.client_ip = Some(ip.into());
        self
    }

    /// Details (a JSON object).
    pub fn detail(mut self, detail: Json) -> Self {
        self.detail = detail;
        self
    }

    /// Add the entries of the JSON object `more` to the detail (replacing
    /// entries of the same name).
    ///
    /// ```
    /// use kegauth::audit::{AuditEvent, Outcome};
    /// let e = AuditEvent::new("x", Outcome::Success)
    ///     .detail(serde_json::json!({ "a": 1 }))
    ///     .detail_merged(serde_json::json!({ "b": 2 }));
    /// assert_eq!(e.detail, serde_json::json!({ "a": 1, "b": 2 }));
    /// ```
    pub fn detail_merged(mut self, more: Json) -> Self {
        match (&mut self.detail, more) {
            (Json::Object(detail), Json::Object(more)) => detail.extend(more),
            (detail, more) => *detail = more,
        }
        self
    }

    /// When (truncated to whole seconds, as stored).
    pub fn at(mut self, at: NaiveDateTime) -> Self {
        self.at = Some(at);
        self
    }
}

/// An event as stored: its row id and its link in the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// The row id (rows are chained in id order).
    pub id: i64,
    /// The event (`at` always set).
    pub event: AuditEvent,
    /// The hash of the row before (64 zeros for the first row ever).
    pub prev_hash: String,
    /// This row's hash: SHA-256 over `prev_hash` and every field.
    pub hash: String,
}

/// The `prev_hash` of the first row of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a row: SHA-256, in hex, of its fields and the previous hash,
/// serialized as one JSON array (so that no field can bleed into the next).
pub(crate) fn chain_hash(
    prev: &str,
    event: &AuditEvent,
    at: NaiveDateTime,
    detail: &str,
) -> String {
    let subject = event.subject.map(Subject::parts);
    let fields = serde_json::json!([
        prev,
        at.format("%Y-%m-%dT%H:%M:%S").to_string(),
        event.kind,
        event.actor,
        subject.map(|s| s.0),
        subject.map(|s| s.1),
        event.client_ip,
        event.outcome.as_str(),
        detail,
    ]);
    format!("{:x}", Sha256::digest(fields.to_string().as_bytes()))
}

/// Which events [`Store::audit_events`](crate::Store::audit_events) returns:
/// all filters given must hold; newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events this user did or that were done to them.
    pub user: Option<i64>,
    /// Events of this kind.
    pub kind: Option<String>,
    /// Events at or after this time.
    pub since: Option<NaiveDateTime>,
    /// At most this many rows (default 100).
    pub limit: Option<u32>,
    /// Skip this many rows first.
    pub offset: Option<u32>,
    /// Events whose kind, client address or detail contains this text
    /// (case-insensitive).
    pub text: Option<String>,
    /// Sort by this column instead of newest first: `occurred_at`, `kind`,
    /// `actor_id`, `subject_id`, `client_ip` or `outcome` (any other is
    /// ignored); ties newest first.
    pub sort: Option<String>,
    /// Sort `sort` in ascending order.
    pub ascending: bool,
}

/// The columns [`AuditFilter::sort`] accepts.
pub const SORTABLE: [&str; 6] = [
    "occurred_at",
    "kind",
    "actor_id",
    "subject_id",
    "client_ip",
    "outcome",
];

impl AuditFilter {
    /// Only events by or about `user_id`.
    pub fn user(mut self, user_id: i64) -> Self {
        self.user = Some(user_id);
        self
    }

    /// Only events of `kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only events at or after `since`.
    pub fn since(mut self, since: NaiveDateTime) -> Self {
        self.since = Some(since);
        self
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Only events whose kind, client address or detail contains `text`.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Sort by `column` (one of [`SORTABLE`]), ascending or not.
    ///
    /// ```
    /// use kegauth::audit::AuditFilter;
    /// let f = AuditFilter::default().sort("kind", true);
    /// assert_eq!((f.sort.as_deref(), f.ascending), (Some("kind"), true));
    /// ```
    pub fn sort(mut self, column: &str, ascending: bool) -> Self {
        self.sort = Some(column.to_string());
        self.ascending = ascending;
        self
    }
}

/// What [`Store::verify_audit_chain`](crate::Store::verify_audit_chain) found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows checked.
    pub rows: u64,
    /// The id of the first row whose link is broken: its hash does not match
    /// its fields, or its `prev_hash` is not the hash of the row before.
    pub first_broken: Option<i64>,
}

/// Where events go besides the table: an app's log pipeline, a SIEM.
///
/// ```
/// use kegauth::audit::{AuditEvent, AuditSink};
/// struct Stdout;
/// impl AuditSink for Stdout {
///     fn record(&self, event: &AuditEvent) {
///         println!("{} {:?}", event.kind, event.actor);
///     }
/// }
/// ```
pub trait AuditSink: Send + Sync + 'static {
    /// Called once per event, after the row is written (or failed to be).
    /// Must not block: hand slow work to a task of its own.
    fn record(&self, event: &AuditEvent);
}

/// Records events without holding up the request that caused them: each
/// event goes to a queue that one task writes to the table (then hands to
/// the [`AuditSink`]s). When the queue is full or the write fails, the event
/// goes to the log (target `kegauth::audit`, level error) instead: recording
/// never blocks, slows or fails a request. The `AuthManager` starts one and
/// keeps it in Rocket's state.
#[derive(Clone, Debug)]
pub struct Auditor {
    tx: tokio::sync::mpsc::Sender<AuditMessage>,
}

/// What the writer task gets.
#[derive(Debug)]
pub(crate) enum AuditMessage {
    Event(AuditEvent),
    /// Answer once every event queued before is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Events waiting to be written before new ones go to the log instead.
const QUEUE: usize = 10_000;

impl Auditor {
    /// A new handle and the queue its writer reads (the services layer's
    /// writer task, `services/audit.rs`, drains it into the table).
    pub(crate) fn channel() -> (Self, tokio::sync::mpsc::Receiver<AuditMessage>) {
        let (tx, rx) = tokio::sync::mpsc::channel::<AuditMessage>(QUEUE);
        (Auditor { tx }, rx)
    }

    /// Queue `event` to be recorded (at the store clock's time when it is
    /// written, unless `event.at` is set).
    pub fn record(&self, event: AuditEvent) {
        if let Err(e) = self.tx.try_send(AuditMessage::Event(event)) {
            let reason = match e {
                tokio::sync::mpsc::error::TrySendError::Full(_) => "the queue is full",
                tokio::sync::mpsc::error::TrySendError::Closed(_) => "the writer stopped",
            };
            if let AuditMessage::Event(event) = e.into_inner() {
                log::error!(target: crate::core::AUDIT, "audit event not queued ({reason}): {event:?}");
            }
        }
    }

    /// Wait until every event queued so far is written (or logged): what a
    /// command-line tool does before it exits, and what a test does before
    /// it reads the table.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(AuditMessage::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn every_field_and_the_previous_hash_change_the_hash() {
        let base = AuditEvent::new(kinds::LOGIN_SUCCESS, Outcome::Success)
            .actor(1)
            .subject(Subject::User(1))
            .client_ip("192.0.2.1");
        let h = chain_hash(GENESIS, &base, at(), "{}");
        assert_eq!(h.len(), 64);
        let other_time = at() + chrono::TimeDelta::seconds(1);
        let variants = [
            chain_hash(&"1".repeat(64), &base, at(), "{}"),
            chain_hash(GENESIS, &base, other_time, "{}"),
            chain_hash(GENESIS, &base.clone().actor(2), at(), "{}"),
            chain_hash(
                GENESIS,
                &base.clone().subject(Subject::Group(1)),
                at(),
                "{}",
            ),
            chain_hash(GENESIS, &base.clone().client_ip("192.0.2.2"), at(), "{}"),
            chain_hash(
                GENESIS,
                &AuditEvent {
                    outcome: Outcome::Refused,
                    ..base.clone()
                },
                at(),
                "{}",
            ),
            chain_hash(
                GENESIS,
                &AuditEvent {
                    kind: "logout".into(),
                    ..base.clone()
                },
                at(),
                "{}",
            ),
            chain_hash(GENESIS, &base, at(), r#"{"a":1}"#),
        ];
        for v in variants {
            assert_ne!(v, h);
        }
        // Fields cannot bleed into each other.
        let a = AuditEvent::new("a", Outcome::Success).client_ip("b");
        let b = AuditEvent::new("a\",\"b", Outcome::Success);
        assert_ne!(
            chain_hash(GENESIS, &a, at(), "{}"),
            chain_hash(GENESIS, &b, at(), "{}")
        );
    }
}
