//! The request's user as the guards see it: a [`Principal`] (the user,
//! type-erased, with their permissions loaded on first use), found by the
//! session (`session.rs` keeps it for the request) or by a request loader
//! (`loaders/`); how a request finds it is `principal.rs`.

use rocket::http::Status;
use rocket::Request;
use std::any::Any;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

type AnyUser = dyn Any + Send + Sync;

/// The request's user, type-erased, with their permissions loaded on first use.
pub(crate) struct Principal {
    pub user: Arc<AnyUser>,
    permissions: OnceLock<Arc<BTreeSet<String>>>,
}

impl Principal {
    pub fn new(user: Arc<AnyUser>) -> Self {
        Principal {
            user,
            permissions: OnceLock::new(),
        }
    }

    /// The user's permission tokens, loaded on first use (the status to fail
    /// with when kegauth is not attached or the database fails).
    pub async fn permissions(&self, req: &Request<'_>) -> Result<&BTreeSet<String>, Status> {
        if let Some(p) = self.permissions.get() {
            return Ok(p);
        }
        let Some(auth) = req.rocket().state::<crate::authn::service::Auth>() else {
            return Err(Status::InternalServerError);
        };
        match auth.0.permissions_of(&*self.user).await {
            // Two guards of one request loading at once both read the same
            // rows; the first to finish is kept.
            Ok(p) => Ok(self.permissions.get_or_init(|| p)),
            Err(e) => {
                log::error!("kegauth: loading permissions failed: {e}");
                Err(e.status())
            }
        }
    }
}

/// What `principal::session_principal` found: the user (if any) or the status to fail with.
pub(crate) type SessionPrincipal = Result<Option<Principal>, Status>;

/// The request's principal, if any, or the status to fail with. Principals
/// live in request-local storage (the session's, or each loader's outcome),
/// so they are lent, never allocated or counted per request.
pub(crate) type PrincipalRef<'r> = Result<Option<&'r Principal>, Status>;
