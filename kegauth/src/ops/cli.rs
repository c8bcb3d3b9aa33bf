//! The `auth` command group an app binary embeds: `myapp auth create-user`,
//! `set-password`, `api-token`, `purge-attempts`, `purge-sessions`, `audit list|verify`, `purge-audit`, `routes`
//! and `schema`, on the app's own configuration and database.
//!
//! The quickest way in is [`run_from_args`]: it runs the command when the
//! process arguments start with `auth`, and otherwise hands back, so that the
//! app launches as usual:
//!
//! ```no_run
//! # use rocket_db_pools::Database;
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
//! # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
//! fn app() -> rocket::Rocket<rocket::Build> {
//!     rocket::build()
//!         .attach(Db::init())
//!         .attach(kegauth::AuthManager::<Db, User>::builder().build())
//!         .mount("/", kegauth::routes())
//! }
//!
//! #[rocket::main]
//! async fn main() -> std::process::ExitCode {
//!     if let Some(code) = kegauth::cli::run_from_args::<Db, User>(app()).await {
//!         return code;
//!     }
//!     match app().launch().await {
//!         Ok(_) => std::process::ExitCode::SUCCESS,
//!         Err(e) => { eprintln!("{e}"); std::process::ExitCode::FAILURE }
//!     }
//! }
//! ```
//!
//! Apps with their own clap parser embed [`AuthArgs`] as a subcommand and
//! call [`run`].
//!
//! An app adds its own commands to the `auth` group (keg-auth's
//! `auth_manager.cli_group`) with a clap [`Subcommand`] enum that implements
//! [`AppCommands`], passed to [`run_or_launch_with`] or
//! [`run_from_args_with`]: `myapp auth --help` then lists kegauth's commands
//! and the app's together, and an app command runs against the app ignited
//! as for kegauth's own (configuration checked, database reached, schema
//! and permissions in place).

use crate::core::backend::Backend;
use crate::core::config::Config;
use crate::core::entity::{blank_user, AttemptType, AuthEntity, EntitySet, Role, UserEntity};
use crate::core::store::Store;
pub use crate::ops::app_commands::{AppCommands, AppContext, AppError, NoAppCommands};
use crate::ops::manager::{AuthDb, StoreOf};
use crate::services::i18n::Translator;
use clap::{Args, Parser, Subcommand, ValueEnum};
use rocket::{Build, Rocket};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// `auth ...`: user and authentication commands.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct AuthArgs {
    /// The command.
    #[command(subcommand)]
    pub command: AuthCommand,
}

/// One `auth` command.
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum AuthCommand {
    /// Create a user and, when mail is configured, mail them a link to verify
    /// the account and set a password.
    CreateUser {
        /// Values for the user fields named by `cli_user_args` in [kegauth]
        /// (default: email), in that order.
        #[arg(value_name = "ARGS", required = true)]
        args: Vec<String>,
        /// Make the user a superuser.
        #[arg(long)]
        as_superuser: bool,
        /// Do not send the verification mail (the link is still printed).
        #[arg(long)]
        no_mail: bool,
    },
    /// Set a user's password: prompted twice without echo (or read as two
    /// lines from standard input when it is not a terminal).
    SetPassword {
        /// The user's login id (email address or username).
        username: String,
    },
    /// Give a user a new API token and print its `X-Auth-Token` header value
    /// (shown once: only its hash is stored), or revoke the token.
    ApiToken {
        /// The user's login id (email address or username).
        username: String,
        /// Remove the user's token instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Delete logged login, forgot and reset attempts, optionally only some.
    PurgeAttempts {
        /// Only the attempts on this input.
        #[arg(long, visible_alias = "user")]
        username: Option<String>,
        /// Only the attempts older than this many days.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u32>,
        /// Only the attempts of this kind.
        #[arg(long, visible_alias = "type", value_enum)]
        attempt_type: Option<KindArg>,
    },
    /// Delete the session records that can no longer log anyone in
    /// (ended, expired, or under a session key that rotated since).
    PurgeSessions,
    /// Read or check the audit trail (`audit list`, `audit verify`).
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Delete audit events older than some days, recording that it did.
    PurgeAudit {
        /// Delete the events older than this many days.
        #[arg(long, value_name = "DAYS", required = true)]
        older_than: u32,
    },
    /// List every mounted route with what it requires (login, permissions),
    /// ending with the routes that require nothing.
    Routes {
        /// Only the routes that require nothing.
        #[arg(long)]
        open: bool,
    },
    /// Print kegauth's DDL for a backend, or apply it to the app's database.
    Schema {
        /// The backend to print the DDL for (default: the app's).
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
        /// Create the missing tables, types and indexes in the app's database.
        #[arg(long)]
        apply: bool,
    },
}

/// One `auth audit` command.
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum AuditCommand {
    /// Print events, newest first, one per line (tab-separated).
    List {
        /// Only the events by or about this user (login id).
        #[arg(long)]
        user: Option<String>,
        /// Only the events at or after this UTC date or time
        /// (`2026-12-01` or `2026-12-01T08:00:00`).
        #[arg(long, value_parser = parse_since)]
        since: Option<chrono::NaiveDateTime>,
        /// Only the events of this kind (`login-failure`, `admin-edit`, ...).
        #[arg(long)]
        kind: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Check the hash chain; exit code 1 and the first broken row when it
    /// does not hold.
    Verify,
}

fn parse_since(s: &str) -> Result<chrono::NaiveDateTime, String> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| format!("`{s}` is not a date (2026-12-01) or a time (2026-12-01T08:00:00)"))
}

