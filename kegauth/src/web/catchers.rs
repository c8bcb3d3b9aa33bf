//! Error catchers: where unauthenticated and unauthorized requests end up.

use crate::authz::requirements::{FailureHandler, FailureOverride};
use crate::core::error::Error;
use crate::services::templates::Templates;
use rocket::http::uri::fmt::{Query, UriDisplay};
use rocket::http::{ContentType, Status};
use rocket::response::content::RawHtml;
use rocket::response::{Redirect, Responder};
use rocket::{catch, catchers, Catcher, Request};

/// The login page's path.
pub use crate::core::paths::LOGIN_PATH;

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

/// `/login?next=<path and query of this request>` (the URI the client asked
/// for, even when a global requirement rerouted the request).
pub(crate) fn login_redirect(req: &Request<'_>) -> Redirect {
    let here = req
        .local_cache(|| crate::authz::requirements::OriginalUri(None))
        .0
        .clone()
        .unwrap_or_else(|| req.uri().to_string());
    let next = format!("{}", &here as &dyn UriDisplay<Query>);
    // 302, as keg-auth (Flask) answers; the request was a page view.
    Redirect::found(format!("{LOGIN_PATH}?next={next}"))
}

/// Whether a JSON body suits the request: it accepts JSON or anything, or says nothing.
fn accepts_json(req: &Request<'_>) -> bool {
    match req.accept() {
        Some(accept) => accept
            .media_types()
            .any(|m| m.is_json() || m.sub() == "*" && (m.top() == "*" || m.top() == "application")),
        None => true,
    }
}

/// What kegauth's catchers answer.
enum Caught {
    Redirect(Box<Redirect>),
    Api {
        status: Status,
        message: &'static str,
        /// `WWW-Authenticate` challenges (401 only).
        challenges: Vec<String>,
        /// Where a person logs in (401 only), named in the body.
        login_url: Option<&'static str>,
    },
    Page(Status, RawHtml<String>),
    Custom(FailureHandler),
}

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, req: &'r Request<'_>) -> rocket::response::Result<'static> {
        match self {
            Caught::Redirect(r) => (*r).respond_to(req),
            Caught::Api {
                status,
                message,
                challenges,
                login_url,
            } => {
                let mut response = if accepts_json(req) {
                    let mut body = serde_json::json!({ "error": message });
                    if let Some(url) = login_url {
                        body["login_url"] = url.into();
                    }
                    (status, (ContentType::JSON, body.to_string())).respond_to(req)?
                } else {
                    let text = match login_url {
                        Some(url) => format!("{message}: log in at {url}"),
                        None => message.to_string(),
                    };
                    (status, (ContentType::Plain, text)).respond_to(req)?
                };
                for challenge in challenges {
                    response.adjoin_raw_header("WWW-Authenticate", challenge);
                }
                Ok(response)
            }
            Caught::Page(status, html) => {
                crate::web::views::HtmlPage::new(status, html.0).respond_to(req)
            }
            Caught::Custom(handler) => handler(req),
        }
    }
}

fn custom_handler(req: &Request<'_>) -> Option<FailureHandler> {
    req.local_cache(|| FailureOverride(None)).0
}

#[catch(401)]
fn unauthorized(req: &Request<'_>) -> Caught {
    if let Some(handler) = custom_handler(req) {
        return Caught::Custom(handler);
    }
    let failure = crate::authn::loaders::api_failure(req);
    if wants_html(req) && !failure.api {
        return Caught::Redirect(Box::new(login_redirect(req)));
    }
    let error = if failure.invalid {
        r#", error="invalid_token""#
    } else {
        ""
    };
    Caught::Api {
        status: Status::Unauthorized,
        message: "authentication required",
        challenges: failure
            .challenges
            .iter()
            .map(|scheme| format!(r#"{scheme} realm="kegauth"{error}"#))
            .collect(),
        login_url: Some(LOGIN_PATH),
    }
}

/// A status page for browsers, JSON (or text) for API clients: the page is
/// `template` with the translated `title` and `message`, in the request's
/// language, with the user's menus when `menus` (they need the database).
async fn message_page(
    req: &Request<'_>,
    status: Status,
    api_message: &'static str,
    (template, title, message): (&str, &str, &str),
    menus: bool,
) -> Caught {
    let api = || Caught::Api {
        status,
        message: api_message,
        challenges: Vec::new(),
        login_url: None,
    };
    if !wants_html(req) || crate::authn::loaders::api_failure(req).api {
        return api();
    }
    let Some(templates) = req.rocket().state::<Templates>() else {
        return api();
    };
    let templates = if menus {
        crate::web::views::page_templates(req, templates).await
    } else {
        templates.with_lang(&crate::services::i18n::language_of(req))
    };
    let context = serde_json::json!({ "message": templates.t(message) });
    match templates.render(template, &templates.t(title), context) {
        Ok(html) => Caught::Page(status, RawHtml(html)),
        Err(_) => api(),
    }
}

#[catch(403)]
async fn forbidden(req: &Request<'_>) -> Caught {
    if let Some(handler) = custom_handler(req) {
        return Caught::Custom(handler);
    }
    let page = (
        "kegauth/forbidden.html",
        "forbidden-title",
        "forbidden-message",
    );
    message_page(req, Status::Forbidden, "permission denied", page, true).await
}

#[catch(503)]
async fn unavailable(req: &Request<'_>) -> Caught {
    // No menus: building them needs the database, which is what failed.
    let page = (
        "kegauth/error.html",
        "error-unavailable-title",
        "error-unavailable",
    );
    message_page(
        req,
        Status::ServiceUnavailable,
        "service unavailable",
        page,
        false,
    )
    .await
}

/// kegauth's catchers; register them with `.register("/", kegauth::catchers())`.
/// A 401 becomes a redirect to the login page (with `next`) for browsers and a
/// 401 for API clients (a JSON body when they accept JSON, and a
/// `WWW-Authenticate` challenge per request loader that has one); a 403 is a
/// "forbidden" page (or JSON); a 503 (the database or a directory did not
/// answer) is a "temporarily unavailable" page (or JSON). A request that presented a loader's credential
/// (valid or not), or whose route accepts only some loaders, is an API request.
pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, forbidden, unavailable]
}

/// kegauth's error as a response: a status and a plain message that never
/// holds database details (see [`Error`]).
impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        match self.status() {
            // Rendered by the 503 catcher (kegauth's "temporarily unavailable"
            // page or JSON, with `kegauth::catchers()` registered).
            Status::ServiceUnavailable => {
                log::error!("kegauth: unavailable: {self}");
                Err(Status::ServiceUnavailable)
            }
            // Never the error's own text: it may hold database details.
            Status::InternalServerError => {
                log::error!("kegauth: {self}");
                let body = crate::services::i18n::translator_of(request).t("error-internal");
                rocket::response::status::Custom(Status::InternalServerError, body)
                    .respond_to(request)
            }
            status => {
                rocket::response::status::Custom(status, self.to_string()).respond_to(request)
            }
        }
    }
}
