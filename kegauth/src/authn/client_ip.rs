//! The client's address, as attempt limiting sees it.
//!
//! By default it is the peer address of the connection (Rocket's
//! [`Request::remote`]); headers are ignored, so a client cannot pick the
//! address its attempts are counted under. Behind a reverse proxy, list the
//! proxy in `trusted_proxies`: for a request whose peer is a trusted proxy,
//! kegauth reads `proxy_header` (default `X-Forwarded-For`) from right to
//! left and takes the first address that is not a trusted proxy.
//!
//! ```toml
//! [default.kegauth]
//! trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
//! proxy_header = "X-Forwarded-For"    # or "X-Real-IP"
//! ```
//!
//! (Rocket's own [`Request::client_ip`] believes `X-Real-IP` from anyone;
//! kegauth does not use it.)

use crate::core::config::Config;
use crate::core::error::Result;
use rocket::request::{self, FromRequest, Request};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

pub use crate::core::config::proxy::ProxyPolicy;

impl ProxyPolicy {
    /// The policy of `trusted_proxies` and `proxy_header`; a bad entry is a
    /// configuration error.
    pub fn from_config(config: &Config) -> Result<Self> {
        Self::new(&config.trusted_proxies, &config.proxy_header)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the peer's and the values of the proxy
    /// header (in the order they arrived).
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        header_values: impl IntoIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let mut client = peer?.to_canonical();
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = header_values
            .into_iter()
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            // An address this proxy chain cannot vouch for ends the walk: keep
            // the last one that a trusted hop reported.
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }

    /// The client's address for `req`.
    pub fn client_ip_of(&self, req: &Request<'_>) -> Option<IpAddr> {
        let peer = req.remote().map(|a| a.ip());
        self.client_ip(peer, req.headers().get(&self.header))
    }
}

/// One entry of a forwarding header: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`
/// or `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// A request guard: the client's address under the app's [`ProxyPolicy`]
/// (`None` when the connection has no peer address, as in some local tests).
///
/// ```
/// # use rocket::get;
/// use kegauth::client_ip::ClientIp;
///
/// #[get("/where")]
/// fn whence(ip: ClientIp) -> String {
///     ip.0.map_or("unknown".into(), |ip| ip.to_string())
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Infallible> {
        // Without the fairing: no trusted proxies, the peer is the client.
        let untrusting = ProxyPolicy::default();
        let policy = req.rocket().state::<ProxyPolicy>().unwrap_or(&untrusting);
        request::Outcome::Success(ClientIp(policy.client_ip_of(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trusted: &[&str]) -> ProxyPolicy {
        let config = Config {
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        };
        ProxyPolicy::from_config(&config).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let p = policy(&[]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), ["1.1.1.1"]), ip("10.0.0.1"));
        assert_eq!(p.client_ip(None, ["1.1.1.1"]), None);
    }

    #[test]
    fn trusted_chains_are_walked_from_the_right() {
        let p = policy(&["10.0.0.0/8", "192.0.2.1"]);
        let peer = ip("10.0.0.1");
        assert_eq!(
            p.client_ip(peer, ["6.6.6.6, 203.0.113.5, 192.0.2.1"]),
            ip("203.0.113.5")
        );
        // Several header lines are one list.
        assert_eq!(
            p.client_ip(peer, ["6.6.6.6", "203.0.113.5:4444"]),
            ip("203.0.113.5")
        );
        assert_eq!(p.client_ip(peer, ["[2001:db8::7]:80"]), ip("2001:db8::7"));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(p.client_ip(peer, ["evil, 10.0.0.9"]), ip("10.0.0.9"));
        assert_eq!(p.client_ip(peer, Vec::<&str>::new()), ip("10.0.0.1"));
        // IPv4-mapped IPv6 peers count as their IPv4 address.
        assert_eq!(
            p.client_ip(ip("::ffff:10.0.0.1"), ["198.51.100.1"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in ["10.0.0.0/33", "example.com", ""] {
            let config = Config {
                trusted_proxies: vec![bad.into()],
                ..Config::default()
            };
            assert!(ProxyPolicy::from_config(&config).is_err(), "{bad}");
        }
        let config = Config {
            proxy_header: "X Forwarded".into(),
            ..Config::default()
        };
        assert!(ProxyPolicy::from_config(&config).is_err());
    }
}
