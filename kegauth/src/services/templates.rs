//! kegauth's pages, rendered with MiniJinja.
//!
//! Defaults are embedded in the library; a file of the same name in the app's
//! `template_dir` (`kegauth/login.html` or `kegauth/login.html.j2`) replaces
//! one. HTML auto-escaping is on for every template but the Markdown mail.
//!
//! Two engines can render them, from the same template files:
//!
//! - kegauth's own MiniJinja environment (the default: no fairing needed just
//!   for the login page). Overrides are read once, at launch; the app's own
//!   templates (its `base_template` and what that includes) when first named.
//! - The app's `rocket_dyn_templates` MiniJinja engine, when the app attaches
//!   `kegauth::dyn_templates::fairing()` (feature `dyn-templates`) before the
//!   `AuthManager`: kegauth's templates are added to that engine each time it
//!   loads (hot reload in debug builds), with auto-escaping set by kegauth
//!   (`SharedEngine`).

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::services::i18n::{Catalogs, Translator};
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Value};
use rocket::http::ContentType;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "kegauth/base.html",
        include_str!("../../templates/kegauth/base.html"),
    ),
    (
        "kegauth/flash-messages.html",
        include_str!("../../templates/kegauth/flash-messages.html"),
    ),
    (
        "kegauth/login.html",
        include_str!("../../templates/kegauth/login.html"),
    ),
    (
        "kegauth/logout.html",
        include_str!("../../templates/kegauth/logout.html"),
    ),
    (
        "kegauth/forbidden.html",
        include_str!("../../templates/kegauth/forbidden.html"),
    ),
    (
        "kegauth/error.html",
        include_str!("../../templates/kegauth/error.html"),
    ),
    (
        "kegauth/forgot-password.html",
        include_str!("../../templates/kegauth/forgot-password.html"),
    ),
    (
        "kegauth/set-password.html",
        include_str!("../../templates/kegauth/set-password.html"),
    ),
    (
        "kegauth/two-factor-verify.html",
        include_str!("../../templates/kegauth/two-factor-verify.html"),
    ),
    (
        "kegauth/two-factor.html",
        include_str!("../../templates/kegauth/two-factor.html"),
    ),
    (
        "kegauth/account.html",
        include_str!("../../templates/kegauth/account.html"),
    ),
    (
        "kegauth/sessions-table.html",
        include_str!("../../templates/kegauth/sessions-table.html"),
    ),
    (
        "kegauth/confirm-email.html",
        include_str!("../../templates/kegauth/confirm-email.html"),
    ),
    (
        "kegauth/nav.html",
        include_str!("../../templates/kegauth/nav.html"),
    ),
    (
        "kegauth/crud-list.html",
        include_str!("../../templates/kegauth/crud-list.html"),
    ),
    (
        "kegauth/crud-form.html",
        include_str!("../../templates/kegauth/crud-form.html"),
    ),
    (
        "kegauth/crud-delete.html",
        include_str!("../../templates/kegauth/crud-delete.html"),
    ),
    (
        "kegauth/mail/reset-password.md",
        include_str!("../../templates/kegauth/mail/reset-password.md"),
    ),
    (
        "kegauth/mail/new-user.md",
        include_str!("../../templates/kegauth/mail/new-user.md"),
    ),
    (
        "kegauth/mail/password-changed.md",
        include_str!("../../templates/kegauth/mail/password-changed.md"),
    ),
    (
        "kegauth/mail/confirm-email.md",
        include_str!("../../templates/kegauth/mail/confirm-email.md"),
    ),
    (
        "kegauth/mail/email-changed.md",
        include_str!("../../templates/kegauth/mail/email-changed.md"),
    ),
];

