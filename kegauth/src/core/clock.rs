//! Time, injectable so that expiry and lockout can be tested without sleeping.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use std::sync::Mutex;

/// A source of the current UTC time.
///
/// ```
/// use kegauth::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap());
/// clock.advance(chrono::TimeDelta::seconds(90));
/// assert_eq!(clock.now().to_string(), "2024-01-01 00:01:30");
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC, without time zone (as keg-auth stores it).
    fn now(&self) -> NaiveDateTime;

    /// Now, in Unix seconds (sessions are timed by it on every request; a
    /// clock may answer faster than through [`now`](Self::now)).
    ///
    /// ```
    /// use kegauth::clock::{Clock, ManualClock, SystemClock};
    /// let clock = ManualClock::new(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().naive_utc());
    /// assert_eq!(clock.unix_secs(), 1_700_000_000);
    /// assert!((SystemClock.unix_secs() - chrono::Utc::now().timestamp()).abs() <= 1);
    /// ```
    fn unix_secs(&self) -> i64 {
        self.now().and_utc().timestamp()
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        Utc::now().naive_utc()
    }

    fn unix_secs(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .unwrap_or_else(|| Utc::now().timestamp())
    }
}

/// A clock that stands still until told to move, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<NaiveDateTime>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: NaiveDateTime) -> Self {
        ManualClock(Mutex::new(now))
    }

    /// Set the time.
    pub fn set(&self, now: NaiveDateTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Move the time forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> NaiveDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
