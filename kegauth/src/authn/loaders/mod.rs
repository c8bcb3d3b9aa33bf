//! Request loaders: who a request is from when it carries no session.
//!
//! keg-auth's request loaders look for identifying data in the request, such
//! as an authentication header, when no user is logged in through the session
//! cookie. kegauth runs the loaders registered on the
//! [`AuthManager`](crate::AuthManager), in registration order, for every
//! guard ([`AuthUser`](crate::AuthUser), [`OptionalUser`](crate::OptionalUser),
//! [`Permission`](crate::Permission)), every `#[requires_*]` check and
//! [`RequireEverywhere`](crate::RequireEverywhere); the first loader that
//! finds an active user wins.
//!
//! - [`JwtRequestLoader`]: `Authorization: Bearer <jwt>`, a short-lived
//!   token naming the user's session key (a rights change revokes it);
//! - [`TokenRequestLoader`]: `X-Auth-Token: <base64url(login id)>.<token>`,
//!   a long-lived API token stored hashed on the user row.
//!
//! A handler (or a route set) can accept only some loaders with the
//! `request_loaders` option: `#[requires_user(request_loaders = [JwtRequestLoader])]`.
//! A request that fails authentication on such a route, or that presented a
//! credential a loader recognises, is an API request: it gets a 401 (with a
//! `WWW-Authenticate` challenge), never a redirect to the login page.
//!
//! ```no_run
//! use kegauth::loaders::{JwtRequestLoader, TokenRequestLoader};
//! # use rocket_db_pools::Database;
//! # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(api_token)] token: Option<Vec<u8>>, #[auth(core)] core: kegauth::UserCore }
//! let manager = kegauth::AuthManager::<Db, User>::builder()
//!     .request_loader(JwtRequestLoader::default())
//!     .request_loader(TokenRequestLoader::default())
//!     .build();
//! ```
//!
//! Apps may write their own loader: implement [`RequestLoader`] and return the
//! [`Credential`] found in the request; kegauth looks the user up.

mod api_token;
mod credential;
#[cfg(feature = "jwt")]
mod jwt;

pub use crate::core::config::jwt::JwtConfig;
pub use api_token::{
    api_token_header, generate_api_token, parse_api_token_header, ApiTokenOptions, Charset,
    TokenRequestLoader, MAX_API_TOKEN_HEADER_BYTES,
};
pub use credential::Credential;
#[cfg(feature = "jwt")]
pub use jwt::{bearer_token, JwtRequestLoader, MAX_BEARER_BYTES};

use crate::authn::identity::Principal;
use crate::core::clock::Clock;
use crate::core::config::Config;
use crate::core::entity::EntitySchema;
use rocket::http::Status;
use rocket::Request;
use sha2::{Digest, Sha512};
use std::any::{Any, TypeId};
use std::sync::Arc;

/// The outcome of [`RequestLoader::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// The request carries nothing this loader reads.
    Absent,
    /// The request carries this loader's credential, but it is malformed,
    /// forged or expired. The reason is logged at debug level only.
    Invalid(&'static str),
    /// A credential to look the user up by.
    Found(Credential),
}

/// What a loader gets at launch: the configuration, the clock, the user
/// table's description and keys derived from the app's secret.
pub struct LoaderSetup<'a> {
    /// kegauth's configuration.
    pub config: &'a Config,
    /// The store's clock (tests inject a fake one).
    pub clock: Arc<dyn Clock>,
    /// The user entity's schema.
    pub user_schema: &'static EntitySchema,
    /// Where audit events go (a loader that issues tokens records them).
    pub auditor: Option<crate::core::audit::Auditor>,
    secret: &'a [u8],
}

impl<'a> LoaderSetup<'a> {
    pub(crate) fn new(
        config: &'a Config,
        clock: Arc<dyn Clock>,
        user_schema: &'static EntitySchema,
        secret: &'a [u8],
    ) -> Self {
        LoaderSetup {
            config,
            clock,
            user_schema,
            auditor: None,
            secret,
        }
    }

    /// A 64-byte key for `purpose`, derived from the app's secret key
    /// (`sha512(purpose || 0 || secret)`): each purpose gets its own key, and
    /// none of them is the secret itself.
    pub fn derive_key(&self, purpose: &str) -> Vec<u8> {
        let mut h = Sha512::new();
        h.update(purpose.as_bytes());
        h.update([0u8]);
        h.update(self.secret);
        h.finalize().to_vec()
    }
}

