//! Account flows on the store: verification and reset tokens, password
//! changes through a token, and creating users with a verification mail.

use crate::core::backend::Backend;
#[cfg(feature = "mail")]
use crate::core::entity::AuthEntity;
use crate::core::entity::{EntitySet, LoginKind, UserEntity};
use crate::core::error::{Error, Result};
use crate::core::store::{Store, MAX_LOOKUP_BYTES};
#[cfg(feature = "mail")]
use crate::core::token::{token_salt, TokenSigner};
use crate::services::i18n::Translator;
#[cfg(feature = "mail")]
use crate::services::mail::{MailKind, Mailer};
use crate::services::policy::{DefaultPolicy, PasswordPolicy};
use std::sync::Arc;

type U<E> = <E as EntitySet>::User;

/// The path of the reset-password page, under the link origin.
pub const RESET_PASSWORD_PATH: &str = "/reset-password";
/// The path of the verify-account page, under the link origin.
pub const VERIFY_ACCOUNT_PATH: &str = "/verify-account";
/// The path of the forgot-password page.
pub const FORGOT_PASSWORD_PATH: &str = "/forgot-password";
/// The path of the links that confirm a new email address, under the link
/// origin.
pub const CONFIRM_EMAIL_PATH: &str = "/account/email";

/// Why a login id cannot be a user's: what [`Store::create_user`], the admin
/// user form and `auth create-user` refuse alike ([`check_login_id`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginIdProblem {
    /// Empty (or only white space).
    Empty,
    /// Not an email address, for an entity whose users log in by email.
    NotAnEmail,
    /// Longer than [`MAX_LOOKUP_BYTES`]: no login could ever find the user.
    TooLong,
    /// Holds a control character (a newline, a tab, ...).
    ControlCharacter,
}

impl LoginIdProblem {
    /// The reason, naming the login id (for the CLI and [`Error::Invalid`]).
    ///
    /// ```
    /// use kegauth::accounts::LoginIdProblem;
    /// let tr = kegauth::i18n::Translator::english();
    /// assert_eq!(
    ///     LoginIdProblem::NotAnEmail.message(&tr, "ann"),
    ///     "`ann` is not a valid email address."
    /// );
    /// ```
    pub fn message(self, tr: &Translator, login: &str) -> String {
        let login = ("login", login.to_string());
        let max = ("max", MAX_LOOKUP_BYTES.to_string());
        match self {
            LoginIdProblem::Empty => tr.t("login-id-empty"),
            LoginIdProblem::NotAnEmail => tr.t_args("login-id-not-email", &[login]),
            LoginIdProblem::TooLong => tr.t_args("login-id-too-long", &[max]),
            LoginIdProblem::ControlCharacter => tr.t("login-id-control"),
        }
    }

    /// The reason as a form field's error (the field names the login id).
    pub(crate) fn field_message(self, tr: &Translator) -> String {
        match self {
            LoginIdProblem::Empty => tr.t("field-required"),
            LoginIdProblem::NotAnEmail => tr.t("invalid-email"),
            other => other.message(tr, ""),
        }
    }
}

/// Check a login id (already trimmed) for users who log in by `kind`: not
/// empty, no control character, at most [`MAX_LOOKUP_BYTES`] bytes, and for
/// email logins an address mail can be sent to.
///
/// ```
/// use kegauth::accounts::{check_login_id, LoginIdProblem};
/// use kegauth::entity::LoginKind;
/// assert_eq!(check_login_id(LoginKind::Email, "ann@example.com"), Ok(()));
/// assert_eq!(
///     check_login_id(LoginKind::Email, "<script>alert(1)</script>@example.com"),
///     Err(LoginIdProblem::NotAnEmail)
/// );
/// assert_eq!(check_login_id(LoginKind::Username, "ann"), Ok(()));
/// assert_eq!(check_login_id(LoginKind::Username, "ann\nbob"), Err(LoginIdProblem::ControlCharacter));
/// assert_eq!(check_login_id(LoginKind::Username, ""), Err(LoginIdProblem::Empty));
/// ```
pub fn check_login_id(kind: LoginKind, login: &str) -> std::result::Result<(), LoginIdProblem> {
    if login.trim().is_empty() {
        return Err(LoginIdProblem::Empty);
    }
    if login.len() > MAX_LOOKUP_BYTES {
        return Err(LoginIdProblem::TooLong);
    }
    if login.chars().any(char::is_control) {
        return Err(LoginIdProblem::ControlCharacter);
    }
    if kind == LoginKind::Email && !is_email_address(login) {
        return Err(LoginIdProblem::NotAnEmail);
    }
    Ok(())
}

