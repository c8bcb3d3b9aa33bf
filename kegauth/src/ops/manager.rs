//! The `AuthManager` fairing: wires kegauth into a Rocket app.

use crate::authn::authenticators::Authenticator;
use crate::authn::loaders::{LoaderFactory, LoaderSetup, Loaders, RequestLoader};
use crate::authn::service::{Auth, Service};
use crate::authz::requirements::{undeclared_in_routes, Declared};
use crate::core::backend::Backend;
use crate::core::clock::Clock;
use crate::core::config::Config;
use crate::core::entity::EntitySet;
use crate::core::password::{HasherPriority, PasswordHasher};
use crate::core::permissions::PermissionDef;
use crate::core::store::Store;
#[cfg(feature = "mail")]
use crate::services::mail::AuthMailManager;
use crate::services::policy::PasswordPolicy;
use crate::services::templates::{SharedEngine, Templates};
use crate::web::endpoints::Endpoints;
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::{Build, Request, Rocket};
use rocket_db_pools::Database;
use sqlx::Pool;
use std::marker::PhantomData;
use std::sync::Arc;

/// A `rocket_db_pools` database whose pool is one of the typed sqlx pools
/// kegauth supports (`SqlitePool`, `PgPool`, `MySqlPool`).
///
/// Implemented automatically for every such `#[derive(Database)]` type.
pub trait AuthDb: Database {
    /// The sqlx database type.
    type Backend: Backend;
    /// The pool kegauth shares with the app.
    fn auth_pool(&self) -> &Pool<Self::Backend>;
}

impl<D, DB> AuthDb for D
where
    D: Database<Pool = Pool<DB>>,
    DB: Backend,
{
    type Backend = DB;
    fn auth_pool(&self) -> &Pool<DB> {
        self
    }
}

/// The store type an `AuthManager<D, E>` puts in Rocket's managed state.
pub type StoreOf<D, E> = Store<<D as AuthDb>::Backend, E>;

/// The kegauth fairing. Attach it after the app's database fairing.
///
/// At ignite it reads [`Config`] from the `kegauth` table of Rocket's
/// configuration (refusing unknown keys), takes the app's pool, optionally creates the schema, syncs the declared
/// permissions, and manages the [`Store`] (`&State<StoreOf<Db, User>>`) and the
/// [`Config`] (`&State<kegauth::config::Config>`).
///
/// ```no_run
/// # use rocket_db_pools::Database;
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::entity::UserCore }
/// #[derive(Database)]
/// #[database("main")]
/// struct Db(sqlx::SqlitePool);
///
/// kegauth::permissions! { AUTH_MANAGE = "auth-manage": "manage users"; }
///
/// #[rocket::launch]
/// fn rocket() -> _ {
///     rocket::build()
///         .attach(Db::init())
///         .attach(kegauth::AuthManager::<Db, User>::builder().permissions(PERMISSIONS).build())
/// }
/// ```
pub struct AuthManager<D, E> {
    authenticator: Authenticator,
    permissions: Vec<PermissionDef>,
    endpoints: Vec<(String, String)>,
    create_schema: bool,
    optional_api_token_column: bool,
    clock: Option<Arc<dyn Clock>>,
    hasher: Option<PasswordHasher>,
    #[cfg(feature = "mail")]
    mail: Option<AuthMailManager>,
    policy: Option<Arc<dyn PasswordPolicy>>,
    loaders: Vec<LoaderFactory>,
    admin_rules: std::collections::BTreeMap<
        (
            crate::authz::admin_rules::Section,
            crate::authz::admin_rules::Action,
        ),
        crate::authz::requirements::Requirement,
    >,
    menus: Vec<(String, Vec<crate::authz::nav::NavItem>)>,
    translations: Vec<(String, String)>,
    language: Option<crate::services::i18n::LanguageHook>,
    audit_sinks: Vec<Arc<dyn crate::core::audit::AuditSink>>,
    _types: PhantomData<fn() -> (D, E)>,
}

/// Builds an [`AuthManager`].
pub struct AuthManagerBuilder<D, E> {
    inner: AuthManager<D, E>,
}

