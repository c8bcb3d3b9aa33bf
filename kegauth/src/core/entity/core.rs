//! The core columns kegauth manages on the app's user and attempt tables.

use super::schema::{CoreColumn, CoreField, CoreFlags, EmbeddedCore, ValueReader};
use super::value::{FieldValue, Kind, Value, ValueError};
use crate::core::error::Error;
use chrono::NaiveDateTime;
use std::fmt;

/// The auth columns of a user, embedded in the app's user struct with `#[auth(core)]`.
///
/// ```
/// use kegauth::entity::UserCore;
/// let now = chrono::Utc::now().naive_utc();
/// let mut core = UserCore::new();
/// assert!(!core.is_active_at(now, true));         // email users must verify first
/// core.is_verified = true;
/// assert!(core.is_active_at(now, true));
/// core.disabled_utc = Some(now);                   // disabled from now on
/// assert!(!core.is_active_at(now, false));
/// core.set_enabled(true, now);                     // re-enabling clears a past date
/// assert_eq!(core.disabled_utc, None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct UserCore {
    /// The account may log in (an admin switch).
    pub is_enabled: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// The email address was verified (always true for username-login users).
    pub is_verified: bool,
    /// The PHC-format password hash, if a password is set.
    pub password: Option<String>,
    /// The session key: sessions and tokens carry it, rotating it logs them out.
    pub session_key: String,
    /// The last successful login.
    pub last_login_utc: Option<NaiveDateTime>,
    /// The user is inactive from this moment on.
    pub disabled_utc: Option<NaiveDateTime>,
}

impl fmt::Debug for UserCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the hash or the session key.
        f.debug_struct("UserCore")
            .field("is_enabled", &self.is_enabled)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("password", &self.password.as_ref().map(|_| "<hash>"))
            .field("session_key", &"<redacted>")
            .field("last_login_utc", &self.last_login_utc)
            .field("disabled_utc", &self.disabled_utc)
            .finish()
    }
}

impl Default for UserCore {
    fn default() -> Self {
        Self::new()
    }
}

impl UserCore {
    /// An enabled, unverified, non-superuser core with no password and a fresh session key.
    pub fn new() -> Self {
        UserCore {
            is_enabled: true,
            is_superuser: false,
            is_verified: false,
            password: None,
            session_key: crate::core::token::new_session_key(),
            last_login_utc: None,
            disabled_utc: None,
        }
    }

    /// Disabled by date: `disabled_utc` is set and not in the future.
    pub fn is_disabled_by_date(&self, now: NaiveDateTime) -> bool {
        self.disabled_utc.is_some_and(|d| d <= now)
    }

    /// keg-auth's `is_active`: enabled, not disabled by date, and verified when
    /// `needs_verification` (email-login users).
    pub fn is_active_at(&self, now: NaiveDateTime, needs_verification: bool) -> bool {
        self.is_enabled
            && !self.is_disabled_by_date(now)
            && (self.is_verified || !needs_verification)
    }

    /// Set the enabled flag; enabling a user disabled by date clears the date
    /// (a future date is kept).
    pub fn set_enabled(&mut self, enabled: bool, now: NaiveDateTime) {
        self.is_enabled = enabled;
        if enabled && self.is_disabled_by_date(now) {
            self.disabled_utc = None;
        }
    }

    /// Give the user a new random session key, logging out all sessions and tokens.
    pub fn rotate_session_key(&mut self) {
        self.session_key = crate::core::token::new_session_key();
    }
}

const fn core_col(
    field: &'static str,
    role: CoreField,
    kind: Kind,
    nullable: bool,
    max_len: Option<u32>,
) -> CoreColumn {
    CoreColumn {
        field,
        role,
        kind,
        nullable,
        max_len,
        unique: false,
        pg_type: None,
    }
}

impl EmbeddedCore for UserCore {
    fn columns(flags: CoreFlags) -> Vec<CoreColumn> {
        let mut cols = vec![
            core_col("is_enabled", CoreField::IsEnabled, Kind::Bool, false, None),
            core_col(
                "is_superuser",
                CoreField::IsSuperuser,
                Kind::Bool,
                false,
                None,
            ),
        ];
        if flags.verified {
            cols.push(core_col(
                "is_verified",
                CoreField::IsVerified,
                Kind::Bool,
                false,
                None,
            ));
        }
        cols.extend([
            core_col(
                "password",
                CoreField::Password,
                Kind::TextAsBytes,
                true,
                None,
            ),
            CoreColumn {
                unique: true,
                ..core_col(
                    "session_key",
                    CoreField::SessionKey,
                    Kind::Text,
                    false,
                    Some(36),
                )
            },
            core_col(
                "last_login_utc",
                CoreField::LastLoginUtc,
                Kind::DateTime,
                true,
                None,
            ),
            core_col(
                "disabled_utc",
                CoreField::DisabledUtc,
                Kind::DateTime,
                true,
                None,
            ),
        ]);
        cols
    }

