//! The services layer: what the store needs no part of, but every layer
//! above it does: translations (`i18n`), kegauth's templates and their
//! engine (`templates`), mail (`mail`), the account flows that send it
//! (`accounts`: verification and reset links, password policy checks), the
//! WebAuthn ceremonies (`passkeys`), the TOTP enrolment's QR code
//! (`two_factor`) and the audit trail's writer task (`audit`).
//!
//! It names only `core`; nothing here names `authn`, `authz`, `web` or `ops`
//! (`tests/architecture.rs` fails if it does).

pub mod accounts;
pub(crate) mod audit;
pub mod i18n;
#[cfg(feature = "mail")]
pub mod mail;
#[cfg(feature = "passkeys")]
pub mod passkeys;
pub mod policy;
pub(crate) mod revocations;
pub(crate) mod template_menus;
pub mod templates;
#[cfg(feature = "two-factor")]
pub mod two_factor;

use crate::core::config::Config;
use crate::core::error::Result;

/// The settings checks that need this layer, run by the launch and by the
/// `auth` commands right after [`Config::from_figment`]: with passkeys on, a
/// `server_name` WebAuthn accepts (a domain, not an IP address).
pub(crate) fn check_config(config: &Config) -> Result<()> {
    #[cfg(feature = "passkeys")]
    config.relying_party()?;
    let _ = config;
    Ok(())
}
