//! [`RequireEverywhere`]: a requirement on every request (keg-auth's
//! global request hook), as a fairing that reroutes refused requests.

use super::*;

/// The URI a client asked for, kept when a global requirement reroutes the request.
pub(crate) struct OriginalUri(pub Option<String>);

struct GlobalDenied(Status);

pub(crate) const DENIED_PATH: &str = "/__kegauth/denied";

#[derive(Clone)]
struct DeniedHandler;

#[rocket::async_trait]
impl Handler for DeniedHandler {
    async fn handle<'r>(
        &self,
        req: &'r Request<'_>,
        _data: Data<'r>,
    ) -> rocket::route::Outcome<'r> {
        let status = req.local_cache(|| GlobalDenied(Status::NotFound)).0;
        rocket::route::Outcome::Error(status)
    }
}

/// A requirement on every request (keg-auth's global request hook), as a
/// fairing. Attach it after the [`AuthManager`](crate::AuthManager).
///
/// kegauth's own pages (`/login`, `/logout`) and the paths given to
/// [`except`](Self::except) are not checked; neither are the methods in
/// `http_methods_excluded`.
///
/// ```no_run
/// # use kegauth::requirements::{RequireEverywhere, Requirement};
/// # #[derive(kegauth::AuthEntity)] #[auth(user)]
/// # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
/// let fairing = RequireEverywhere::new(Requirement::check(|u: &User| u.email.ends_with("@corp.example")))
///     .except("/static")
///     .except("/health");
/// ```
pub struct RequireEverywhere {
    requirement: Arc<Requirement>,
    except: Vec<String>,
    options: RequireOptions,
}

/// A global requirement as the route report and menus see it.
#[derive(Clone)]
pub(crate) struct GlobalRule {
    pub requirement: Arc<Requirement>,
    except: Vec<String>,
    pub options: RequireOptions,
}

impl GlobalRule {
    /// Whether a request for `path` is left unchecked.
    pub fn is_excepted(&self, path: &str) -> bool {
        excepted(&self.except, path)
    }
}

/// Whether `path` is one of the `except` prefixes or below one.
fn excepted(except: &[String], path: &str) -> bool {
    except.iter().any(|prefix| {
        prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The global requirements of an app (managed state).
#[derive(Default)]
pub(crate) struct GlobalRules(pub std::sync::Mutex<Vec<GlobalRule>>);

impl GlobalRules {
    pub fn list(&self) -> Vec<GlobalRule> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl RequireEverywhere {
    /// Require `requirement` on every request.
    pub fn new(requirement: impl Into<Requirement>) -> Self {
        RequireEverywhere {
            requirement: Arc::new(requirement.into()),
            except: vec![
                crate::core::paths::LOGIN_PATH.to_string(),
                crate::core::paths::LOGOUT_PATH.to_string(),
                #[cfg(feature = "testing")]
                crate::core::paths::TEST_ROUTES.to_string(),
            ],
            options: RequireOptions::default(),
        }
    }

    /// Leave requests whose path is `prefix` or below it unchecked.
    pub fn except(mut self, prefix: &str) -> Self {
        self.except.push(prefix.trim_end_matches('/').to_string());
        self
    }

    /// Options (custom failure handlers, excluded methods).
    pub fn options(mut self, options: RequireOptions) -> Self {
        self.options = options;
        self
    }

    fn rule(&self) -> GlobalRule {
        GlobalRule {
            requirement: self.requirement.clone(),
            except: self.except.clone(),
            options: self.options,
        }
    }

    fn is_excepted(&self, path: &str) -> bool {
        excepted(&self.except, path)
    }
}

#[rocket::async_trait]
impl rocket::fairing::Fairing for RequireEverywhere {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "kegauth requirement on every request",
            kind: rocket::fairing::Kind::Ignite | rocket::fairing::Kind::Request,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<rocket::Build>) -> rocket::fairing::Result {
        let Some(declared) = rocket.state::<Declared>() else {
            log::error!("kegauth: attach RequireEverywhere after the AuthManager");
            return Err(rocket);
        };
        let missing: Vec<String> = declared
            .missing(&self.requirement)
            .into_iter()
            .map(String::from)
            .collect();
        if !missing.is_empty() {
            for t in missing {
                log::error!("kegauth: the global requirement names `{t}`, which is not declared");
            }
            return Err(rocket);
        }
        if let Some(rules) = rocket.state::<GlobalRules>() {
            rules
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.rule());
            return Ok(rocket);
        }
        let route = Route::new(rocket::http::Method::Get, DENIED_PATH, DeniedHandler);
        let rules = GlobalRules(std::sync::Mutex::new(vec![self.rule()]));
        Ok(rocket.manage(rules).mount("/", vec![route]))
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        if self.is_excepted(req.uri().path().as_str()) {
            return;
        }
        if let Err(denied) = check(req, &self.requirement, &self.options).await {
            let original = req.uri().to_string();
            req.local_cache(|| OriginalUri(Some(original)));
            req.local_cache(|| GlobalDenied(denied.status()));
            req.set_method(rocket::http::Method::Get);
            req.set_uri(rocket::http::uri::Origin::const_new(DENIED_PATH, None));
        }
    }
}
