//! Second factors in the store, on every backend: TOTP enrolment and checks
//! with an injected clock (the window's edges, replay, a wrong secret),
//! recovery codes (single use, regeneration), turning it off and an admin's
//! reset.

use crate::common;

use crate::common::{Ctx, User};
use kegauth::clock::ManualClock;
use kegauth::prelude::*;
use kegauth::store::two_factor::{SecondFactor, TwoFactorStatus};
use kegauth::two_factor::{SecretBox, TotpSecret, TOTP_STEP_SECS};
use kegauth::Backend;
use std::sync::Arc;

/// 2026-01-01 00:00:15 UTC: 15 seconds into a step.
fn t0() -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(1_767_225_615, 0)
        .expect("a time")
        .naive_utc()
}

fn at<DB: Backend>(ctx: &Ctx<DB>) -> (Store<DB, User>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let store = ctx
        .store
        .clone()
        .with_clock(clock.clone())
        .with_two_factor_key(SecretBox::new(b"the app's secret key, 32 bytes or more"));
    (store, clock)
}

async fn ann<DB: Backend>(store: &Store<DB, User>) -> User {
    let mut ann = User::new("ann@example.com");
    store.insert_user(&mut ann).await.expect("insert Ann");
    ann
}

/// Turn TOTP on for `user_id` with the code of the step `delta` from now:
/// the secret and the recovery codes.
async fn turn_on<DB: Backend>(
    store: &Store<DB, User>,
    clock: &ManualClock,
    user_id: i64,
    delta: i64,
) -> (TotpSecret, Vec<String>) {
    let secret = store.begin_totp(user_id).await.unwrap();
    let codes = store
        .confirm_totp(user_id, &secret.code_at(step_now(clock) + delta))
        .await
        .unwrap()
        .expect("on");
    (secret, codes)
}

/// `code` as `user_id`'s second factor.
async fn check<DB: Backend>(
    store: &Store<DB, User>,
    user_id: i64,
    code: &str,
) -> Option<SecondFactor> {
    store
        .check_second_factor(user_id, code)
        .await
        .expect("checked")
}

fn step_now(clock: &ManualClock) -> i64 {
    use kegauth::clock::Clock;
    clock.unix_secs().div_euclid(TOTP_STEP_SECS)
}

/// Enrolment needs a code from the new secret; then TOTP is on, with ten
/// recovery codes, and the secret is stored sealed, not in clear.
async fn enrolment_is_confirmed_by_a_code<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let ann = ann(&store).await;
    assert_eq!(
        store.two_factor_status(ann.id).await.unwrap(),
        TwoFactorStatus::default()
    );
    let secret = store.begin_totp(ann.id).await.unwrap();
    let status = store.two_factor_status(ann.id).await.unwrap();
    assert!(status.totp_pending && !status.enabled());
    // A code from another secret, or none, confirms nothing.
    let other = TotpSecret::generate();
    assert_eq!(
        store
            .confirm_totp(ann.id, &other.code_at(step_now(&clock)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.confirm_totp(ann.id, "").await.unwrap(), None);
    // A second begin replaces the pending secret: the first one's codes no longer count.
    let secret2 = store.begin_totp(ann.id).await.unwrap();
    assert_ne!(secret.base32(), secret2.base32());
    assert_eq!(
        store
            .confirm_totp(ann.id, &secret.code_at(step_now(&clock)))
            .await
            .unwrap(),
        None
    );
    let codes = store
        .confirm_totp(ann.id, &secret2.code_at(step_now(&clock)))
        .await
        .unwrap()
        .expect("confirmed");
    assert_eq!(codes.len(), 10);
    let status = store.two_factor_status(ann.id).await.unwrap();
    assert_eq!(
        status,
        TwoFactorStatus {
            totp: true,
            totp_pending: false,
            recovery_codes_left: 10,
            passkeys: 0,
        }
    );
    // On: a new enrolment needs it turned off first.
    assert!(matches!(
        store.begin_totp(ann.id).await,
        Err(kegauth::Error::Conflict(_))
    ));
    // The secret is not in the table in clear, and opens only with the app's key.
    let table = common::table_bytes(&ctx, "kegauth_two_factor", "totp_secret").await;
    assert_eq!(table.len(), 1);
    assert!(!table[0].windows(20).any(|w| w == secret2.as_bytes()));
    let stranger = ctx
        .store
        .clone()
        .with_clock(clock.clone())
        .with_two_factor_key(SecretBox::new(b"another app's secret key, 32 bytes+"));
    assert!(matches!(
        stranger
            .check_second_factor(ann.id, &secret2.code_at(step_now(&clock) + 1))
            .await,
        Err(kegauth::Error::Config(_))
    ));
}

/// Codes of the previous, current and next steps are taken; two steps off
/// are not; and a step once taken is never taken again, nor any before it.
async fn totp_window_and_replay<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let ann = ann(&store).await;
    let secret = store.begin_totp(ann.id).await.unwrap();
    let now = step_now(&clock);
    store
        .confirm_totp(ann.id, &secret.code_at(now))
        .await
        .unwrap()
        .expect("on");
    // The confirming code was used: not again.
    assert_eq!(check(&store, ann.id, &secret.code_at(now)).await, None);
    // Two steps ahead, then the next step's code a full step later.
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let now = step_now(&clock);
    assert_eq!(check(&store, ann.id, &secret.code_at(now + 2)).await, None);
    assert_eq!(check(&store, ann.id, &secret.code_at(now - 2)).await, None);
    assert_eq!(
        check(&store, ann.id, &secret.code_at(now + 1)).await,
        Some(SecondFactor::Totp),
        "the next step's code (the user's clock runs fast)"
    );
    // The current step is now before the last used one: refused.
    assert_eq!(check(&store, ann.id, &secret.code_at(now)).await, None);
    assert_eq!(check(&store, ann.id, &secret.code_at(now + 1)).await, None);
    // The window's edge in seconds: the step after is good until it is two behind.
    clock.advance(chrono::TimeDelta::seconds(2 * TOTP_STEP_SECS - 16));
    let code = secret.code_at(step_now(&clock) + 1);
    clock.advance(chrono::TimeDelta::seconds(2 * TOTP_STEP_SECS));
    assert_eq!(check(&store, ann.id, &code).await, Some(SecondFactor::Totp));
    // Another user's secret does not open Ann's second step.
    let mut bob = User::new("bob@example.com");
    store.insert_user(&mut bob).await.unwrap();
    let (bobs, _) = turn_on(&store, &clock, bob.id, 0).await;
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    assert_eq!(
        check(&store, ann.id, &bobs.code_at(step_now(&clock))).await,
        None
    );
}

