//! Attempt limiting in the store, on SQLite, PostgreSQL and MySQL, with an
//! injected clock: keg-auth's counting rules and purge_attempts.

use crate::common::{Ctx, User};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use kegauth::attempts::AttemptLimits;
use kegauth::clock::ManualClock;
use kegauth::{AttemptType, Backend, Store};
use std::sync::Arc;

on_all_backends!(
    login_locks_at_the_limit_until_the_lockout_passes,
    a_success_resets_the_login_count,
    reset_counts_every_try,
    the_ip_limit_spans_inputs,
    purge_attempts_filters_and_counts,
    open_attempt_logs_gates_and_marks_success,
);

const LIMITS: AttemptLimits = AttemptLimits {
    limit: 3,
    timespan: TimeDelta::seconds(600),
    lockout: TimeDelta::seconds(3600),
    by_ip: true,
};

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

fn at<DB: Backend>(ctx: &Ctx<DB>) -> (Store<DB, User>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    (ctx.store.clone().with_clock(clock.clone()), clock)
}

async fn fail<DB: Backend>(store: &Store<DB, User>, kind: AttemptType, input: &str, ip: &str) {
    let locked = store
        .attempt_locked_out(kind, input, Some(ip), &LIMITS)
        .await
        .unwrap();
    store
        .log_attempt(kind, input, Some(ip), false, locked)
        .await
        .unwrap();
}

async fn locked<DB: Backend>(
    store: &Store<DB, User>,
    kind: AttemptType,
    input: &str,
    ip: &str,
) -> bool {
    store
        .attempt_locked_out(kind, input, Some(ip), &LIMITS)
        .await
        .unwrap()
}

async fn login_locks_at_the_limit_until_the_lockout_passes<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let login = AttemptType::Login;
    for _ in 0..3 {
        assert!(!locked(&store, login, "ann@example.com", "10.0.0.1").await);
        fail(&store, login, "ann@example.com", "10.0.0.1").await;
        clock.advance(TimeDelta::seconds(10));
    }
    assert!(
        locked(&store, login, "ANN@example.com ", "10.0.0.1").await,
        "at the limit"
    );
    // Tries during the lockout are logged as such and do not extend it.
    for _ in 0..5 {
        fail(&store, login, "ann@example.com", "10.0.0.1").await;
        clock.advance(TimeDelta::seconds(600));
    }
    let rows = store.attempts().await.unwrap();
    assert_eq!(rows.iter().filter(|a| a.core.is_during_lockout).count(), 5);
    assert!(rows
        .iter()
        .all(|a| a.core.source_ip.as_deref() == Some("10.0.0.1")));
    // 3020 s after the third failure: still locked; at 3600 s: free again.
    clock.set(t0() + TimeDelta::seconds(20 + 3599));
    assert!(locked(&store, login, "ann@example.com", "10.0.0.1").await);
    clock.set(t0() + TimeDelta::seconds(20 + 3600));
    assert!(!locked(&store, login, "ann@example.com", "10.0.0.1").await);
    // Failures spread wider than the timespan never lock.
    let (store, clock) = at(&ctx);
    store.purge_attempts(None, None, None).await.unwrap();
    for _ in 0..6 {
        fail(&store, login, "bob@example.com", "10.0.0.2").await;
        clock.advance(TimeDelta::seconds(301));
        assert!(!locked(&store, login, "bob@example.com", "10.0.0.2").await);
    }
}

async fn a_success_resets_the_login_count<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    for kind in [AttemptType::Login, AttemptType::Forgot] {
        for _ in 0..2 {
            fail(&store, kind, "ann@example.com", "10.0.0.1").await;
            clock.advance(TimeDelta::seconds(1));
        }
        store
            .log_attempt(kind, "ann@example.com", Some("10.0.0.1"), true, false)
            .await
            .unwrap();
        clock.advance(TimeDelta::seconds(1));
        for _ in 0..2 {
            fail(&store, kind, "ann@example.com", "10.0.0.1").await;
            clock.advance(TimeDelta::seconds(1));
        }
        assert!(
            !locked(&store, kind, "ann@example.com", "10.0.0.1").await,
            "{kind:?}"
        );
        fail(&store, kind, "ann@example.com", "10.0.0.1").await;
        assert!(
            locked(&store, kind, "ann@example.com", "10.0.0.1").await,
            "{kind:?}"
        );
    }
}

