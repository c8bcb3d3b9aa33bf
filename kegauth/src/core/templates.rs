//! kegauth's pages, rendered with MiniJinja.
//!
//! Defaults are embedded in the library; a file of the same name in the app's
//! `template_dir` (`kegauth/login.html` or `kegauth/login.html.j2`) replaces
//! one. Overrides are read once, at launch; the app's own templates (its
//! `base_template` and what that includes) when first named. HTML
//! auto-escaping is on for every template but the Markdown mail.
//!
//! kegauth keeps its own environment rather than going through
//! `rocket_dyn_templates`: that engine switches auto-escaping off for every
//! template not loaded from a file (so embedded defaults would render
//! unescaped), and it would make every app attach a `Template` fairing just
//! for the login page.

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::core::i18n::{Catalogs, Translator};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
];

/// The loaded templates (cheap to clone).
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    title_var: String,
    /// The layout pages extend (`base_template`).
    base_template: String,
    use_select2: bool,
    /// The menus as the current request's user sees them (kegauth's pages
    /// get them as `menus`).
    menus: Option<Arc<serde_json::Value>>,
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

impl Templates {
    /// Load the embedded templates, replaced by files in `template_dir` where
    /// present, translating with kegauth's built-in catalogs.
    pub fn load(template_dir: Option<&Path>, config: &Config) -> Result<Self> {
        Self::load_with(template_dir, config, crate::core::i18n::builtin_shared())
    }

    /// [`load`](Self::load), translating with `catalogs`.
    pub fn load_with(
        template_dir: Option<&Path>,
        config: &Config,
        catalogs: Arc<Catalogs>,
    ) -> Result<Self> {
        let mut env = Environment::new();
        let for_t = catalogs.clone();
        // `t("key", name=value, ...)` in the page's or mail's `lang`.
        env.add_function(
            "t",
            move |state: &minijinja::State<'_, '_>,
                  key: String,
                  kwargs: minijinja::value::Kwargs|
                  -> std::result::Result<String, minijinja::Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| crate::core::i18n::FALLBACK.to_string());
                let mut args = Vec::new();
                for name in kwargs.args() {
                    let value: minijinja::Value = kwargs.get(name)?;
                    args.push((name, value.to_string()));
                }
                Ok(for_t.translate(&lang, &key, &args))
            },
        );
        // HTML pages are escaped; mail templates are Markdown (escaped when rendered to HTML).
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".md") {
                AutoEscape::None
            } else {
                AutoEscape::Html
            }
        });
        for (name, source) in EMBEDDED {
            let found = match template_dir {
                Some(dir) => read_from(dir, name).map_err(Error::Config)?,
                None => None,
            };
            let source = found.unwrap_or_else(|| (*source).to_string());
            env.add_template_owned(*name, source)
                .map_err(|e| Error::Config(format!("template {name}: {e}")))?;
        }
        // The app's own templates (its `base_template` and what that includes
        // or extends), read from template_dir when first named and kept.
        if let Some(dir) = template_dir {
            let dir = dir.to_path_buf();
            env.set_loader(move |name| {
                if !crate::core::config::valid_template_name(name) {
                    return Ok(None);
                }
                read_from(&dir, name)
                    .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e))
            });
        }
        let base = &config.base_template;
        if let Err(e) = env.get_template(base) {
            return Err(Error::Config(match e.kind() {
                minijinja::ErrorKind::TemplateNotFound => format!(
                    "base_template `{base}` is not a template: no `{base}.j2` or `{base}` in \
                     template_dir `{}`",
                    template_dir.map_or_else(|| "(none)".into(), |d| d.display().to_string())
                ),
                _ => format!("base_template `{base}`: {e}"),
            }));
        }
        Ok(Templates {
            env: Arc::new(env),
            title_var: config.template_title_var.clone(),
            base_template: base.clone(),
            use_select2: config.use_select2,
            menus: None,
            tr: Translator::new(catalogs, crate::core::i18n::FALLBACK),
        })
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

    /// `context` as a map, with the language (`lang`) added.
    fn context_map<C: Serialize>(
        &self,
        name: &str,
        context: C,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut ctx = match serde_json::to_value(context) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => serde_json::Map::new(),
            Err(e) => return Err(Error::Config(format!("template context for {name}: {e}"))),
        };
        ctx.entry("lang")
            .or_insert_with(|| self.tr.lang().to_string().into());
        Ok(ctx)
    }

    /// These templates, rendering pages with `menus` (by name) as the
    /// request's user sees them.
    pub(crate) fn with_menus(&self, menus: serde_json::Value) -> Self {
        Templates {
            menus: Some(Arc::new(menus)),
            ..self.clone()
        }
    }

    /// The HTML of menu `name` with `entries`, by the `render_menu` macro of
    /// `kegauth/nav.html`.
    pub fn render_menu<C: Serialize>(&self, name: &str, entries: &C) -> Result<String> {
        let err = |e: minijinja::Error| Error::Config(format!("rendering menu {name}: {e}"));
        let template = self.env.get_template("kegauth/nav.html").map_err(err)?;
        let mut captured = template
            .render_captured(minijinja::Value::UNDEFINED)
            .map_err(err)?;
        let args = [
            minijinja::Value::from_serialize(entries),
            minijinja::Value::from(name),
        ];
        captured.with_state_mut(|state| state.call_macro("render_menu", &args).map_err(err))
    }

    /// Render `name` with `context` plus the page title and shared settings.
    pub fn render<C: Serialize>(&self, name: &str, title: &str, context: C) -> Result<String> {
        let mut ctx = self.context_map(name, context)?;
        ctx.insert("page_title".into(), title.into());
        ctx.insert("base_template".into(), self.base_template.clone().into());
        ctx.insert(self.title_var.clone(), title.into());
        ctx.insert("use_select2".into(), self.use_select2.into());
        if let Some(menus) = &self.menus {
            ctx.entry("menus").or_insert_with(|| (**menus).clone());
        }
        let ctx = minijinja::Value::from_serialize(&ctx);
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| Error::Config(format!("rendering {name}: {e}")))
    }

    /// Render a mail template's `subject` and `body` blocks.
    pub fn render_mail<C: Serialize>(&self, name: &str, context: C) -> Result<(String, String)> {
        let err = |e: minijinja::Error| Error::Config(format!("rendering {name}: {e}"));
        let ctx = self.context_map(name, context)?;
        let ctx = minijinja::Value::from_serialize(&ctx);
        let template = self.env.get_template(name).map_err(err)?;
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
