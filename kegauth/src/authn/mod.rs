//! The authentication layer: who is making the request.
//!
//! - [`session`]: the encrypted session cookie, CSRF tokens, flashes and
//!   session timeouts;
//! - [`principal`]: the request's user, from the session or a request loader,
//!   loaded once per request;
//! - [`loaders`]: JWT bearer and API-token request loaders;
//! - [`authenticators`]: the password login, LDAP and OAuth;
//! - [`service`]: the login service the views call (attempt limiting,
//!   rehashing, the type-erased store);
//! - [`two_factor`]: a login's second step (the pending state in the session).
//!
//! It builds on `core` only.

pub mod authenticators;
pub mod loaders;
pub(crate) mod principal;
pub(crate) mod service;
pub mod session;
pub(crate) mod two_factor;
