//! What the account page asks of kegauth (sessions as records, password
//! and login changes): the type-erased service's trait and the answers it
//! gives. `account.rs` implements it on the store.

use crate::authn::boxed::BoxFuture;
use crate::core::error::Result;
use crate::core::store::sessions::{NewSession, SessionLimits, SessionRecord};

/// What the account page shows of its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Profile {
    pub user_id: i64,
    pub login_id: String,
    /// Whether the user has a password (LDAP and OAuth users have none).
    pub has_password: bool,
}

/// How a password change went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PasswordChange {
    /// The current password typed is not theirs.
    WrongCurrent,
    /// The new password fails the policy (the problems, translated).
    Rejected(Vec<String>),
    /// Changed: the user's new session key (every session under the old one ended).
    Done { session_key: String },
}

/// How a change of login id (email address or username) went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LoginChange {
    /// The current password typed is not theirs.
    WrongCurrent,
    /// The new login id cannot be one.
    Invalid(crate::services::accounts::LoginIdProblem),
    /// The new login id is the current one.
    Same,
    /// Another user has it.
    Taken,
    /// It belongs to an OAuth provider's domain: such users log in there.
    UseProvider(String),
    /// A username: changed.
    Changed,
    #[cfg_attr(not(feature = "mail"), allow(dead_code))]
    /// An email address: the link that confirms it was sent (or held back
    /// by `mail_limit`, which the page does not tell).
    LinkSent,
}

/// What opening a confirm-email link found.
#[cfg(feature = "mail")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EmailConfirm {
    /// No such user, a tampered, used or expired link.
    Invalid,
    /// The address was taken by another user meanwhile.
    Taken,
    /// The link is good (shown before the change: the page asks to confirm).
    Valid { address: String },
    /// The address is the user's login id now.
    Done,
}

pub(crate) trait AccountService: Send + Sync {
    /// The active user holding `session_key`.
    fn profile<'a>(&'a self, session_key: &'a str) -> BoxFuture<'a, Result<Option<Profile>>>;

    /// Change `user_id`'s password from `current` to `new` (problems in
    /// language `lang`); on success the session key rotates and a notice is
    /// mailed (email logins with mail configured).
    fn change_password<'a>(
        &'a self,
        user_id: i64,
        current: &'a str,
        new: &'a str,
        lang: &'a str,
    ) -> BoxFuture<'a, Result<PasswordChange>>;

    /// Change `user_id`'s login id to `new`, after `current` (their
    /// password; a user without one cannot): a username at once, an email address once the
    /// link mailed to it is opened (the old address is told).
    fn change_login<'a>(
        &'a self,
        user_id: i64,
        current: &'a str,
        new: &'a str,
        lang: &'a str,
    ) -> BoxFuture<'a, Result<LoginChange>>;

    /// Check (`apply` false) or use (`apply` true) the link that confirms
    /// `address` for `user_id`.
    #[cfg(feature = "mail")]
    fn confirm_email<'a>(
        &'a self,
        user_id: i64,
        address: &'a str,
        token: &'a str,
        apply: bool,
    ) -> BoxFuture<'a, Result<EmailConfirm>>;

    /// Record a login; the row's id.
    fn start<'a>(
        &'a self,
        new: NewSession<'a>,
        limits: SessionLimits,
    ) -> BoxFuture<'a, Result<String>>;

    /// Whether row `id` still stands for `session_key` (see
    /// [`Store::session_alive`](crate::Store::session_alive)).
    fn alive<'a>(&'a self, session_key: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// `user_id`'s live sessions (under their current session key), the
    /// latest used first.
    fn list(
        &self,
        user_id: i64,
        limits: SessionLimits,
    ) -> BoxFuture<'_, Result<Vec<SessionRecord>>>;

    /// Log out the session `id` of the user holding `session_key` (its
    /// record ends, without an audit event of its own: the logout has one);
    /// that user's id.
    fn log_out<'a>(
        &'a self,
        session_key: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>>>;

    /// End `user_id`'s session `id`; whether there was one.
    fn end<'a>(&'a self, user_id: i64, id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// End `user_id`'s sessions but `keep`; how many.
    fn end_others<'a>(&'a self, user_id: i64, keep: &'a str) -> BoxFuture<'a, Result<u64>>;

    /// Carry row `id` over to the new `session_key`.
    fn rekey<'a>(&'a self, id: &'a str, session_key: &'a str) -> BoxFuture<'a, Result<()>>;
}
