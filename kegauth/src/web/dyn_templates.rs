//! kegauth's pages through the app's `rocket_dyn_templates` MiniJinja engine
//! (feature `dyn-templates`).
//!
//! Attach [`fairing()`] (or [`custom`] / [`try_custom`], which take the same
//! callback as `Template::custom` / `Template::try_custom`) **instead of**
//! `Template::fairing()`, and before the `AuthManager`. It is Rocket's own
//! `Template` fairing, with kegauth's part added to the MiniJinja engine each
//! time the engine loads:
//!
//! - kegauth's templates, under their usual names (`kegauth/login.html`,
//!   ...), replaced by the app's `kegauth/login.html.j2` (or
//!   `kegauth/login.html`) in `template_dir`;
//! - `t("key", name=value)`, translating with kegauth's catalogs (the
//!   built-in ones and those added with `AuthManagerBuilder::translations`)
//!   into the template's `lang`, for the app's templates too;
//! - auto-escaping: kegauth's templates escape HTML (its Markdown mail
//!   nothing), the app's template files escape by their type as
//!   rocket_dyn_templates does (`page.html.j2` HTML, `data.json.j2` JSON,
//!   `robots.txt.j2` nothing), and a template whose type is unknown
//!   (`page.j2`, or one the callback adds from a string) escapes HTML, where
//!   rocket_dyn_templates alone would not escape it at all. kegauth sets
//!   this before the app's callback runs, and again after it: an
//!   auto-escape callback the app sets applies to the templates its callback
//!   adds, and kegauth's applies to everything loaded after.
//!
//! kegauth's pages then render with that engine: `base_template` names one of
//! the app's templates the way rocket_dyn_templates does (`layout` for
//! `templates/layout.html.j2`), and in debug builds a change to any template
//! file (the app's or an override of kegauth's) shows on the next request,
//! kegauth's pages included. The app renders its own pages with
//! `Template::render` as usual.
//!
//! ```no_run
//! # use rocket_db_pools::Database;
//! # #[derive(Database)] #[database("main")] struct Db(sqlx::SqlitePool);
//! # #[derive(Clone, kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: kegauth::UserCore }
//! use kegauth::AuthManager;
//! use rocket_dyn_templates::{context, Template};
//!
//! #[rocket::get("/")]
//! fn home() -> Template {
//!     // templates/home.html.j2: {% extends "layout" %}...
//!     Template::render("home", context! { page_title: "Home" })
//! }
//!
//! #[rocket::launch]
//! fn rocket() -> _ {
//!     rocket::build()
//!         .attach(Db::init())
//!         // Rocket.toml: [default.kegauth] base_template = "layout"
//!         .attach(kegauth::dyn_templates::fairing())
//!         .attach(AuthManager::<Db, User>::builder().build())
//!         .mount("/", rocket::routes![home])
//!         .mount("/", kegauth::routes())
//!         .register("/", kegauth::catchers())
//! }
//! ```

use crate::services::templates::SharedEngine;
use rocket::fairing::{self, Fairing, Info};
use rocket::{Build, Data, Orbit, Request, Rocket};
use rocket_dyn_templates::{Engines, Template};
use std::error::Error as StdError;

/// Rocket's `Template` fairing with kegauth's templates in its MiniJinja
/// engine; made by [`fairing()`], [`custom`] or [`try_custom`].
pub struct TemplatesFairing {
    template: Box<dyn Fairing>,
    shared: SharedEngine,
}

impl std::fmt::Debug for TemplatesFairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplatesFairing").finish_non_exhaustive()
    }
}

/// `Template::fairing()`, with kegauth's pages rendering through it.
///
/// ```no_run
/// # fn app() -> rocket::Rocket<rocket::Build> {
/// rocket::build().attach(kegauth::dyn_templates::fairing())
/// # }
/// ```
pub fn fairing() -> TemplatesFairing {
    try_custom(|_| Ok(()))
}

/// `Template::custom(callback)`, with kegauth's pages rendering through it.
/// `callback` runs first, each time the engines load; kegauth's part follows.
///
/// ```no_run
/// # fn app() -> rocket::Rocket<rocket::Build> {
/// rocket::build().attach(kegauth::dyn_templates::custom(|engines| {
///     engines.minijinja.add_filter("shout", |s: String| s.to_uppercase());
/// }))
/// # }
/// ```
pub fn custom<F>(callback: F) -> TemplatesFairing
where
    F: Fn(&mut Engines) + Send + Sync + 'static,
{
    try_custom(move |engines| {
        callback(engines);
        Ok(())
    })
}

/// `Template::try_custom(callback)`, with kegauth's pages rendering through
/// it. An error from `callback`, or from kegauth's part (an override of a
/// kegauth template that does not compile), fails the launch, or in debug
/// builds keeps the templates that were loaded before the change.
///
/// ```no_run
/// # fn app() -> rocket::Rocket<rocket::Build> {
/// rocket::build().attach(kegauth::dyn_templates::try_custom(|engines| {
///     engines.minijinja.add_template_owned("banner", "<p>{{ text }}</p>".to_string())?;
///     Ok(())
/// }))
/// # }
/// ```
pub fn try_custom<F>(callback: F) -> TemplatesFairing
where
    F: Fn(&mut Engines) -> Result<(), Box<dyn StdError>> + Send + Sync + 'static,
{
    let shared = SharedEngine::default();
    let install = shared.clone();
    let template = Template::try_custom(move |engines: &mut Engines| {
        install.prepare(&mut engines.minijinja);
        callback(engines)?;
        install.install(&mut engines.minijinja)?;
        Ok(())
    });
    TemplatesFairing {
        template: Box::new(template),
        shared,
    }
}

