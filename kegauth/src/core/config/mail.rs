//! The `[kegauth.mail]` settings (read in every build: a build without the
//! `mail` feature refuses them at launch, naming the feature), and the
//! per-address mail limit `mail_limit` sets.

use serde::Deserialize;
use std::path::PathBuf;

/// Which transport `[kegauth.mail]` selects.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// SMTP (the default).
    #[default]
    Smtp,
    /// Write each message to `dir` as an `.eml` file (development, demos).
    File,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (default port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (default port 465).
    Tls,
    /// No encryption (default port 25). Credentials are refused unless the host is loopback.
    None,
}

/// The `[kegauth.mail]` settings.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp` or `file`.
    pub transport: TransportKind,
    /// SMTP host.
    pub host: String,
    /// SMTP port (default by `tls`: 587, 465 or 25).
    pub port: Option<u16>,
    /// SMTP security.
    pub tls: TlsMode,
    /// SMTP user name.
    pub username: Option<String>,
    /// SMTP password (keep it out of files: use `ROCKET_KEGAUTH` or another env source).
    pub password: Option<String>,
    /// The From address, e.g. `Example App <noreply@example.com>` (required).
    pub sender: Option<String>,
    /// Where the file transport writes messages.
    pub dir: PathBuf,
    /// SMTP connection and command timeout, in seconds.
    pub timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            transport: TransportKind::Smtp,
            host: "localhost".into(),
            port: None,
            tls: TlsMode::Starttls,
            username: None,
            password: None,
            sender: None,
            dir: "mail-outbox".into(),
            timeout_secs: 10,
        }
    }
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("transport", &self.transport)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("sender", &self.sender)
            .field("dir", &self.dir)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Mails per address, kind and window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MailLimit {
    pub per_window: u32,
    pub window_secs: i64,
}

impl Default for MailLimit {
    /// 3 per 15 minutes.
    fn default() -> Self {
        MailLimit {
            per_window: 3,
            window_secs: 900,
        }
    }
}
