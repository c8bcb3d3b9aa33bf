//! A mail transport that keeps what it is given, for tests.

use crate::core::error::{Error, Result};
use crate::services::mail::MailTransport;
use lettre::Message;
use mail_parser::MessageParser;
use std::sync::{Arc, Mutex};

/// A [`MailTransport`] that keeps every message instead of sending it.
/// Clones share the same list: give one to the [`AuthMailManager`]
/// (`with_transport`) and read the other in the test.
///
/// [`AuthMailManager`]: crate::mail::AuthMailManager
///
/// ```
/// use kegauth::mail::AuthMailManager;
/// use kegauth::testing::CapturedMail;
/// let outbox = CapturedMail::new();
/// let manager = AuthMailManager::with_transport(outbox.clone());
/// assert!(outbox.messages().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CapturedMail(Arc<Mutex<Vec<SentMail>>>);

impl CapturedMail {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SentMail>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<SentMail> {
        self.lock().clone()
    }

    /// The messages to `address`, oldest first.
    pub fn to(&self, address: &str) -> Vec<SentMail> {
        self.lock()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .cloned()
            .collect()
    }

    /// The newest message to `address`.
    pub fn last_to(&self, address: &str) -> Option<SentMail> {
        self.to(address).pop()
    }

    /// The newest message to `address`, waiting up to five seconds for one:
    /// kegauth sends some mail (forgot-password) after it has answered the
    /// request, so it may not be in the outbox yet when the response is.
    pub async fn wait_last_to(&self, address: &str) -> Option<SentMail> {
        for _ in 0..100 {
            if let Some(mail) = self.last_to(address) {
                return Some(mail);
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.last_to(address)
    }

    /// Empty the outbox.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

#[rocket::async_trait]
impl MailTransport for CapturedMail {
    async fn send(&self, message: Message) -> Result<()> {
        let mail = SentMail::parse(&message.formatted())
            .ok_or_else(|| Error::Mail("the message does not parse".into()))?;
        self.lock().push(mail);
        Ok(())
    }
}

/// A message as a test reads it: addresses, subject and both bodies decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMail {
    /// The recipients' addresses.
    pub to: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The text/plain body.
    pub text: String,
    /// The text/html body, when there is one.
    pub html: Option<String>,
    /// The message as sent.
    pub raw: Vec<u8>,
}

impl SentMail {
    /// Decode a whole message (as a `.eml` file holds it).
    ///
    /// ```
    /// let raw = b"To: ann@example.com\r\nSubject: Hi\r\n\r\nGo to https://example.com/verify-account/1/tok now.\r\n";
    /// let mail = kegauth::testing::SentMail::parse(raw).unwrap();
    /// assert_eq!(mail.to, ["ann@example.com"]);
    /// assert_eq!(mail.link().as_deref(), Some("https://example.com/verify-account/1/tok"));
    /// assert_eq!(mail.token().as_deref(), Some("tok"));
    /// ```
    pub fn parse(raw: &[u8]) -> Option<SentMail> {
        let parsed = MessageParser::default().parse(raw)?;
        let to = parsed
            .to()
            .map(|a| {
                a.iter()
                    .filter_map(|a| a.address().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Some(SentMail {
            to,
            subject: parsed.subject().unwrap_or_default().to_string(),
            text: parsed
                .body_text(0)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            html: parsed.body_html(0).and_then(|h| {
                // A text-only message reports its text as HTML too.
                (!parsed.html_body.is_empty() && parsed.html_body != parsed.text_body)
                    .then(|| h.to_string())
            }),
            raw: raw.to_vec(),
        })
    }

    /// The first `http://` or `https://` link in the text body.
    pub fn link(&self) -> Option<String> {
        let start = self
            .text
            .find("https://")
            .or_else(|| self.text.find("http://"))?;
        let link: String = self.text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '"' | ')'))
            .collect();
        Some(link.trim_end_matches(['.', ',']).to_string())
    }

    /// The token in the link (its last path segment): what the verify and
    /// reset pages take.
    pub fn token(&self) -> Option<String> {
        let link = self.link()?;
        let path = link.split(['?', '#']).next().unwrap_or_default();
        path.rsplit('/').next().map(str::to_string)
    }

    /// The link's path (without scheme and host), to open with a local client.
    pub fn link_path(&self) -> Option<String> {
        let link = self.link()?;
        let rest = link.split_once("://")?.1;
        Some(
            rest.find('/')
                .map_or("/".to_string(), |i| rest[i..].to_string()),
        )
    }
}
