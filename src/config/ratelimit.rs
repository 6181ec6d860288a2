//! `[rate_limit]`: the request tiers and the reverse proxies whose forwarding headers are
//! believed ([`IpNet`]).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Request rate limits, per client IP (and per account for logins). Each tier allows a burst
/// of `requests` and refills completely in `per_secs` (GCRA: one request every
/// `per_secs / requests` seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// false: no request is rate-limited (connection limits still apply).
    pub enabled: bool,
    /// Reverse proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` / `Forwarded`
    /// headers are believed. Requests from anyone else are keyed by their socket address.
    pub trusted_proxies: Vec<IpNet>,
    /// Seconds between sweeps that forget clients back at a full quota (bounded memory).
    pub prune_interval_secs: u64,
    /// Every anonymous request except probes, static assets and webhooks.
    pub global: RateTier,
    /// Login attempts, per IP and separately per account.
    pub auth: RateTier,
    /// Booking creation (on top of the global tier).
    pub booking: RateTier,
    /// Payment endpoints (on top of the global tier).
    pub payments: RateTier,
    /// Webhooks from payment and messaging providers, instead of the global tier.
    pub webhooks: RateTier,
    /// Logged-in staff, per account, instead of the global tier.
    pub staff: RateTier,
}

/// A burst of `requests`, refilled completely in `per_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateTier {
    pub requests: u32,
    pub per_secs: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let tier = |requests, per_secs| RateTier { requests, per_secs };
        Self {
            enabled: true,
            trusted_proxies: Vec::new(),
            prune_interval_secs: 60,
            global: tier(200, 15 * 60),
            auth: tier(10, 15 * 60),
            booking: tier(30, 15 * 60),
            payments: tier(20, 60 * 60),
            webhooks: tier(300, 60),
            staff: tier(3000, 15 * 60),
        }
    }
}

impl RateLimitConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let tiers = [
            ("rate_limit.global", self.global),
            ("rate_limit.auth", self.auth),
            ("rate_limit.booking", self.booking),
            ("rate_limit.payments", self.payments),
            ("rate_limit.webhooks", self.webhooks),
            ("rate_limit.staff", self.staff),
        ];
        for (key, tier) in tiers {
            if tier.requests == 0 || tier.per_secs == 0 {
                return invalid(key, "requests and per_secs must be at least 1");
            }
        }
        if self.prune_interval_secs == 0 {
            return invalid("rate_limit.prune_interval_secs", "must be at least 1");
        }
        Ok(())
    }
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`, or a plain
/// address, which is a /32 or /128). Written back as it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

    /// Whether `ip` is in the network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
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

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IpNet {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl From<IpNet> for String {
    fn from(net: IpNet) -> String {
        net.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid ip")
    }

    #[test]
    fn networks_parse_and_match() {
        let net = IpNet::parse("10.0.0.0/8").expect("valid");
        assert!(net.contains(ip("10.200.3.4")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(
            net.contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped addresses match IPv4 networks"
        );
        let one = IpNet::parse("192.168.1.10").expect("valid");
        assert!(one.contains(ip("192.168.1.10")) && !one.contains(ip("192.168.1.11")));
        let v6 = IpNet::parse("2001:db8::/32").expect("valid");
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(
            IpNet::parse("0.0.0.0/0")
                .expect("valid")
                .contains(ip("8.8.8.8"))
        );
        for bad in ["", "10.0.0.0/33", "fe80::/129", "example.com", "10.0.0.0/x"] {
            assert!(IpNet::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn networks_are_written_as_given() {
        for s in ["10.0.0.0/8", "127.0.0.1", "2001:db8::/32", "::1"] {
            assert_eq!(IpNet::parse(s).expect(s).to_string(), s);
        }
    }
}
