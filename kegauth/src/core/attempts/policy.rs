//! The limits of each kind of attempt, read from the settings: what the
//! store keeps (`Store::with_attempt_policy`) and the limiter reads.

use crate::core::config::Config;
use crate::core::entity::AttemptType;
use chrono::TimeDelta;

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

/// The limits of each kind of attempt, or none when limiting is off.
///
/// ```
/// use kegauth::attempts::AttemptPolicy;
/// use kegauth::config::Config;
/// let policy = AttemptPolicy::from_config(&Config { reset_attempt_limit: Some(3), ..Default::default() });
/// assert_eq!(policy.limits(kegauth::AttemptType::Reset).unwrap().limit, 3);
/// assert_eq!(policy.limits(kegauth::AttemptType::Login).unwrap().limit, 15);
/// let off = AttemptPolicy::from_config(&Config { attempt_limit_enabled: false, ..Default::default() });
/// assert!(off.limits(kegauth::AttemptType::Login).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptPolicy(Option<[AttemptLimits; 3]>);

impl AttemptPolicy {
    /// No limiting: attempts are neither checked nor logged.
    pub const OFF: AttemptPolicy = AttemptPolicy(None);

    /// The policy of `config` (`attempt_limit_enabled` and the limits).
    pub fn from_config(config: &Config) -> Self {
        if !config.attempt_limit_enabled {
            return Self::OFF;
        }
        AttemptPolicy(Some(
            AttemptType::ALL.map(|kind| AttemptLimits::for_kind(config, kind)),
        ))
    }

    /// The limits for `kind`, or `None` when limiting is off.
    pub fn limits(&self, kind: AttemptType) -> Option<&AttemptLimits> {
        self.0.as_ref().map(|all| &all[kind.index()])
    }
}

impl Default for AttemptPolicy {
    /// keg-auth's defaults: on, 15 per 10 minutes, locked for an hour, by input or IP.
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}