#[rocket::async_trait]
impl Fairing for TemplatesFairing {
    fn info(&self) -> Info {
        Info {
            name: "Templating (kegauth)",
            kind: self.template.info().kind,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        // The template_dir rocket_dyn_templates is about to read.
        let dir = rocket
            .figment()
            .extract_inner::<rocket::figment::value::magic::RelativePathBuf>("template_dir")
            .map(|p| p.relative())
            .unwrap_or_else(|_| "templates".into());
        self.shared.set_dir(dir);
        let rocket = self.template.on_ignite(rocket).await?;
        Ok(rocket.manage(self.shared.clone()))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        self.template.on_liftoff(rocket).await;
    }

    async fn on_request(&self, req: &mut Request<'_>, data: &mut Data<'_>) {
        // In debug builds: reload the templates when a file changed.
        self.template.on_request(req, data).await;
    }
}

/// What the app's own pages need to share kegauth's layout, as a request
/// guard: the request's user's menus, the session's flash messages and the
/// request's language, as kegauth's pages get them.
///
/// [`render`](Self::render) is `Template::render` (answering a
/// [`LayoutPage`]) with those added to the
/// context (`page_title`, `menus`, `flashes`, `lang`, and the configured
/// `template_title_var`), where the context has none of its own, so one
/// layout serves the app's pages and kegauth's.
///
/// ```no_run
/// use kegauth::dyn_templates::{Layout, LayoutPage};
/// use rocket_dyn_templates::context;
///
/// // templates/reports.html.j2:
/// //   {% extends "layout" %}
/// //   {% block content %}<p>{{ count }} reports</p>{% endblock %}
/// #[rocket::get("/reports")]
/// fn reports(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
///     layout.render("reports", "Reports", context! { count: 3 })
/// }
/// ```
pub struct Layout<'r> {
    session: crate::authn::session::Session<'r>,
    templates: crate::services::templates::Templates,
}

impl std::fmt::Debug for Layout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout").finish_non_exhaustive()
    }
}

impl Layout<'_> {
    /// `Template::render(name, context)`, with the page title `title` and
    /// the menus, flash messages (taken from the session: they show once)
    /// and language of the request added to `context` (a map, such as
    /// `context! {..}` makes; anything else adds nothing of its own).
    ///
    /// The page renders with the app's engine as rocket_dyn_templates would
    /// (the same template, escaping and content type), but straight from
    /// `context`: no copy into Rocket's configuration values first.
    pub fn render(
        &self,
        name: impl Into<std::borrow::Cow<'static, str>>,
        title: &str,
        context: impl serde::Serialize,
    ) -> crate::core::error::Result<LayoutPage> {
        use minijinja::Value;
        let name = name.into();
        let context = crate::services::templates::context_value(&name, context)?;
        let has_flashes = context
            .as_ref()
            .is_some_and(|c| c.get_attr("flashes").is_ok_and(|v| !v.is_undefined()));
        let flashes = (!has_flashes).then(|| {
            (
                "flashes",
                Value::from_serialize(self.session.take_flashes()),
            )
        });
        let ctx = self.templates.page_value(title, context, flashes);
        let Some(shared) = self.templates.shared() else {
            // kegauth renders with its own engine: the app's Template fairing
            // renders the app's page.
            return Ok(LayoutPage(Rendered::Template(Template::render(name, ctx))));
        };
        let err = |e: minijinja::Error| {
            crate::core::error::Error::Config(format!("rendering {name}: {e}"))
        };
        let body = shared
            .current()?
            .get_template(&name)
            .and_then(|t| t.render(ctx))
            .map_err(err)?;
        Ok(LayoutPage(Rendered::Body(
            shared.content_type_of(&name),
            body,
        )))
    }
}

/// A page of the app's rendered by [`Layout::render`] (a responder).
///
/// ```no_run
/// use kegauth::dyn_templates::{Layout, LayoutPage};
/// use rocket_dyn_templates::context;
///
/// #[rocket::get("/about")]
/// fn about(layout: Layout<'_>) -> kegauth::Result<LayoutPage> {
///     layout.render("about", "About", context! {})
/// }
/// ```
pub struct LayoutPage(Rendered);

enum Rendered {
    /// Rendered with the app's engine: the content type and the text.
    Body(rocket::http::ContentType, String),
    /// For the app's `Template` fairing to render.
    Template(Template),
}

impl std::fmt::Debug for LayoutPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayoutPage").finish_non_exhaustive()
    }
}

impl<'r> rocket::response::Responder<'r, 'static> for LayoutPage {
    fn respond_to(self, req: &'r Request<'_>) -> rocket::response::Result<'static> {
        match self.0 {
            Rendered::Body(content_type, body) => (content_type, body).respond_to(req),
            Rendered::Template(template) => template.respond_to(req),
        }
    }
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Layout<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, ()> {
        use rocket::request::Outcome;
        let session = crate::authn::session::Session::of(req);
        let templates = req
            .rocket()
            .state::<crate::services::templates::Templates>();
        match (session, templates) {
            (Some(session), Some(templates)) => Outcome::Success(Layout {
                session,
                templates: crate::web::views::page_templates(req, templates).await,
            }),
            _ => {
                log::error!("kegauth: the AuthManager fairing is not attached");
                Outcome::Error((rocket::http::Status::InternalServerError, ()))
            }
        }
    }
}
