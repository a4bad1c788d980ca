//! The client's IP address: the TCP peer, or — only when the peer is a trusted proxy — the
//! nearest untrusted address in `X-Forwarded-For`. Used by the rate limiter and the audit trail.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::dev::ServiceRequest;
use actix_web::{web, HttpRequest};

/// One trusted address or network (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has an invalid prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`). Empty: the header is
/// ignored and the TCP peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks.
    ///
    /// # Errors
    /// The first entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(IpNet::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client of a connection from `peer` that carried these `X-Forwarded-For` values.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        // Right to left: the first hop not added by a trusted proxy is the client. An entry
        // that is not an address ends the walk (everything left of it is client-supplied).
        let mut client = peer;
        for hop in forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rev()
        {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

fn resolve(
    peer: Option<IpAddr>,
    trusted: Option<&TrustedProxies>,
    headers: &actix_web::http::header::HeaderMap,
) -> Option<IpAddr> {
    let peer = peer?;
    let Some(trusted) = trusted else {
        return Some(peer);
    };
    let values: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(trusted.client(peer, &values))
}

/// The client IP of a request (for extractors).
pub fn of_request(req: &HttpRequest) -> Option<IpAddr> {
    resolve(
        req.peer_addr().map(|a| a.ip()),
        req.app_data::<web::Data<TrustedProxies>>()
            .map(|d| d.get_ref()),
        req.headers(),
    )
}

/// The client IP of a request (for middleware).
pub fn of_service_request(req: &ServiceRequest) -> Option<IpAddr> {
    resolve(
        req.peer_addr().map(|a| a.ip()),
        req.app_data::<web::Data<TrustedProxies>>()
            .map(|d| d.get_ref()),
        req.headers(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_ignored_from_untrusted_peers() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            trusted.client(ip("203.0.113.9"), &["1.2.3.4"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &["1.2.3.4"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        // Spoofed left-most entry, then the real client, then a trusted proxy.
        let got = trusted.client(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.7", "192.168.1.1"]);
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(trusted.client(ip("10.1.2.3"), &[]), ip("10.1.2.3"));
        assert_eq!(trusted.client(ip("10.1.2.3"), &["garbage"]), ip("10.1.2.3"));
    }

    #[test]
    fn networks_parse_and_match() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("nope").is_err());
        let t = TrustedProxies::parse("fd00::/8,127.0.0.1").unwrap();
        assert!(t.trusts(ip("fd12::1")));
        assert!(t.trusts(ip("::ffff:127.0.0.1")));
        assert!(!t.trusts(ip("127.0.0.2")));
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .trusts(ip("8.8.8.8")));
    }
}
