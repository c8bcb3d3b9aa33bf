//! The demo binary as a process of its own, on a database of the test's
//! choosing, driven by an HTTP client as a browser would (the takeover and
//! several-instances tests).

use super::process::{free_port, Running};
use super::web::csrf_in;
use super::TempDb;
use std::path::PathBuf;

/// The demo binary serving the database at `url` on a free port.
pub struct Demo {
    pub server: Running,
    pub base: String,
    pub port: u16,
    /// Only its outbox directory is used.
    pub mail: TempDb,
    bin: PathBuf,
    url: String,
    secret: String,
}

impl Demo {
    /// Start the demo on `url` with Rocket's `secret` key and more
    /// `[kegauth]` settings (`,key=value...`); returns before it listens
    /// (see [`Demo::ready`]), so that several can start at the same moment.
    pub fn spawn(bin: PathBuf, url: &str, secret: &str, settings: &str) -> Demo {
        let port = free_port();
        let mail = TempDb::new();
        let mut command = std::process::Command::new(&bin);
        command
            .current_dir(super::root())
            .env("ROCKET_DATABASES", format!("{{main={{url=\"{url}\"}}}}"))
            // Served on 127.0.0.1: passkeys (which take no IP address) off.
            .env(
                "ROCKET_KEGAUTH",
                format!(
                    "{{server_name=\"127.0.0.1:{port}\",cookie_secure=false,passkeys=false,\
                     mail={{dir=\"{}\"}}{settings}}}",
                    mail.mail_dir().display()
                ),
            )
            .env("ROCKET_SECRET_KEY", secret)
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_CLI_COLORS", "false")
            .env("ROCKET_LOG_LEVEL", "normal");
        let log = std::env::temp_dir().join(format!("kegauth-demo-{port}.log"));
        Demo {
            server: Running::spawn("the demo", command, log),
            base: format!("http://127.0.0.1:{port}"),
            port,
            mail,
            bin,
            url: url.to_string(),
            secret: secret.to_string(),
        }
    }

    /// The demo binary as a command on the same database and secret key,
    /// for `auth ...` (see [`super::run_auth`]).
    pub fn auth_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.bin);
        command
            .current_dir(super::root())
            .env(
                "ROCKET_DATABASES",
                format!("{{main={{url=\"{}\"}}}}", self.url),
            )
            .env("ROCKET_SECRET_KEY", &self.secret)
            .env("LANG", "C");
        command
    }

    /// Wait until it listens.
    pub async fn ready(mut self) -> Demo {
        self.server.until_listening(self.port).await;
        self
    }

    /// [`Demo::spawn`], then wait until it listens.
    pub async fn start(bin: PathBuf, url: &str, secret: &str, settings: &str) -> Demo {
        Demo::spawn(bin, url, secret, settings).ready().await
    }

    /// A browser: its own cookies, redirects not followed. Cookies do not
    /// tell ports apart, so one browser is logged in on every demo of a test.
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    }

    /// Log in through the login form: the browser and the answer's status and Location.
    pub async fn login(&self, email: &str, password: &str) -> (reqwest::Client, u16, String) {
        let browser = Self::browser();
        let (status, location) = self.log_in_with(&browser, email, password).await;
        (browser, status, location)
    }

    /// Log `browser` in through the login form: the answer's status and Location.
    pub async fn log_in_with(
        &self,
        browser: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> (u16, String) {
        let page = self.text(browser, "/login").await;
        let answer = browser
            .post(format!("{}/login", self.base))
            .form(&[
                ("login_id", email),
                ("password", password),
                ("csrf_token", &csrf_in(&page)),
            ])
            .send()
            .await
            .expect("POST /login");
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (answer.status().as_u16(), location)
    }

    pub async fn status(&self, browser: &reqwest::Client, path: &str) -> u16 {
        browser
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .status()
            .as_u16()
    }

    pub async fn text(&self, browser: &reqwest::Client, path: &str) -> String {
        let answer = browser
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(answer.status().as_u16(), 200, "GET {path}");
        answer.text().await.expect("a body")
    }

    /// Post `fields` and the CSRF token of the form page at `form` to `path`:
    /// the answer's status.
    pub async fn submit(
        &self,
        browser: &reqwest::Client,
        form: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> u16 {
        let page = self.text(browser, form).await;
        let csrf = csrf_in(&page);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &csrf));
        browser
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
            .status()
            .as_u16()
    }
}

/// The variable naming the demo built with `--features demo-postgres`.
pub const DEMO_POSTGRES_VAR: &str = "KEGAUTH_DEMO_POSTGRES_BIN";
/// The variable naming the demo built with `--features demo-mysql`.
pub const DEMO_MYSQL_VAR: &str = "KEGAUTH_DEMO_MYSQL_BIN";

/// The demo binary built with `--features <feature>` (`.ci/run` builds it)
/// that `var` names, or None with a notice that `what` is skipped. Under
/// `CI=true` a missing binary is a failure.
pub fn built_demo(var: &str, feature: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {var} is not set (.ci/run builds the demo with --features {feature})"
            );
            eprintln!(
                "notice: {var} is not set; skipping {what} (cargo build --example demo \
                 --features {feature}, then set it to the binary)"
            );
            None
        }
    }
}
