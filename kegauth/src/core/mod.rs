//! The core layer: entities, the store and what it needs (backends, DDL,
//! passwords, tokens, clock, settings, errors), and the services every layer
//! above uses (translations, templates, mail).
//!
//! Nothing here names `authn`, `authz`, `web` or `ops` (the architecture
//! test, `tests/architecture.rs`, fails if it does).

pub mod accounts;
pub mod attempts;
pub mod audit;
pub mod backend;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod ddl;
pub mod entity;
pub(crate) mod error;
pub mod i18n;
pub(crate) mod links;
#[cfg(feature = "mail")]
pub mod mail;
pub mod next;
pub mod passkeys;
pub mod password;
pub(crate) mod paths;
pub mod permissions;
pub mod policy;
pub mod store;
pub mod templates;
pub mod token;
pub mod two_factor;

/// The log target of authentication events (logins, lockouts, CSRF failures,
/// password links): never with a password, token or session key in them.
pub(crate) const AUDIT: &str = "kegauth::audit";
