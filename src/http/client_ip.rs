//! Who is asking: the client's IP address, from the socket, or from `Forwarded` /
//! `X-Forwarded-For` when (and only when) the socket peer is a trusted reverse proxy.
//!
//! Headers from anyone else are ignored: a client that sends a made-up `X-Forwarded-For`
//! is still counted under its own address.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;

pub use crate::config::IpNet;

/// The configured `rate_limit.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| IpNet::parse(e))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client's address. From a trusted peer, the forwarding chain is read from the right
    /// (the hop our proxy added) and the first address that is not itself a trusted proxy is
    /// the client; everything to its left was written by the client and proves nothing.
    /// `Forwarded` wins over `X-Forwarded-For`; an unreadable chain means the peer itself.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.ip());
        if !self.contains(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers).or_else(|| x_forwarded_for_chain(headers));
        let Some(chain) = chain else {
            return peer;
        };
        let mut client = peer;
        for hop in chain.iter().rev() {
            client = *hop;
            if !self.contains(*hop) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they are.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The rate-limit key of an address: IPv4 as is; IPv6 by its /64 network, which is what one
/// subscriber gets (counting single IPv6 addresses would let one client rotate through
/// billions of them).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(net))
        }
        v4 => v4,
    }
}

/// All `X-Forwarded-For` values, in order; None if absent or any entry is not an address.
fn x_forwarded_for_chain(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for entry in value.to_str().ok()?.split(',') {
            chain.push(parse_node(entry.trim())?);
        }
    }
    (!chain.is_empty()).then_some(chain)
}

/// The `for=` parameters of all `Forwarded` elements (RFC 7239), in order.
fn forwarded_chain(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all("forwarded") {
        for element in value.to_str().ok()?.split(',') {
            for pair in element.split(';') {
                let Some((key, node)) = pair.trim().split_once('=') else {
                    continue;
                };
                if key.trim().eq_ignore_ascii_case("for") {
                    chain.push(parse_node(node.trim().trim_matches('"'))?);
                }
            }
        }
    }
    (!chain.is_empty()).then_some(chain)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:443` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sock) = node.parse::<SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    let inner = node.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("valid header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid ip")
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(ip(s), 40000)
    }

    #[test]
    fn an_untrusted_peer_is_keyed_by_its_socket_whatever_it_claims() {
        let proxies = TrustedProxies::parse(&["127.0.0.1".into()]).unwrap();
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")]);
        assert_eq!(
            proxies.client_ip(peer("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(peer("127.0.0.1"), &spoofed), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let proxies = TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let cases: &[(&[(&'static str, &str)], &str)] = &[
            (&[("x-forwarded-for", "198.51.100.7")], "198.51.100.7"),
            // The client prepended a lie; our proxy appended the real address.
            (
                &[("x-forwarded-for", "1.1.1.1, 198.51.100.7")],
                "198.51.100.7",
            ),
            // Two proxies of ours: skip them from the right.
            (
                &[("x-forwarded-for", "198.51.100.7, 10.1.2.3")],
                "198.51.100.7",
            ),
            (
                &[
                    ("x-forwarded-for", "1.1.1.1"),
                    ("x-forwarded-for", "198.51.100.7"),
                ],
                "198.51.100.7",
            ),
            (
                &[("forwarded", "for=198.51.100.8;proto=https")],
                "198.51.100.8",
            ),
            (
                &[("forwarded", "for=\"[2001:db8::1]:4711\"")],
                "2001:db8::1",
            ),
            (
                &[
                    ("forwarded", "for=198.51.100.8"),
                    ("x-forwarded-for", "5.5.5.5"),
                ],
                "198.51.100.8",
            ),
            // Garbage: fall back to the peer rather than trusting half a chain.
            (&[("x-forwarded-for", "unknown, 198.51.100.7")], "127.0.0.1"),
            (&[], "127.0.0.1"),
        ];
        for (hs, want) in cases {
            assert_eq!(
                proxies.client_ip(peer("127.0.0.1"), &headers(hs)),
                ip(want),
                "headers {hs:?}"
            );
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