/// A request loader: reads a credential from a request.
///
/// ```
/// use kegauth::loaders::{Credential, Loaded, RequestLoader};
/// /// Trust a header set by an authenticating reverse proxy (only behind one!).
/// #[derive(Clone)]
/// struct ProxyUser;
/// impl RequestLoader for ProxyUser {
///     fn name(&self) -> &'static str { "proxy-user" }
///     fn load(&self, req: &rocket::Request<'_>) -> Loaded {
///         match req.headers().get_one("X-Proxy-Session") {
///             Some(key) => Loaded::Found(Credential::SessionKey(key.to_string())),
///             None => Loaded::Absent,
///         }
///     }
/// }
/// ```
pub trait RequestLoader: Send + Sync + 'static {
    /// A short name, for logs and messages.
    fn name(&self) -> &'static str;

    /// Prepare at launch (read settings, derive keys). An error stops the launch.
    fn setup(&mut self, setup: &LoaderSetup<'_>) -> crate::core::error::Result<()> {
        let _ = setup;
        Ok(())
    }

    /// Look for this loader's credential in the request. Runs only for
    /// requests without a session user, at most once per request.
    fn load(&self, req: &Request<'_>) -> Loaded;

    /// The `WWW-Authenticate` scheme of a 401 for this loader (e.g. `Bearer`).
    fn challenge(&self) -> Option<&'static str> {
        None
    }
}

/// Names a loader type, for the `request_loaders` option of the
/// `requires_*` macros and [`RequireOptions`](crate::requirements::RequireOptions):
/// `loader_id::<JwtRequestLoader>`.
pub type LoaderId = fn() -> LoaderKey;

/// A loader type's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderKey {
    /// The type.
    pub type_id: TypeId,
    /// Its name, for messages.
    pub type_name: &'static str,
}

/// The [`LoaderId`] of loader type `L`.
///
/// ```
/// use kegauth::loaders::{loader_id, JwtRequestLoader, LoaderId};
/// let ids: &[LoaderId] = &[loader_id::<JwtRequestLoader>];
/// assert!(ids[0]().type_name.ends_with("JwtRequestLoader"));
/// ```
pub fn loader_id<L: RequestLoader>() -> LoaderKey {
    LoaderKey {
        type_id: TypeId::of::<L>(),
        type_name: std::any::type_name::<L>(),
    }
}

/// A registered, set-up loader.
pub(crate) struct Entry {
    key: LoaderKey,
    loader: Arc<dyn RequestLoader>,
    any: Arc<dyn Any + Send + Sync>,
}

/// Makes a set-up loader at launch (the builder keeps the unconfigured one).
pub(crate) type LoaderFactory =
    Box<dyn Fn(&LoaderSetup<'_>) -> crate::core::error::Result<Entry> + Send + Sync>;

pub(crate) fn factory<L: RequestLoader + Clone>(loader: L) -> LoaderFactory {
    Box::new(move |setup| {
        let mut loader = loader.clone();
        loader.setup(setup)?;
        let loader = Arc::new(loader);
        Ok(Entry {
            key: loader_id::<L>(),
            loader: loader.clone(),
            any: loader,
        })
    })
}

/// The loaders of the app, in registration order (managed state).
pub(crate) struct Loaders(Vec<Entry>);

impl Loaders {
    pub(crate) fn new(entries: Vec<Entry>) -> crate::core::error::Result<Self> {
        for (i, e) in entries.iter().enumerate() {
            if entries[..i].iter().any(|o| o.key.type_id == e.key.type_id) {
                return Err(crate::core::error::Error::Config(format!(
                    "request loader {} is registered twice",
                    e.key.type_name
                )));
            }
        }
        Ok(Loaders(entries))
    }

    /// The registered loader of type `L`.
    pub(crate) fn get<L: RequestLoader>(&self) -> Option<&L> {
        self.0
            .iter()
            .find_map(|e| e.any.as_ref().downcast_ref::<L>())
    }

    pub(crate) fn contains(&self, id: LoaderId) -> bool {
        let key = id();
        self.0.iter().any(|e| e.key.type_id == key.type_id)
    }

    /// The loaders of `choice` that are not registered (for launch checks).
    pub(crate) fn missing(&self, choice: Option<&[LoaderId]>) -> Vec<&'static str> {
        choice
            .unwrap_or_default()
            .iter()
            .filter(|id| !self.contains(**id))
            .map(|id| id().type_name)
            .collect()
    }
}

/// What one loader made of the request.
enum Outcome {
    Absent,
    Rejected,
    User(Principal),
    Failed(Status),
}

/// Each loader's outcome for this request, computed at most once.
struct Outcomes(Vec<tokio::sync::OnceCell<Outcome>>);

fn outcomes<'r>(req: &'r Request<'_>, loaders: &Loaders) -> &'r Outcomes {
    req.local_cache(|| {
        Outcomes(
            (0..loaders.0.len())
                .map(|_| tokio::sync::OnceCell::new())
                .collect(),
        )
    })
}

