//! OAuth in a build without kegauth's `oauth` feature: no provider, so the
//! login page shows no provider links and a configured `oauth_profiles`
//! stops the launch with a message naming the feature.

pub(crate) use crate::core::config::oauth::domain_of;
use crate::core::config::oauth::ProviderDomains;
use crate::core::config::Config;
use crate::core::error::Result;

/// No OAuth profiles.
pub(crate) struct OAuth;

impl OAuth {
    /// Refuse `oauth_profiles`: this build cannot log in through them.
    pub(crate) fn from_config(config: &Config) -> Result<Self> {
        if config.oauth_profiles.is_empty() {
            Ok(OAuth)
        } else {
            Err(crate::core::config::missing_feature(
                "oauth_profiles",
                "oauth",
            ))
        }
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