/// An attempt type on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindArg {
    /// Login attempts.
    Login,
    /// Forgot-password attempts.
    Forgot,
    /// Reset-password attempts.
    Reset,
}

impl From<KindArg> for AttemptType {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Login => AttemptType::Login,
            KindArg::Forgot => AttemptType::Forgot,
            KindArg::Reset => AttemptType::Reset,
        }
    }
}

/// A backend on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

#[derive(Parser)]
#[command(no_binary_name = true)]
struct Top<X: AppCommands> {
    #[command(subcommand)]
    group: Group<X>,
}

#[derive(Subcommand)]
enum Group<X: AppCommands> {
    /// User and authentication commands.
    Auth(AuthAndApp<X>),
}

#[derive(Args)]
struct AuthAndApp<X: AppCommands> {
    #[command(subcommand)]
    command: Either<X>,
}

#[derive(Subcommand)]
enum Either<X: AppCommands> {
    #[command(flatten)]
    Kegauth(AuthCommand),
    #[command(flatten)]
    App(X),
}

/// The names (and aliases) of `X`'s commands that kegauth's already have.
fn clashes<X: Subcommand>() -> Vec<String> {
    let names = |c: clap::Command| -> Vec<String> {
        c.get_subcommands()
            .flat_map(|s| {
                std::iter::once(s.get_name().to_string())
                    .chain(s.get_all_aliases().map(str::to_string))
            })
            .collect()
    };
    let ours = names(AuthCommand::augment_subcommands(clap::Command::new("auth")));
    let mut theirs = names(X::augment_subcommands(clap::Command::new("auth")));
    theirs.retain(|n| ours.contains(n) || n == "help");
    theirs
}

/// When `std::env::args()` start with `auth`, run that command against the
/// app and return its exit code; otherwise `None`. Usage errors print clap's
/// message and return 2; `--help` prints the help and returns 0.
pub async fn run_from_args<D: AuthDb, E: EntitySet>(rocket: Rocket<Build>) -> Option<ExitCode> {
    run_from_args_with::<D, E, NoAppCommands>(rocket).await
}

/// [`run_from_args`] with the app's own commands `X` in the `auth` group
/// (see [`AppCommands`]).
pub async fn run_from_args_with<D: AuthDb, E: EntitySet, X: AppCommands>(
    rocket: Rocket<Build>,
) -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("auth") {
        return None;
    }
    let clashing = clashes::<X>();
    if !clashing.is_empty() {
        eprintln!(
            "the app's auth commands clash with kegauth's: {} (rename them)",
            clashing.join(", ")
        );
        return Some(ExitCode::from(2));
    }
    Some(match Top::<X>::try_parse_from(&args) {
        Ok(Top {
            group: Group::Auth(auth),
        }) => match auth.command {
            Either::Kegauth(command) => run::<D, E>(rocket, command).await,
            Either::App(command) => run_app(rocket, command).await,
        },
        Err(e) => {
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    })
}

