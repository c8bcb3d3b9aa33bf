//! The authorization layer: what the request's user may do.
//!
//! - [`requirements`]: `has_all`/`has_any` requirements, checked on routes,
//!   route sets and every request;
//! - [`guards`]: the `AuthUser`, `OptionalUser`, `SessionUser` and
//!   `Permission` request guards;
//! - [`admin_rules`]: the requirement of each admin section and action;
//! - [`access`]: the route report (what every mounted route requires);
//! - [`nav`]: menus whose links show only to users who may open them.
//!
//! It builds on `core` and `authn`.

pub mod access;
pub(crate) mod admin_rules;
pub mod guards;
pub mod nav;
pub mod requirements;