impl<D: AuthDb, E: EntitySet> AuthManager<D, E> {
    /// Start building.
    pub fn builder() -> AuthManagerBuilder<D, E> {
        AuthManagerBuilder {
            inner: AuthManager {
                authenticator: Authenticator::Keg,
                permissions: Vec::new(),
                endpoints: Vec::new(),
                create_schema: false,
                optional_api_token_column: false,
                clock: None,
                hasher: None,
                #[cfg(feature = "mail")]
                mail: None,
                policy: None,
                loaders: Vec::new(),
                admin_rules: Default::default(),
                menus: Vec::new(),
                translations: Vec::new(),
                language: None,
                audit_sinks: Vec::new(),
                _types: PhantomData,
            },
        }
    }
}

impl<D: AuthDb, E: EntitySet> AuthManagerBuilder<D, E> {
    /// The permissions declared in code (see [`permissions!`](crate::permissions!)),
    /// synced to the database at launch: undeclared ones are deleted.
    pub fn permissions(mut self, permissions: &[PermissionDef]) -> Self {
        self.inner.permissions = permissions.to_vec();
        self
    }

    /// How people log in: [`Authenticator::Keg`] (login id and password, the
    /// default) or [`Authenticator::Redirect`].
    pub fn authenticator(mut self, authenticator: Authenticator) -> Self {
        self.inner.authenticator = authenticator;
        self
    }

    /// Where to go after a view, by keg-auth's endpoint name: `after-login`
    /// (default `/`), `after-logout`, `after-forgot`, `after-reset`,
    /// `after-verify-account` (default: the login page). The target must be a
    /// relative path; a bad name or target stops the launch.
    pub fn endpoint(mut self, name: &str, target: &str) -> Self {
        self.inner.endpoints.push((name.into(), target.into()));
        self
    }

    /// Create missing tables at launch (off by default: apps own their migrations).
    pub fn create_schema(mut self, yes: bool) -> Self {
        self.inner.create_schema = yes;
        self
    }

    /// Launch on a user table that lacks the `#[auth(api_token)]` column
    /// (keg-auth's tables where the user class has no `UserTokenMixin`)
    /// instead of stopping: API tokens are then off, with a warning at launch
    /// (off by default: a column the entity names is required).
    ///
    /// ```
    /// # use kegauth::prelude::*;
    /// # #[derive(rocket_db_pools::Database)] #[database("main")] struct Db(sqlx::SqlitePool);
    /// # #[derive(Debug, Clone, AuthEntity)] #[auth(user, table = "users", login = "email")]
    /// # struct User { id: i64, email: String, #[auth(api_token)] token: Option<Vec<u8>>,
    /// #   #[auth(core)] core: UserCore }
    /// let manager = AuthManager::<Db, User>::builder().optional_api_token_column(true).build();
    /// # let _ = manager;
    /// ```
    pub fn optional_api_token_column(mut self, yes: bool) -> Self {
        self.inner.optional_api_token_column = yes;
        self
    }

