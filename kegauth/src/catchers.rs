//! Error catchers: where unauthenticated and unauthorized requests end up.

use crate::templates::Templates;
use rocket::http::uri::fmt::{Query, UriDisplay};
use rocket::http::{ContentType, Status};
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use rocket::{catch, catchers, Catcher, Request};

/// The login page's path.
pub const LOGIN_PATH: &str = "/login";

/// Whether a request is from a browser wanting a page (rather than an API client).
pub(crate) fn wants_html(req: &Request<'_>) -> bool {
    match req.accept() {
        Some(accept) => accept
            .media_types()
            .any(|m| m.is_html() || (m.top() == "*" && m.sub() == "*" && req.format().is_none())),
        // No Accept header: a plain link or a simple client; treat as a browser.
        None => true,
    }
}

/// `/login?next=<path and query of this request>`
pub(crate) fn login_redirect(req: &Request<'_>) -> Redirect {
    let here = req.uri().to_string();
    let next = format!("{}", &here as &dyn UriDisplay<Query>);
    Redirect::to(format!("{LOGIN_PATH}?next={next}"))
}

#[derive(Responder)]
enum Unauthorized {
    Page(Redirect),
    Api((Status, (ContentType, &'static str))),
}

#[catch(401)]
fn unauthorized(req: &Request<'_>) -> Unauthorized {
    if wants_html(req) {
        Unauthorized::Page(login_redirect(req))
    } else {
        Unauthorized::Api((
            Status::Unauthorized,
            (ContentType::JSON, r#"{"error":"authentication required"}"#),
        ))
    }
}

#[derive(Responder)]
enum Forbidden {
    Page((Status, RawHtml<String>)),
    Api((Status, (ContentType, &'static str))),
}

#[catch(403)]
fn forbidden(req: &Request<'_>) -> Forbidden {
    let api = || {
        Forbidden::Api((
            Status::Forbidden,
            (ContentType::JSON, r#"{"error":"permission denied"}"#),
        ))
    };
    if !wants_html(req) {
        return api();
    }
    let page = req.rocket().state::<Templates>().map(|t| {
        t.render(
            "kegauth/forbidden.html",
            "Forbidden",
            serde_json::json!({ "message": "You do not have permission to see this page." }),
        )
    });
    match page {
        Some(Ok(html)) => Forbidden::Page((Status::Forbidden, RawHtml(html))),
        _ => api(),
    }
}

/// kegauth's catchers; register them with `.register("/", kegauth::catchers())`.
/// A 401 becomes a redirect to the login page (with `next`) for browsers and a
/// JSON 401 for API clients; a 403 is a "forbidden" page (or JSON).
pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, forbidden]
}
