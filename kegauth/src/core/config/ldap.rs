//! The `ldap_server_url` setting, read with the rest of [`Config`](super::Config);
//! the authenticator that binds with it is in [`crate::ldap`].

use serde::Deserialize;

/// `ldap_server_url`: one URL or a list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ServerUrls {
    /// One server.
    One(String),
    /// Servers tried in order.
    Many(Vec<String>),
}

impl ServerUrls {
    #[cfg(feature = "ldap")]
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            ServerUrls::One(url) => vec![url.clone()],
            ServerUrls::Many(urls) => urls.clone(),
        }
    }
}
