//! Translations: Fluent catalogs for kegauth's pages, messages and mail.
//!
//! kegauth ships English (`en`, the fallback) and Spanish (`es`). The
//! language of a request comes from the app's hook
//! ([`AuthManagerBuilder::language`](crate::AuthManagerBuilder::language))
//! or else from `Accept-Language`, among the languages the catalogs have.
//! Apps add languages or replace single strings with
//! [`AuthManagerBuilder::translations`](crate::AuthManagerBuilder::translations),
//! in Fluent syntax; templates call `t("key")` (with named arguments:
//! `t("key", name=value)`).
//!
//! ```
//! use kegauth::i18n::Catalogs;
//! let mut catalogs = Catalogs::builtin();
//! assert_eq!(catalogs.translate("es", "login-button", &[]), "Iniciar sesión");
//! catalogs.add("es", "login-button = Entrar").unwrap();
//! assert_eq!(catalogs.translate("es", "login-button", &[]), "Entrar");
//! // Unknown languages fall back to English; Accept-Language picks the best.
//! assert_eq!(catalogs.translate("fr", "login-button", &[]), "Log In");
//! assert_eq!(catalogs.negotiate(Some("fr;q=0.9, es-MX;q=0.8, en;q=0.1")), "es");
//! ```

use crate::core::error::{Error, Result};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// The language every lookup falls back to.
pub const FALLBACK: &str = "en";

/// kegauth's own catalogs, by language.
pub const BUILTIN: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en.ftl")),
    ("es", include_str!("../../locales/es.ftl")),
];

struct Catalog {
    bundle: FluentBundle<FluentResource>,
    keys: BTreeSet<String>,
}

/// The catalogs of every language, each a Fluent bundle.
pub struct Catalogs {
    languages: BTreeMap<String, Catalog>,
}

impl std::fmt::Debug for Catalogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogs")
            .field("languages", &self.languages.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Catalogs {
    /// kegauth's English and Spanish catalogs.
    pub fn builtin() -> Self {
        let mut catalogs = Catalogs {
            languages: BTreeMap::new(),
        };
        for (lang, source) in BUILTIN {
            // The embedded catalogs parse: the unit tests check them.
            if let Err(e) = catalogs.add(lang, source) {
                log::error!("kegauth: built-in catalog {lang}: {e}");
            }
        }
        catalogs
    }

    /// Add `source` (Fluent syntax) to language `lang`: a new language, or
    /// strings that replace the ones it has.
    pub fn add(&mut self, lang: &str, source: &str) -> Result<()> {
        let id: unic_langid::LanguageIdentifier = lang
            .parse()
            .map_err(|e| Error::Config(format!("language `{lang}`: {e}")))?;
        let resource = FluentResource::try_new(source.to_string()).map_err(|(_, errors)| {
            Error::Config(format!(
                "translations for `{lang}` do not parse: {}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let catalog = self
            .languages
            .entry(lang.to_ascii_lowercase())
            .or_insert_with(|| {
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // Plain text in HTML and mail: no bidi isolation marks.
                bundle.set_use_isolating(false);
                Catalog {
                    bundle,
                    keys: BTreeSet::new(),
                }
            });
        catalog
            .keys
            .extend(resource.entries().filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            }));
        catalog.bundle.add_resource_overriding(resource);
        Ok(())
    }

    /// The languages there are catalogs for.
    pub fn languages(&self) -> Vec<&str> {
        self.languages.keys().map(String::as_str).collect()
    }

    /// Whether `lang` has a message `key`.
    pub fn has(&self, lang: &str, key: &str) -> bool {
        self.languages
            .get(lang)
            .is_some_and(|c| c.bundle.has_message(key))
    }

    /// The message ids of `lang`.
    pub fn keys(&self, lang: &str) -> BTreeSet<String> {
        self.languages
            .get(lang)
            .map(|c| c.keys.clone())
            .unwrap_or_default()
    }

    fn format(&self, lang: &str, key: &str, args: &[(&str, String)]) -> Option<String> {
        let catalog = self.languages.get(lang)?;
        let pattern = catalog.bundle.get_message(key)?.value()?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            // A whole number (written canonically) is a number to Fluent, so
            // that plural variants (`[one]`, `*[other]`) select on it.
            match canonical_integer(value) {
                Some(n) => fluent_args.set(*name, fluent_bundle::FluentValue::from(n)),
                None => fluent_args.set(*name, value.clone()),
            }
        }
        let mut errors = Vec::new();
        let text = catalog
            .bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            log::warn!("kegauth: translating `{key}` ({lang}): {errors:?}");
        }
        Some(text.into_owned())
    }

    /// `key` in `lang`, else in English, else the key itself (and a warning).
    ///
    /// ```
    /// # use kegauth::i18n::Catalogs;
    /// let catalogs = Catalogs::builtin();
    /// assert_eq!(catalogs.translate("es", "two-factor-codes-left", &[("count", "1".into())]),
    ///            "Queda 1 código de recuperación.");
    /// assert_eq!(catalogs.translate("es", "two-factor-codes-left", &[("count", "7".into())]),
    ///            "Quedan 7 códigos de recuperación.");
    /// ```
    pub fn translate(&self, lang: &str, key: &str, args: &[(&str, String)]) -> String {
        self.format(lang, key, args)
            .or_else(|| self.format(FALLBACK, key, args))
            .unwrap_or_else(|| {
                log::warn!("kegauth: no translation for `{key}`");
                key.to_string()
            })
    }

    /// The best of the catalogs' languages for an `Accept-Language` header
    /// (by quality, then order; a region falls back to its language), else
    /// English.
    pub fn negotiate(&self, accept_language: Option<&str>) -> String {
        let mut wanted: Vec<(f32, usize, String)> = accept_language
            .unwrap_or_default()
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (!tag.is_empty() && q > 0.0).then_some((q, i, tag))
            })
            .take(32)
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        wanted
            .iter()
            .find_map(|(_, _, tag)| {
                let base = tag.split(['-', '_']).next().unwrap_or(tag);
                [tag.as_str(), base]
                    .into_iter()
                    .find(|t| self.languages.contains_key(*t))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| FALLBACK.to_string())
    }
}

