//! An app's own commands in the `auth` group (keg-auth's
//! `auth_manager.cli_group`), run by [`crate::cli::run_or_launch_with`] and
//! [`crate::cli::run_from_args_with`].

use crate::core::entity::EntitySet;
use crate::ops::manager::{AuthDb, StoreOf};
use crate::services::i18n::Translator;
use clap::Subcommand;
use rocket::{Ignite, Rocket};

/// An app's own commands in the `auth` group, beside kegauth's: a clap
/// [`Subcommand`] enum whose [`run`](AppCommands::run) gets the app ignited
/// as for kegauth's commands. A command named like one of kegauth's is
/// refused with a message (exit code 2), never shadowed.
///
/// ```no_run
/// # use rocket_db_pools::Database;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
/// # fn app() -> rocket::Rocket<rocket::Build> { rocket::build() }
/// use kegauth::cli::{AppCommands, AppContext};
///
/// /// The app's commands (`myapp auth count-users`).
/// #[derive(clap::Subcommand)]
/// enum MyCommands {
///     /// Print how many users there are.
///     CountUsers,
/// }
///
/// impl AppCommands for MyCommands {
///     async fn run(self, cx: AppContext<'_>) -> Result<(), kegauth::cli::AppError> {
///         let store = cx.store::<Db, User>()?;
///         match self {
///             MyCommands::CountUsers => println!("{}", store.users().await?.len()),
///         }
///         Ok(())
///     }
/// }
///
/// #[rocket::main]
/// async fn main() -> std::process::ExitCode {
///     kegauth::cli::run_or_launch_with::<Db, User, MyCommands>(app).await
/// }
/// ```
pub trait AppCommands: Subcommand + Send + 'static {
    /// Run the command. An error is printed to stderr and ends the process
    /// with exit code 1.
    fn run(
        self,
        cx: AppContext<'_>,
    ) -> impl std::future::Future<Output = Result<(), AppError>> + Send;
}

/// What an app command may fail with: any error (`?` works on most), or a
/// message (`Err("no such order".into())`).
pub type AppError = Box<dyn std::error::Error + Send + Sync>;

/// No app commands: kegauth's alone ([`run_from_args`](crate::cli::run_from_args), [`run_or_launch`](crate::cli::run_or_launch)).
#[derive(Subcommand, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAppCommands {}

impl AppCommands for NoAppCommands {
    async fn run(self, _: AppContext<'_>) -> Result<(), AppError> {
        match self {}
    }
}

/// What an app command runs against: the app, ignited (not launched), and
/// kegauth's store as the `auth` commands use it.
pub struct AppContext<'a> {
    rocket: &'a Rocket<Ignite>,
    tr: &'a Translator,
}

impl<'a> AppContext<'a> {
    pub(crate) fn new(rocket: &'a Rocket<Ignite>, tr: &'a Translator) -> Self {
        AppContext { rocket, tr }
    }

    /// The app (its managed state: `Db::fetch(cx.rocket())`, its configuration).
    pub fn rocket(&self) -> &Rocket<Ignite> {
        self.rocket
    }

    /// kegauth's store for `D` and `E`, in the terminal's language, its
    /// changes audited as made from the command line. An error when the
    /// app's `AuthManager` is for other types.
    pub fn store<D: AuthDb, E: EntitySet>(&self) -> Result<StoreOf<D, E>, AppError> {
        let store = self.rocket.state::<StoreOf<D, E>>().ok_or(
            "the kegauth AuthManager fairing is not attached with these database and entity types",
        )?;
        let mut store = store.in_language(self.tr.lang());
        if let Some(auditor) = self.rocket.state::<crate::core::audit::Auditor>() {
            store = store.with_auditor(auditor.clone(), "cli");
        }
        Ok(store)
    }
}