    /// Use another clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.inner.clock = Some(clock);
        self
    }

    /// Use another password hasher (e.g. a different concurrency cap).
    pub fn hasher(mut self, hasher: PasswordHasher) -> Self {
        self.inner.hasher = Some(hasher);
        self
    }

    /// Send mail (new-user verification, forgot password) and serve the
    /// forgot, reset and verify pages. Without a mail manager kegauth sends
    /// nothing and those pages answer 404. Needs email-login users and
    /// `server_name` in `[kegauth]`; see [`crate::mail`].
    #[cfg(feature = "mail")]
    pub fn mail(mut self, manager: AuthMailManager) -> Self {
        self.inner.mail = Some(manager);
        self
    }

    /// Check new passwords with `policy` (default: [`DefaultPolicy`](crate::policy::DefaultPolicy)).
    pub fn password_policy<P: PasswordPolicy>(mut self, policy: P) -> Self {
        self.inner.policy = Some(Arc::new(policy));
        self
    }

    /// Add a request loader (keg-auth's `request_loaders`): who a request is
    /// from when it has no session. Loaders run in the order they are added;
    /// see [`crate::loaders`]. Adding the same loader type twice stops the launch.
    pub fn request_loader<L: RequestLoader + Clone>(mut self, loader: L) -> Self {
        self.inner
            .loaders
            .push(crate::authn::loaders::factory(loader));
        self
    }

    /// Require `requirement` instead of `auth-manage` for one action of one
    /// admin section (see [`crate::admin`]). Its tokens must be declared, or
    /// the launch stops.
    pub fn admin_requirement(
        mut self,
        section: crate::authz::admin_rules::Section,
        action: crate::authz::admin_rules::Action,
        requirement: impl Into<crate::authz::requirements::Requirement>,
    ) -> Self {
        self.inner
            .admin_rules
            .insert((section, action), requirement.into());
        self
    }

    /// Add translations in Fluent syntax to language `lang`: a new language
    /// (its missing strings fall back to English) or replacements for some
    /// of kegauth's strings. A source that does not parse stops the launch.
    ///
    /// ```no_run
    /// # use rocket_db_pools::Database;
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
    /// let manager = kegauth::AuthManager::<Db, User>::builder()
    ///     .translations("fr", "login-button = Se connecter")
    ///     .translations("es", "login-button = Entrar")
    ///     .build();
    /// ```
    pub fn translations(mut self, lang: &str, source: &str) -> Self {
        self.inner
            .translations
            .push((lang.to_string(), source.to_string()));
        self
    }

    /// Also hand every audit event to `sink` (after it is written to the
    /// `kegauth_audit_events` table), e.g. to forward it to a log pipeline.
    ///
    /// ```no_run
    /// # use rocket_db_pools::Database;
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
    /// use kegauth::audit::{AuditEvent, AuditSink};
    /// struct Forward;
    /// impl AuditSink for Forward {
    ///     fn record(&self, event: &AuditEvent) {
    ///         eprintln!("audit: {} {:?}", event.kind, event.subject);
    ///     }
    /// }
    /// let manager = kegauth::AuthManager::<Db, User>::builder()
    ///     .audit_sink(std::sync::Arc::new(Forward))
    ///     .build();
    /// ```
    pub fn audit_sink(mut self, sink: Arc<dyn crate::core::audit::AuditSink>) -> Self {
        self.inner.audit_sinks.push(sink);
        self
    }

    /// Choose the language of a request (a user setting, a cookie, a path
    /// prefix); `None`, or a language without catalog, falls back to
    /// `Accept-Language`.
    ///
    /// ```no_run
    /// # use rocket_db_pools::Database;
    /// # #[derive(kegauth::AuthEntity)] #[auth(user)]
    /// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
    /// # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
    /// fn from_cookie(req: &rocket::Request<'_>) -> Option<String> {
    ///     req.cookies().get("lang").map(|c| c.value().to_string())
    /// }
    /// let manager = kegauth::AuthManager::<Db, User>::builder().language(from_cookie).build();
    /// ```
    pub fn language(mut self, hook: crate::services::i18n::LanguageHook) -> Self {
        self.inner.language = Some(hook);
        self
    }

    /// Register a navigation menu by name (see [`crate::nav`]); kegauth's
    /// own pages show the one named `main`. A link that no mounted GET route
    /// serves, or an undeclared token, stops the launch.
    pub fn menu(
        mut self,
        name: &str,
        items: impl IntoIterator<Item = crate::authz::nav::NavItem>,
    ) -> Self {
        self.inner
            .menus
            .push((name.to_string(), items.into_iter().collect()));
        self
    }

    /// Finish.
    pub fn build(self) -> AuthManager<D, E> {
        self.inner
    }
}

/// The app's secret: Rocket's `secret_key`, or a random one in the debug profile.
fn app_secret(figment: &rocket::figment::Figment) -> crate::core::error::Result<Vec<u8>> {
    match crate::core::token::secret_from_figment(figment)? {
        Some(secret) => Ok(secret),
        None if figment.profile() == rocket::Config::DEBUG_PROFILE => {
            log::warn!(
                "kegauth: no secret_key configured; using a random one, so links in mail and \
                 access tokens stop working when the app restarts"
            );
            Ok(crate::core::token::random_secret())
        }
        None => Err(crate::core::error::Error::Config(
            "a secret_key is required outside the debug profile (it signs sessions, the \
             tokens in mail and access tokens); generate one with `openssl rand -base64 32`"
                .into(),
        )),
    }
}

impl<D: AuthDb, E: EntitySet> AuthManager<D, E> {
    /// Set up the registered request loaders.
    fn loaders(
        &self,
        config: &Config,
        secret: &[u8],
        clock: Arc<dyn Clock>,
        auditor: &crate::core::audit::Auditor,
    ) -> crate::core::error::Result<Loaders> {
        use crate::core::entity::AuthEntity;
        let schema = <E::User as AuthEntity>::schema();
        let mut setup = LoaderSetup::new(config, clock, schema, secret);
        setup.auditor = Some(auditor.clone());
        let entries = self
            .loaders
            .iter()
            .map(|make| make(&setup))
            .collect::<crate::core::error::Result<Vec<_>>>()?;
        Loaders::new(entries)
    }