/// The loaded templates (cheap to clone).
#[derive(Clone)]
pub struct Templates {
    engine: Engine,
    title_var: String,
    /// The layout pages extend (`base_template`), as a template value.
    base_template: Value,
    use_select2: bool,
    /// The menus as the current request's user sees them (kegauth's pages
    /// get them as `menus`).
    menus: Option<Value>,
    /// The translations behind `t(..)`, in the language pages and mail are
    /// rendered in (`lang` in templates).
    tr: Translator,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

fn override_for(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.j2")), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// The source of template `name` in `dir` (`name.j2`, then `name`), if there
/// is one; the error names the file.
fn read_from(dir: &Path, name: &str) -> std::result::Result<Option<String>, String> {
    override_for(dir, name)
        .map(|path| {
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read template {}: {e}", path.display()))
        })
        .transpose()
}

/// Where [`Templates`] renders: its own environment, or the app's engine.
#[derive(Clone)]
enum Engine {
    Own(Arc<Environment<'static>>),
    Shared(SharedEngine),
}

/// Add `t("key", name=value, ...)`: `key` translated into the page's or
/// mail's `lang`, from the catalogs `catalogs` returns when called.
fn add_translate(
    env: &mut Environment<'static>,
    catalogs: impl Fn() -> Arc<Catalogs> + Send + Sync + 'static,
) {
    env.add_function(
        "t",
        move |state: &minijinja::State<'_, '_>,
              key: String,
              kwargs: minijinja::value::Kwargs|
              -> std::result::Result<String, minijinja::Error> {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| crate::services::i18n::FALLBACK.to_string());
            let mut args = Vec::new();
            for name in kwargs.args() {
                let value: minijinja::Value = kwargs.get(name)?;
                args.push((name, value.to_string()));
            }
            Ok(catalogs().translate(&lang, &key, &args))
        },
    );
}

/// Add kegauth's templates to `env`: each from `template_dir` where the app
/// has its own (`name.j2`, then `name`), else the embedded default.
pub(crate) fn add_embedded(
    env: &mut Environment<'static>,
    template_dir: Option<&Path>,
) -> Result<()> {
    for (name, source) in EMBEDDED {
        let found = match template_dir {
            Some(dir) => read_from(dir, name).map_err(Error::Config)?,
            None => None,
        };
        let source = found.unwrap_or_else(|| (*source).to_string());
        env.add_template_owned(*name, source)
            .map_err(|e| Error::Config(format!("template {name}: {e}")))?;
    }
    Ok(())
}

/// A launch error unless `base` loads in `env`; `missing` says where it was
/// looked for.
fn check_base(
    env: &Environment<'static>,
    base: &str,
    missing: impl FnOnce() -> String,
) -> Result<()> {
    match env.get_template(base) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == minijinja::ErrorKind::TemplateNotFound => Err(Error::Config(
            format!("base_template `{base}` is not a template: {}", missing()),
        )),
        Err(e) => Err(Error::Config(format!("base_template `{base}`: {e}"))),
    }
}

/// How template `name` escapes what it prints.
///
/// kegauth's own templates escape HTML, but for its Markdown mail (`.md`,
/// escaped when the mail is turned into HTML). In the app's
/// `rocket_dyn_templates` engine (`app_dir` is its template_dir), a template
/// from a file escapes by the file's type as rocket_dyn_templates does
/// (`page.html.j2` HTML, `data.json.j2` JSON, `robots.txt.j2` nothing), and
/// one whose type is unknown (`page.j2`, or a template added from a string)
/// escapes HTML, where rocket_dyn_templates would not escape at all.
fn escape_for(name: &str, app_dir: Option<&Path>) -> AutoEscape {
    if name.starts_with("kegauth/") {
        return if name.ends_with(".md") {
            AutoEscape::None
        } else {
            AutoEscape::Html
        };
    }
    let kind = match app_dir.and_then(|dir| file_type(dir, name)) {
        Some(Some(ext)) => ext,
        Some(None) => return AutoEscape::Html,
        None => match Path::new(name).extension().and_then(|e| e.to_str()) {
            Some(ext) => ext.to_string(),
            None => return AutoEscape::Html,
        },
    };
    minijinja::default_auto_escape_callback(&format!("template.{kind}"))
}

/// The type of the file rocket_dyn_templates names `name` in `dir`:
/// `Some(Some("html"))` for `<name>.html.j2`, `Some(None)` for `<name>.j2`,
/// `None` when there is no such file.
fn file_type(dir: &Path, name: &str) -> Option<Option<String>> {
    if !crate::core::config::valid_template_name(name) {
        return None;
    }
    let path = dir.join(name);
    let base = path.file_name()?.to_str()?.to_string();
    let entries = std::fs::read_dir(path.parent()?).ok()?;
    let mut found = None;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        if file == format!("{base}.j2") {
            found = found.or(Some(None));
        } else if let Some(ext) = file
            .strip_prefix(&format!("{base}."))
            .and_then(|rest| rest.strip_suffix(".j2"))
            .filter(|ext| !ext.is_empty() && !ext.contains('.'))
        {
            found = Some(Some(ext.to_string()));
        }
    }
    found
}

