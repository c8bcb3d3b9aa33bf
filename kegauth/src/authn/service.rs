//! The type-erased auth service behind kegauth's routes, so that
//! `kegauth::routes()` needs no type parameters.

use crate::core::attempts::Gate;
use crate::core::backend::Backend;
use crate::core::entity::{AttemptType, AuthEntity, EntitySet, LoginKind, UserEntity};
use crate::core::error::Result;
use crate::core::passkeys::StoredPasskey;
#[cfg(feature = "passkeys")]
use crate::core::passkeys::{NewPasskey, PasskeyKind};
use crate::core::store::two_factor::{SecondFactor, TwoFactorStatus};
use crate::core::store::Store;
use crate::core::two_factor::{PendingLogin, TotpSecret};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

pub(crate) use crate::authn::boxed::BoxFuture;

/// Why a login did not succeed (only shown in detail when `detailed_login_errors` is on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    /// No user has that login id.
    UnknownUser,
    /// The password is wrong, empty, or the user has none.
    WrongPassword,
    /// The right password, but the account is disabled.
    Disabled,
    /// The right password, but the account was disabled from a date on.
    DisabledByDate,
    /// The right password, but the email address is not verified.
    Unverified,
    /// The login id's domain belongs to an OAuth provider (its
    /// `domain_filter`): those users log in there, never with a password.
    UseProvider,
    /// OAuth: the account is already linked to another identity (subject)
    /// at the provider.
    OtherIdentity,
}

/// A login that went through: who, and the session key to put in the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LoggedIn {
    pub user_id: i64,
    pub session_key: String,
}

/// A refused login, and the user it was about when there is one (for the
/// audit trail; never shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub failure: LoginFailure,
    pub user_id: Option<i64>,
}

impl LoginFailure {
    /// Refused, about no known user.
    fn anyone(self) -> Refused {
        Refused {
            failure: self,
            user_id: None,
        }
    }

    /// Refused, about user `id`.
    fn of(self, id: i64) -> Refused {
        Refused {
            failure: self,
            user_id: Some(id),
        }
    }
}

/// How a login was judged.
pub(crate) type Judged = std::result::Result<LoggedIn, Refused>;

#[cfg(feature = "mail")]
/// What a verification or reset token in a link is worth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    /// No user has the id in the link (404).
    NoUser,
    /// Tampered, expired, or already used.
    Invalid,
    /// Valid; the user's login id, for the page.
    Valid(String),
    /// Valid, but the new password fails the policy.
    Rejected(String, Vec<String>),
    /// The password was set.
    Done,
}

