//! kegauth's static assets: the searchable multi-select of the admin forms
//! (`/kegauth/multiselect.js` and `/kegauth/multiselect.css`, a script of
//! kegauth's own with no dependencies; see `multiselect.js`).

use rocket::http::{ContentType, Header};
use rocket::{get, Responder, Route};

const MULTISELECT_JS: &str = include_str!("multiselect.js");
const MULTISELECT_CSS: &str = include_str!("multiselect.css");

/// An asset with a cache lifetime of five minutes.
#[derive(Responder)]
struct Asset {
    body: (ContentType, &'static str),
    cache: Header<'static>,
}

fn asset(kind: ContentType, body: &'static str) -> Asset {
    Asset {
        body: (kind, body),
        cache: Header::new("Cache-Control", "public, max-age=300"),
    }
}

#[get("/kegauth/multiselect.js")]
fn multiselect_js() -> Asset {
    asset(ContentType::JavaScript, MULTISELECT_JS)
}

#[get("/kegauth/multiselect.css")]
fn multiselect_css() -> Asset {
    asset(ContentType::CSS, MULTISELECT_CSS)
}

/// The asset routes.
pub(crate) fn routes() -> Vec<Route> {
    rocket::routes![multiselect_js, multiselect_css]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_form_template_names_the_served_assets() {
        let form = include_str!("../../../templates/kegauth/crud-form.html");
        for path in ["/kegauth/multiselect.js", "/kegauth/multiselect.css"] {
            assert!(form.contains(path), "{path}");
        }
        assert!(super::MULTISELECT_JS.contains("data-kegauth-multiselect"));
        assert!(form.contains("data-kegauth-multiselect"));
    }
}
