//! OAuth in a build without kegauth's `oauth` feature: no provider, so the
//! login page shows no provider links. (A configured `oauth_profiles` has
//! already stopped the launch: `Config::check_features`.)

pub(crate) use crate::core::config::oauth::domain_of;
use crate::core::config::oauth::ProviderDomains;
use crate::core::config::Config;
use crate::core::error::Result;

/// No OAuth profiles.
pub(crate) struct OAuth;

impl OAuth {
    /// No profiles: the settings were checked to have none.
    pub(crate) fn from_config(_config: &Config) -> Result<Self> {
        Ok(OAuth)
    }

    /// No provider domains.
    pub(crate) fn domains(&self) -> ProviderDomains {
        ProviderDomains(Default::default())
    }

    /// No provider links.
    pub(crate) fn links(&self, _next: Option<&str>) -> Vec<(String, String)> {
        Vec::new()
    }
}
