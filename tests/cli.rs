//! The `auth` commands, run as a process: the demo binary (`cargo run
//! --example demo -- auth ...`) against a temporary SQLite database, its mail
//! written to a temporary outbox. `cargo test` builds the demo before the
//! tests run; alone (`cargo test -p kegauth-tests cli::`) it needs `cargo build --example demo`.

use crate::common;

use crate::common::TempDb;
use kegauth::AttemptType;
use std::process::Output;

struct Cli {
    db: TempDb,
    secret: String,
    /// More `[kegauth]` settings, in Rocket's env syntax (`key=value, ...`).
    settings: String,
}

impl Cli {
    fn new() -> Self {
        Cli {
            db: TempDb::new(),
            secret: common::random_secret(),
            settings: String::new(),
        }
    }

    fn with_kegauth(mut self, settings: &str) -> Self {
        self.settings = settings.to_string();
        self
    }

    /// Run `demo auth <args>` with `stdin` piped in.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        common::demo_auth(&self.db, &self.secret, &self.settings, args, stdin)
    }

    /// Run `demo auth <args>` in a Spanish terminal (`LANG=es_ES.UTF-8`).
    fn run_in_spanish(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = common::demo_command(&self.db, &self.secret, &self.settings);
        command.env("LANG", "es_ES.UTF-8");
        common::run_auth(command, args, stdin)
    }

    async fn store(&self) -> kegauth::Store<sqlx::Sqlite, User> {
        let pool = sqlx::SqlitePool::connect(&self.db.url()).await.unwrap();
        kegauth::Store::new(pool)
    }

    fn outbox(&self) -> Vec<String> {
        std::fs::read_dir(self.db.mail_dir())
            .map(|dir| {
                dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

use crate::common::demo::User;

#[tokio::test]
async fn create_user_with_mail_prints_the_link_and_mails_it() {
    let cli = Cli::new();
    let out = cli.run(&["create-user", "ann@example.com"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "User created.", "{stdout}");
    assert_eq!(lines[1], "Email sent with verification URL.");
    let url = lines[2]
        .strip_prefix("Verification URL: http://localhost:8000/verify-account/")
        .unwrap_or_else(|| panic!("{stdout}"));
    let store = cli.store().await;
    let ann = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(url.starts_with(&format!("{}/", ann.id)), "{url}");
    assert!(!ann.core.is_superuser && !ann.core.is_verified && ann.core.password.is_none());
    // The same link went out by mail, and the app accepts it.
    let mails = cli.outbox();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: ann@example.com"), "{}", mails[0]);
    let token = url.split('/').nth(1).unwrap();
    let signed = kegauth::token::TokenSigner::new(
        &kegauth::token::secret_from_figment(
            &rocket::figment::Figment::new().merge(("secret_key", cli.secret.as_str())),
        )
        .unwrap()
        .unwrap(),
        240,
    )
    .unwrap();
    let store = store.with_token_signer(signed);
    assert!(store.token_verify(&ann, token), "a valid link");
}

/// The demo keeps its SQLite database in WAL mode, so that protected pages
/// reading users never wait for a login's write.
#[tokio::test]
async fn the_demo_database_is_in_wal_mode() {
    let cli = Cli::new();
    assert_ok(&cli.run(&["create-user", "wal@example.com", "--no-mail"], ""));
    let pool = sqlx::SqlitePool::connect(&cli.db.url()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn create_user_with_extra_args_as_superuser_without_mail() {
    let cli = Cli::new().with_kegauth(r#"cli_user_args=["email","name"]"#);
    let out = cli.run(
        &[
            "create-user",
            "boss@example.com",
            "The Boss",
            "--as-superuser",
            "--no-mail",
        ],
        "",
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("User created.\nVerification URL: http://"),
        "{stdout}"
    );
    assert!(!stdout.contains("Email sent"));
    assert!(cli.outbox().is_empty(), "no mail");
    let boss = cli
        .store()
        .await
        .user_by_login("boss@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(boss.name.as_deref(), Some("The Boss"));
    assert!(boss.core.is_superuser);
    let created = cli
        .store()
        .await
        .audit_events(&kegauth::audit::AuditFilter::default().kind("admin-create"))
        .await
        .unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    let detail = &created[0].event.detail;
    assert_eq!(
        (detail["via"].as_str(), detail["is_superuser"].as_bool()),
        (Some("cli"), Some(true))
    );

    // Too few arguments for cli_user_args: a usage error naming them.
    let out = cli.run(&["create-user", "x@example.com"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("email, name"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_duplicate_or_invalid_user_is_a_clear_error() {
    let cli = Cli::new();
    assert_ok(&cli.run(&["create-user", "ann@example.com", "--no-mail"], ""));
    let out = cli.run(&["create-user", "ANN@example.com", "--no-mail"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("already"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(cli.store().await.users().await.unwrap().len(), 1);

    let out = cli.run(&["create-user", "not an address"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a valid email address"));
    // What the admin form refuses, the CLI refuses too, with or without mail
    // (issue 39: it used to create this user when no mail was sent).
    for args in [
        &[
            "create-user",
            "<script>alert(1)</script>@example.com",
            "--no-mail",
        ][..],
        &["create-user", "<script>alert(1)</script>@example.com"][..],
        &["create-user", "ann\n@example.com", "--no-mail"][..],
        &["create-user", " ", "--no-mail"][..],
    ] {
        let out = cli.run(args, "");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = cli.run(
        &[
            "create-user",
            "<script>alert(1)</script>@example.com",
            "--no-mail",
        ],
        "",
    );
    assert!(
        text(&out.stderr)
            .contains("`<script>alert(1)</script>@example.com` is not a valid email address."),
        "{}",
        text(&out.stderr)
    );
    let out = cli.run(&["create-user", "ann\n@example.com", "--no-mail"], "");
    assert!(
        text(&out.stderr).contains("control character"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        cli.store().await.users().await.unwrap().len(),
        1,
        "only ann"
    );
    // An unknown command or flag is clap's usage error.
    let out = cli.run(&["create-user", "a@example.com", "--admin"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--admin"));
}

#[tokio::test]
async fn set_password_checks_the_policy_and_verifies_the_account() {
    let cli = Cli::new();
    assert_ok(&cli.run(&["create-user", "ann@example.com", "--no-mail"], ""));
    let store = cli.store().await;
    let before = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();

    let out = cli.run(&["set-password", "ann@example.com"], "short\nshort\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Password does not meet the following restrictions:")
            && stderr.contains("\u{2022} Password must be at least 8 characters long."),
        "{stderr}"
    );
    let out = cli.run(
        &["set-password", "ann@example.com"],
        "long enough 1\nlong enough 2\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("do not match"));
    let out = cli.run(&["set-password", "ann@example.com"], "only one line\n");
    assert_eq!(out.status.code(), Some(1));
    let unchanged = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.core.password, None);

    let out = cli.run(&["set-password", "nobody@example.com"], "x\nx\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Unknown user: nobody@example.com"));

    let pw = "correct horse battery staple";
    let out = cli.run(
        &["set-password", "ANN@example.com"],
        &format!("{pw}\n{pw}\n"),
    );
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "Password set.\n");
    let ann = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        ann.core.is_verified,
        "setting a password verifies the account"
    );
    assert_ne!(
        ann.core.session_key, before.core.session_key,
        "sessions end"
    );
    assert!(store.verify_password(&ann, pw).await.unwrap().ok);
    // Recorded as done from the command line, before the command ended.
    let set = store
        .audit_events(&kegauth::audit::AuditFilter::default().kind("password-set"))
        .await
        .unwrap();
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!(
        set[0].event.subject,
        Some(kegauth::audit::Subject::User(ann.id))
    );
    assert_eq!(set[0].event.detail["via"], "cli");
}

#[tokio::test]
async fn purge_attempts_filters_and_prints_the_count() {
    let cli = Cli::new();
    // Create the schema (the demo does at launch) through a harmless command.
    assert_ok(&cli.run(&["purge-attempts"], ""));
    let store = cli.store().await;
    for (kind, who) in [
        (AttemptType::Login, "ann@example.com"),
        (AttemptType::Login, "ann@example.com"),
        (AttemptType::Reset, "ann@example.com"),
        (AttemptType::Login, "bob@example.com"),
    ] {
        store
            .log_attempt(kind, who, None, false, false)
            .await
            .unwrap();
    }
    let count = |out: Output| {
        assert_ok(&out);
        text(&out.stdout)
    };
    assert_eq!(
        count(cli.run(&["purge-attempts", "--older-than", "1"], "")),
        "Deleted 0 attempts.\n"
    );
    assert_eq!(
        count(cli.run(
            &[
                "purge-attempts",
                "--user",
                "ann@example.com",
                "--type",
                "login"
            ],
            ""
        )),
        "Deleted 2 attempts.\n"
    );
    assert_eq!(
        count(cli.run(&["purge-attempts", "--username", "ann@example.com"], "")),
        "Deleted 1 attempts.\n"
    );
    assert_eq!(
        count(cli.run(&["purge-attempts"], "")),
        "Deleted 1 attempts.\n"
    );
    // keg-auth's spelling in full, `--attempt-type`, and `--type` alike.
    for kind in [AttemptType::Forgot, AttemptType::Reset, AttemptType::Reset] {
        store
            .log_attempt(kind, "ann@example.com", None, false, false)
            .await
            .unwrap();
    }
    assert_eq!(
        count(cli.run(&["purge-attempts", "--attempt-type", "reset"], "")),
        "Deleted 2 attempts.\n"
    );
    assert_eq!(
        count(cli.run(&["purge-attempts", "--attempt-type", "forgot"], "")),
        "Deleted 1 attempts.\n"
    );
    let out = cli.run(&["purge-attempts", "--type", "logout"], "");
    assert_eq!(out.status.code(), Some(2));
}

/// `auth audit list` filters by user, kind and time; `auth audit verify`
/// finds a changed row (exit code 1, naming it); `auth purge-audit` deletes
/// old events, records that it did, and the trail still verifies.
#[tokio::test]
async fn audit_lists_verifies_and_purges() {
    use kegauth::audit::{kinds, AuditEvent, Outcome, Subject};
    let cli = Cli::new();
    assert_ok(&cli.run(&["audit", "verify"], ""));
    let store = cli.store().await;
    let mut ann = User::new("ann@example.com");
    store.insert_user(&mut ann).await.unwrap();
    let old = chrono::Utc::now().naive_utc() - chrono::TimeDelta::days(10);
    let mut ids = Vec::new();
    for (at, kind, user) in [
        (old, kinds::LOGIN_FAILURE, ann.id),
        (old, kinds::LOGIN_SUCCESS, ann.id + 1),
        (chrono::Utc::now().naive_utc(), kinds::LOGIN_SUCCESS, ann.id),
    ] {
        let event = AuditEvent::new(kind, Outcome::Success)
            .subject(Subject::User(user))
            .client_ip("198.51.100.7")
            .at(at);
        ids.push(store.record_audit(&event).await.unwrap().id);
    }
    let list = |args: &[&str]| {
        let out = cli.run(args, "");
        assert_ok(&out);
        text(&out.stdout)
            .lines()
            .skip(1)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let anns = list(&["audit", "list", "--user", "ann@example.com"]);
    assert_eq!(anns.len(), 2, "{anns:?}");
    assert!(anns[0].starts_with(&format!("{}\t", ids[2])), "{anns:?}");
    assert!(
        anns[0].contains(&format!(
            "\tlogin-success\tsuccess\t-\tuser:{}\t198.51.100.7\t{{}}",
            ann.id
        )),
        "{anns:?}"
    );
    assert_eq!(list(&["audit", "list", "--kind", "login-failure"]).len(), 1);
    let since = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(list(&["audit", "list", "--since", &since]).len(), 1);
    let bad = cli.run(&["audit", "list", "--since", "yesterday"], "");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`yesterday` is not a date"),
        "{}",
        text(&bad.stderr)
    );
    let nobody = cli.run(&["audit", "list", "--user", "nobody@example.com"], "");
    assert_eq!(nobody.status.code(), Some(1));

    let ok = cli.run(&["audit", "verify"], "");
    assert_ok(&ok);
    assert_eq!(text(&ok.stdout), "The audit trail is intact (3 events).\n");

    let purged = cli.run(&["purge-audit", "--older-than", "5"], "");
    assert_ok(&purged);
    assert_eq!(text(&purged.stdout), "Deleted 2 audit events.\n");
    let ok = cli.run(&["audit", "verify"], "");
    assert_eq!(text(&ok.stdout), "The audit trail is intact (2 events).\n");
    assert_eq!(list(&["audit", "list", "--kind", "audit-purged"]).len(), 1);

    sqlx::query("UPDATE kegauth_audit_events SET client_ip = '192.0.2.1' WHERE id = ?")
        .bind(ids[2])
        .execute(&sqlx::SqlitePool::connect(&cli.db.url()).await.unwrap())
        .await
        .unwrap();
    let broken = cli.run(&["audit", "verify"], "");
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stderr).contains(&format!("The audit trail is broken at event {}", ids[2])),
        "{}",
        text(&broken.stderr)
    );
}

#[tokio::test]
async fn schema_prints_each_backend_and_applies() {
    let cli = Cli::new();
    let pg = cli.run(&["schema", "--backend", "postgres"], "");
    assert_ok(&pg);
    assert!(text(&pg.stdout).contains("CREATE TYPE ka_attempt_types"));
    let my = cli.run(&["schema", "--backend", "mysql"], "");
    assert_ok(&my);
    assert!(
        text(&my.stdout).contains("ENGINE=InnoDB"),
        "{}",
        text(&my.stdout)
    );
    let own = cli.run(&["schema"], "");
    assert_ok(&own);
    assert!(text(&own.stdout).contains("CREATE TABLE IF NOT EXISTS \"users\""));
    let out = cli.run(&["schema", "--apply"], "");
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "Schema applied.\n");
    assert!(cli.store().await.users().await.unwrap().is_empty());
    let out = cli.run(&["schema", "--apply", "--backend", "mysql"], "");
    assert_eq!(out.status.code(), Some(1));
}

/// `auth purge-sessions` deletes the session records that can no longer
/// log anyone in, of every user, and keeps the live ones.
#[tokio::test]
async fn purge_sessions_deletes_the_dead_records_only() {
    use kegauth::store::sessions::NewSession;
    let cli = Cli::new();
    assert_ok(&cli.run(&["create-user", "ann@example.com", "--no-mail"], ""));
    let store = cli.store().await;
    let ann = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let new = NewSession {
        user_id: ann.id,
        session_key: &ann.core.session_key,
        ..Default::default()
    };
    let mut rows = Vec::new();
    for _ in 0..5 {
        rows.push(store.start_session(&new, Default::default()).await.unwrap());
    }
    // rows[0] lives as made; rows[1] is remembered for days yet; rows[2]
    // is under a key ann no longer holds, rows[3] was remembered until
    // 2020, rows[4] has been idle since 2020.
    let pool = sqlx::SqlitePool::connect(&cli.db.url()).await.unwrap();
    for (sql, id) in [
        (
            "UPDATE kegauth_sessions SET expires_at = '2999-01-01 00:00:00.000000' WHERE id = ?",
            &rows[1],
        ),
        (
            "UPDATE kegauth_sessions SET session_key = 'an-old-key' WHERE id = ?",
            &rows[2],
        ),
        (
            "UPDATE kegauth_sessions SET expires_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
            &rows[3],
        ),
        (
            "UPDATE kegauth_sessions SET last_seen_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
            &rows[4],
        ),
    ] {
        sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
    }
    let out = cli.run(&["purge-sessions"], "");
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "Deleted 3 session records.\n");
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM kegauth_sessions ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut kept = vec![rows[0].clone(), rows[1].clone()];
    kept.sort();
    assert_eq!(left, kept);
    let again = cli.run(&["purge-sessions"], "");
    assert_eq!(text(&again.stdout), "Deleted 0 session records.\n");
}

#[test]
fn help_lists_the_commands() {
    let cli = Cli::new();
    let out = cli.run(&["--help"], "");
    assert_ok(&out);
    let help = text(&out.stdout);
    for command in [
        "create-user",
        "set-password",
        "purge-attempts",
        "purge-sessions",
        "routes",
        "schema",
    ] {
        assert!(help.contains(command), "{help}");
    }
}

/// An app's own commands in the `auth` group (the demo's `list-users`,
/// examples/demo.rs): listed in the help beside kegauth's, run against the
/// app's database, their errors printed with exit code 1, their usage errors
/// clap's with exit code 2.
#[test]
fn app_commands_run_beside_kegauths() {
    let cli = Cli::new();
    let help = cli.run(&["--help"], "");
    assert_ok(&help);
    let help = text(&help.stdout);
    assert!(help.contains("list-users"), "{help}");
    assert!(help.contains("create-user"), "{help}");
    assert_ok(&cli.run(&["create-user", "ann@example.com", "--no-mail"], ""));
    assert_ok(&cli.run(
        &[
            "create-user",
            "root@example.com",
            "--no-mail",
            "--as-superuser",
        ],
        "",
    ));
    let out = cli.run(&["list-users"], "");
    assert_ok(&out);
    let mut lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "ann@example.com\ttrue\tfalse",
            "root@example.com\ttrue\ttrue"
        ]
    );
    let out = cli.run(&["list-users", "--login", "root@example.com"], "");
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "root@example.com\ttrue\ttrue\n");
    let out = cli.run(&["list-users", "--login", "nobody@example.com"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no user with the login nobody@example.com"),
        "{}",
        text(&out.stderr)
    );
    let out = cli.run(&["list-users", "--no-such-flag"], "");
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn api_token_prints_a_new_token_once_and_revokes() {
    let cli = Cli::new();
    assert_ok(&cli.run(&["create-user", "ann@example.com", "--no-mail"], ""));
    let issue = || {
        let out = cli.run(&["api-token", "ann@example.com"], "");
        assert_ok(&out);
        let stdout = text(&out.stdout);
        let value = stdout
            .trim()
            .strip_prefix("X-Auth-Token: ")
            .unwrap_or_else(|| panic!("{stdout}"))
            .to_string();
        let (login, raw) = kegauth::loaders::parse_api_token_header(&value).unwrap();
        assert_eq!(login, "ann@example.com");
        raw.to_string()
    };
    let first = issue();
    let store = cli.store().await;
    let found = store
        .user_by_api_token("ann@example.com", &first)
        .await
        .unwrap();
    assert!(found.is_some_and(|u| u.token.as_deref() != Some(first.as_bytes())));
    let second = issue();
    assert_ne!(first, second);
    assert!(store
        .user_by_api_token("ann@example.com", &first)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .user_by_api_token("ann@example.com", &second)
        .await
        .unwrap()
        .is_some());

    let out = cli.run(&["api-token", "ann@example.com", "--revoke"], "");
    assert_ok(&out);
    assert_eq!(text(&out.stdout).trim(), "API token revoked.");
    assert!(store
        .user_by_api_token("ann@example.com", &second)
        .await
        .unwrap()
        .is_none());

    let out = cli.run(&["api-token", "nobody@example.com"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no user"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn routes_lists_every_route_with_its_requirement() {
    let cli = Cli::new();
    let out = cli.run(&["routes"], "");
    assert_ok(&out);
    let report = text(&out.stdout);
    let row = |method: &str, path: &str| -> String {
        report
            .lines()
            .find(|l| {
                let mut cells = l.split_whitespace();
                cells.next() == Some(method) && cells.next() == Some(path)
            })
            .unwrap_or_else(|| panic!("no {method} {path} row in\n{report}"))
            .to_string()
    };
    assert!(report.starts_with("METHOD"), "{report}");
    assert!(row("GET", "/secret1").contains(" login "));
    assert!(row("GET", "/secret2").contains(r#"has_any("permission1", "permission2")"#));
    assert!(row("GET", "/manage").contains(r#""auth-manage""#));
    assert!(row("GET", "/users").contains(r#"has_any("auth-manage", check)"#));
    assert!(row("GET", "/api/me").contains("login via JwtRequestLoader, TokenRequestLoader"));
    assert!(row("GET", "/").contains("NONE"));
    assert!(row("POST", "/api/token").contains(" login "));
    assert!(row("GET", "/login?<next>").contains("none (kegauth page)"));
    // The routes that require nothing are listed again at the end.
    let (_, open) = report
        .split_once("routes require nothing")
        .expect("a summary of open routes");
    assert!(open.contains("\n  GET /\n"), "{open}");
    assert!(!open.contains("/secret1"), "{open}");
    assert!(
        !open.contains("/login"),
        "kegauth's pages are counted apart: {open}"
    );
    assert!(report.contains("of kegauth's own pages"), "{report}");

    let only_open = cli.run(&["routes", "--open"], "");
    assert_ok(&only_open);
    let only_open = text(&only_open.stdout);
    assert!(!only_open.contains("/secret1"), "{only_open}");
    assert!(only_open.contains("GET     /public"), "{only_open}");
}

#[test]
fn the_cli_speaks_the_terminals_language() {
    let cli = Cli::new();
    let out = cli.run_in_spanish(&["create-user", "ann@example.com"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("Usuario creado.\nCorreo enviado con el enlace de verificación.\n"),
        "{stdout}"
    );
    // The verification mail too.
    let outbox = cli.outbox();
    assert_eq!(outbox.len(), 1);
    let mail = kegauth::testing::SentMail::parse(outbox[0].as_bytes()).expect("a mail");
    assert!(
        mail.subject
            .ends_with("] Bienvenida y verificación de usuario"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text.contains("Para verificar su correo electrónico"),
        "{}",
        mail.text
    );

    let out = cli.run_in_spanish(&["set-password", "ann@example.com"], "corta\ncorta\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("La contraseña no cumple estas reglas:")
            && stderr.contains("\u{2022} La contraseña debe tener al menos 8 caracteres."),
        "{stderr}"
    );
    let out = cli.run_in_spanish(
        &["set-password", "ann@example.com"],
        "bastante larga\nbastante larga\n",
    );
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "Contraseña establecida.\n");
    let out = cli.run_in_spanish(&["set-password", "nadie@example.com"], "");
    assert!(text(&out.stderr).contains("Usuario desconocido: nadie@example.com"));
    // LANG=C: English.
    let out = cli.run(&["set-password", "nadie@example.com"], "");
    assert!(text(&out.stderr).contains("Unknown user: nadie@example.com"));
}

/// Without a configured `secret_key`, the demo makes one on its first run and
/// keeps it in `kegauth-demo.secret` (readable by its owner only), so the
/// next run signs with the same key. (It used to take Rocket's default zero
/// key for a configured one and keep nothing.)
#[test]
fn the_demo_keeps_a_secret_key_of_its_own_when_none_is_configured() {
    let db = TempDb::new();
    let cwd = std::env::temp_dir().join(format!("kegauth-cwd-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&cwd).unwrap();
    let run = || {
        let mut command = common::demo_command(&db, "", "");
        command
            .current_dir(&cwd)
            .env_remove("ROCKET_SECRET_KEY")
            .env("ROCKET_CONFIG", common::root().join("Rocket.toml"));
        common::run_auth(command, &["routes"], "")
    };
    let out = run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("no secret_key configured"),
        "{}",
        text(&out.stderr)
    );
    let path = cwd.join("kegauth-demo.secret");
    let key = std::fs::read_to_string(&path).expect("the demo kept its key");
    assert_eq!(key.trim().len(), 44, "32 bytes, base64: {key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), key, "the same key");
    let _ = std::fs::remove_dir_all(cwd);
}

/// `password_scheme = "bcrypt"`: the CLI writes keg-auth's bcrypt (cost 12),
/// and a password bcrypt would truncate is a policy message, not a failure.
#[tokio::test]
async fn set_password_writes_bcrypt_with_the_bcrypt_scheme() {
    let cli = Cli::new().with_kegauth("password_scheme=\"bcrypt\"");
    assert_ok(&cli.run(&["create-user", "ann@example.com", "--no-mail"], ""));
    let long = "correct horse battery staple ".repeat(3);
    let out = cli.run(
        &["set-password", "ann@example.com"],
        &format!("{long}\n{long}\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("\u{2022} Password must be at most 71 bytes long."),
        "{}",
        text(&out.stderr)
    );
    let pw = "correct horse battery staple";
    assert_ok(&cli.run(
        &["set-password", "ann@example.com"],
        &format!("{pw}\n{pw}\n"),
    ));
    let store = cli.store().await;
    let ann = store
        .user_by_login("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let hash = ann.core.password.clone().expect("a hash");
    assert!(hash.starts_with("$2b$12$"), "{hash}");
    assert!(store.verify_password(&ann, pw).await.unwrap().ok);
    // A misspelt scheme stops the command, saying what is wrong.
    let out = Cli::new()
        .with_kegauth("password_scheme=\"md5\"")
        .run(&["create-user", "bob@example.com", "--no-mail"], "");
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`md5`") && stderr.contains("`argon2id` or `bcrypt`"),
        "{stderr}"
    );
}