/// kegauth's side of the app's `rocket_dyn_templates` MiniJinja engine.
///
/// [`install`](Self::install) runs each time that engine loads (at launch,
/// and in debug builds on every template change): it adds kegauth's
/// templates and `t(..)` to the engine, sets its auto-escaping
/// ([`escape_for`]), and keeps a copy of the result, which kegauth's pages
/// render with from then on.
#[derive(Clone, Default)]
pub(crate) struct SharedEngine {
    inner: Arc<SharedInner>,
}

// Without the `dyn-templates` feature nothing hands kegauth an engine: the
// AuthManager still looks for one, but never finds it.
#[cfg_attr(not(feature = "dyn-templates"), allow(dead_code))]
#[derive(Default)]
struct SharedInner {
    /// The engine as last loaded.
    env: RwLock<Option<Arc<Environment<'static>>>>,
    /// The content type of each of the app's templates in it, as
    /// rocket_dyn_templates gives its responses.
    types: RwLock<HashMap<String, ContentType>>,
    /// The app's template_dir.
    dir: RwLock<Option<PathBuf>>,
    /// The catalogs behind `t(..)` (kegauth's built-in ones until the
    /// `AuthManager` launches with the app's).
    catalogs: Arc<RwLock<Option<Arc<Catalogs>>>>,
}

/// A lock's value, also after a panic elsewhere poisoned it (every write
/// here replaces the whole value, so it is never half made).
fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

#[cfg_attr(not(feature = "dyn-templates"), allow(dead_code))]
impl SharedEngine {
    /// Where the engine reads the app's templates from.
    pub(crate) fn set_dir(&self, dir: PathBuf) {
        write(&self.inner.dir, Some(dir));
    }

    /// The catalogs `t(..)` translates with.
    pub(crate) fn set_catalogs(&self, catalogs: Arc<Catalogs>) {
        write(&self.inner.catalogs, Some(catalogs));
    }

    /// Set how `env` (the app's engine, just loaded) escapes
    /// ([`escape_for`]): before the app's callback runs, so that the
    /// templates it adds from strings escape too (unless it sets an
    /// auto-escape callback of its own), and again in
    /// [`install`](Self::install).
    pub(crate) fn prepare(&self, env: &mut Environment<'static>) {
        let app_dir = read(&self.inner.dir);
        env.set_auto_escape_callback(move |name| escape_for(name, app_dir.as_deref()));
    }

    /// After the app's callback: add kegauth's templates and `t(..)` to
    /// `env`, set how it escapes, and keep a copy of it.
    pub(crate) fn install(&self, env: &mut Environment<'static>) -> Result<()> {
        let catalogs = self.inner.catalogs.clone();
        add_translate(env, move || {
            read(&catalogs).unwrap_or_else(crate::services::i18n::builtin_shared)
        });
        crate::services::template_menus::add_menu(env);
        self.prepare(env);
        add_embedded(env, read(&self.inner.dir).as_deref())?;
        write(&self.inner.types, HashMap::new());
        write(&self.inner.env, Some(Arc::new(env.clone())));
        Ok(())
    }

