//! A real SMTP server on loopback (mailin-embedded) that keeps what it receives.

use mail_parser::{MessageParser, MimeHeaders};
use mailin_embedded::{response, Handler, Response, Server};
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A message as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        MessageParser::default()
            .parse(&self.raw)
            .expect("a parsable message")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    /// Whether the message has a real text/plain part and a real text/html part.
    pub fn has_both_parts(&self) -> bool {
        let m = self.parsed();
        m.text_body.len() == 1
            && m.html_body.len() == 1
            && m.text_body != m.html_body
            && m.parts.iter().any(|p| {
                p.content_type()
                    .is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("plain"))
            })
            && m.parts.iter().any(|p| {
                p.content_type()
                    .is_some_and(|c| c.ctype() == "text" && c.subtype() == Some("html"))
            })
    }

    /// The first `https://`/`http://` link in the text part (read by
    /// `kegauth::testing::SentMail`, as an app's tests would).
    pub fn link(&self) -> String {
        kegauth::testing::SentMail::parse(&self.raw)
            .and_then(|m| m.link())
            .expect("a link in the mail")
    }

    /// The link's path, to request on a local client.
    pub fn link_path(&self, origin: &str) -> String {
        let link = self.link();
        link.strip_prefix(origin)
            .unwrap_or_else(|| panic!("{link} starts with {origin}"))
            .to_string()
    }
}

#[derive(Clone)]
struct Capture {
    outbox: Arc<Mutex<Vec<Received>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Capture {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_string();
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        };
        self.outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(received);
        response::OK
    }
}

/// The server; it runs on its own threads until the test process ends.
pub struct SmtpServer {
    pub port: u16,
    outbox: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let outbox = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Capture {
            outbox: outbox.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        });
        server
            .with_name("localhost")
            // Enough for the pooled connections of several mails sent at once
            // (lettre keeps each open a while after its mail).
            .with_num_threads(8)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("test SMTP server stopped: {e}");
            }
        });
        SmtpServer { port, outbox }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Wait (up to 20 s) until `n` messages have arrived, and return them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..1000 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} message(s), got {}", self.received().len());
    }

    /// Mail settings like [`figment`](Self::figment) but for an SMTP port
    /// where nothing listens (sending fails).
    pub fn unreachable_figment() -> rocket::figment::Figment {
        Self::start()
            .figment()
            .merge(("kegauth.mail.port", super::ldap::closed_port()))
    }

    /// `[kegauth]` settings that send through this server, with links on
    /// `https://app.example.com`.
    pub fn figment(&self) -> rocket::figment::Figment {
        rocket::Config::figment()
            .merge(("kegauth.server_name", ORIGIN_HOST))
            .merge(("kegauth.preferred_url_scheme", "https"))
            .merge(("kegauth.email_site_name", "Test Site"))
            .merge(("kegauth.email_site_abbr", "TS"))
            .merge(("kegauth.mail.transport", "smtp"))
            .merge(("kegauth.mail.host", "127.0.0.1"))
            .merge(("kegauth.mail.port", self.port))
            .merge(("kegauth.mail.tls", "none"))
            .merge(("kegauth.mail.sender", "Test Site <noreply@example.com>"))
    }
}

/// The host links in test mail use.
pub const ORIGIN_HOST: &str = "app.example.com";
/// The origin links in test mail start with.
pub const ORIGIN: &str = "https://app.example.com";