pub(crate) trait AuthService: Send + Sync + 'static {
    fn login_kind(&self) -> LoginKind;

    /// Second factors (the login's second step, the account page).
    fn two_factor(&self) -> &dyn TwoFactorService;

    /// The app's own tables (`#[derive(Crud)]` records), on the app's database.
    fn records(&self) -> &dyn crate::core::records::RecordStore;

    /// Logged-in sessions as records (`kegauth_sessions`).
    fn account(&self) -> &dyn crate::authn::account_api::AccountService;

    /// Whether a mail manager is configured (the forgot/reset/verify pages exist).
    fn mail_enabled(&self) -> bool;

    /// Forgot password: when `email` belongs to a user who may log in, mail a
    /// reset link in the background. The user's id when it did (for attempt
    /// limiting and the audit trail only: the page says the same either way).
    /// The mail is in language `lang`.
    #[cfg(feature = "mail")]
    fn forgot<'a>(&'a self, email: &'a str, lang: &'a str) -> BoxFuture<'a, Result<Option<i64>>>;

    /// [`Store::open_attempt`].
    fn open_attempt<'a>(
        &'a self,
        kind: AttemptType,
        input: &'a str,
        ip: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<Gate>>;

    /// [`Store::attempt_succeeded`].
    fn attempt_succeeded(&self, gate: Gate) -> BoxFuture<'_, Result<()>>;

    /// Check the token of a reset or verify link.
    #[cfg(feature = "mail")]
    fn check_token<'a>(&'a self, user_id: i64, token: &'a str)
        -> BoxFuture<'a, Result<TokenCheck>>;

    /// Set a password through a reset or verify link (policy problems in
    /// language `lang`).
    #[cfg(feature = "mail")]
    fn use_token<'a>(
        &'a self,
        user_id: i64,
        token: &'a str,
        password: &'a str,
        lang: &'a str,
    ) -> BoxFuture<'a, Result<TokenCheck>>;

    /// Check credentials; on success record the login (and upgrade a legacy
    /// hash) and return the session key to put in the session.
    fn authenticate<'a>(
        &'a self,
        login_id: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Judged>>;

    /// The label of the OAuth provider `login_id`'s domain belongs to.
    fn provider_of(&self, login_id: &str) -> Option<String>;

    /// An OAuth login of the identity `(issuer, subject)`, whose login id
    /// the provider vouched for: the user linked to the identity, else the
    /// user with that login id (who is then linked to it, unless already
    /// linked to another subject of the issuer). They must be active; they
    /// are marked verified. Returns the session key.
    #[cfg(feature = "oauth")]
    fn provider_login<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
        login_id: &'a str,
    ) -> BoxFuture<'a, Result<Judged>>;

    /// Rotate the key of the user holding `session_key` (logout: a copied
    /// cookie stops working); that user's id.
    fn revoke<'a>(&'a self, session_key: &'a str) -> BoxFuture<'a, Result<Option<i64>>>;

    /// The id of a user returned by `active_user` or `resolve`.
    fn id_of(&self, user: &AnyUser) -> Option<i64>;

    /// The store's write generation (see `Store::write_generation`).
    fn write_generation(&self) -> u64;

    /// The active user holding `session_key` if the session cache has them
    /// and found session row `row` alive under it (`None`: not cached, or
    /// not active; ask [`active_user`](Self::active_user) and the row).
    fn cached_active_user(&self, session_key: &str, row: &str) -> Option<Arc<AnyUser>>;

    /// The active user holding `session_key`, type-erased.
    fn active_user<'a>(
        &'a self,
        session_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<AnyUser>>>>;

    /// The active user a request loader's credential names, type-erased.
    fn resolve<'a>(
        &'a self,
        credential: &'a crate::authn::loaders::Credential,
    ) -> BoxFuture<'a, Result<Option<Arc<AnyUser>>>>;

    /// The effective permissions of a user returned by `active_user`.
    fn permissions_of<'a>(
        &'a self,
        user: &'a AnyUser,
    ) -> BoxFuture<'a, Result<Arc<BTreeSet<String>>>>;
}

type AnyUser = dyn std::any::Any + Send + Sync;

/// Why a user whose credentials are right still may not log in: disabled,
/// or disabled from a date that has come.
fn disabled(
    core: &crate::core::entity::UserCore,
    now: chrono::NaiveDateTime,
) -> Option<LoginFailure> {
    if !core.is_enabled {
        Some(LoginFailure::Disabled)
    } else if core.is_disabled_by_date(now) {
        Some(LoginFailure::DisabledByDate)
    } else {
        None
    }
}

pub(crate) struct Service<DB: Backend, E: EntitySet> {
    pub store: Store<DB, E>,
    /// Set with the LDAP authenticator: passwords are checked by the directory.
    #[cfg(feature = "ldap")]
    pub ldap: Option<Arc<crate::authn::authenticators::ldap::LdapSettings>>,
}

impl<DB: Backend, E: EntitySet> Service<DB, E> {
    /// The user, type-erased, if active now (what a session or a loader may load).
    fn only_active(&self, user: Option<Arc<E::User>>) -> Option<Arc<AnyUser>> {
        let now = self.store.now();
        user.filter(|u| u.is_active_at(now))
            .map(|u| u as Arc<AnyUser>)
    }

