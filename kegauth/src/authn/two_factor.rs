//! The second step of a login: the state a password login leaves in the
//! session while it waits for a second factor, and the store behind the
//! type-erased second-factor service the views call (its trait,
//! `TwoFactorService`, is in `service.rs` beside the login service's).

use crate::authn::service::{BoxFuture, Service, TwoFactorService};
use crate::core::backend::Backend;
use crate::core::entity::{AuthEntity, EntitySet, UserEntity};
use crate::core::error::Result;
use crate::core::passkeys::StoredPasskey;
#[cfg(feature = "passkeys")]
use crate::core::passkeys::{NewPasskey, PasskeyKind};
use crate::core::store::two_factor::{SecondFactor, TwoFactorStatus};
use crate::core::two_factor::{PendingLogin, TotpSecret};

impl<DB: Backend, E: EntitySet> TwoFactorService for Service<DB, E> {
    fn status(&self, user_id: i64) -> BoxFuture<'_, Result<TwoFactorStatus>> {
        Box::pin(self.store.two_factor_status(user_id))
    }

    fn enabled(&self, user_id: i64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.store.has_second_factor(user_id))
    }

    fn check<'a>(
        &'a self,
        user_id: i64,
        code: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecondFactor>>> {
        Box::pin(self.store.check_second_factor(user_id, code))
    }

    fn begin(&self, user_id: i64) -> BoxFuture<'_, Result<TotpSecret>> {
        Box::pin(self.store.begin_totp(user_id))
    }

    fn pending(&self, user_id: i64) -> BoxFuture<'_, Result<Option<TotpSecret>>> {
        Box::pin(self.store.pending_totp(user_id))
    }

    fn confirm<'a>(
        &'a self,
        user_id: i64,
        code: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>>> {
        Box::pin(self.store.confirm_totp(user_id, code))
    }

    fn regenerate(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.store.regenerate_recovery_codes(user_id))
    }

    fn disable(&self, user_id: i64, rotate: bool) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.store.disable_two_factor(user_id, rotate))
    }

    fn password_matches<'a>(
        &'a self,
        user_id: i64,
        password: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move { Ok(self.user_with_password(user_id, password).await?.is_some()) })
    }

    fn pending_holds<'a>(&'a self, pending: &'a PendingLogin) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let now = self.store.now();
            if now.and_utc().timestamp() > pending.until {
                return Ok(false);
            }
            let Some(user) = self.store.user(pending.user_id).await? else {
                return Ok(false);
            };
            Ok(user.is_active_at(now) && user.core().session_key == pending.session_key)
        })
    }

    fn account<'a>(&'a self, session_key: &'a str) -> BoxFuture<'a, Result<Option<(i64, String)>>> {
        Box::pin(async move {
            let user = self.store.session_user(session_key).await?;
            let now = self.store.now();
            Ok(user
                .filter(|u| u.is_active_at(now))
                .map(|u| (u.id(), u.login_id().to_string())))
        })
    }

    fn holds_any<'a>(&'a self, user_id: i64, tokens: &'a [String]) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let Some(user) = self.store.user(user_id).await? else {
                return Ok(false);
            };
            let held = self.store.user_permissions(&user).await?;
            Ok(tokens.iter().any(|t| held.contains(t)))
        })
    }

    fn now_secs(&self) -> i64 {
        self.store.now().and_utc().timestamp()
    }

    fn passkeys(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<StoredPasskey>>> {
        Box::pin(self.store.passkeys(user_id))
    }

    #[cfg(feature = "passkeys")]
    fn passkey_handle(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(self.store.passkey_user_handle(user_id))
    }

    #[cfg(feature = "passkeys")]
    fn add_passkey<'a>(
        &'a self,
        user_id: i64,
        name: &'a str,
        kind: PasskeyKind,
        passkey: &'a NewPasskey,
    ) -> BoxFuture<'a, Result<i64>> {
        Box::pin(self.store.add_passkey(user_id, name, kind, passkey))
    }

    #[cfg(feature = "passkeys")]
    fn passkey_by_credential<'a>(
        &'a self,
        credential_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<StoredPasskey>>> {
        Box::pin(self.store.passkey_by_credential(credential_id))
    }

    #[cfg(feature = "passkeys")]
    fn record_passkey_use<'a>(
        &'a self,
        id: i64,
        before: &'a [u8],
        after: &'a [u8],
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.store.record_passkey_use(id, before, after))
    }

    #[cfg(feature = "passkeys")]
    fn delete_passkey(&self, user_id: i64, id: i64) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.store.delete_passkey(user_id, id))
    }

    #[cfg(feature = "passkeys")]
    fn active_user(&self, user_id: i64) -> BoxFuture<'_, Result<Option<(String, String)>>> {
        Box::pin(async move {
            let user = self.store.user(user_id).await?;
            let now = self.store.now();
            Ok(user
                .filter(|u| u.is_active_at(now))
                .map(|u| (u.core().session_key.clone(), u.login_id().to_string())))
        })
    }
}

/// The session's part in a login's second step and in passkey ceremonies.
impl crate::authn::session::Session<'_> {
    /// Hold a login at its second step: no user is logged in, the session
    /// keeps `pending` (and its CSRF token) until the code comes.
    pub(crate) fn begin_second_step(&self, pending: PendingLogin) {
        self.update(|data| {
            data.session_key = None;
            data.logged_in_at = None;
            data.must_enrol = false;
            data.pending = Some(pending);
        });
    }

    /// The login waiting for its second factor, if any.
    pub(crate) fn pending_login(&self) -> Option<PendingLogin> {
        self.current().pending.clone()
    }

    /// Drop the login waiting for its second factor.
    pub(crate) fn end_second_step(&self) {
        self.update(|data| data.pending = None);
    }

    /// Mark (or clear) the logged-in user as having to enrol a second factor.
    pub(crate) fn set_must_enrol(&self, yes: bool) {
        if self.current().must_enrol != yes {
            self.update(|data| data.must_enrol = yes);
        }
    }

    /// Keep `ceremony` until its answer comes (one at a time: a new one
    /// replaces the last).
    #[cfg(feature = "passkeys")]
    pub(crate) fn set_ceremony(&self, ceremony: crate::core::passkeys::Ceremony) {
        self.update(|data| data.ceremony = Some(ceremony));
    }

    /// Take the ceremony out of the session (it is used once).
    #[cfg(feature = "passkeys")]
    pub(crate) fn take_ceremony(&self) -> Option<crate::core::passkeys::Ceremony> {
        let ceremony = self.current().ceremony.clone();
        if ceremony.is_some() {
            self.update(|data| data.ceremony = None);
        }
        ceremony
    }
}
