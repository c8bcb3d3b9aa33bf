//! keg-auth itself (Python, 0.9.1 from PyPI, in the virtual environment that
//! tests/keg-auth/setup.sh makes): it creates databases with its own test app
//! and says whether it accepts a login or an API token.

use std::path::PathBuf;
use std::process::Command;

/// The variable naming the peer's python (what tests/keg-auth/setup.sh prints).
pub const PYTHON_VAR: &str = "KEGAUTH_KEG_AUTH_PYTHON";

/// keg-auth's python and scripts.
pub struct KegAuth {
    python: PathBuf,
}

/// What keg-auth said about the database it made (tests/keg-auth/make_db.py).
pub type Expected = serde_json::Value;

fn scripts() -> PathBuf {
    super::root().join("tests/keg-auth")
}

impl KegAuth {
    /// The peer, or None (with a notice) when it is not installed; under
    /// `CI=true` a missing peer is a failure.
    pub fn find() -> Option<KegAuth> {
        let python = std::env::var_os(PYTHON_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| super::root().join("target/keg-auth/venv/bin/python"));
        if python.exists() {
            return Some(KegAuth { python });
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but keg-auth is not installed ({} is missing): run tests/keg-auth/setup.sh",
            python.display()
        );
        eprintln!(
            "notice: keg-auth is not installed; skipping the keg-auth peer tests \
             (tests/keg-auth/setup.sh installs it)"
        );
        None
    }

    fn run(&self, script: &str, args: &[&str]) -> std::process::Output {
        Command::new(&self.python)
            .arg(scripts().join(script))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {script} with {}: {e}", self.python.display()))
    }

    /// A database made by keg-auth's test app at `url` (SQLAlchemy's form),
    /// and what keg-auth says about its users.
    pub fn make_db(&self, url: &str) -> Expected {
        let out = std::env::temp_dir().join(format!("keg-auth-{}.json", rand::random::<u64>()));
        let run = self.run("make_db.py", &[url, &out.to_string_lossy()]);
        assert!(
            run.status.success(),
            "keg-auth could not make its database:\n{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        let text = std::fs::read_to_string(&out).expect("make_db.py's expectations");
        let _ = std::fs::remove_file(&out);
        serde_json::from_str(&text).expect("make_db.py writes JSON")
    }

    /// Whether keg-auth's own app logs `email` in with `password` (and its
    /// session then opens a page behind `@requires_user`).
    pub fn logs_in(&self, url: &str, email: &str, password: &str) -> bool {
        self.answer("login.py", &[url, email, password])
    }

    /// Whether keg-auth accepts `api_token` (`UserTokenMixin.get_user_for_api_token`).
    pub fn accepts_token(&self, url: &str, api_token: &str) -> bool {
        self.answer("api_token.py", &[url, api_token])
    }

    fn answer(&self, script: &str, args: &[&str]) -> bool {
        let run = self.run(script, args);
        let stdout = String::from_utf8_lossy(&run.stdout);
        match run.status.code() {
            Some(0) if stdout.trim_start().starts_with("ok") => true,
            Some(1) if stdout.contains("refused") => false,
            _ => panic!(
                "{script} failed:\n{stdout}{}",
                String::from_utf8_lossy(&run.stderr)
            ),
        }
    }
}

/// The users of [`Expected`], as (email, password, user).
pub fn users(expected: &Expected) -> Vec<(&str, &str, &serde_json::Value)> {
    expected["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            (
                u["email"].as_str().expect("email"),
                u["password"].as_str().expect("password"),
                u,
            )
        })
        .collect()
}
