//! Who is asking: the client's IP address, from the socket, or from `Forwarded` /
//! `X-Forwarded-For` when (and only when) the socket peer is a trusted reverse proxy.
//!
//! Headers from anyone else are ignored: a client that sends a made-up `X-Forwarded-For`
//! is still counted under its own address.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`, or a plain
/// address, which is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
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

/// The configured `rate_limit.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
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
    fn networks_parse_and_match() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(
            net.contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped addresses match IPv4 networks"
        );
        let one = IpNet::parse("192.168.1.10").unwrap();
        assert!(one.contains(ip("192.168.1.10")) && !one.contains(ip("192.168.1.11")));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "fe80::/129", "example.com", "10.0.0.0/x"] {
            assert!(IpNet::parse(bad).is_err(), "{bad:?} should be refused");
        }
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