/// Run an app command against the app, ignited quietly.
async fn run_app<X: AppCommands>(rocket: Rocket<Build>, command: X) -> ExitCode {
    let done = async {
        let rocket = ignite_quietly(rocket).await?;
        let Some(i18n) = rocket.state::<crate::services::i18n::I18n>() else {
            return fail("the kegauth AuthManager fairing is not attached to this app");
        };
        let tr = terminal_translator(i18n);
        let cx = AppContext::new(&rocket, &tr);
        let result = command.run(cx).await;
        if let Some(auditor) = rocket.state::<crate::core::audit::Auditor>() {
            auditor.flush().await;
        }
        result.map_err(|e| Failure(e.to_string(), 1))
    };
    exit_code(done.await)
}

/// The whole `main` of an app with the `auth` commands: run the command when
/// the arguments start with `auth`, else launch `app()`.
///
/// ```no_run
/// # use rocket_db_pools::Database;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
/// # fn app() -> rocket::Rocket<rocket::Build> { rocket::build() }
/// #[rocket::main]
/// async fn main() -> std::process::ExitCode {
///     kegauth::cli::run_or_launch::<Db, User>(app).await
/// }
/// ```
pub async fn run_or_launch<D: AuthDb, E: EntitySet>(app: impl Fn() -> Rocket<Build>) -> ExitCode {
    run_or_launch_with::<D, E, NoAppCommands>(app).await
}

