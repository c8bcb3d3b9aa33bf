//! The web layer: kegauth's pages.
//!
//! - [`views`]: login, logout, forgot/reset password, account verification
//!   and the OAuth routes;
//! - [`catchers`]: the 401/403 answers (a login redirect for a browser, JSON
//!   for an API client);
//! - [`crud`]: the grid-and-form building block, and [`admin`]: the user,
//!   group, bundle and permission pages built on it;
//! - [`endpoints`]: where the views send the browser next;
//! - `dyn_templates` (feature `dyn-templates`): kegauth's pages through the
//!   app's `rocket_dyn_templates` engine.
//!
//! It builds on `core`, `authn` and `authz`.

pub mod admin;
pub(crate) mod catchers;
pub mod crud;
#[cfg(feature = "dyn-templates")]
pub mod dyn_templates;
pub mod endpoints;
pub(crate) mod views;