/// Two requests with one code: exactly one is let in.
async fn one_code_twice_at_once_lets_one_in<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let ann = ann(&store).await;
    let (secret, _) = turn_on(&store, &clock, ann.id, 0).await;
    clock.advance(chrono::TimeDelta::seconds(TOTP_STEP_SECS));
    let code = secret.code_at(step_now(&clock));
    let (a, b) = tokio::join!(
        store.check_second_factor(ann.id, &code),
        store.check_second_factor(ann.id, &code)
    );
    let passed = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| r.is_some())
        .count();
    assert_eq!(passed, 1);
}

/// Each recovery code works once and says how many are left; regenerating
/// replaces them all; turning two-factor off deletes everything.
async fn recovery_codes_are_single_use<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let ann = ann(&store).await;
    let (_, codes) = turn_on(&store, &clock, ann.id, 0).await;
    assert_eq!(
        check(&store, ann.id, &codes[0].to_uppercase()).await,
        Some(SecondFactor::RecoveryCode { left: 9 })
    );
    assert_eq!(check(&store, ann.id, &codes[0]).await, None, "used");
    assert_eq!(
        check(&store, ann.id, &codes[1]).await,
        Some(SecondFactor::RecoveryCode { left: 8 })
    );
    let fresh = store.regenerate_recovery_codes(ann.id).await.unwrap();
    assert_eq!(
        store
            .two_factor_status(ann.id)
            .await
            .unwrap()
            .recovery_codes_left,
        10
    );
    assert_eq!(check(&store, ann.id, &codes[2]).await, None, "replaced");
    assert_eq!(
        check(&store, ann.id, &fresh[9]).await,
        Some(SecondFactor::RecoveryCode { left: 9 })
    );
    // Another user's codes are not Ann's.
    let mut bob = User::new("bob@example.com");
    store.insert_user(&mut bob).await.unwrap();
    assert_eq!(check(&store, bob.id, &fresh[0]).await, None);
    assert!(
        store.regenerate_recovery_codes(bob.id).await.is_err(),
        "Bob has no second factor"
    );

    store.disable_two_factor(ann.id, false).await.unwrap();
    assert_eq!(
        store.two_factor_status(ann.id).await.unwrap(),
        TwoFactorStatus::default()
    );
    assert_eq!(check(&store, ann.id, &fresh[0]).await, None);
    assert!(
        common::table_bytes(&ctx, "kegauth_two_factor", "totp_secret")
            .await
            .is_empty()
    );
}

