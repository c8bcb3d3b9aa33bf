//! `menu("name")` in templates: a page's menu as HTML, made once per menus
//! value and engine load (see [`MenusValue`]).

use minijinja::{Environment, Value};
use std::sync::Arc;

/// Engine loads so far: each load's `menu(..)` keeps HTML under its own number,
/// so a template changed in debug builds shows in the menus too.
static LOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A page's `menus`: every menu's visible entries by name (a map to
/// templates, as before), with the HTML `menu(name)` made of each, kept: the
/// value is shared by every page with the same visible links and path, so a
/// menu renders once, not on every page.
#[derive(Debug)]
pub(crate) struct MenusValue {
    entries: Value,
    html: std::sync::Mutex<Vec<(String, u64, Value)>>,
}

impl MenusValue {
    /// `entries`: the menus' entries by name.
    pub(crate) fn value(entries: Value) -> Value {
        Value::from_object(MenusValue {
            entries,
            html: Default::default(),
        })
    }
}

impl minijinja::value::Object for MenusValue {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.entries
            .get_item(key)
            .ok()
            .filter(|v| !v.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        match self.entries.try_iter() {
            Ok(keys) => minijinja::value::Enumerator::Values(keys.collect()),
            Err(_) => minijinja::value::Enumerator::Empty,
        }
    }
}

/// The HTML of menu `name` with `entries`, by the `render_menu` macro of
/// `kegauth/nav.html` in `env`.
pub(crate) fn menu_html(
    env: &Environment<'_>,
    entries: Value,
    name: &str,
) -> Result<String, minijinja::Error> {
    let template = env.get_template("kegauth/nav.html")?;
    let mut captured = template.render_captured(Value::UNDEFINED)?;
    let args = [entries, Value::from(name)];
    captured.with_state_mut(|s| s.call_macro("render_menu", &args))
}

/// Add `menu("name")`: the HTML of the page's menu `name`, as the
/// `render_menu` macro of `kegauth/nav.html` makes it, made once per menus
/// value (see [`MenusValue`]) and engine load. Nothing on a page without
/// menus; an error for a menu the page's menus do not have.
pub(crate) fn add_menu(env: &mut Environment<'static>) {
    let load = LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    env.add_function(
        "menu",
        move |state: &minijinja::State<'_, '_>,
              name: String|
              -> std::result::Result<Value, minijinja::Error> {
            let Some(menus) = state.lookup("menus").filter(|m| !m.is_none()) else {
                return Ok(Value::from_safe_string(String::new()));
            };
            let kept = menus.downcast_object_ref::<MenusValue>();
            let lock = |m: &MenusValue| {
                m.html
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .find(|(n, l, _)| *n == name && *l == load)
                    .map(|(_, _, html)| html.clone())
            };
            if let Some(html) = kept.and_then(lock) {
                return Ok(html);
            }
            let entries = menus.get_attr(&name)?;
            if entries.is_undefined() {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("no menu is registered as `{name}`"),
                ));
            }
            let html = Value::from_safe_string(menu_html(state.env(), entries, &name)?);
            if let Some(kept) = kept {
                let mut all = kept
                    .html
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                all.retain(|(n, _, _)| *n != name);
                all.push((name, load, html.clone()));
            }
            Ok(html)
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_renders_as_the_macro_does_once_per_menus_value() {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template(
            "kegauth/nav.html",
            include_str!("../../templates/kegauth/nav.html"),
        )
        .unwrap();
        add_menu(&mut env);
        env.add_template(
            "page.html",
            r#"{% import "kegauth/nav.html" as nav %}{{ menu("main") }}|{{ nav.render_menu(menus.main, "main") }}"#,
        )
        .unwrap();
        env.add_template("other.html", r#"{{ menu("side") }}"#)
            .unwrap();
        let entries = serde_json::json!({ "main": [{
            "label": "<Home>", "href": "/", "current": true, "active": true, "children": [],
            "nav_group": null, "icon_class": null, "class": null, "code": null,
        }] });
        let menus = MenusValue::value(Value::from_serialize(&entries));
        let page = env.get_template("page.html").unwrap();
        let out = page
            .render(minijinja::context! { menus => menus.clone() })
            .unwrap();
        let (ours, macro_) = out.split_once('|').unwrap();
        assert_eq!(ours, macro_);
        assert!(ours.contains("&lt;Home&gt;") && ours.contains(r#"aria-current="page""#));
        // Kept in the value: the same HTML again, made once.
        let again = page
            .render(minijinja::context! { menus => menus.clone() })
            .unwrap();
        assert_eq!(again, out);
        let kept = menus.downcast_object_ref::<MenusValue>().unwrap();
        assert_eq!(kept.html.lock().unwrap().len(), 1);
        // No menus on the page: nothing; a menu it does not have: an error.
        let other = env.get_template("other.html").unwrap();
        assert_eq!(other.render(minijinja::context! {}).unwrap(), "");
        assert!(other
            .render(minijinja::context! { menus => menus })
            .is_err());
    }
}
