//! The operations layer: what wires kegauth into an app and runs it.
//!
//! - [`manager`]: the `AuthManager` fairing, which reads the settings and
//!   manages every layer's state;
//! - [`cli`]: the `auth` commands, and `app_commands`: an app's own beside them;
//! - [`testing`]: helpers for the app's own tests (feature `testing`).
//!
//! It may use every other layer; nothing uses it.

pub(crate) mod app_commands;
pub mod cli;
#[cfg(test)]
mod features_off;
pub(crate) mod manager;
#[cfg(feature = "testing")]
pub mod testing;