/// The first user a loader (of `choice`, or any) finds, in registration order.
pub(crate) async fn load_principal<'r>(
    req: &'r Request<'_>,
    choice: Option<&[LoaderId]>,
) -> crate::authn::identity::PrincipalRef<'r> {
    let (Some(loaders), Some(auth)) = (
        req.rocket().state::<Loaders>(),
        req.rocket().state::<crate::authn::service::Auth>(),
    ) else {
        return Ok(None);
    };
    let cells = outcomes(req, loaders);
    for (entry, cell) in loaders.0.iter().zip(&cells.0) {
        if let Some(choice) = choice
            && !choice.iter().any(|id| id().type_id == entry.key.type_id)
        {
            continue;
        }
        let outcome = cell
            .get_or_init(|| async {
                match entry.loader.load(req) {
                    Loaded::Absent => Outcome::Absent,
                    Loaded::Invalid(why) => {
                        log::debug!(
                            "kegauth: {} refused the request: {why}",
                            entry.loader.name()
                        );
                        Outcome::Rejected
                    }
                    Loaded::Found(credential) => match auth.0.resolve(&credential).await {
                        Ok(Some(user)) => Outcome::User(Principal::new(user)),
                        Ok(None) => {
                            log::debug!(
                                "kegauth: {}: no active user for the credential",
                                entry.loader.name()
                            );
                            Outcome::Rejected
                        }
                        Err(e) => {
                            log::error!("kegauth: {} failed: {e}", entry.loader.name());
                            Outcome::Failed(e.status())
                        }
                    },
                }
            })
            .await;
        match outcome {
            Outcome::User(p) => return Ok(Some(p)),
            Outcome::Failed(status) => return Err(*status),
            Outcome::Absent | Outcome::Rejected => {}
        }
    }
    Ok(None)
}

/// The loaders a route accepts, when it restricts them (set by its requirement check).
pub(crate) struct RouteLoaders(pub Option<&'static [LoaderId]>);

/// How a request that failed authentication should be answered.
pub(crate) struct ApiFailure {
    /// Answer with a 401 rather than a login redirect.
    pub api: bool,
    /// A credential was presented and refused.
    pub invalid: bool,
    /// `WWW-Authenticate` schemes of the registered loaders.
    pub challenges: Vec<&'static str>,
}

/// Whether this request is an API request: it presented a credential a loader
/// recognises (valid or not), or its route accepts only loaders.
pub(crate) fn api_failure(req: &Request<'_>) -> ApiFailure {
    let restricted = req.local_cache(|| RouteLoaders(None)).0.is_some();
    let Some(loaders) = req.rocket().state::<Loaders>() else {
        return ApiFailure {
            api: restricted,
            invalid: false,
            challenges: Vec::new(),
        };
    };
    let cells = outcomes(req, loaders);
    let mut presented = false;
    let mut invalid = false;
    for (entry, cell) in loaders.0.iter().zip(&cells.0) {
        match cell.get() {
            Some(Outcome::Absent) => {}
            Some(Outcome::Rejected) => (presented, invalid) = (true, true),
            Some(_) => presented = true,
            // The loader did not run (a session-only guard failed): look
            // without resolving, so a token-carrying client still gets a 401.
            None => match entry.loader.load(req) {
                Loaded::Absent => {}
                Loaded::Invalid(_) => (presented, invalid) = (true, true),
                Loaded::Found(_) => presented = true,
            },
        }
    }
    ApiFailure {
        api: restricted || presented,
        invalid,
        challenges: loaders
            .0
            .iter()
            .filter_map(|e| e.loader.challenge())
            .collect(),
    }
}

/// Look a registered loader up from a request (for the loaders' request guards).
#[cfg(feature = "jwt")]
pub(crate) fn registered<'r, L: RequestLoader>(req: &'r Request<'_>) -> Option<&'r L> {
    registered_loader(req.rocket())
}

/// The set-up loader of type `L` registered on an ignited Rocket, e.g. to
/// issue tokens outside a request:
/// `registered_loader::<JwtRequestLoader, _>(client.rocket())?.create_access_token(&user)`.
pub fn registered_loader<L: RequestLoader, P: rocket::Phase>(
    rocket: &rocket::Rocket<P>,
) -> Option<&L> {
    rocket.state::<Loaders>()?.get::<L>()
}

/// Whether loader `L` is registered on an ignited Rocket (for sentinels).
#[cfg(feature = "jwt")]
pub(crate) fn is_registered<L: RequestLoader>(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
    rocket
        .state::<Loaders>()
        .is_some_and(|l| l.get::<L>().is_some())
}
