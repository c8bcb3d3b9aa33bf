//! The core layer: what every layer needs: entities, the store and what it
//! needs (backends, DDL, passwords, tokens, the attempt limiter, the audit
//! trail's events and chain, second-factor secrets, passkey records), the
//! clock, settings and errors. Translations, templates, mail, the account
//! flows and the WebAuthn ceremonies are the services layer's
//! (`src/services/`), one layer up.
//!
//! Nothing here names `services`, `authn`, `authz`, `web` or `ops` (the architecture
//! test, `tests/architecture.rs`, fails if it does).

pub mod attempts;
pub mod audit;
pub mod backend;
pub mod clock;
pub mod config;
pub mod ddl;
pub mod entity;
pub(crate) mod error;
pub(crate) mod extensions;
pub(crate) mod links;
pub mod next;
pub mod passkeys;
pub mod password;
pub(crate) mod paths;
pub mod permissions;
pub mod records;
pub mod store;
pub mod token;
pub mod two_factor;

/// The log target of authentication events (logins, lockouts, CSRF failures,
/// password links): never with a password, token or session key in them.
pub(crate) const AUDIT: &str = "kegauth::audit";