/// kegauth's built-in catalogs, parsed once.
pub(crate) fn builtin_shared() -> Arc<Catalogs> {
    static BUILTIN_CATALOGS: OnceLock<Arc<Catalogs>> = OnceLock::new();
    BUILTIN_CATALOGS
        .get_or_init(|| Arc::new(Catalogs::builtin()))
        .clone()
}

/// Catalogs and a language: what turns a key into the text a user reads.
/// Cheap to clone.
///
/// ```
/// use kegauth::i18n::Translator;
/// let es = Translator::english().with_lang("es");
/// assert_eq!(es.t("login-button"), "Iniciar sesión");
/// assert_eq!(
///     es.t_args("crud-created", &[("name", "Grupo".into())]),
///     "Se ha creado correctamente: Grupo"
/// );
/// // A label that is not a key is shown as it is.
/// assert_eq!(es.label("Colour"), "Colour");
/// ```
#[derive(Clone)]
pub struct Translator {
    catalogs: Arc<Catalogs>,
    lang: String,
}

impl std::fmt::Debug for Translator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translator")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

impl Default for Translator {
    fn default() -> Self {
        Self::english()
    }
}

impl Translator {
    /// `catalogs` in `lang`.
    pub fn new(catalogs: Arc<Catalogs>, lang: &str) -> Self {
        Translator {
            catalogs,
            lang: lang.to_ascii_lowercase(),
        }
    }

    /// kegauth's built-in catalogs, in English.
    pub fn english() -> Self {
        Self::new(builtin_shared(), FALLBACK)
    }

    /// The same catalogs in `lang`.
    pub fn with_lang(&self, lang: &str) -> Self {
        Self::new(self.catalogs.clone(), lang)
    }

    /// The language.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The catalogs.
    pub fn catalogs(&self) -> &Arc<Catalogs> {
        &self.catalogs
    }

    /// `key` translated ([`Catalogs::translate`]).
    pub fn t(&self, key: &str) -> String {
        self.catalogs.translate(&self.lang, key, &[])
    }

    /// `key` translated, with named arguments.
    pub fn t_args(&self, key: &str, args: &[(&str, String)]) -> String {
        self.catalogs.translate(&self.lang, key, args)
    }