/// Whether `login` is an email address, as lettre (which sends the mail)
/// reads one.
#[cfg(feature = "mail")]
fn is_email_address(login: &str) -> bool {
    login.parse::<lettre::Address>().is_ok()
}

/// Whether `login` is an email address: a dot-atom local part (RFC 5322's
/// atext characters) and a domain of letter, digit and hyphen labels (a
/// build without the `mail` feature has no lettre to ask).
#[cfg(not(feature = "mail"))]
fn is_email_address(login: &str) -> bool {
    let Some((local, domain)) = login.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = |s: &str, ok: &dyn Fn(char) -> bool| {
        !s.is_empty()
            && s.split('.')
                .all(|part| !part.is_empty() && part.chars().all(ok))
    };
    let label = |c: char| c.is_alphanumeric() || c == '-';
    dot_atom(local, &atext)
        && dot_atom(domain, &label)
        && domain
            .split('.')
            .all(|l| !l.starts_with('-') && !l.ends_with('-'))
}

/// What the store needs for the token and mail flows; set by the fairing.
/// The store keeps it among its extensions (`core/extensions.rs`): the core
/// never names this layer's types.
#[derive(Clone)]
pub(crate) struct Flows {
    #[cfg(feature = "mail")]
    signer: Option<TokenSigner>,
    #[cfg(feature = "mail")]
    link_origin: Option<String>,
    #[cfg(feature = "mail")]
    mailer: Option<Mailer>,
    policy: Arc<dyn PasswordPolicy>,
    /// The language of mail and password-policy messages.
    tr: Translator,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            #[cfg(feature = "mail")]
            signer: None,
            #[cfg(feature = "mail")]
            link_origin: None,
            #[cfg(feature = "mail")]
            mailer: None,
            policy: Arc::new(DefaultPolicy::default()),
            tr: Translator::english(),
        }
    }
}