    fn push_values(&self, out: &mut Vec<Value>, flags: CoreFlags) {
        out.push(self.is_enabled.to_value());
        out.push(self.is_superuser.to_value());
        if flags.verified {
            out.push(self.is_verified.to_value());
        }
        out.push(match &self.password {
            Some(p) => Value::Bytes(p.as_bytes().to_vec()),
            None => Value::Null,
        });
        out.push(self.session_key.to_value());
        out.push(self.last_login_utc.to_value());
        out.push(self.disabled_utc.to_value());
    }

    fn read(r: &mut ValueReader<'_>, flags: CoreFlags) -> Result<Self, Error> {
        Ok(UserCore {
            is_enabled: r.field()?,
            is_superuser: r.field()?,
            is_verified: if flags.verified { r.field()? } else { true },
            password: r.field()?,
            session_key: r.field()?,
            last_login_utc: r.field()?,
            disabled_utc: r.field()?,
        })
    }
}

/// Which view an attempt was made on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptType {
    /// The login form.
    Login,
    /// The forgot-password form.
    Forgot,
    /// The reset-password form.
    Reset,
}

impl AttemptType {
    /// Every kind, in keg-auth's order.
    pub const ALL: [AttemptType; 3] = [AttemptType::Login, AttemptType::Forgot, AttemptType::Reset];

    /// This kind's position in [`AttemptType::ALL`] (for per-kind tables).
    pub fn index(self) -> usize {
        match self {
            AttemptType::Login => 0,
            AttemptType::Forgot => 1,
            AttemptType::Reset => 2,
        }
    }

    /// keg-auth's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptType::Login => "login",
            AttemptType::Forgot => "forgot",
            AttemptType::Reset => "reset",
        }
    }
}

impl std::str::FromStr for AttemptType {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "login" => Ok(AttemptType::Login),
            "forgot" => Ok(AttemptType::Forgot),
            "reset" => Ok(AttemptType::Reset),
            other => Err(ValueError(format!(
                "`{other}` is not an attempt type (login, forgot, reset)"
            ))),
        }
    }
}

impl FieldValue for AttemptType {
    const KIND: Kind = Kind::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.as_str().to_string())
    }
    fn from_value(value: Value) -> Result<Self, ValueError> {
        String::from_value(value)?.parse()
    }
    fn parse_input(input: &str) -> Result<Self, ValueError> {
        input.parse()
    }
}

/// The columns of a login/forgot/reset attempt, embedded with `#[auth(core)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptCore {
    /// What was typed as login id or email.
    pub user_input: String,
    /// When.
    pub datetime_utc: NaiveDateTime,
    /// Which view.
    pub attempt_type: Option<AttemptType>,
    /// Made while the input or IP was locked out.
    pub is_during_lockout: bool,
    /// Succeeded.
    pub success: bool,
    /// The client address.
    pub source_ip: Option<String>,
}

impl EmbeddedCore for AttemptCore {
    fn columns(_flags: CoreFlags) -> Vec<CoreColumn> {
        vec![
            core_col(
                "user_input",
                CoreField::UserInput,
                Kind::Text,
                false,
                Some(512),
            ),
            core_col(
                "datetime_utc",
                CoreField::DatetimeUtc,
                Kind::DateTime,
                false,
                None,
            ),
            CoreColumn {
                pg_type: Some("ka_attempt_types"),
                ..core_col(
                    "attempt_type",
                    CoreField::AttemptType,
                    Kind::Text,
                    true,
                    Some(6),
                )
            },
            core_col(
                "is_during_lockout",
                CoreField::IsDuringLockout,
                Kind::Bool,
                false,
                None,
            ),
            core_col("success", CoreField::Success, Kind::Bool, false, None),
            core_col("source_ip", CoreField::SourceIp, Kind::Text, true, Some(50)),
        ]
    }

    fn push_values(&self, out: &mut Vec<Value>, _flags: CoreFlags) {
        out.push(self.user_input.to_value());
        out.push(self.datetime_utc.to_value());
        out.push(self.attempt_type.to_value());
        out.push(self.is_during_lockout.to_value());
        out.push(self.success.to_value());
        out.push(self.source_ip.to_value());
    }

    fn read(r: &mut ValueReader<'_>, _flags: CoreFlags) -> Result<Self, Error> {
        Ok(AttemptCore {
            user_input: r.field()?,
            datetime_utc: r.field()?,
            attempt_type: r.field()?,
            is_during_lockout: r.field()?,
            success: r.field()?,
            source_ip: r.field()?,
        })
    }
}