    /// `label` translated when it is a message id, else `label` itself: how
    /// CRUD names, columns and form labels are shown, so that an app's own
    /// [`CrudSource`](crate::crud::CrudSource) may give either text or keys
    /// it added with
    /// [`translations`](crate::AuthManagerBuilder::translations).
    pub fn label(&self, label: &str) -> String {
        if self.catalogs.has(&self.lang, label) || self.catalogs.has(FALLBACK, label) {
            self.t(label)
        } else {
            label.to_string()
        }
    }
}

/// `text` as an integer when it is one written canonically (no sign but
/// `-`, no leading zero, at most 15 digits); anything else stays text.
fn canonical_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// How an app picks the language of a request (before `Accept-Language`).
pub type LanguageHook = fn(&rocket::Request<'_>) -> Option<String>;

/// The app's catalogs and language hook (managed state).
pub(crate) struct I18n {
    pub catalogs: Arc<Catalogs>,
    pub hook: Option<LanguageHook>,
}

impl I18n {
    /// The language of `req`: the hook's answer when the catalogs have it,
    /// else the best match for `Accept-Language`.
    pub fn language_of(&self, req: &rocket::Request<'_>) -> String {
        if let Some(lang) = self.hook.and_then(|hook| hook(req)) {
            let lang = lang.to_ascii_lowercase();
            if self.catalogs.languages.contains_key(&lang) {
                return lang;
            }
        }
        self.catalogs
            .negotiate(req.headers().get_one("Accept-Language"))
    }
}

/// The language kegauth uses for `req` (English when kegauth is not attached).
pub fn language_of(req: &rocket::Request<'_>) -> String {
    req.rocket()
        .state::<I18n>()
        .map_or_else(|| FALLBACK.to_string(), |i| i.language_of(req))
}

/// The app's catalogs in the language of `req`.
pub fn translator_of(req: &rocket::Request<'_>) -> Translator {
    match req.rocket().state::<I18n>() {
        Some(i18n) => Translator::new(i18n.catalogs.clone(), &i18n.language_of(req)),
        None => Translator::english(),
    }
}

/// A request guard: the app's catalogs in the request's language, for an
/// app's own messages (never fails).
///
/// ```
/// use kegauth::i18n::Translator;
/// #[rocket::get("/hello")]
/// fn hello(tr: Translator) -> String {
///     tr.t("login-title")
/// }
/// ```
#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Translator {
    type Error = std::convert::Infallible;

    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(translator_of(req))
    }
}