/// [`run_or_launch`] with the app's own commands `X` in the `auth` group
/// (see [`AppCommands`]).
pub async fn run_or_launch_with<D: AuthDb, E: EntitySet, X: AppCommands>(
    app: impl Fn() -> Rocket<Build>,
) -> ExitCode {
    if let Some(code) = run_from_args_with::<D, E, X>(app()).await {
        return code;
    }
    match app().launch().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// A command's failure: the message for stderr and the exit code.
struct Failure(String, u8);

impl From<crate::core::error::Error> for Failure {
    fn from(e: crate::core::error::Error) -> Self {
        Failure(e.to_string(), 1)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(message.into(), 1))
}

/// Run `command` against the app `rocket` (built, not launched): the app's
/// configuration, database and [`AuthManager`](crate::AuthManager) settings
/// (mail, password policy). Output goes to stdout, errors to stderr; the
/// result is the exit code (0, or 1 on failure).
pub async fn run<D: AuthDb, E: EntitySet>(rocket: Rocket<Build>, command: AuthCommand) -> ExitCode {
    exit_code(execute::<D, E>(rocket, command).await)
}

/// A command's exit code, its failure's message printed to stderr.
fn exit_code(done: Result<(), Failure>) -> ExitCode {
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message, code)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

async fn execute<D: AuthDb, E: EntitySet>(
    rocket: Rocket<Build>,
    command: AuthCommand,
) -> Result<(), Failure> {
    if let AuthCommand::Schema { backend, apply } = command {
        return schema::<D, E>(rocket, backend, apply).await;
    }
    let rocket = ignite_quietly(rocket).await?;
    let (Some(store), Some(config), Some(i18n)) = (
        rocket.state::<StoreOf<D, E>>(),
        rocket.state::<Config>(),
        rocket.state::<crate::services::i18n::I18n>(),
    ) else {
        return fail("the kegauth AuthManager fairing is not attached to this app");
    };
    let tr = terminal_translator(i18n);
    // What the commands change is recorded as done from the command line.
    let auditor = rocket.state::<crate::core::audit::Auditor>();
    let mut store = store.in_language(tr.lang());
    if let Some(auditor) = auditor {
        store = store.with_auditor(auditor.clone(), "cli");
    }
    let store = &store;
    let mut out = std::io::stdout();
    let done = run_command(&rocket, store, config, &tr, command, &mut out).await;
    // Every event written before the process ends.
    if let Some(auditor) = auditor {
        auditor.flush().await;
    }
    done
}

/// The app as it would launch, but quiet; a bad setting is named first.
async fn ignite_quietly(rocket: Rocket<Build>) -> Result<Rocket<rocket::Ignite>, Failure> {
    let checked =
        Config::from_figment(rocket.figment()).and_then(|c| crate::services::check_config(&c));
    if let Err(e) = checked {
        return fail(format!("the app did not start: {e}"));
    }
    // Only warnings and errors (Rocket logs at info level until ignition
    // ends, fairings included).
    log::set_max_level(log::LevelFilter::Warn);
    let figment = rocket.figment().clone().merge(("log_level", "critical"));
    rocket
        .configure(figment)
        .ignite()
        .await
        .map_err(|e| Failure(format!("the app did not start: {e}"), 1))
}

/// Messages, mail and password rules in the terminal's language.
fn terminal_translator(i18n: &crate::services::i18n::I18n) -> Translator {
    Translator::new(
        i18n.catalogs.clone(),
        &crate::services::i18n::language_of_env(&i18n.catalogs),
    )
}

async fn run_command<DB: Backend, E: EntitySet>(
    rocket: &Rocket<rocket::Ignite>,
    store: &Store<DB, E>,
    config: &Config,
    tr: &Translator,
    command: AuthCommand,
    out: &mut impl Write,
) -> Result<(), Failure> {
    match command {
        AuthCommand::CreateUser {
            args,
            as_superuser,
            no_mail,
        } => create_user(store, config, tr, &args, as_superuser, no_mail, out).await,
        AuthCommand::SetPassword { username } => set_password(store, tr, &username, out).await,
        AuthCommand::ApiToken { username, revoke } => {
            api_token(store, tr, &username, revoke, out).await
        }
        AuthCommand::PurgeAttempts {
            username,
            older_than,
            attempt_type,
        } => {
            let count = store
                .purge_attempts(
                    username.as_deref(),
                    older_than,
                    attempt_type.map(Into::into),
                )
                .await
                .map_err(|e| {
                    Failure(
                        format!("could not purge attempts (is the attempt table there?): {e}"),
                        1,
                    )
                })?;
            say(
                out,
                &tr.t_args("cli-attempts-deleted", &[("count", count.to_string())]),
            )
        }
        AuthCommand::PurgeSessions => {
            let count = store.purge_sessions(config.session_limits()).await?;
            say(
                out,
                &tr.t_args("cli-sessions-deleted", &[("count", count.to_string())]),
            )
        }
        AuthCommand::Audit { command } => audit(store, tr, command, out).await,
        AuthCommand::PurgeAudit { older_than } => {
            let before = store.now() - chrono::TimeDelta::days(i64::from(older_than));
            let count = store.purge_audit(before, None).await?;
            say(
                out,
                &tr.t_args("cli-audit-deleted", &[("count", count.to_string())]),
            )
        }
        AuthCommand::Routes { open } => {
            let mut report = crate::authz::access::route_report(rocket);
            if open {
                report.retain(crate::authz::access::RouteAccess::is_open);
            }
            write!(out, "{}", crate::authz::access::render_report(&report))
                .map_err(|e| Failure(format!("cannot write output: {e}"), 1))
        }
        AuthCommand::Schema { .. } => Ok(()),
    }
}

async fn audit<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    tr: &Translator,
    command: AuditCommand,
    out: &mut impl Write,
) -> Result<(), Failure> {
    use crate::core::audit::AuditFilter;
    match command {
        AuditCommand::Verify => {
            let report = store.verify_audit_chain().await?;
            match report.first_broken {
                None => say(
                    out,
                    &tr.t_args("cli-audit-intact", &[("count", report.rows.to_string())]),
                ),
                Some(id) => fail(tr.t_args("cli-audit-broken", &[("id", id.to_string())])),
            }
        }
        AuditCommand::List {
            user,
            since,
            kind,
            limit,
        } => {
            let mut filter = AuditFilter::default().limit(limit);
            if let Some(login) = user {
                let Some(u) = store.user_by_login(&login).await? else {
                    return fail(tr.t_args("cli-no-such-login", &[("login", login)]));
                };
                filter = filter.user(u.id());
            }
            filter.since = since;
            filter.kind = kind;
            let mut text =
                String::from("id\ttime\tkind\toutcome\tactor\tsubject\tclient\tdetail\n");
            for r in store.audit_events(&filter).await? {
                let e = &r.event;
                let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    r.id,
                    opt(e.at.map(|a| a.format("%Y-%m-%dT%H:%M:%S").to_string())),
                    e.kind,
                    e.outcome.as_str(),
                    opt(e.actor.map(|a| a.to_string())),
                    opt(e.subject.map(|s| {
                        let (k, i) = s.parts();
                        format!("{k}:{i}")
                    })),
                    opt(e.client_ip.clone()),
                    e.detail
                ));
            }
            write!(out, "{text}").map_err(|e| Failure(format!("cannot write output: {e}"), 1))
        }
    }
}

