//! `[security]`: HSTS and the origins allowed to call `/api/` from a browser (CORS).

use serde::{Deserialize, Serialize};

use super::values::checked_string;

/// Response headers and CORS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Origins (`https://host[:port]`) whose pages may call `/api/` from a browser.
    pub cors_allowed_origins: Vec<CorsOrigin>,
    /// `Strict-Transport-Security` max-age, sent when clients reach us over HTTPS. 0: never.
    pub hsts_max_age_secs: u64,
    pub hsts_include_subdomains: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            cors_allowed_origins: Vec::new(),
            hsts_max_age_secs: 365 * 24 * 3600,
            hsts_include_subdomains: false,
        }
    }
}

checked_string! {
    /// A CORS origin: exactly `scheme://host[:port]` (a trailing `/` tolerated), no wildcard,
    /// path or query.
    pub struct CorsOrigin;
    fn check(origin) {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| format!("`{origin}` must start with https:// or http://"))?;
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains(['/', '*', '?', '#', ' ']) {
            return Err(format!(
                "`{origin}` must be scheme://host[:port], without path or wildcard"
            ));
        }
        Ok(())
    }
}

impl CorsOrigin {
    /// The origin as browsers send it (without the trailing `/`).
    pub fn origin(&self) -> &str {
        self.0.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact() {
        for ok in [
            "https://reservas.barberpro.com.ar",
            "http://localhost:5173",
            "https://a.b/",
        ] {
            assert!(ok.parse::<CorsOrigin>().is_ok(), "{ok} should be accepted");
        }
        assert_eq!(
            "https://a.b/"
                .parse::<CorsOrigin>()
                .expect("valid")
                .origin(),
            "https://a.b"
        );
        for bad in [
            "*",
            "https://*.example.com",
            "reservas.example",
            "https://a.b/path",
            "ftp://a",
        ] {
            assert!(
                bad.parse::<CorsOrigin>().is_err(),
                "{bad} should be refused"
            );
        }
    }
}