async fn reset_counts_every_try<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let reset = AttemptType::Reset;
    for success in [true, false, true] {
        assert!(!locked(&store, reset, "ann@example.com", "10.0.0.1").await);
        store
            .log_attempt(reset, "ann@example.com", Some("10.0.0.1"), success, false)
            .await
            .unwrap();
        clock.advance(TimeDelta::seconds(1));
    }
    assert!(locked(&store, reset, "ann@example.com", "10.0.0.1").await);
    // Other kinds are counted apart.
    assert!(!locked(&store, AttemptType::Login, "ann@example.com", "10.0.0.1").await);
}

async fn the_ip_limit_spans_inputs<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let login = AttemptType::Login;
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        fail(&store, login, who, "10.0.0.9").await;
        clock.advance(TimeDelta::seconds(1));
    }
    assert!(
        locked(&store, login, "d@example.com", "10.0.0.9").await,
        "same IP"
    );
    assert!(
        !locked(&store, login, "d@example.com", "10.0.0.10").await,
        "other IP"
    );
    let no_ip = AttemptLimits {
        by_ip: false,
        ..LIMITS
    };
    let r = store
        .attempt_locked_out(login, "d@example.com", Some("10.0.0.9"), &no_ip)
        .await
        .unwrap();
    assert!(!r, "not by IP when the option is off");
    // The per-account ceiling holds across addresses (row 12).
    for ip in ["10.1.0.1", "10.1.0.2", "10.1.0.3"] {
        fail(&store, login, "e@example.com", ip).await;
        clock.advance(TimeDelta::seconds(1));
    }
    assert!(locked(&store, login, "e@example.com", "10.1.0.4").await);
}

async fn purge_attempts_filters_and_counts<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    fail(&store, AttemptType::Login, "ann@example.com", "10.0.0.1").await;
    fail(&store, AttemptType::Reset, "ann@example.com", "10.0.0.1").await;
    clock.advance(TimeDelta::days(10));
    fail(&store, AttemptType::Login, "ann@example.com", "10.0.0.1").await;
    fail(&store, AttemptType::Login, "bob@example.com", "10.0.0.1").await;
    let purged = store.purge_attempts(Some("ANN@example.com"), Some(5), Some(AttemptType::Login));
    assert_eq!(purged.await.unwrap(), 1);
    assert_eq!(
        store
            .purge_attempts(Some("ann@example.com"), None, None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.purge_attempts(None, None, None).await.unwrap(), 1);
    assert!(store.attempts().await.unwrap().is_empty());
}

async fn open_attempt_logs_gates_and_marks_success<DB: Backend>(ctx: Ctx<DB>) {
    use kegauth::attempts::{AttemptPolicy, Gate};
    let (store, clock) = at(&ctx);
    let config = kegauth::config::Config {
        attempt_limit: 3,
        ..Default::default()
    };
    let store = store.with_attempt_policy(AttemptPolicy::from_config(&config));
    let ip = Some("192.0.2.1".parse().unwrap());
    let login = AttemptType::Login;
    // An input longer than the column is logged and matched cut short, not refused.
    let long = "x".repeat(2000);
    let mut gates = Vec::new();
    for _ in 0..3 {
        let gate = store.open_attempt(login, &long, ip).await.unwrap();
        assert!(matches!(gate, Gate::Open(_)), "{gate:?}");
        gates.push(gate);
        clock.advance(TimeDelta::seconds(1));
    }
    assert_eq!(
        store.open_attempt(login, &long, None).await.unwrap(),
        Gate::Locked
    );
    // Marking one try a success changes that row only.
    store.attempt_succeeded(gates[1]).await.unwrap();
    store.attempt_succeeded(Gate::Locked).await.unwrap();
    let rows = store.attempts().await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows.iter().map(|a| a.core.success).collect::<Vec<_>>(),
        [false, true, false, false]
    );
    assert_eq!(rows[0].core.user_input.chars().count(), 512);
    assert_eq!(rows[0].core.source_ip.as_deref(), Some("192.0.2.1"));
    assert!(rows[3].core.is_during_lockout && rows[3].core.source_ip.is_none());
    // Off: nothing is checked or logged.
    let off = store.clone().with_attempt_policy(AttemptPolicy::OFF);
    assert_eq!(
        off.open_attempt(login, &long, ip).await.unwrap(),
        Gate::Unlimited
    );
    assert_eq!(store.attempts().await.unwrap().len(), 4);
}