    /// What a launch writes, on the launch lock's connection: the schema
    /// (when asked), the table checks, the permission sync. The lock is
    /// released (and the work committed) only when all of it succeeded; the
    /// permissions removed are returned for
    /// [`Store::permissions_synced`](crate::Store).
    async fn launch_work(
        &self,
        store: &Store<D::Backend, E>,
    ) -> std::result::Result<Vec<(i64, Vec<i64>)>, String> {
        let mut lock = store
            .launch_lock()
            .await
            .map_err(|e| format!("taking the launch lock failed: {e}"))?;
        if self.create_schema {
            store
                .create_schema_on(lock.conn())
                .await
                .map_err(|e| format!("creating the schema failed: {e}"))?;
        }
        if self.optional_api_token_column
            && store
                .allow_missing_api_token_column_on(lock.conn())
                .await
                .map_err(|e| e.to_string())?
        {
            log::warn!(
                "kegauth: the user table has no API token column: API tokens are off \
                 (add the column to turn them on)"
            );
        }
        store
            .check_tables_on(lock.conn())
            .await
            .map_err(|e| e.to_string())?;
        let (report, removed) = store
            .sync_permissions_on(lock.conn(), &self.permissions)
            .await
            .map_err(|e| format!("syncing permissions failed: {e}"))?;
        lock.release()
            .await
            .map_err(|e| format!("releasing the launch lock failed: {e}"))?;
        log::info!(
            "kegauth: permissions synced ({} added, {} updated, {} removed)",
            report.added,
            report.updated,
            report.removed
        );
        Ok(removed)
    }

    /// Give the store its token signer, link origin, mailer and password policy.
    fn with_flows(
        &self,
        mut store: Store<D::Backend, E>,
        rocket: &Rocket<Build>,
        config: &Config,
        templates: &Templates,
        secret: &[u8],
    ) -> crate::core::error::Result<Store<D::Backend, E>> {
        // The links and mail (feature `mail`).
        #[cfg(feature = "mail")]
        {
            use crate::core::entity::{LoginKind, UserEntity};
            let signer = crate::core::token::TokenSigner::new(secret, config.token_expire_mins)?;
            let origin = config.link_origin();
            let mailer = match &self.mail {
                None => None,
                Some(manager) => {
                    if <E::User as UserEntity>::LOGIN != LoginKind::Email {
                        return Err(crate::core::error::Error::Config(
                            "mail needs email-login users (#[auth(user, login = \"email\")])"
                                .into(),
                        ));
                    }
                    if origin.is_none() {
                        return Err(crate::core::error::Error::Config(
                            "mail needs server_name in [kegauth] for its links (e.g. \
                             \"example.com\"); kegauth never takes the host from a request"
                                .into(),
                        ));
                    }
                    let reset_route = format!(
                        "{}/<user_id>/<token>",
                        crate::services::accounts::RESET_PASSWORD_PATH
                    );
                    let mounted = rocket
                        .routes()
                        .any(|r| r.uri.path() == reset_route.as_str());
                    if !mounted {
                        return Err(crate::core::error::Error::Config(
                            "mail links point at /reset-password and /verify-account: mount \
                             kegauth::routes() at /"
                                .into(),
                        ));
                    }
                    Some(manager.build(config, templates)?)
                }
            };
            store = store.with_token_signer(signer);
            if let Some(origin) = origin {
                store = store.with_link_origin(origin);
            }
            if let Some(mailer) = mailer {
                store = store.with_mailer(mailer);
            }
        }
        #[cfg(not(feature = "mail"))]
        let _ = (rocket, config, secret);
        if let Some(policy) = &self.policy {
            store.set_flows_policy(policy.clone());
        }
        store.set_flows_translator(templates.tr().clone());
        Ok(store)
    }
}