    /// The content type of the app's template `name`, as rocket_dyn_templates
    /// answers it ([`content_type`]); worked out once per name and load.
    pub(crate) fn content_type_of(&self, name: &str) -> ContentType {
        let lock = || self.inner.types.read().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = lock().get(name) {
            return known.clone();
        }
        let found = content_type(read(&self.inner.dir).as_deref(), name);
        let mut types = self.inner.types.write().unwrap_or_else(|e| e.into_inner());
        // Names come from the app's code, not from requests: few, but bounded anyway.
        if types.len() >= 10_000 {
            types.clear();
        }
        types.insert(name.to_string(), found.clone());
        found
    }

    /// The engine as last loaded.
    pub(crate) fn current(&self) -> Result<Arc<Environment<'static>>> {
        read(&self.inner.env).ok_or_else(|| {
            Error::Config(
                "the rocket_dyn_templates engine has not loaded kegauth's templates".into(),
            )
        })
    }
}

/// The content type rocket_dyn_templates answers template `name` with: by
/// the type of its file in `dir` (`page.html.j2` HTML, `page.j2` plain
/// text), or for a template added from a string by its name's extension;
/// plain text when neither says.
#[cfg_attr(not(feature = "dyn-templates"), allow(dead_code))]
fn content_type(dir: Option<&Path>, name: &str) -> ContentType {
    let ext = match dir.and_then(|dir| file_type(dir, name)) {
        Some(ext) => ext,
        None => Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_string),
    };
    ext.and_then(|ext| ContentType::from_extension(&ext))
        .unwrap_or(ContentType::Text)
}

/// The source of the app's template `name` in `dir`: `name.j2` or `name`,
/// and for a name without an extension, as rocket_dyn_templates names them,
/// `name.html.j2` or `name.html` (so `base_template = "layout"` finds
/// `layout.html.j2` with either engine).
fn read_app_template(dir: &Path, name: &str) -> std::result::Result<Option<String>, String> {
    match read_from(dir, name)? {
        None if Path::new(name).extension().is_none() => read_from(dir, &format!("{name}.html")),
        found => Ok(found),
    }
}

/// `context` as a template value: `None` for anything but a map (it adds
/// nothing), an error naming template `name` when it does not serialize.
pub(crate) fn context_value<C: Serialize>(name: &str, context: C) -> Result<Option<Value>> {
    let value = Value::from_serialize(context);
    match value.kind() {
        ValueKind::Map => Ok(Some(value)),
        ValueKind::Invalid => Err(Error::Config(format!(
            "template context for {name}: {value}"
        ))),
        _ => Ok(None),
    }
}

/// The entries of map `map`.
fn entries(map: &Value) -> impl Iterator<Item = (Value, Value)> + '_ {
    map.try_iter().into_iter().flatten().map(move |key| {
        let value = map.get_item(&key).unwrap_or_default();
        (key, value)
    })
}

impl Templates {
    /// Load the embedded templates, replaced by files in `template_dir` where
    /// present, translating with kegauth's built-in catalogs.
    pub fn load(template_dir: Option<&Path>, config: &Config) -> Result<Self> {
        Self::load_with(
            template_dir,
            config,
            crate::services::i18n::builtin_shared(),
        )
    }