/// The language of the `auth` command line: the first of `LC_ALL`,
/// `LC_MESSAGES` and `LANG` that is set (`es_ES.UTF-8` gives `es`), among
/// the catalogs' languages, else English.
pub fn language_of_env(catalogs: &Catalogs) -> String {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    let tag = locale.map(|l| l.split(['.', '@']).next().unwrap_or_default().to_string());
    catalogs.negotiate(tag.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogs_parse_and_have_the_same_keys() {
        let mut catalogs = Catalogs {
            languages: BTreeMap::new(),
        };
        for (lang, source) in BUILTIN {
            catalogs.add(lang, source).expect("parses");
        }
        let en = catalogs.keys("en");
        let es = catalogs.keys("es");
        assert!(en.len() > 10, "{en:?}");
        assert_eq!(
            en.difference(&es).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "in en, not in es"
        );
        assert_eq!(
            es.difference(&en).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "in es, not in en"
        );
    }

    /// Files under `dir` (recursively) whose name ends with one of `exts`.
    fn files(dir: &std::path::Path, exts: &[&str], found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable source tree") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                files(&path, exts, found);
            } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
                found.push(path);
            }
        }
    }

    /// The string literals of `text` that look like message ids: the
    /// kebab-case ones starting with a catalog prefix. In templates only the
    /// first argument of `t(..)` is a message id.
    fn literals(text: &str, template: bool, prefixes: &BTreeSet<String>) -> Vec<String> {
        let mut found = Vec::new();
        for (i, quote) in text.char_indices().filter(|(_, c)| *c == '"' || *c == '\'') {
            let before = &text[..i];
            let call = before
                .strip_suffix("t(")
                .is_some_and(|b| !b.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
            if template && !call {
                continue;
            }
            let rest = &text[i + 1..];
            let Some(end) = rest.find(quote) else {
                continue;
            };
            let lit = &rest[..end];
            let kebab = lit.contains('-')
                && lit
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            let prefix = lit.split('-').next().unwrap_or_default();
            if template || (kebab && prefixes.contains(prefix)) {
                found.push(lit.to_string());
            }
        }
        found
    }

    #[test]
    fn templates_and_code_use_exactly_the_catalog_keys() {
        let catalogs = Catalogs::builtin();
        let keys = catalogs.keys(FALLBACK);
        let prefixes: BTreeSet<String> = keys
            .iter()
            .filter_map(|k| k.split('-').next().map(str::to_string))
            .collect();
        // Kebab-case literals with a catalog prefix that are HTML ids or
        // test names, not messages.
        let not_keys = [
            // Cargo feature names, in `cfg(feature = ..)`.
            "two-factor",
            "login-form",
            "logout-form",
            "forgot-password-form",
            "set-password-form",
            "crud-form",
            "crud-grid",
            "field-error",
            "mail-outbox",
            "no-such-key",
            // The kinds of mail the mail limit counts (stored, not shown).
            "reset-password",
            "verify-account",
            // A row action's name in its URL (`/users/<id>/reset-two-factor`).
            "reset-two-factor",
            // How a password was set, in audit events.
            "reset-link",
            "verify-link",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = Vec::new();
        files(&root.join("src"), &[".rs"], &mut paths);
        // Audit event kinds (`login-failure`, ...) are stored data that look
        // like message keys, not messages.
        paths.retain(|p| !p.ends_with("core/audit.rs"));
        files(
            &root.join("templates/kegauth"),
            &[".html", ".md", ".j2"],
            &mut paths,
        );
        assert!(paths.len() > 30, "{paths:?}");
        // The audit page's labels of event kinds and outcomes, made from
        // the stored names.
        let mut used: BTreeSet<String> = crate::core::audit::kinds::ALL
            .iter()
            .map(|k| format!("audit-kind-{k}"))
            .chain(
                ["success", "refused", "error"]
                    .iter()
                    .map(|o| format!("audit-outcome-{o}")),
            )
            .collect();
        let mut missing: Vec<String> = used
            .iter()
            .filter(|k| !keys.contains(*k))
            .cloned()
            .collect();
        for path in &paths {
            let text = std::fs::read_to_string(path).expect("readable source file");
            let template = !path.to_string_lossy().ends_with(".rs");
            for lit in literals(&text, template, &prefixes) {
                if not_keys.contains(&lit.as_str()) {
                    continue;
                }
                if keys.contains(&lit) {
                    used.insert(lit);
                } else {
                    missing.push(format!("{}: {lit}", path.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys used but not in the catalogs: {missing:#?}"
        );
        let unused: Vec<_> = keys.difference(&used).collect();
        assert!(
            unused.is_empty(),
            "keys in the catalogs that nothing uses: {unused:?}"
        );
    }

    #[test]
    fn accept_language_is_negotiated() {
        let c = Catalogs::builtin();
        for (header, lang) in [
            (None, "en"),
            (Some(""), "en"),
            (Some("es"), "es"),
            (Some("es-ES,es;q=0.9"), "es"),
            (Some("de, es;q=0.5"), "es"),
            (Some("es;q=0.4, en;q=0.5"), "en"),
            (Some("es;q=0, fr"), "en"),
            (Some("*"), "en"),
            (Some("es;q=abc"), "en"),
        ] {
            assert_eq!(c.negotiate(header), lang, "{header:?}");
        }
    }

    #[test]
    fn bad_translations_are_refused_with_the_language() {
        let mut c = Catalogs::builtin();
        let err = c.add("es", "login-button = {").unwrap_err();
        assert!(err.to_string().contains("`es`"), "{err}");
        let err = c.add("not a language!", "a = b").unwrap_err();
        assert!(err.to_string().contains("not a language!"), "{err}");
    }

    #[test]
    fn arguments_are_filled_in() {
        let c = Catalogs::builtin();
        let args = [("login", "ann@example.com".to_string())];
        assert_eq!(
            c.translate("es", "login-no-account", &args),
            "Ninguna cuenta coincide con: ann@example.com"
        );
        assert_eq!(c.translate("es", "no-such-key", &[]), "no-such-key");
    }
}
