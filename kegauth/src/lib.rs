//! # kegauth
//!
//! Authentication and authorization for [Rocket](https://rocket.rs) apps: the
//! features of the Python library keg-auth, on the app's own tables.
//!
//! - [`entity`]: `#[derive(AuthEntity)]` glues the app's user, group, bundle,
//!   permission and attempt structs to its tables (keg-auth's names by default);
//! - [`Store`]: effective permissions, memberships, permission sync and
//!   `session_key` rotation, over SQLite, PostgreSQL and MySQL ([`Backend`]);
//! - [`password`]: argon2id hashing, legacy keg-auth hashes, rehash signal;
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
//! ## Security notes
//! sqlx 0.7 (pinned by rocket_db_pools 0.2) mis-encodes values over 4 GiB
//! (RUSTSEC-2024-0363). kegauth never sends such values: lookups are capped at
//! [`store::MAX_LOOKUP_BYTES`] and passwords at [`password::MAX_PASSWORD_BYTES`]
//! before they reach a query or the hasher.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate self as kegauth;

pub mod access;
mod account_views;
pub mod accounts;
pub mod admin;
pub mod attempts;
pub mod backend;
mod catchers;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod crud;
pub mod ddl;
pub mod endpoints;
pub mod entity;
mod error;
pub mod guards;
pub mod i18n;
pub mod ldap;
mod links;
pub mod loaders;
pub mod mail;
mod manager;
pub mod nav;
pub mod next;
pub mod oauth;
pub mod password;
pub mod permissions;
pub mod policy;
pub mod requirements;
mod service;
pub mod session;
mod session_cache;
pub mod store;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub(crate) mod views;

pub use backend::{Backend, Dialect};
pub use catchers::catchers;
pub use entity::{AttemptCore, AttemptType, AuthEntity, Entities, EntitySet, UserCore};
pub use error::{Error, Result};
pub use guards::{AuthUser, OptionalUser, Permission, SessionUser};
pub use kegauth_macros::{requires_permissions, requires_user, AuthEntity};
pub use links::Link;
pub use manager::{AuthDb, AuthManager, AuthManagerBuilder, Authenticator, StoreOf};
pub use permissions::PermissionDef;
pub use requirements::{has_all, has_any, require, RequireEverywhere, Requirement};
pub use service::LoginFailure;
pub use store::{Store, SyncReport};
pub use views::routes;

/// The names an app usually needs.
pub mod prelude {
    pub use crate::entity::{
        AttemptEntity, AuthEntity, BundleEntity, Entities, EntitySet, GroupEntity,
        PermissionEntity, UserEntity,
    };
    pub use crate::loaders::{JwtRequestLoader, TokenRequestLoader};
    pub use crate::requirements::{has_all, has_any, require, Requirement};
    pub use crate::{
        AttemptCore, AuthDb, AuthManager, AuthUser, Link, OptionalUser, Permission, PermissionDef,
        SessionUser, Store, StoreOf, UserCore,
    };
    pub use kegauth_macros::{requires_permissions, requires_user, AuthEntity};
}
