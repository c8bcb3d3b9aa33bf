//! Mail: verification and reset-password messages, sent with lettre.
//!
//! Mail is optional. Without a mail manager (`AuthManager::builder().mail(..)`)
//! kegauth sends nothing and its forgot, reset and verify pages answer 404,
//! keg-auth's "Using Without Email Functions".
//!
//! The transport is configured in `Rocket.toml`:
//!
//! ```toml
//! [default.kegauth]
//! server_name = "app.example.com"      # links in mail use this host, never the request's Host
//! preferred_url_scheme = "https"
//! email_site_name = "Example App"      # in mail bodies
//! email_site_abbr = "Example"          # in mail subjects
//!
//! [default.kegauth.mail]
//! transport = "smtp"                   # or "file": each message written to `dir` as an .eml file
//! host = "smtp.example.com"
//! tls = "starttls"                     # "starttls" (port 587), "tls" (465) or "none" (25)
//! username = "app"                     # put the password in ROCKET_KEGAUTH='{mail={password="..."}}'
//! sender = "Example App <noreply@example.com>"
//! ```
//!
//! Messages come from templates with a `subject` and a `body` block; the body is
//! Markdown, sent as the text part and rendered to the HTML part (raw HTML in
//! it is escaped). Apps replace `kegauth/mail/reset-password.md` and
//! `kegauth/mail/new-user.md` in their `template_dir`.

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::services::templates::Templates;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::core::config::mail::{MailConfig, TlsMode, TransportKind};

/// Something that delivers a built message: SMTP, files, or an app's own
/// (an HTTP mail API, a test double).
///
/// ```
/// use kegauth::mail::MailTransport;
/// struct Discard;
/// #[rocket::async_trait]
/// impl MailTransport for Discard {
///     async fn send(&self, _message: lettre::Message) -> kegauth::Result<()> { Ok(()) }
/// }
/// let manager = kegauth::mail::AuthMailManager::with_transport(Discard);
/// ```
#[rocket::async_trait]
pub trait MailTransport: Send + Sync + 'static {
    /// Deliver `message`.
    async fn send(&self, message: Message) -> Result<()>;
}

struct Smtp(AsyncSmtpTransport<Tokio1Executor>);

#[rocket::async_trait]
impl MailTransport for Smtp {
    async fn send(&self, message: Message) -> Result<()> {
        self.0
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Error::Mail(e.to_string()))
    }
}

struct Files(AsyncFileTransport<Tokio1Executor>, PathBuf);

#[rocket::async_trait]
impl MailTransport for Files {
    async fn send(&self, message: Message) -> Result<()> {
        let id = self
            .0
            .send(message)
            .await
            .map_err(|e| Error::Mail(e.to_string()))?;
        log::info!(
            "kegauth: mail written to {}",
            self.1.join(format!("{id}.eml")).display()
        );
        Ok(())
    }
}

fn transport_from(config: &MailConfig) -> Result<Arc<dyn MailTransport>> {
    let bad = |m: String| Error::Config(format!("[kegauth.mail] {m}"));
    match config.transport {
        TransportKind::File => {
            std::fs::create_dir_all(&config.dir)
                .map_err(|e| bad(format!("cannot create dir {}: {e}", config.dir.display())))?;
            Ok(Arc::new(Files(
                AsyncFileTransport::new(&config.dir),
                config.dir.clone(),
            )))
        }
        TransportKind::Smtp => {
            let host = config.host.as_str();
            let builder = match config.tls {
                TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                    .map_err(|e| bad(format!("host `{host}`: {e}")))?,
                TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                    .map_err(|e| bad(format!("host `{host}`: {e}")))?,
                TlsMode::None => {
                    if config.username.is_some() && !crate::core::config::is_loopback(host) {
                        return Err(bad(format!(
                            "refusing to send SMTP credentials without TLS to `{host}`; \
                             use tls = \"starttls\" or \"tls\""
                        )));
                    }
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                }
            };
            let port = config.port.unwrap_or(match config.tls {
                TlsMode::Starttls => 587,
                TlsMode::Tls => 465,
                TlsMode::None => 25,
            });
            let mut builder = builder
                .port(port)
                .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))));
            match (&config.username, &config.password) {
                (Some(user), Some(password)) => {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                (Some(_), None) => return Err(bad("username is set but password is not".into())),
                (None, Some(_)) => return Err(bad("password is set but username is not".into())),
                (None, None) => {}
            }
            Ok(Arc::new(Smtp(builder.build())))
        }
    }
}