    /// The LDAP login: bind, then find (or create) the local user, who must be
    /// active. No password is stored; an email user is verified by the bind.
    #[cfg(feature = "ldap")]
    async fn authenticate_ldap(
        &self,
        ldap: &crate::authn::authenticators::ldap::LdapSettings,
        login_id: &str,
        password: &str,
    ) -> Result<Judged> {
        let store = &self.store;
        if ldap.bind(login_id, password).await? == crate::authn::authenticators::ldap::Bind::Refused
        {
            return Ok(Err(LoginFailure::WrongPassword.anyone()));
        }
        let login_id = login_id.trim();
        let user = match store.user_by_login(login_id).await? {
            Some(user) => user,
            None => {
                let mut user: E::User = crate::core::entity::blank_user()?;
                user.set_login_id(login_id.to_string());
                user.core_mut().is_verified = true;
                match store.insert_user(&mut user).await {
                    Ok(()) => user,
                    // A concurrent first login created it.
                    Err(crate::core::error::Error::Conflict(_)) => {
                        match store.user_by_login(login_id).await? {
                            Some(user) => user,
                            None => return Ok(Err(LoginFailure::UnknownUser.anyone())),
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if let Some(failure) = disabled(user.core(), store.now()) {
            return Ok(Err(failure.of(user.id())));
        }
        self.record_vouched_login(user).await.map(Ok)
    }

    /// Record a login that an outside authority vouched for (a directory
    /// bind, an OpenID provider) of an active user: they are marked verified
    /// and their last login set. Their session key.
    #[cfg(any(feature = "ldap", feature = "oauth"))]
    async fn record_vouched_login(&self, mut user: E::User) -> Result<LoggedIn> {
        let core = user.core_mut();
        core.is_verified = true;
        core.last_login_utc = Some(self.store.now());
        self.store.update_user(&mut user).await?;
        Ok(LoggedIn {
            user_id: user.id(),
            session_key: user.core().session_key.clone(),
        })
    }
}

/// How many times a login is judged again when the user's row changed while
/// the password was checked (see [`Store::record_login`]) before it gives up.
const LOGIN_TRIES: usize = 3;

impl<DB: Backend, E: EntitySet> AuthService for Service<DB, E> {
    fn login_kind(&self) -> LoginKind {
        <E::User as UserEntity>::LOGIN
    }

    fn two_factor(&self) -> &dyn TwoFactorService {
        self
    }

    fn records(&self) -> &dyn crate::core::records::RecordStore {
        &self.store
    }

    fn account(&self) -> &dyn crate::authn::account_api::AccountService {
        self
    }

    fn mail_enabled(&self) -> bool {
        self.store.mail_on()
    }

    #[cfg(feature = "mail")]
    fn forgot<'a>(&'a self, email: &'a str, lang: &'a str) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            let store = &self.store;
            if store.provider_of(email).is_some() {
                // No password to reset: they log in through their provider.
                return Ok(None);
            }
            let Some(user) = store.user_by_login(email).await? else {
                return Ok(None);
            };
            let now = store.now();
            if !user.core().is_enabled || user.core().is_disabled_by_date(now) {
                return Ok(None);
            }
            let id = user.id();
            // Off the request path: the answer takes as long for an unknown
            // address as for a known one, and a slow mail server delays nobody.
            log::info!(target: crate::core::AUDIT, "password reset mail requested for user {}", user.id());
            let store = store.in_language(lang);
            tokio::spawn(async move {
                // Within `mail_limit` (held back past it, telling no one).
                let sent = store
                    .send_limited(crate::services::mail::MailKind::ResetPassword, &user)
                    .await;
                if let Err(e) = sent {
                    log::error!("kegauth: reset mail to user {} failed: {e}", user.id());
                }
            });
            Ok(Some(id))
        })
    }

    fn open_attempt<'a>(
        &'a self,
        kind: AttemptType,
        input: &'a str,
        ip: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<Gate>> {
        Box::pin(self.store.open_attempt(kind, input, ip))
    }

    fn attempt_succeeded(&self, gate: Gate) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.store.attempt_succeeded(gate))
    }

    #[cfg(feature = "mail")]
    fn check_token<'a>(
        &'a self,
        user_id: i64,
        token: &'a str,
    ) -> BoxFuture<'a, Result<TokenCheck>> {
        Box::pin(async move {
            let Some(user) = self.store.user(user_id).await? else {
                return Ok(TokenCheck::NoUser);
            };
            Ok(if self.store.token_verify(&user, token) {
                TokenCheck::Valid(user.login_id().to_string())
            } else {
                TokenCheck::Invalid
            })
        })
    }

    #[cfg(feature = "mail")]
    fn use_token<'a>(
        &'a self,
        user_id: i64,
        token: &'a str,
        password: &'a str,
        lang: &'a str,
    ) -> BoxFuture<'a, Result<TokenCheck>> {
        Box::pin(async move {
            let store = &self.store.in_language(lang);
            let Some(mut user) = store.user(user_id).await? else {
                return Ok(TokenCheck::NoUser);
            };
            if !store.token_verify(&user, token) {
                return Ok(TokenCheck::Invalid);
            }
            let errors = store.password_errors(password, &user);
            if !errors.is_empty() {
                return Ok(TokenCheck::Rejected(user.login_id().to_string(), errors));
            }
            Ok(
                if store.change_password(&mut user, token, password).await? {
                    log::info!(target: crate::core::AUDIT, "user {user_id} set a password through a link");
                    TokenCheck::Done
                } else {
                    TokenCheck::Invalid
                },
            )
        })
    }

    fn authenticate<'a>(
        &'a self,
        login_id: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<Judged>> {
        Box::pin(async move {
            #[cfg(feature = "ldap")]
            if let Some(ldap) = &self.ldap {
                return self.authenticate_ldap(ldap, login_id, password).await;
            }
            let store = &self.store;
            if store.provider_of(login_id).is_some() {
                // The domain logs in through its OAuth provider; saying so
                // tells nothing about any one account.
                return Ok(Err(LoginFailure::UseProvider.anyone()));
            }
            // Exactly one hash in every case, so timing does not tell whether
            // the user exists, has a password, or is disabled.
            let Some(mut user) = store.user_by_login(login_id).await? else {
                store.hasher().verify_dummy().await?;
                return Ok(Err(LoginFailure::UnknownUser.anyone()));
            };
            let mut verified = store.verify_password(&user, password).await?;
            // The hash the password was checked against.
            let mut checked = user.core().password.clone();
            // The user's row may change while the password is hashed (disabled,
            // another password, rights, a logout elsewhere): the login is then
            // judged again on the row as it is, and never writes back the one
            // read before.
            for _ in 0..LOGIN_TRIES {
                if user.core().password != checked {
                    verified = store.verify_password(&user, password).await?;
                    checked = user.core().password.clone();
                }
                let id = user.id();
                if !verified.ok {
                    return Ok(Err(LoginFailure::WrongPassword.of(id)));
                }
                let now = store.now();
                let core = user.core();
                if let Some(failure) = disabled(core, now) {
                    return Ok(Err(failure.of(id)));
                }
                if <E::User as UserEntity>::LOGIN == LoginKind::Email && !core.is_verified {
                    return Ok(Err(LoginFailure::Unverified.of(id)));
                }
                let recorded = if verified.needs_rehash {
                    // A new hash rotates the key: the login uses the new one.
                    let key = user.core().session_key.clone();
                    let hash = store.hasher().hash(password).await?;
                    let core = user.core_mut();
                    core.last_login_utc = Some(now);
                    core.password = Some(hash);
                    store.update_user_if_key(&mut user, &key).await?
                } else {
                    store.record_login(&mut user, now).await?
                };
                if recorded {
                    return Ok(Ok(LoggedIn {
                        user_id: id,
                        session_key: user.core().session_key.clone(),
                    }));
                }
                let Some(again) = store.user(id).await? else {
                    return Ok(Err(LoginFailure::UnknownUser.anyone()));
                };
                user = again;
            }
            Err(crate::core::error::Error::Conflict(
                "the account changed during the login; try again".into(),
            ))
        })
    }

    fn cached_active_user(&self, session_key: &str, row: &str) -> Option<Arc<AnyUser>> {
        self.only_active(self.store.cached_session_user(session_key, row))
    }

    fn active_user<'a>(
        &'a self,
        session_key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<AnyUser>>>> {
        Box::pin(async move {
            let user = self.store.session_user(session_key).await?;
            Ok(self.only_active(user))
        })
    }

    fn resolve<'a>(
        &'a self,
        credential: &'a crate::authn::loaders::Credential,
    ) -> BoxFuture<'a, Result<Option<Arc<AnyUser>>>> {
        use crate::authn::loaders::Credential;
        Box::pin(async move {
            match credential {
                Credential::SessionKey(key) => AuthService::active_user(self, key).await,
                Credential::ApiToken { login_id, token } => {
                    let user = self.store.user_by_api_token_cached(login_id, token).await?;
                    Ok(self.only_active(user))
                }
            }
        })
    }

    fn permissions_of<'a>(
        &'a self,
        user: &'a AnyUser,
    ) -> BoxFuture<'a, Result<Arc<BTreeSet<String>>>> {
        Box::pin(async move {
            match user.downcast_ref::<E::User>() {
                Some(u) => self.store.session_permissions(u).await,
                None => Ok(Arc::default()),
            }
        })
    }

    fn provider_of(&self, login_id: &str) -> Option<String> {
        self.store.provider_of(login_id).map(str::to_string)
    }

    #[cfg(feature = "oauth")]
    fn provider_login<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
        login_id: &'a str,
    ) -> BoxFuture<'a, Result<Judged>> {
        Box::pin(async move {
            let store = &self.store;
            let linked = match store.oauth_user_id(issuer, subject).await? {
                Some(id) => store.user(id).await?,
                None => None,
            };
            let (user, link) = match linked {
                Some(user) => (user, false),
                None => {
                    let Some(user) = store.user_by_login(login_id).await? else {
                        return Ok(Err(LoginFailure::UnknownUser.anyone()));
                    };
                    // Identity is (issuer, subject): the same address at the
                    // provider under another subject does not take the
                    // account over.
                    if store.oauth_subject(user.id(), issuer).await?.is_some() {
                        return Ok(Err(LoginFailure::OtherIdentity.of(user.id())));
                    }
                    (user, true)
                }
            };
            if let Some(failure) = disabled(user.core(), store.now()) {
                return Ok(Err(failure.of(user.id())));
            }
            if link {
                match store.link_oauth_identity(user.id(), issuer, subject).await {
                    Ok(()) => {}
                    // A concurrent first login linked it: only the winner's subject counts.
                    Err(crate::core::error::Error::Conflict(_)) => {
                        if store.oauth_user_id(issuer, subject).await? != Some(user.id()) {
                            return Ok(Err(LoginFailure::OtherIdentity.of(user.id())));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            self.record_vouched_login(user).await.map(Ok)
        })
    }

    fn write_generation(&self) -> u64 {
        self.store.write_generation()
    }

    fn revoke<'a>(&'a self, session_key: &'a str) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            let Some(mut user) = self.store.user_by_session_key(session_key).await? else {
                return Ok(None);
            };
            self.store.rotate_session_key(&mut user).await?;
            Ok(Some(user.id()))
        })
    }

    fn id_of(&self, user: &AnyUser) -> Option<i64> {
        user.downcast_ref::<E::User>().map(AuthEntity::id)
    }
}