#[rocket::async_trait]
impl<D: AuthDb, E: EntitySet> Fairing for AuthManager<D, E> {
    fn info(&self) -> Info {
        Info {
            name: "kegauth",
            kind: Kind::Ignite | Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, response: &mut rocket::Response<'r>) {
        crate::web::views::page_headers(req, response);
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let checked = Config::from_figment(rocket.figment())
            .and_then(|c| crate::services::check_config(&c).map(|()| c));
        let config = match checked {
            Ok(config) => config,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        // Sessions live in private cookies, so the secret key matters: Rocket itself
        // generates a random one in the debug profile and refuses to launch a
        // release build without a configured one.
        if self.authenticator == Authenticator::Redirect && config.redirect_login_target.is_none() {
            log::error!(
                "kegauth: the redirect authenticator needs redirect_login_target in [kegauth]"
            );
            return Err(rocket);
        }
        #[cfg(not(feature = "ldap"))]
        if self.authenticator == Authenticator::Ldap {
            let e = crate::core::config::missing_feature("the LDAP authenticator", "ldap");
            log::error!("kegauth: {e}");
            return Err(rocket);
        }
        #[cfg(feature = "ldap")]
        let ldap = match self.authenticator {
            Authenticator::Ldap => {
                match crate::authn::authenticators::ldap::LdapSettings::from_config(&config) {
                    Ok(settings) => Some(Arc::new(settings)),
                    Err(e) => {
                        log::error!("kegauth: {e}");
                        return Err(rocket);
                    }
                }
            }
            _ => None,
        };
        let oauth = match crate::authn::authenticators::oauth::OAuth::from_config(&config) {
            Ok(oauth) => oauth,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        let mut endpoints = Endpoints::default();
        for (name, target) in &self.endpoints {
            if let Err(e) = endpoints.set(name, target) {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        }
        let template_dir = rocket
            .figment()
            .extract_inner::<rocket::figment::value::magic::RelativePathBuf>("template_dir")
            .map(|p| p.relative())
            .unwrap_or_else(|_| "templates".into());
        let mut catalogs = crate::services::i18n::Catalogs::builtin();
        for (lang, source) in &self.translations {
            if let Err(e) = catalogs.add(lang, source) {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        }
        let catalogs = Arc::new(catalogs);
        let i18n = crate::services::i18n::I18n {
            catalogs: catalogs.clone(),
            hook: self.language,
        };
        // The app's rocket_dyn_templates engine when kegauth::dyn_templates
        // attached it first, else kegauth's own environment.
        let shared = rocket.state::<SharedEngine>().cloned();
        let loaded = match &shared {
            Some(shared) => Templates::load_shared(shared, &config, catalogs),
            None => Templates::load_with(Some(&template_dir), &config, catalogs),
        };
        let templates = match loaded {
            Ok(t) => t,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        let rocket = if shared.is_none() {
            rocket.attach(shared_engine_came_too_late())
        } else {
            rocket
        };
        let Some(db) = D::fetch(&rocket) else {
            log::error!(
                "kegauth: database `{}` is not attached; attach {}::init() before the AuthManager",
                D::NAME,
                std::any::type_name::<D>()
            );
            return Err(rocket);
        };
        let proxies = match crate::authn::client_ip::ProxyPolicy::from_config(&config) {
            Ok(p) => p,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        let attempts = crate::core::attempts::AttemptPolicy::from_config(&config);
        let mut store = Store::<D::Backend, E>::new(db.auth_pool().clone())
            .with_attempt_policy(attempts)
            .with_mail_limit(config.mail_limit, config.mail_limit_timespan)
            .with_session_cache(std::time::Duration::from_secs(u64::from(
                config.session_cache_secs,
            )));
        if let Some(clock) = &self.clock {
            store = store.with_clock(clock.clone());
        }
        store = store.with_hasher(
            match &self.hasher {
                Some(hasher) => hasher.clone(),
                None => PasswordHasher::with_priority(
                    config
                        .hasher_threads
                        .unwrap_or_else(crate::core::password::default_concurrency),
                    if config.hasher_idle {
                        HasherPriority::Idle(config.hasher_nice)
                    } else {
                        HasherPriority::Nice(config.hasher_nice)
                    },
                ),
            }
            .with_scheme(config.password_scheme),
        );
        let secret = match app_secret(rocket.figment()) {
            Ok(secret) => secret,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        store = match self.with_flows(store, &rocket, &config, &templates, &secret) {
            Ok(store) => store,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        if !config.oauth_profiles.is_empty() {
            store.set_provider_domains(oauth.domains());
        }
        #[cfg(feature = "two-factor")]
        {
            store = store.with_two_factor_key(crate::core::two_factor::SecretBox::new(&secret));
        }
        store = store.with_passkeys(config.passkeys_on());
        // The writer's own store records nothing of its own.
        let auditor = crate::services::audit::start(store.clone(), self.audit_sinks.clone());
        store = store.with_auditor(auditor.clone(), "app");
        let loaders = match self.loaders(&config, &secret, store.shared_clock(), &auditor) {
            Ok(loaders) => loaders,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        // The launch work that writes, under the database's launch lock, so
        // that instances launched together never collide (core/store/launch.rs).
        let removed = match self.launch_work(&store).await {
            Ok(removed) => removed,
            Err(e) => {
                log::error!("kegauth: {e}");
                return Err(rocket);
            }
        };
        store.permissions_synced(&removed);
        // On PostgreSQL: hear what other instances change (services/revocations.rs).
        crate::services::revocations::start(&store);
        if let Err(e) = store.check_feature_tables(&config).await {
            log::error!("kegauth: {e}");
            return Err(rocket);
        }
        let declared = Declared(
            self.permissions
                .iter()
                .map(|p| p.token.to_string())
                .collect(),
        );
        let mut admin_ok = true;
        for ((section, action), requirement) in &self.admin_rules {
            for token in declared.missing(requirement) {
                log::error!(
                    "kegauth: the admin requirement for {section:?} {action:?} names \
                     permission `{token}`, which is not declared"
                );
                admin_ok = false;
            }
        }
        for token in &config.two_factor_required_for {
            if !declared.0.contains(token.as_str()) {
                log::error!(
                    "kegauth: two_factor_required_for names permission `{token}`, which is not \
                     declared"
                );
                admin_ok = false;
            }
        }
        if !admin_ok {
            return Err(rocket);
        }
        if !declared.0.contains(crate::authz::admin_rules::AUTH_MANAGE) {
            log::warn!(
                "kegauth: permission `auth-manage` is not declared, so only superusers can \
                 open the admin pages (/users, /groups, /bundles, /permissions)"
            );
        }
        let undeclared = undeclared_in_routes(rocket.routes(), &declared, &loaders);
        if !undeclared.is_empty() {
            for (route, problem) in undeclared {
                log::error!("kegauth: route {route} {problem}");
            }
            return Err(rocket);
        }
        let auth = Auth(Box::new(Service {
            store: store.clone(),
            #[cfg(feature = "ldap")]
            ldap,
        }));
        let admin_sources = crate::web::admin::sources(store.clone(), config.two_factor_on());
        let admin_rules = crate::authz::admin_rules::AdminRules::new::<E>(self.admin_rules.clone());
        // Menus are checked against the routes once every other fairing has
        // mounted its own: this one runs after them.
        let menus = self.menus.clone();
        let ttl = std::time::Duration::from_secs(u64::from(config.nav_cache_secs));
        let rocket = rocket.attach(rocket::fairing::AdHoc::try_on_ignite(
            "kegauth menus",
            move |rocket| async move {
                let built = match rocket.state::<Declared>() {
                    Some(declared) => {
                        let routes: Vec<&rocket::Route> = rocket.routes().collect();
                        crate::authz::nav::Menus::build(&menus, &routes, declared, ttl)
                    }
                    None => Err(vec!["the AuthManager did not start".to_string()]),
                };
                match built {
                    Ok(menus) => Ok(rocket.manage(menus)),
                    Err(problems) => {
                        for problem in problems {
                            log::error!("kegauth: {problem}");
                        }
                        Err(rocket)
                    }
                }
            },
        ));
        Ok(rocket
            .manage(crate::authn::session::SessionState::new(
                store.shared_clock(),
                config.session_cache_secs > 0,
            ))
            .manage(admin_sources)
            .manage(crate::authn::session::OnSessionChange(|rocket, key| {
                if let Some(menus) = rocket.state::<crate::authz::nav::Menus>() {
                    menus.forget(key);
                }
            }))
            .manage(admin_rules)
            .manage(auditor)
            .manage(store)
            .manage(config)
            .manage(proxies)
            .manage(oauth)
            .manage(declared)
            .manage(loaders)
            .manage(self.authenticator)
            .manage(endpoints)
            .manage(templates)
            .manage(i18n)
            .manage(auth))
    }
}

/// A launch check that runs after every fairing attached so far: kegauth
/// renders with its own templates, so `kegauth::dyn_templates` must not
/// come after the `AuthManager` (kegauth's pages would then ignore the app's
/// engine, its `base_template` names and its hot reload without a word).
fn shared_engine_came_too_late() -> rocket::fairing::AdHoc {
    rocket::fairing::AdHoc::try_on_ignite("kegauth templates", |rocket| async move {
        if rocket.state::<SharedEngine>().is_some() {
            log::error!(
                "kegauth: kegauth::dyn_templates is attached after the AuthManager; attach it \
                 before, so that kegauth's pages render with it"
            );
            return Err(rocket);
        }
        Ok(rocket)
    })
}