async fn api_token<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    tr: &Translator,
    username: &str,
    revoke: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let Some(mut user) = store.user_by_login(username).await? else {
        return fail(tr.t_args("cli-no-such-login", &[("login", username.to_string())]));
    };
    if revoke {
        store.clear_auth_token(&mut user).await?;
        return say(out, &tr.t("cli-token-revoked"));
    }
    let options = crate::authn::loaders::ApiTokenOptions::default();
    let raw = store.reset_auth_token(&mut user, &options).await?;
    let value = crate::authn::loaders::api_token_header(user.login_id(), &raw);
    say(out, &format!("X-Auth-Token: {value}"))
}

fn say(out: &mut impl Write, line: &str) -> Result<(), Failure> {
    writeln!(out, "{line}").map_err(|e| Failure(format!("cannot write output: {e}"), 1))
}

async fn create_user<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    config: &Config,
    tr: &Translator,
    args: &[String],
    as_superuser: bool,
    no_mail: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let names = &config.cli_user_args;
    if args.len() != names.len() {
        return Err(Failure(
            format!(
                "create-user takes {} argument(s), {} (cli_user_args in [kegauth]); got {}",
                names.len(),
                names.join(", "),
                args.len()
            ),
            2,
        ));
    }
    let schema = <E::User as AuthEntity>::schema();
    let mut user: E::User = blank_user()?;
    for (name, value) in names.iter().zip(args) {
        let settable = schema
            .columns
            .iter()
            .any(|c| c.field == name.as_str() && (c.opts.cli_arg || c.role == Role::Login));
        if !settable {
            return fail(format!(
                "cli_user_args names `{name}`, which is not the login field or an \
                 #[auth(cli_arg)] field of the user entity"
            ));
        }
        match user.set_from_input(name, value) {
            Ok(true) => {}
            Ok(false) => return fail(format!("`{name}` cannot be set from the command line")),
            Err(e) => return fail(format!("{name}: {e}")),
        }
    }
    user.core_mut().is_superuser = as_superuser;
    let url = match store.create_user(&mut user, !no_mail).await {
        Ok(url) => url,
        Err(
            e @ (crate::core::error::Error::Conflict(_) | crate::core::error::Error::Invalid(_)),
        ) => return fail(format!("Error: {e}")),
        Err(e) => return fail(tr.t_args("cli-user-not-created", &[("error", e.to_string())])),
    };
    {
        use crate::core::audit::{kinds, AuditEvent, Outcome, Subject};
        store.audit(
            AuditEvent::new(kinds::ADMIN_CREATE, Outcome::Success)
                .subject(Subject::User(user.id()))
                .detail(serde_json::json!({
                    "section": "users",
                    "label": user.login_id(),
                    "is_superuser": as_superuser,
                })),
        );
    }
    say(out, &tr.t("cli-user-created"))?;
    if let Some(url) = url
        && store.mail_on()
    {
        if !no_mail {
            say(out, &tr.t("cli-mail-sent"))?;
        }
        say(out, &tr.t_args("cli-verification-url", &[("url", url)]))?;
    }
    Ok(())
}

