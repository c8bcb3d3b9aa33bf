//! The authentication layer: who is making the request.
//!
//! - [`client_ip`]: the client's address (behind trusted proxies only);
//! - [`session`]: the encrypted session cookie, CSRF tokens, flashes and
//!   session timeouts;
//! - [`identity`]: the request's user as guards see it (a type-erased
//!   principal whose permissions load on first use);
//! - [`principal`]: how a request finds it: the session, else a request
//!   loader, once per request;
//! - [`loaders`]: JWT bearer and API-token request loaders;
//! - [`authenticators`]: the password login, LDAP and OAuth;
//! - [`service`]: the login service the views call (attempt limiting,
//!   rehashing, the type-erased store);
//! - [`two_factor`]: a login's second step (the pending state in the session);
//! - `account`: the account page's service (sessions as records, password change).
//!
//! It builds on `core` and `services` only.

pub(crate) mod account;
pub(crate) mod account_api;
pub mod authenticators;
pub(crate) mod boxed;
pub mod client_ip;
pub(crate) mod decoded_sessions;
pub(crate) mod identity;
pub mod loaders;
pub(crate) mod principal;
pub(crate) mod service;
pub mod session;
pub(crate) mod two_factor;