/// The mail manager given to [`AuthManagerBuilder::mail`](crate::AuthManagerBuilder::mail).
///
/// ```no_run
/// # use rocket_db_pools::Database;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::entity::UserCore }
/// # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
/// use kegauth::mail::AuthMailManager;
/// let manager = kegauth::AuthManager::<Db, User>::builder()
///     .mail(AuthMailManager::from_config())   // the transport [kegauth.mail] describes
///     .build();
/// ```
#[derive(Clone, Default)]
pub struct AuthMailManager {
    transport: Option<Arc<dyn MailTransport>>,
}

impl std::fmt::Debug for AuthMailManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMailManager")
            .field("custom_transport", &self.transport.is_some())
            .finish()
    }
}

impl AuthMailManager {
    /// Send with the transport `[kegauth.mail]` configures (SMTP by default).
    pub fn from_config() -> Self {
        AuthMailManager { transport: None }
    }

    /// Send with the app's own transport; `[kegauth.mail]` still gives the sender.
    pub fn with_transport<T: MailTransport>(transport: T) -> Self {
        AuthMailManager {
            transport: Some(Arc::new(transport)),
        }
    }

    /// Build the mailer at launch.
    pub(crate) fn build(&self, config: &Config, templates: &Templates) -> Result<Mailer> {
        let mail = config.mail.clone().unwrap_or_default();
        let sender = mail.sender.as_deref().ok_or_else(|| {
            Error::Config(
                "mail needs a sender: set sender = \"App <noreply@example.com>\" in \
                 [kegauth.mail]"
                    .into(),
            )
        })?;
        let sender: Mailbox = sender.parse().map_err(|e| {
            Error::Config(format!(
                "[kegauth.mail] sender `{sender}` is not an address: {e}"
            ))
        })?;
        let transport = match &self.transport {
            Some(t) => t.clone(),
            None => transport_from(&mail)?,
        };
        Ok(Mailer(Arc::new(MailerInner {
            transport,
            sender,
            site_name: config.email_site_name.clone(),
            site_abbr: config.email_site_abbr.clone(),
            templates: templates.clone(),
        })))
    }
}

/// Which message to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    /// The new-user mail with the verify-account link.
    NewUser,
    /// The forgot-password mail with the reset-password link.
    ResetPassword,
    /// The notice that the account's password was changed (no link).
    PasswordChanged,
    /// The link that confirms a new email address, to that address.
    ConfirmEmail,
    /// The notice to the old address that the email address changed (no link).
    EmailChanged,
}

impl MailKind {
    fn template(self) -> &'static str {
        match self {
            MailKind::NewUser => "kegauth/mail/new-user.md",
            MailKind::ResetPassword => "kegauth/mail/reset-password.md",
            MailKind::PasswordChanged => "kegauth/mail/password-changed.md",
            MailKind::ConfirmEmail => "kegauth/mail/confirm-email.md",
            MailKind::EmailChanged => "kegauth/mail/email-changed.md",
        }
    }
}

struct MailerInner {
    transport: Arc<dyn MailTransport>,
    sender: Mailbox,
    site_name: String,
    site_abbr: String,
    templates: Templates,
}

/// The launched mail manager: composes and sends kegauth's messages.
#[derive(Clone)]
pub struct Mailer(Arc<MailerInner>);

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("sender", &self.0.sender.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Compose a message of `kind` to `to` carrying `url`, in language `lang`.
    pub fn compose(&self, kind: MailKind, to: &str, url: &str, lang: &str) -> Result<Message> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| Error::Invalid(format!("`{to}` is not a valid email address")))?;
        let inner = &self.0;
        let (subject, body) = inner.templates.with_lang(lang).render_mail(
            kind.template(),
            serde_json::json!({
                "url": url,
                "site_name": inner.site_name,
                "site_abbr": inner.site_abbr,
                "email": to.email.to_string(),
            }),
        )?;
        let html = markdown_to_html(&body);
        Message::builder()
            .from(inner.sender.clone())
            .to(to)
            .subject(subject.trim())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(body),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| Error::Mail(format!("cannot build the message: {e}")))
    }

    /// Compose and send a message of `kind` to `to` carrying `url`, in
    /// language `lang`.
    pub async fn send(&self, kind: MailKind, to: &str, url: &str, lang: &str) -> Result<()> {
        let message = self.compose(kind, to, url, lang)?;
        self.0.transport.send(message).await
    }
}

/// Markdown to an HTML document; raw HTML in the source is shown as text.
fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    let events = Parser::new(markdown).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_markdown_is_escaped() {
        let html = markdown_to_html("Hi <script>alert(1)</script> [link](https://example.com/x)");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.com/x\">link</a>"),
            "{html}"
        );
    }
}