/// Read the password twice: hidden from a terminal, else two lines of stdin.
fn read_password_twice(tr: &Translator) -> Result<(String, String), Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password(tr.t("cli-password-prompt") + " ");
        let second = first.and_then(|p| {
            rpassword::prompt_password(tr.t("cli-password-repeat") + " ").map(|c| (p, c))
        });
        return second.map_err(|e| Failure(format!("cannot read the password: {e}"), 1));
    }
    let mut lines = stdin.lock().lines();
    let mut next = || match lines.next() {
        Some(Ok(line)) => Ok(line.trim_end_matches('\r').to_string()),
        Some(Err(e)) => fail(format!("cannot read the password: {e}")),
        None => fail("expected the password twice on standard input"),
    };
    Ok((next()?, next()?))
}

async fn set_password<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    tr: &Translator,
    username: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let Some(mut user) = store.user_by_login(username).await? else {
        return fail(tr.t_args("cli-unknown-user", &[("login", username.to_string())]));
    };
    let (password, confirm) = read_password_twice(tr)?;
    if password != confirm {
        return fail(tr.t("cli-passwords-differ"));
    }
    let errors = store.password_errors(&password, &user);
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|e| format!("\t\u{2022} {e}")).collect();
        return fail(format!(
            "{}\n{}",
            tr.t("cli-password-rejected"),
            list.join("\n")
        ));
    }
    // As keg-auth does: setting a password also verifies the account.
    user.core_mut().is_verified = true;
    store.set_password(&mut user, &password).await?;
    say(out, &tr.t("cli-password-set"))
}

/// The schema script for `backend`, if this build has its driver (kegauth's
/// feature of the same name).
fn script_for<E: EntitySet>(backend: BackendArg) -> Result<String, Failure> {
    let missing = |feature: &str| {
        fail(format!(
            "this build has no {feature} driver: build kegauth with its `{feature}` feature \
             to print that schema"
        ))
    };
    match backend {
        #[cfg(feature = "sqlite")]
        BackendArg::Sqlite => Ok(crate::core::ddl::script::<sqlx::Sqlite, E>()),
        #[cfg(feature = "postgres")]
        BackendArg::Postgres => Ok(crate::core::ddl::script::<sqlx::Postgres, E>()),
        #[cfg(feature = "mysql")]
        BackendArg::Mysql => Ok(crate::core::ddl::script::<sqlx::MySql, E>()),
        #[allow(unreachable_patterns)]
        other => missing(match other {
            BackendArg::Sqlite => "sqlite",
            BackendArg::Postgres => "postgres",
            BackendArg::Mysql => "mysql",
        }),
    }
}

async fn schema<D: AuthDb, E: EntitySet>(
    rocket: Rocket<Build>,
    backend: Option<BackendArg>,
    apply: bool,
) -> Result<(), Failure> {
    use crate::core::backend::Dialect;
    let own = match <D::Backend as Backend>::DIALECT {
        Dialect::Sqlite => BackendArg::Sqlite,
        Dialect::Postgres => BackendArg::Postgres,
        Dialect::MySql => BackendArg::Mysql,
    };
    let mut out = std::io::stdout();
    if !apply {
        let script = script_for::<E>(backend.unwrap_or(own))?;
        return write!(out, "{script}").map_err(|e| Failure(e.to_string(), 1));
    }
    if backend.is_some_and(|b| b != own) {
        return fail(format!(
            "--apply uses the app's database, which is {own:?}, not {backend:?}"
        ));
    }
    // Straight to the database: the app itself may not start before its schema exists.
    let key = format!("databases.{}.url", D::NAME);
    let url: String = rocket
        .figment()
        .extract_inner(&key)
        .map_err(|e| Failure(format!("no database URL configured at `{key}`: {e}"), 1))?;
    let pool = sqlx::Pool::<D::Backend>::connect(&url)
        .await
        .map_err(|e| Failure(format!("cannot connect to the database: {e}"), 1))?;
    Store::<D::Backend, E>::new(pool).create_schema().await?;
    say(&mut out, "Schema applied.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Subcommand)]
    enum Clashing {
        /// Named like kegauth's.
        CreateUser,
        /// An alias like a kegauth command's name.
        #[command(alias = "routes")]
        Paths,
        /// Fine.
        ListOrders,
    }

    #[test]
    fn app_commands_named_like_kegauths_are_found() {
        assert_eq!(clashes::<NoAppCommands>(), Vec::<String>::new());
        assert_eq!(clashes::<Clashing>(), ["create-user", "routes"]);
    }
}
