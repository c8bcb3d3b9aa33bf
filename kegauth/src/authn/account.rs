//! The account service on the store (its trait is in `account_api.rs`):
//! logged-in sessions as records (`kegauth_sessions`, see
//! [`crate::store::sessions`]), password and login changes.

#[cfg(feature = "mail")]
use crate::authn::account_api::EmailConfirm;
use crate::authn::account_api::{AccountService, LoginChange, PasswordChange, Profile};
use crate::authn::service::{BoxFuture, Service};
use crate::core::backend::Backend;
use crate::core::entity::{AuthEntity, EntitySet, LoginKind, UserEntity};
use crate::core::error::Result;
use crate::core::store::sessions::{NewSession, SessionLimits, SessionRecord};

impl<DB: Backend, E: EntitySet> AccountService for Service<DB, E> {
    fn profile<'a>(&'a self, session_key: &'a str) -> BoxFuture<'a, Result<Option<Profile>>> {
        Box::pin(async move {
            let user = self.store.session_user(session_key).await?;
            let now = self.store.now();
            Ok(user.filter(|u| u.is_active_at(now)).map(|u| Profile {
                user_id: u.id(),
                login_id: u.login_id().to_string(),
                has_password: u.core().password.is_some(),
            }))
        })
    }

    fn change_password<'a>(
        &'a self,
        user_id: i64,
        current: &'a str,
        new: &'a str,
        lang: &'a str,
    ) -> BoxFuture<'a, Result<PasswordChange>> {
        Box::pin(async move {
            let store = self.store.in_language(lang);
            let Some(mut user) = self.user_with_password(user_id, current).await? else {
                return Ok(PasswordChange::WrongCurrent);
            };
            let errors = store.password_errors(new, &user);
            if !errors.is_empty() {
                return Ok(PasswordChange::Rejected(errors));
            }
            // A new password rotates the session key (`rights_changed`).
            store.set_password(&mut user, new).await?;
            let session_key = user.core().session_key.clone();
            store.audit(
                crate::core::audit::AuditEvent::new(
                    crate::core::audit::kinds::PASSWORD_CHANGED,
                    crate::core::audit::Outcome::Success,
                )
                .actor(user_id)
                .subject(crate::core::audit::Subject::User(user_id)),
            );
            if <E::User as UserEntity>::LOGIN == LoginKind::Email {
                #[cfg(feature = "mail")]
                store.send_notice(crate::services::mail::MailKind::PasswordChanged, user);
            }
            Ok(PasswordChange::Done { session_key })
        })
    }

    fn change_login<'a>(
        &'a self,
        user_id: i64,
        current: &'a str,
        new: &'a str,
        lang: &'a str,
    ) -> BoxFuture<'a, Result<LoginChange>> {
        Box::pin(async move {
            let store = self.store.in_language(lang);
            let new = new.trim();
            let Some(mut user) = self.user_with_password(user_id, current).await? else {
                return Ok(LoginChange::WrongCurrent);
            };
            let kind = <E::User as UserEntity>::LOGIN;
            if let Err(problem) = crate::services::accounts::check_login_id(kind, new) {
                return Ok(LoginChange::Invalid(problem));
            }
            if let Some(provider) = store.provider_of(new) {
                return Ok(LoginChange::UseProvider(provider.to_string()));
            }
            if let Some(other) = store.user_by_login(new).await? {
                if other.id() != user_id {
                    return Ok(LoginChange::Taken);
                }
                if other.login_id() == new {
                    return Ok(LoginChange::Same);
                }
            }
            if kind == LoginKind::Username {
                let old = user.login_id().to_string();
                user.set_login_id(new.to_string());
                return match store.update_user(&mut user).await {
                    Ok(()) => {
                        audit_login_change(&store, user_id, &old, new);
                        Ok(LoginChange::Changed)
                    }
                    Err(crate::core::error::Error::Conflict(_)) => Ok(LoginChange::Taken),
                    Err(e) => Err(e),
                };
            }
            self.send_email_link(&store, user, new).await
        })
    }

    #[cfg(feature = "mail")]
    fn confirm_email<'a>(
        &'a self,
        user_id: i64,
        address: &'a str,
        token: &'a str,
        apply: bool,
    ) -> BoxFuture<'a, Result<EmailConfirm>> {
        Box::pin(self.confirm_email_link(user_id, address, token, apply))
    }

    fn start<'a>(
        &'a self,
        new: NewSession<'a>,
        limits: SessionLimits,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { self.store.start_session(&new, limits).await })
    }

    fn alive<'a>(&'a self, session_key: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.store.session_alive(session_key, id))
    }

    fn list(
        &self,
        user_id: i64,
        limits: SessionLimits,
    ) -> BoxFuture<'_, Result<Vec<SessionRecord>>> {
        Box::pin(async move {
            let Some(user) = self.store.user(user_id).await? else {
                return Ok(Vec::new());
            };
            let key = &user.core().session_key;
            self.store.user_sessions(user_id, key, limits).await
        })
    }

    fn log_out<'a>(
        &'a self,
        session_key: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            let Some(user) = self.store.user_by_session_key(session_key).await? else {
                return Ok(None);
            };
            self.store.log_out_session(user.id(), id).await?;
            Ok(Some(user.id()))
        })
    }

    fn end<'a>(&'a self, user_id: i64, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.store.end_session(user_id, id))
    }

    fn end_others<'a>(&'a self, user_id: i64, keep: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(self.store.end_other_sessions(user_id, keep))
    }

    fn rekey<'a>(&'a self, id: &'a str, session_key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.store.rekey_session(id, session_key))
    }
}