/// An admin's reset also ends the user's sessions; the user's own turning
/// off does not.
async fn an_admin_reset_ends_the_sessions<DB: Backend>(ctx: Ctx<DB>) {
    let (store, clock) = at(&ctx);
    let ann = ann(&store).await;
    turn_on(&store, &clock, ann.id, 0).await;
    store.disable_two_factor(ann.id, false).await.unwrap();
    let same = store.user(ann.id).await.unwrap().expect("Ann");
    assert_eq!(same.core.session_key, ann.core.session_key);
    turn_on(&store, &clock, ann.id, 1).await;
    store.disable_two_factor(ann.id, true).await.unwrap();
    let rotated = store.user(ann.id).await.unwrap().expect("Ann");
    assert_ne!(rotated.core.session_key, ann.core.session_key);
    // Deleting the user deletes their second factor too.
    turn_on(&store, &clock, ann.id, 1).await;
    store.delete_user(ann.id).await.unwrap();
    assert!(
        common::table_bytes(&ctx, "kegauth_two_factor", "totp_secret")
            .await
            .is_empty()
    );
}

/// A credential as a registration would give it (the bytes are opaque to
/// the store).
fn passkey(id: u8) -> kegauth::passkeys::NewPasskey {
    kegauth::passkeys::NewPasskey {
        credential_id: vec![id; 32],
        user_handle: vec![7; 16],
        public_key: vec![1, 2, 3],
        sign_state: vec![0; 7],
        transports: 1,
    }
}

/// Passkeys in the store: registered once, found by credential id, counted
/// as a second factor, a use recorded once, removed by their owner only,
/// and gone with an admin's reset; none of it while passkeys are off.
async fn passkeys_are_kept_found_and_reset<DB: Backend>(ctx: Ctx<DB>) {
    use kegauth::passkeys::PasskeyKind;
    let (store, _) = at(&ctx);
    let off = store.clone();
    let store = store.with_passkeys(true);
    let ann = ann(&store).await;
    let mut bob = User::new("bob@example.com");
    store.insert_user(&mut bob).await.unwrap();
    assert!(!store.has_second_factor(ann.id).await.unwrap());
    let id = store
        .add_passkey(ann.id, " Laptop ", PasskeyKind::Passkey, &passkey(1))
        .await
        .unwrap();
    assert!(store.has_second_factor(ann.id).await.unwrap());
    assert!(
        !off.has_second_factor(ann.id).await.unwrap(),
        "passkeys off"
    );
    assert_eq!(store.two_factor_status(ann.id).await.unwrap().passkeys, 1);
    assert!(store.two_factor_user_ids().await.unwrap().contains(&ann.id));
    // The same credential again (by anyone) is a conflict; bad names are refused.
    let again = store
        .add_passkey(bob.id, "Phone", PasskeyKind::Passkey, &passkey(1))
        .await;
    assert!(
        matches!(again, Err(kegauth::Error::Conflict(_))),
        "{again:?}"
    );
    for name in ["", "   ", &"x".repeat(101)] {
        let bad = store
            .add_passkey(ann.id, name, PasskeyKind::SecurityKey, &passkey(2))
            .await;
        assert!(matches!(bad, Err(kegauth::Error::Invalid(_))), "{bad:?}");
    }
    let found = store
        .passkey_by_credential(&[1; 32])
        .await
        .unwrap()
        .expect("found by its credential id");
    assert_eq!(
        (found.id, found.user_id, found.name.as_str()),
        (id, ann.id, "Laptop")
    );
    assert_eq!(found.kind, PasskeyKind::Passkey);
    assert!(store
        .passkey_by_credential(&[9; 32])
        .await
        .unwrap()
        .is_none());
    // The handle stays the user's; a new user gets a new random one.
    assert_eq!(
        store.passkey_user_handle(ann.id).await.unwrap(),
        vec![7; 16]
    );
    assert_ne!(
        store.passkey_user_handle(bob.id).await.unwrap(),
        vec![7; 16]
    );
    // A use is recorded once from the state it was checked against.
    let next = [0, 0, 0, 1, 0, 0, 0];
    assert!(store.record_passkey_use(id, &[0; 7], &next).await.unwrap());
    assert!(!store.record_passkey_use(id, &[0; 7], &next).await.unwrap());
    let used = store
        .passkey_by_credential(&[1; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.sign_state, next);
    // Only its owner removes it.
    assert!(!store.delete_passkey(bob.id, id).await.unwrap());
    assert!(store.delete_passkey(ann.id, id).await.unwrap());
    assert!(!store.has_second_factor(ann.id).await.unwrap());
    // An admin's reset takes passkeys too, and ends the sessions.
    store
        .add_passkey(ann.id, "Key", PasskeyKind::SecurityKey, &passkey(3))
        .await
        .unwrap();
    store.disable_two_factor(ann.id, true).await.unwrap();
    assert!(store.passkeys(ann.id).await.unwrap().is_empty());
    let rotated = store.user(ann.id).await.unwrap().expect("Ann");
    assert_ne!(rotated.core.session_key, ann.core.session_key);
}

on_all_backends!(
    passkeys_are_kept_found_and_reset,
    enrolment_is_confirmed_by_a_code,
    totp_window_and_replay,
    one_code_twice_at_once_lets_one_in,
    recovery_codes_are_single_use,
    an_admin_reset_ends_the_sessions,
);