/// What the second-factor views need of the store, type-erased.
pub(crate) trait TwoFactorService: Send + Sync + 'static {
    /// [`Store::two_factor_status`](crate::Store::two_factor_status).
    fn status(&self, user_id: i64) -> BoxFuture<'_, Result<TwoFactorStatus>>;

    /// [`Store::has_second_factor`](crate::Store::has_second_factor).
    fn enabled(&self, user_id: i64) -> BoxFuture<'_, Result<bool>>;

    /// [`Store::check_second_factor`](crate::Store::check_second_factor).
    fn check<'a>(
        &'a self,
        user_id: i64,
        code: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecondFactor>>>;

    /// [`Store::begin_totp`](crate::Store::begin_totp).
    fn begin(&self, user_id: i64) -> BoxFuture<'_, Result<TotpSecret>>;

    /// [`Store::pending_totp`](crate::Store::pending_totp).
    fn pending(&self, user_id: i64) -> BoxFuture<'_, Result<Option<TotpSecret>>>;

    /// [`Store::confirm_totp`](crate::Store::confirm_totp).
    fn confirm<'a>(
        &'a self,
        user_id: i64,
        code: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>>>;

    /// [`Store::regenerate_recovery_codes`](crate::Store::regenerate_recovery_codes).
    fn regenerate(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<String>>>;

    /// [`Store::disable_two_factor`](crate::Store::disable_two_factor).
    fn disable(&self, user_id: i64, rotate: bool) -> BoxFuture<'_, Result<()>>;

    /// Whether `password` is `user_id`'s (to turn the second factor off or
    /// see new recovery codes without a code).
    fn password_matches<'a>(
        &'a self,
        user_id: i64,
        password: &'a str,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Whether `pending` still stands: not expired now, and its user active
    /// with the same session key.
    fn pending_holds<'a>(&'a self, pending: &'a PendingLogin) -> BoxFuture<'a, Result<bool>>;

    /// The active user holding `session_key`: their id and login id.
    fn account<'a>(&'a self, session_key: &'a str) -> BoxFuture<'a, Result<Option<(i64, String)>>>;

    /// Whether user `user_id` holds any of `tokens` (a superuser holds all).
    fn holds_any<'a>(&'a self, user_id: i64, tokens: &'a [String]) -> BoxFuture<'a, Result<bool>>;

    /// Now, in Unix seconds, by the store's clock.
    fn now_secs(&self) -> i64;

    /// [`Store::passkeys`](crate::Store::passkeys).
    fn passkeys(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<StoredPasskey>>>;

    /// [`Store::passkey_user_handle`](crate::Store::passkey_user_handle).
    #[cfg(feature = "passkeys")]
    fn passkey_handle(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<u8>>>;

    /// [`Store::add_passkey`](crate::Store::add_passkey).
    #[cfg(feature = "passkeys")]
    fn add_passkey<'a>(
        &'a self,
        user_id: i64,
        name: &'a str,
        kind: PasskeyKind,
        passkey: &'a NewPasskey,
    ) -> BoxFuture<'a, Result<i64>>;

    /// [`Store::passkey_by_credential`](crate::Store::passkey_by_credential).
    #[cfg(feature = "passkeys")]
    fn passkey_by_credential<'a>(
        &'a self,
        credential_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<StoredPasskey>>>;

    /// [`Store::record_passkey_use`](crate::Store::record_passkey_use).
    #[cfg(feature = "passkeys")]
    fn record_passkey_use<'a>(
        &'a self,
        id: i64,
        before: &'a [u8],
        after: &'a [u8],
    ) -> BoxFuture<'a, Result<bool>>;

    /// [`Store::delete_passkey`](crate::Store::delete_passkey).
    #[cfg(feature = "passkeys")]
    fn delete_passkey(&self, user_id: i64, id: i64) -> BoxFuture<'_, Result<bool>>;

    /// User `user_id`, if active: their session key and login id (a passkey
    /// login's user).
    #[cfg(feature = "passkeys")]
    fn active_user(&self, user_id: i64) -> BoxFuture<'_, Result<Option<(String, String)>>>;
}

/// The service, as managed state.
pub(crate) struct Auth(pub Box<dyn AuthService>);