impl<DB: Backend, E: EntitySet> Service<DB, E> {
    /// User `user_id`, if `password` is theirs (`None`: no such user, no
    /// password, or another one; each costs one hash, so all take as long).
    pub(crate) async fn user_with_password(
        &self,
        user_id: i64,
        password: &str,
    ) -> Result<Option<E::User>> {
        let Some(user) = self.store.user(user_id).await? else {
            self.store.hasher().verify_dummy().await?;
            return Ok(None);
        };
        // No password: verify_password hashes against a dummy and says no.
        let ok = self.store.verify_password(&user, password).await?.ok;
        Ok(ok.then_some(user))
    }

    /// Mail `new` the link that confirms it as `user`'s email address, and
    /// the old address a notice.
    #[cfg(feature = "mail")]
    async fn send_email_link(
        &self,
        store: &crate::core::store::Store<DB, E>,
        user: E::User,
        new: &str,
    ) -> Result<LoginChange> {
        if !store.mail_on() {
            return Err(crate::core::error::Error::Config(
                "changing an email address takes a mail manager".into(),
            ));
        }
        store.send_confirm_email(&user, new).await?;
        log::info!(target: crate::core::AUDIT, "user {} asked to change their email address", user.id());
        store.send_notice(crate::services::mail::MailKind::EmailChanged, user);
        Ok(LoginChange::LinkSent)
    }

    #[cfg(not(feature = "mail"))]
    async fn send_email_link(
        &self,
        _store: &crate::core::store::Store<DB, E>,
        _user: E::User,
        _new: &str,
    ) -> Result<LoginChange> {
        Err(crate::core::config::missing_feature(
            "changing an email address",
            "mail",
        ))
    }

    #[cfg(feature = "mail")]
    async fn confirm_email_link(
        &self,
        user_id: i64,
        address: &str,
        token: &str,
        apply: bool,
    ) -> Result<EmailConfirm> {
        let store = &self.store;
        let Some(mut user) = store.user(user_id).await? else {
            return Ok(EmailConfirm::Invalid);
        };
        if !store.confirm_email_verify(&user, address, token) {
            return Ok(EmailConfirm::Invalid);
        }
        if let Some(other) = store.user_by_login(address).await?
            && other.id() != user_id
        {
            return Ok(EmailConfirm::Taken);
        }
        if !apply {
            return Ok(EmailConfirm::Valid {
                address: address.to_string(),
            });
        }
        let old = user.login_id().to_string();
        user.set_login_id(address.to_string());
        // Opening the link proves the address: it counts as verified.
        user.core_mut().is_verified = true;
        match store.update_user(&mut user).await {
            Ok(()) => {}
            Err(crate::core::error::Error::Conflict(_)) => return Ok(EmailConfirm::Taken),
            Err(e) => return Err(e),
        }
        audit_login_change(store, user_id, &old, address);
        Ok(EmailConfirm::Done)
    }
}

/// Record that `user_id` changed their own login id from `old` to `new`.
fn audit_login_change<DB: Backend, E: EntitySet>(
    store: &crate::core::store::Store<DB, E>,
    user_id: i64,
    old: &str,
    new: &str,
) {
    log::info!(target: crate::core::AUDIT, "user {user_id} changed their login id");
    store.audit(
        crate::core::audit::AuditEvent::new(
            crate::core::audit::kinds::LOGIN_CHANGED,
            crate::core::audit::Outcome::Success,
        )
        .actor(user_id)
        .subject(crate::core::audit::Subject::User(user_id))
        .detail(serde_json::json!({ "from": old, "to": new })),
    );
}
