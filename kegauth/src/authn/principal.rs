//! The request's principal: the user a request acts as, from the session or
//! else from a request loader, loaded once per request and lent to every
//! guard and requirement check of that request.

use crate::authn::identity::{Principal, PrincipalRef, SessionPrincipal};
use crate::authn::loaders::{LoaderId, RouteLoaders};
use crate::authn::session::Session;
use rocket::http::Status;
use rocket::Request;

/// The request's session user, loaded once per request (kept with the
/// request's session data, see [`crate::session::RequestLocal`]).
///
/// A plain `OnceLock`, set after the load, rather than an async once-cell:
/// on the hot path (a session cache hit) nothing awaits, and an async cell
/// takes and closes a semaphore on every request (about 250 instructions and
/// 24 instruction-cache misses of the check's 280, by callgrind). Two guards
/// of one request loading at once (they never do: Rocket runs a route's
/// guards one after another) would both read the same user; the first is
/// kept. [`Principal::permissions`] loads the same way.
pub(crate) async fn session_principal<'r>(req: &'r Request<'_>) -> PrincipalRef<'r> {
    let local = crate::authn::session::RequestLocal::of(req);
    let found = match local.principal.get() {
        Some(found) => found,
        None => {
            let found = load_session_principal(req, local).await;
            local.principal.get_or_init(|| found)
        }
    };
    found.as_ref().map(Option::as_ref).map_err(|s| *s)
}

async fn load_session_principal(
    req: &Request<'_>,
    local: &crate::authn::session::RequestLocal,
) -> SessionPrincipal {
    let (Some(session), Some(auth)) = (
        Session::with_local(req, local),
        req.rocket().state::<crate::authn::service::Auth>(),
    ) else {
        log::error!("kegauth: the AuthManager fairing is not attached");
        return Err(Status::InternalServerError);
    };
    let data = session.current();
    let Some(key) = data.session_key.as_deref() else {
        return Ok(None);
    };
    let Some(row) = data.record.as_deref() else {
        // A login from before sessions were recorded: it ends here.
        ended(&session);
        return Ok(None);
    };
    // A session cache hit needs no future.
    if let Some(user) = auth.0.cached_active_user(key, row) {
        return Ok(Some(Principal::new(user)));
    }
    let loaded = match auth.0.active_user(key).await {
        Ok(Some(user)) => auth.0.account().alive(key, row).await.map(|alive| {
            if !alive {
                ended(&session);
            }
            alive.then(|| Principal::new(user))
        }),
        other => other.map(|user| user.map(Principal::new)),
    };
    loaded.map_err(|e| {
        log::error!("kegauth: loading the session user failed: {e}");
        e.status()
    })
}

/// Log out a session whose row is gone (ended from the sessions list or by
/// an admin), saying so on the next page.
fn ended(session: &Session<'_>) {
    log::info!(target: crate::core::AUDIT, "a session whose record was ended came back");
    session.log_out();
    session.flash_message("info", "session-ended");
}

/// The request's principal: the session user, else the first user a request
/// loader finds (of `loaders()` when the route restricts them; asked only
/// when the session has no user, the common case costs nothing).
pub(crate) async fn principal_with<'r>(
    req: &'r Request<'_>,
    loaders: impl FnOnce() -> Option<&'static [LoaderId]>,
) -> PrincipalRef<'r> {
    match session_principal(req).await {
        Ok(None) => crate::authn::loaders::load_principal(req, loaders()).await,
        other => other,
    }
}

/// The loaders the current route accepts (`None`: every registered one).
pub(crate) fn route_loaders(req: &Request<'_>) -> Option<&'static [LoaderId]> {
    req.local_cache(|| RouteLoaders(None)).0
}

/// The request's principal, for guards (with the route's loader choice).
pub(crate) async fn principal<'r>(req: &'r Request<'_>) -> PrincipalRef<'r> {
    principal_with(req, || route_loaders(req)).await
}
