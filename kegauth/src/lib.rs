#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! - [`entity`]: `#[derive(AuthEntity)]` glues the app's user, group, bundle,
//!   permission and attempt structs to its tables (keg-auth's names by default);
//! - [`Store`]: effective permissions, memberships, permission sync and
//!   `session_key` rotation, over SQLite, PostgreSQL and MySQL ([`Backend`]);
//! - [`password`]: argon2id hashing, legacy keg-auth hashes, rehash signal;
//! - [`two_factor`]: TOTP codes, their secrets sealed at rest, recovery codes;
//! - [`passkeys`]: passkeys and security keys (WebAuthn ceremonies);
//! - [`ddl`]: the schema for each backend;
//! - [`mail`], [`token`], [`accounts`], [`policy`]: verification and reset
//!   links in mail, signed and salted so each works once;
//! - [`attempts`], [`client_ip`]: login, forgot and reset attempt limiting
//!   with lockout, by input and source address;
//! - [`loaders`]: JWT bearer and API-token request loaders, for requests
//!   without a session;
//! - [`ldap`]: the LDAP authenticator (simple bind, escaped DNs, server lists);
//! - [`oauth`]: OAuth / OpenID Connect login (code flow with PKCE, profiles,
//!   domain filters);
//! - [`admin`], [`crud`]: the admin pages for users, groups, bundles and
//!   permissions, and the CRUD building block they share with the app;
//! - [`nav`]: navigation menus whose links show only to users who may open
//!   them; [`access`]: what every mounted route requires (the route report);
//! - [`i18n`]: English and Spanish (Fluent catalogs), more by the app;
//! - [`AuthManager`]: the Rocket fairing;
//! - [`cli`]: the `auth` commands (create-user, set-password, api-token,
//!   purge-attempts, routes, schema).
//!
//! ## Architecture
//! The source is six layers, one folder each; a layer uses only the ones
//! below it, and no two files import each other around a circle
//! (`tests/architecture.rs` and `tests/imports.rs` check it, and
//! ARCHITECTURE.md says more):
//!
//! ```text
//! ops       ops/manager.rs (the fairing), ops/cli.rs, ops/testing/
//! web       web/views/, web/catchers.rs, web/endpoints.rs, web/crud/, web/admin/
//! authz     authz/requirements/, authz/guards.rs, authz/admin_rules.rs, authz/access.rs, authz/nav.rs
//! authn     authn/session.rs, authn/principal.rs, authn/loaders/, authn/authenticators/, authn/service.rs
//! services  services/i18n.rs, services/templates.rs, services/mail.rs, services/accounts.rs, ...
//! core      core/entity/, core/store/, core/password/, core/token.rs, core/config/, core/error.rs, ...
//! ```
//!
//! A login: `web/views/login.rs` (`login_post`: form, CSRF, attempt gate of
//! `core/attempts/`) → `authn/service.rs` (`authenticate`: the user
//! from `core/store/users.rs`, the hash checked by `core/password/`) →
//! `authn/session.rs` (`log_in`: the encrypted cookie) → a redirect to the
//! after-login endpoint (`web/endpoints.rs`).
//!
//! A protected request: the `Required<..>` guard that `#[requires_permissions]`
//! adds (`authz/requirements/mod.rs`) → the request's user from
//! `authn/principal.rs` (session cookie via `core/store/users.rs` and its
//! cache, else `authn/loaders/`) → the requirement against the user's
//! permissions (`core/store/permissions.rs`) → on refusal, `web/catchers.rs`
//! (login redirect, 401 JSON or the 403 page).
//!
//! ## Security notes
//! sqlx 0.7 (pinned by rocket_db_pools 0.2) mis-encodes values over 4 GiB
//! (RUSTSEC-2024-0363). kegauth never sends such values: lookups are capped at
//! [`store::MAX_LOOKUP_BYTES`] and passwords at [`password::MAX_PASSWORD_BYTES`]
//! before they reach a query or the hasher.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "kegauth needs a database backend: enable one or more of its features \
     `sqlite`, `postgres`, `mysql` (e.g. kegauth = { version = \"0.1\", features = [\"postgres\"] })"
);

extern crate self as kegauth;

mod authn;
mod authz;
mod core;
mod ops;
mod services;
mod web;

// The public modules, at the paths they have always had. Each lives in its
// layer's folder; see "Architecture" above.
#[cfg(feature = "ldap")]
pub use self::authn::authenticators::ldap;
#[cfg(feature = "oauth")]
pub use self::authn::authenticators::oauth;
pub use self::authn::{client_ip, loaders, session};
pub use self::authz::{access, guards, nav, requirements};
pub use self::core::{
    attempts, audit, backend, clock, config, ddl, entity, next, password, permissions, store, token,
};
pub use self::ops::cli;
#[cfg(feature = "testing")]
pub use self::ops::testing;
#[cfg(feature = "mail")]
pub use self::services::mail;
pub use self::services::{accounts, i18n, policy, templates};
#[cfg(feature = "dyn-templates")]
pub use self::web::dyn_templates;
pub use self::web::{admin, crud, endpoints};

pub use self::authn::authenticators::Authenticator;
pub use self::authn::service::LoginFailure;
#[doc(no_inline)]
pub use self::authz::guards::{AuthUser, OptionalUser, Permission, SessionUser};
#[doc(no_inline)]
pub use self::authz::requirements::{has_all, has_any, require, RequireEverywhere, Requirement};
#[doc(no_inline)]
pub use self::core::backend::{Backend, Dialect};
#[doc(no_inline)]
pub use self::core::entity::{AttemptCore, AttemptType, AuthEntity, Entities, EntitySet, UserCore};
pub use self::core::error::{Error, Result};
pub use self::core::links::Link;
#[doc(no_inline)]
pub use self::core::permissions::PermissionDef;
#[doc(no_inline)]
pub use self::core::store::{Store, SyncReport};
pub use self::ops::manager::{AuthDb, AuthManager, AuthManagerBuilder, StoreOf};
pub use self::web::catchers::catchers;
pub use self::web::views::routes;
pub use kegauth_macros::{requires_permissions, requires_user, AuthEntity, Crud};

/// Passkeys and security keys (WebAuthn): what the store keeps of them, and
/// (feature `passkeys`) the ceremonies, [`RelyingParty`](passkeys::RelyingParty).
///
/// See the record types' module for the whole story: the ceremonies, the
/// relying-party id and origin, and what travels in the session cookie.
pub mod passkeys {
    #[doc(inline)]
    pub use crate::core::passkeys::*;
    #[cfg(feature = "passkeys")]
    #[doc(inline)]
    pub use crate::services::passkeys::{Refused, RelyingParty};
}

/// Second factors: TOTP (RFC 6238) with its secret encrypted at rest,
/// single-use recovery codes kept as digests, and (feature `two-factor`) the
/// enrolment's QR code, [`qr_svg`](two_factor::qr_svg).
///
/// TOTP codes are 6 digits over 30-second steps, SHA-1 (what authenticator
/// apps read from an `otpauth://` URI), accepted one step either side of now,
/// and each step at most once per user: the store keeps the last step used
/// and refuses it and every earlier one.
pub mod two_factor {
    #[doc(inline)]
    pub use crate::core::two_factor::*;
    #[cfg(feature = "two-factor")]
    #[doc(inline)]
    pub use crate::services::two_factor::qr_svg;
}

/// The names an app usually needs.
pub mod prelude {
    #[doc(no_inline)]
    pub use crate::entity::{
        AttemptEntity, AuthEntity, BundleEntity, Entities, EntitySet, GroupEntity,
        PermissionEntity, UserEntity,
    };
    #[doc(no_inline)]
    #[cfg(feature = "jwt")]
    #[doc(no_inline)]
    pub use crate::loaders::JwtRequestLoader;
    pub use crate::loaders::TokenRequestLoader;
    #[doc(no_inline)]
    pub use crate::requirements::{has_all, has_any, require, Requirement};
    #[doc(no_inline)]
    pub use crate::{
        AttemptCore, AuthDb, AuthManager, AuthUser, Link, OptionalUser, Permission, PermissionDef,
        SessionUser, Store, StoreOf, UserCore,
    };
    pub use kegauth_macros::{requires_permissions, requires_user, AuthEntity};
}
