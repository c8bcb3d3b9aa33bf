//! The `trusted_proxies` and `proxy_header` settings, parsed: which peers
//! may tell kegauth the client's address. How a request's address is read
//! with them is `authn/client_ip.rs`.

use crate::core::error::{Error, Result};
use ipnet::IpNet;
use std::net::IpAddr;

/// Which peers may tell kegauth the client's address, and in which header.
///
/// ```
/// use kegauth::client_ip::ProxyPolicy;
/// let config = kegauth::config::Config {
///     trusted_proxies: vec!["10.0.0.0/8".into()],
///     ..Default::default()
/// };
/// let policy = ProxyPolicy::from_config(&config).unwrap();
/// let peer = Some("10.0.0.2".parse().unwrap());
/// // The proxy appended the address it saw; the client's own claim is ignored.
/// let ip = policy.client_ip(peer, ["1.2.3.4, 203.0.113.7, 10.0.0.3"]);
/// assert_eq!(ip, Some("203.0.113.7".parse().unwrap()));
/// // A peer that is not a trusted proxy is the client, whatever it sends.
/// let ip = policy.client_ip(Some("198.51.100.9".parse().unwrap()), ["1.2.3.4"]);
/// assert_eq!(ip, Some("198.51.100.9".parse().unwrap()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyPolicy {
    pub(crate) trusted: Vec<IpNet>,
    pub(crate) header: String,
}

impl ProxyPolicy {
    /// The policy of `trusted_proxies` and `proxy_header`; a bad entry is a
    /// configuration error.
    pub(crate) fn new(trusted_proxies: &[String], proxy_header: &str) -> Result<Self> {
        let trusted = trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        Error::Config(format!(
                            "trusted_proxies: `{entry}` is not an IP address or CIDR range"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let header = proxy_header.trim().to_string();
        if header.is_empty()
            || !header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::Config(format!(
                "proxy_header: `{}` is not a header name",
                proxy_header
            )));
        }
        Ok(ProxyPolicy { trusted, header })
    }
}