/// The flows of a store that was never given any.
static DEFAULT_FLOWS: std::sync::LazyLock<Flows> = std::sync::LazyLock::new(Flows::default);

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// The account flows' settings.
    fn flows(&self) -> &Flows {
        self.extensions.get::<Flows>().unwrap_or(&DEFAULT_FLOWS)
    }

    /// Change the account flows' settings of this store (its clones keep theirs).
    fn edit_flows(&mut self, edit: impl FnOnce(&mut Flows)) {
        let mut flows = self.flows().clone();
        edit(&mut flows);
        self.extensions.set(flows);
    }

    /// Check new passwords with `policy` (the fairing's, from the builder).
    pub(crate) fn set_flows_policy(&mut self, policy: Arc<dyn PasswordPolicy>) {
        self.edit_flows(|f| f.policy = policy);
    }

    /// Say mail and policy problems with `tr` (the app's translations).
    pub(crate) fn set_flows_translator(&mut self, tr: Translator) {
        self.edit_flows(|f| f.tr = tr);
    }
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Check new passwords with `policy` (default: [`DefaultPolicy`]).
    pub fn with_password_policy<P: PasswordPolicy>(mut self, policy: P) -> Self {
        self.set_flows_policy(Arc::new(policy));
        self
    }

    /// This store, sending mail and saying password-policy problems in
    /// `lang` (English by default; the app's translations apply once the
    /// fairing has launched it). kegauth's views use the request's language.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// # use kegauth::{entity::UserCore, Store};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let store: Store<sqlx::Sqlite, User> = Store::new(pool);
    /// let ann = User { id: 0, email: "ann@example.com".into(), core: UserCore::default() };
    /// let spanish = store.in_language("es");
    /// assert_eq!(spanish.language(), "es");
    /// assert_eq!(
    ///     spanish.password_errors("corta", &ann),
    ///     ["La contraseña debe tener al menos 8 caracteres."]
    /// );
    /// # Ok(()) }
    /// ```
    pub fn in_language(&self, lang: &str) -> Self {
        let mut store = self.clone();
        let tr = self.flows().tr.with_lang(lang);
        store.set_flows_translator(tr);
        store
    }

    /// The language of this store's mail and messages.
    pub fn language(&self) -> &str {
        self.flows().tr.lang()
    }

    /// The label of the OAuth provider whose `domain_filter` holds
    /// `login_id`'s domain: such users log in only through that provider
    /// (see [`crate::oauth`]). `None` for every login id until the fairing
    /// has read `oauth_profiles`.
    ///
    /// ```
    /// # use kegauth::{entity::UserCore, Store};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let store: Store<sqlx::Sqlite, User> = Store::new(pool);
    /// assert_eq!(store.provider_of("ann@example.com"), None);
    /// # Ok(()) }
    /// ```
    pub fn provider_of(&self, login_id: &str) -> Option<&str> {
        self.provider_domains()?.provider_of(login_id)
    }

    /// Whether mail is configured (the forgot, reset and verify pages are
    /// served). Always false in a build without the `mail` feature.
    pub fn mail_on(&self) -> bool {
        #[cfg(feature = "mail")]
        return self.flows().mailer.is_some();
        #[cfg(not(feature = "mail"))]
        false
    }

    /// The problems the password policy finds with `password` for `user`,
    /// and a password too long for the `password_scheme` (bcrypt's 71 bytes).
    pub fn password_errors(&self, password: &str, user: &U<E>) -> Vec<String> {
        let mut errors = self
            .flows()
            .policy
            .check_in(password, user.login_id(), &self.flows().tr);
        if let Some(max) = self.hasher().scheme().max_password_bytes()
            && errors.is_empty()
            && password.len() > max
        {
            errors.push(
                self.flows()
                    .tr
                    .t_args("policy-too-long", &[("max", max.to_string())]),
            );
        }
        errors
    }

    /// Insert a new user and, for an email-login user who is not yet verified,
    /// make a verify-account link and (with `send_mail` and a mailer) mail it.
    /// The login id is trimmed and checked first ([`check_login_id`]: what the
    /// admin form and `auth create-user` refuse too); a refused one is
    /// [`Error::Invalid`], in the store's language, and nothing is written.
    /// A user whose domain belongs to an OAuth provider ([`Self::provider_of`])
    /// gets no link and no mail: they log in through the provider.
    /// If the mail cannot be sent the user is deleted again and the error
    /// returned, so no account is left that nobody can activate. Returns the
    /// link (when `server_name` is configured), for the CLI to print.
    pub async fn create_user(&self, user: &mut U<E>, send_mail: bool) -> Result<Option<String>> {
        // The same check as the admin form's, before anything is stored.
        let login = user.login_id().trim().to_string();
        if let Err(problem) = check_login_id(<U<E> as UserEntity>::LOGIN, &login) {
            return Err(Error::Invalid(problem.message(&self.flows().tr, &login)));
        }
        if login != user.login_id() {
            user.set_login_id(login);
        }
        self.insert_user(user).await?;
        if <U<E> as UserEntity>::LOGIN != LoginKind::Email
            || user.core().is_verified
            || self.provider_of(user.login_id()).is_some()
        {
            return Ok(None);
        }
        #[cfg(not(feature = "mail"))]
        {
            let _ = send_mail;
            Ok(None)
        }
        #[cfg(feature = "mail")]
        self.link_and_mail_new_user(user, send_mail).await
    }
}