    /// [`load`](Self::load), translating with `catalogs`.
    pub fn load_with(
        template_dir: Option<&Path>,
        config: &Config,
        catalogs: Arc<Catalogs>,
    ) -> Result<Self> {
        let mut env = Environment::new();
        let for_t = catalogs.clone();
        add_translate(&mut env, move || for_t.clone());
        crate::services::template_menus::add_menu(&mut env);
        // HTML pages are escaped; mail templates are Markdown (escaped when rendered to HTML).
        env.set_auto_escape_callback(|name| escape_for(name, None));
        add_embedded(&mut env, template_dir)?;
        // The app's own templates (its `base_template` and what that includes
        // or extends), read from template_dir when first named and kept.
        if let Some(dir) = template_dir {
            let dir = dir.to_path_buf();
            env.set_loader(move |name| {
                if !crate::core::config::valid_template_name(name) {
                    return Ok(None);
                }
                read_app_template(&dir, name)
                    .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e))
            });
        }
        check_base(&env, &config.base_template, || {
            format!(
                "no `{base}.j2` or `{base}` (nor `{base}.html.j2` for a name without an \
                 extension) in template_dir `{}`",
                template_dir.map_or_else(|| "(none)".into(), |d| d.display().to_string()),
                base = config.base_template
            )
        })?;
        Ok(Self::new(Engine::Own(Arc::new(env)), config, catalogs))
    }

    /// The templates as installed in the app's `rocket_dyn_templates` engine
    /// (`shared`), translating with `catalogs` (kegauth's `t(..)` there reads
    /// them from now on). `base_template` is a name in that engine.
    pub(crate) fn load_shared(
        shared: &SharedEngine,
        config: &Config,
        catalogs: Arc<Catalogs>,
    ) -> Result<Self> {
        shared.set_catalogs(catalogs.clone());
        let env = shared.current()?;
        check_base(&env, &config.base_template, || {
            let base = &config.base_template;
            let stem = base
                .rsplit_once('.')
                .map_or(base.as_str(), |(stem, _)| stem);
            let hint = if stem != base && env.get_template(stem).is_ok() {
                format!(" (rocket_dyn_templates names templates without extensions: `{stem}`)")
            } else {
                String::new()
            };
            format!(
                "rocket_dyn_templates has no template `{base}` (a file `{base}.html.j2` or \
                 `{base}.j2` in its template_dir){hint}"
            )
        })?;
        Ok(Self::new(Engine::Shared(shared.clone()), config, catalogs))
    }

    fn new(engine: Engine, config: &Config, catalogs: Arc<Catalogs>) -> Self {
        Templates {
            engine,
            title_var: config.template_title_var.clone(),
            base_template: Value::from(config.base_template.as_str()),
            use_select2: config.use_select2,
            menus: None,
            tr: Translator::new(catalogs, crate::services::i18n::FALLBACK),
        }
    }

    /// The app's `rocket_dyn_templates` engine these render with, if they do.
    #[cfg(feature = "dyn-templates")]
    pub(crate) fn shared(&self) -> Option<&SharedEngine> {
        match &self.engine {
            Engine::Own(_) => None,
            Engine::Shared(shared) => Some(shared),
        }
    }

    /// The environment to render with: kegauth's own, or the shared engine as
    /// it was last (re)loaded.
    fn env(&self) -> Result<Arc<Environment<'static>>> {
        match &self.engine {
            Engine::Own(env) => Ok(env.clone()),
            Engine::Shared(shared) => shared.current(),
        }
    }

    /// These templates, rendering in `lang`.
    pub fn with_lang(&self, lang: &str) -> Self {
        Templates {
            tr: self.tr.with_lang(lang),
            ..self.clone()
        }
    }

    /// Their translator (catalogs and language).
    pub fn tr(&self) -> &Translator {
        &self.tr
    }

    /// `key` translated into their language.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// `key` translated into their language, with arguments.
    pub fn t_args(&self, key: &str, args: &[(&str, String)]) -> String {
        self.tr.t_args(key, args)
    }

    /// These templates, rendering pages with `menus` (by name) as the
    /// request's user sees them.
    pub(crate) fn with_menus(&self, menus: Value) -> Self {
        Templates {
            menus: Some(menus),
            ..self.clone()
        }
    }

    /// The HTML of menu `name` with `entries`, by the `render_menu` macro of
    /// `kegauth/nav.html`.
    pub fn render_menu<C: Serialize>(&self, name: &str, entries: &C) -> Result<String> {
        let err = |e: minijinja::Error| Error::Config(format!("rendering menu {name}: {e}"));
        crate::services::template_menus::menu_html(
            &*self.env()?,
            Value::from_serialize(entries),
            name,
        )
        .map_err(err)
    }

    /// What a page gets, as one MiniJinja map: `context`'s entries (its
    /// values are shared, not copied), with the page title (as `page_title`
    /// and as the configured title variable), `base_template` and
    /// `use_select2` over them, and `defaults`, `menus` and `lang` where
    /// `context` has none of its own.
    pub(crate) fn page_value(
        &self,
        title: &str,
        context: Option<Value>,
        defaults: Option<(&'static str, Value)>,
    ) -> Value {
        let title = Value::from(title);
        let mut map: Vec<(Value, Value)> = Vec::with_capacity(16);
        map.push((Value::from("lang"), Value::from(self.tr.lang())));
        if let Some(menus) = &self.menus {
            map.push((Value::from("menus"), menus.clone()));
        }
        if let Some((key, value)) = defaults {
            map.push((Value::from(key), value));
        }
        if let Some(context) = &context {
            map.extend(entries(context));
        }
        map.push((Value::from(self.title_var.as_str()), title.clone()));
        map.push((Value::from("page_title"), title));
        map.push((Value::from("base_template"), self.base_template.clone()));
        map.push((Value::from("use_select2"), Value::from(self.use_select2)));
        // Later entries replace earlier ones of the same key.
        Value::from_iter(map)
    }

    /// Render `name` with `context` plus the page title and shared settings.
    pub fn render<C: Serialize>(&self, name: &str, title: &str, context: C) -> Result<String> {
        let ctx = self.page_value(title, context_value(name, context)?, None);
        self.env()?
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| Error::Config(format!("rendering {name}: {e}")))
    }

    /// Render a mail template's `subject` and `body` blocks.
    pub fn render_mail<C: Serialize>(&self, name: &str, context: C) -> Result<(String, String)> {
        let err = |e: minijinja::Error| Error::Config(format!("rendering {name}: {e}"));
        let mut map = vec![(Value::from("lang"), Value::from(self.tr.lang()))];
        if let Some(context) = context_value(name, context)? {
            map.extend(entries(&context));
        }
        let ctx = Value::from_iter(map);
        let env = self.env()?;
        let template = env.get_template(name).map_err(err)?;
        let mut captured = template.render_captured(ctx).map_err(err)?;
        captured.with_state_mut(|state| {
            let subject = state.render_block("subject").map_err(err)?;
            let body = state.render_block("body").map_err(err)?;
            // A subject is one line: no header injection through a template value.
            let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
            Ok((subject, body.trim().to_string() + "\n"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kegauth-escape-{:x}", rand::random::<u64>()));
        for file in files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        dir
    }

    #[test]
    fn kegauths_templates_escape_html_but_the_mail() {
        assert_eq!(escape_for("kegauth/login.html", None), AutoEscape::Html);
        assert_eq!(escape_for("kegauth/base.html", None), AutoEscape::Html);
        assert_eq!(
            escape_for("kegauth/mail/reset-password.md", None),
            AutoEscape::None
        );
    }

    #[test]
    fn the_apps_files_escape_by_their_type() {
        let dir = dir_with(&[
            "layout.html.j2",
            "page.j2",
            "robots.txt.j2",
            "data.json.j2",
            "sub/index.template.html.j2",
            "feed.xml.j2",
        ]);
        let d = Some(dir.as_path());
        assert_eq!(escape_for("layout", d), AutoEscape::Html);
        assert_eq!(escape_for("page", d), AutoEscape::Html);
        assert_eq!(escape_for("robots", d), AutoEscape::None);
        assert_eq!(escape_for("data", d), AutoEscape::Json);
        assert_eq!(escape_for("sub/index.template", d), AutoEscape::Html);
        assert_eq!(escape_for("feed", d), AutoEscape::Html);
        // Not a file (added from a string): by the name, HTML when it has no type.
        assert_eq!(escape_for("banner", d), AutoEscape::Html);
        assert_eq!(escape_for("notes.txt", d), AutoEscape::None);
        // A name that would leave the folder is never looked up.
        assert_eq!(file_type(&dir, "../layout"), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_name_without_extension_finds_the_html_file() {
        let dir = dir_with(&["layout.html.j2", "partials/footer.html"]);
        assert!(matches!(read_app_template(&dir, "layout"), Ok(Some(_))));
        assert!(matches!(
            read_app_template(&dir, "layout.html"),
            Ok(Some(_))
        ));
        assert!(matches!(
            read_app_template(&dir, "partials/footer"),
            Ok(Some(_))
        ));
        assert!(matches!(read_app_template(&dir, "layout.txt"), Ok(None)));
        let _ = std::fs::remove_dir_all(dir);
    }
}
