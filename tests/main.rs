//! kegauth's integration tests, as one binary: each file of this folder is a
//! module (the common helpers once), so the library is linked once, not once
//! per file. Three binaries stand alone, for their tests read process-wide
//! state: `logged.rs` (the log), `nav_main.rs` (the route report's handler
//! table) and `session_cache_main.rs` (the statement counter).

/// The log capture (`common::logs`) is not installed in this binary.
pub const CAPTURE_LOGS: bool = false;

#[macro_use]
mod common;

mod account;
mod admin;
mod architecture;
mod attempt_views;
mod attempts;
mod browser;
mod cli;
mod cross_site;
mod crud_derive;
mod ddl;
mod demo;
mod i18n;
mod imports;
mod instances;
mod keg_auth_peer;
mod keg_auth_schema;
mod ldap;
mod loaders;
mod login;
mod mail;
mod mail_limit;
mod oauth;
mod oauth_plain;
mod parsers;
mod passkeys_web;
mod requirements;
mod session;
mod session_timeouts;
mod settings;
mod store;
mod suite;
mod tokens;
mod two_factor;
mod two_factor_web;