/// The links and mail of the account flows (feature `mail`).
#[cfg(feature = "mail")]
impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Sign verification and reset tokens with `signer` (the fairing makes one
    /// from Rocket's `secret_key`).
    pub fn with_token_signer(mut self, signer: TokenSigner) -> Self {
        self.edit_flows(|f| f.signer = Some(signer));
        self
    }

    /// Start links in mail with `origin`, e.g. `https://example.com` (the
    /// fairing takes it from `preferred_url_scheme` and `server_name`).
    pub fn with_link_origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into().trim_end_matches('/').to_string();
        self.edit_flows(|f| f.link_origin = Some(origin));
        self
    }

    /// Send kegauth's mail with `mailer`.
    pub fn with_mailer(mut self, mailer: Mailer) -> Self {
        self.edit_flows(|f| f.mailer = Some(mailer));
        self
    }

    /// The mailer, when mail is configured.
    pub fn mailer(&self) -> Option<&Mailer> {
        self.flows().mailer.as_ref()
    }

    fn signer(&self) -> Result<&TokenSigner> {
        self.flows().signer.as_ref().ok_or_else(|| {
            Error::Config("no token signer: give the store one with with_token_signer".into())
        })
    }

    /// keg-auth's `token_generate`: a token for `user`'s verification or reset
    /// link, valid for `token_expire_mins` and until the user logs in, changes
    /// the password or login id, or is activated.
    pub fn token_generate(&self, user: &U<E>) -> Result<String> {
        let now = self.now();
        self.signer()?
            .generate(user.id(), &token_salt(user, now), now)
    }

    /// keg-auth's `token_verify`: whether `token` is valid for `user` now.
    pub fn token_verify(&self, user: &U<E>, token: &str) -> bool {
        let now = self.now();
        self.signer()
            .is_ok_and(|s| s.verify(token, user.id(), &token_salt(user, now), now))
    }

    /// Where the links in mail point (`server_name`).
    fn link_origin(&self) -> Result<&str> {
        self.flows().link_origin.as_deref().ok_or_else(|| {
            Error::Config("links need server_name in [kegauth] (e.g. \"example.com\")".into())
        })
    }

    fn link(&self, path: &str, user: &U<E>) -> Result<String> {
        let origin = self.link_origin()?;
        let token = self.token_generate(user)?;
        Ok(format!("{origin}{path}/{}/{token}", user.id()))
    }

    /// The salt of a link that confirms `address` as `user`'s new email
    /// address: the address, and the user's state as in the reset link's
    /// but for the last login (a link opened on another device, after a
    /// login there, still works): it dies when the password or the login id
    /// changes, when the user is disabled, or when it expires.
    fn email_salt(user: &U<E>, address: &str, now: chrono::NaiveDateTime) -> String {
        let core = user.core();
        serde_json::json!([
            "confirm-email",
            user.login_id(),
            user.is_active_at(now),
            core.password.as_deref().unwrap_or(""),
            address.trim().to_lowercase(),
        ])
        .to_string()
    }

    /// A link that makes `address` `user`'s login id when opened:
    /// `<origin>/account/email/<user id>/<address, base64url>/<token>`.
    pub fn confirm_email_url(&self, user: &U<E>, address: &str) -> Result<String> {
        use base64::Engine;
        let origin = self.link_origin()?;
        let now = self.now();
        let token =
            self.signer()?
                .generate(user.id(), &Self::email_salt(user, address, now), now)?;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(address.trim());
        Ok(format!(
            "{origin}{CONFIRM_EMAIL_PATH}/{}/{encoded}/{token}",
            user.id()
        ))
    }

    /// Whether `token` confirms `address` as `user`'s new email address now.
    pub fn confirm_email_verify(&self, user: &U<E>, address: &str, token: &str) -> bool {
        let now = self.now();
        self.signer()
            .is_ok_and(|s| s.verify(token, user.id(), &Self::email_salt(user, address, now), now))
    }

    /// A fresh verify-account link for `user`.
    pub fn verify_account_url(&self, user: &U<E>) -> Result<String> {
        self.link(VERIFY_ACCOUNT_PATH, user)
    }

    /// A fresh reset-password link for `user`.
    pub fn reset_password_url(&self, user: &U<E>) -> Result<String> {
        self.link(RESET_PASSWORD_PATH, user)
    }

    /// keg-auth's `change_password`: when `token` is valid for `user`, set the
    /// new password (checked by the policy: a failure is [`Error::Invalid`]),
    /// mark the account verified and rotate the session key, so the token,
    /// every other outstanding token and every session stop working.
    /// `Ok(false)` when the token is not valid (or was used concurrently).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> kegauth::Result<()> {
    /// # use kegauth::{entity::UserCore, Store, token::TokenSigner};
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let store: Store<sqlx::Sqlite, User> = Store::new(pool)
    ///     .with_token_signer(TokenSigner::new(b"an example secret of 32+ bytes!!", 240)?);
    /// store.create_schema().await?;
    /// let mut ann = User { id: 0, email: "ann@example.com".into(), core: UserCore::new() };
    /// store.insert_user(&mut ann).await?;
    /// let token = store.token_generate(&ann)?;
    /// assert!(store.change_password(&mut ann, &token, "correct horse battery").await?);
    /// assert!(ann.core.is_verified);
    /// assert!(!store.change_password(&mut ann, &token, "another long password").await?); // used
    /// # Ok(()) }
    /// ```
    pub async fn change_password(
        &self,
        user: &mut U<E>,
        token: &str,
        password: &str,
    ) -> Result<bool> {
        if !self.token_verify(user, token) {
            return Ok(false);
        }
        let errors = self.password_errors(password, user);
        if !errors.is_empty() {
            return Err(Error::Invalid(errors.join(" ")));
        }
        let expected = user.core().session_key.clone();
        let hash = self.hasher().hash(password).await?;
        let core = user.core_mut();
        core.password = Some(hash);
        core.is_verified = true;
        self.update_user_if_key(user, &expected).await
    }

    /// The new user's verify-account link (with a link origin and a
    /// signer), mailed with `send_mail` and a mailer; see [`Self::create_user`].
    async fn link_and_mail_new_user(
        &self,
        user: &mut U<E>,
        send_mail: bool,
    ) -> Result<Option<String>> {
        let url = match (&self.flows().link_origin, &self.flows().signer) {
            (Some(_), Some(_)) => Some(self.verify_account_url(user)?),
            _ => None,
        };
        if let (true, Some(mailer), Some(url)) = (send_mail, self.mailer(), &url)
            && let Err(e) = mailer
                .send(MailKind::NewUser, user.login_id(), url, self.language())
                .await
        {
            log::error!(
                "kegauth: verification mail to user {} failed: {e}",
                user.id()
            );
            if let Err(d) = self.delete_user(user.id()).await {
                log::error!("kegauth: could not delete user {} again: {d}", user.id());
            }
            user.set_id(0);
            return Err(e);
        }
        Ok(url)
    }

    /// Mail `user` a new verify-account link (the admin pages' "resend
    /// verification"). [`Error::Config`] without a mailer.
    pub async fn send_verification_mail(&self, user: &U<E>) -> Result<()> {
        let mailer = self
            .mailer()
            .ok_or_else(|| Error::Config("no mail manager is configured".into()))?;
        let url = self.verify_account_url(user)?;
        mailer
            .send(MailKind::NewUser, user.login_id(), &url, self.language())
            .await
    }

    /// Send `user` a mail of `kind` that a request from outside asked for
    /// (a reset link, a verification mail resent), within `mail_limit`:
    /// false when the limit held it back, which is recorded as an audit
    /// event and nothing else (the request answers as if it was sent).
    pub(crate) async fn send_limited(&self, kind: MailKind, user: &U<E>) -> Result<bool> {
        self.send_limited_to(kind, user, user.login_id()).await
    }

    /// [`send_limited`](Self::send_limited) to `address`: the user's login
    /// id, or for [`MailKind::ConfirmEmail`] the address to confirm.
    async fn send_limited_to(&self, kind: MailKind, user: &U<E>, address: &str) -> Result<bool> {
        let name = match kind {
            MailKind::ResetPassword => "reset-password",
            MailKind::NewUser => "verify-account",
            MailKind::ConfirmEmail => "confirm-email",
            MailKind::PasswordChanged | MailKind::EmailChanged => "notice",
        };
        // A limit that cannot be read (its table missing in an app that runs
        // its own migrations: `auth schema` prints it) sends, and says so:
        // a reset link that never comes is worse than a limit not kept.
        let reserved = match self.reserve_mail(address, name).await {
            Ok(reserved) => reserved,
            Err(e) => {
                log::error!("kegauth: the mail limit could not be read ({e}); sending anyway");
                true
            }
        };
        if !reserved {
            log::info!(
                target: crate::core::AUDIT,
                "a {name} mail to user {} held back: mail_limit reached",
                user.id()
            );
            self.audit(
                crate::core::audit::AuditEvent::new(
                    crate::core::audit::kinds::MAIL_HELD,
                    crate::core::audit::Outcome::Refused,
                )
                .subject(crate::core::audit::Subject::User(user.id()))
                .detail(serde_json::json!({ "mail": name })),
            );
            return Ok(false);
        }
        match kind {
            MailKind::ResetPassword => self.send_reset_mail(user).await?,
            MailKind::NewUser => self.send_verification_mail(user).await?,
            MailKind::ConfirmEmail => {
                let url = self.confirm_email_url(user, address)?;
                self.send_mail(kind, address, &url).await?;
            }
            MailKind::PasswordChanged | MailKind::EmailChanged => {
                self.send_mail(kind, address, "").await?;
            }
        }
        Ok(true)
    }

    /// Mail `address` a message of `kind` carrying `url`, in this store's
    /// language. [`Error::Config`] without a mailer.
    async fn send_mail(&self, kind: MailKind, address: &str, url: &str) -> Result<()> {
        let mailer = self
            .mailer()
            .ok_or_else(|| Error::Config("no mail manager is configured".into()))?;
        mailer.send(kind, address, url, self.language()).await
    }

    /// Mail `address` the link that confirms it as `user`'s new email
    /// address, within `mail_limit` (false: held back).
    pub(crate) async fn send_confirm_email(&self, user: &U<E>, address: &str) -> Result<bool> {
        self.send_limited_to(MailKind::ConfirmEmail, user, address)
            .await
    }

    /// Mail `user` a notice of `kind` (their password or email address
    /// changed), within `mail_limit`, off the request path; errors are
    /// logged (a notice that fails undoes nothing).
    pub(crate) fn send_notice(&self, kind: MailKind, user: U<E>) {
        if !self.mail_on() {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.send_limited(kind, &user).await {
                log::error!("kegauth: a notice mail to user {} failed: {e}", user.id());
            }
        });
    }

    /// Mail `user` a reset-password link.
    pub async fn send_reset_mail(&self, user: &U<E>) -> Result<()> {
        let mailer = self
            .mailer()
            .ok_or_else(|| Error::Config("no mail manager is configured".into()))?;
        let url = self.reset_password_url(user)?;
        mailer
            .send(
                MailKind::ResetPassword,
                user.login_id(),
                &url,
                self.language(),
            )
            .await
    }
}
