//! `[server.tls]` and `[server.tls.acme]`: where the certificate comes from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::values::{HttpUrl, checked_string, optional};
use super::{ConfigError, invalid};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub mode: TlsMode,
    /// Extra host names (and IPs) the self-signed certificate covers, besides localhost and
    /// 127.0.0.1 / ::1.
    pub hostnames: Vec<String>,
    /// PEM certificate chain, for `mode = "files"`.
    pub cert_path: Option<PathBuf>,
    /// PEM private key, for `mode = "files"`.
    pub key_path: Option<PathBuf>,
    /// For `mode = "acme"`.
    pub acme: AcmeSettings,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            mode: TlsMode::SelfSigned,
            hostnames: Vec::new(),
            cert_path: None,
            key_path: None,
            acme: AcmeSettings::default(),
        }
    }
}

impl TlsConfig {
    /// What the chosen mode needs.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match self.mode {
            TlsMode::Files if self.cert_path.is_none() || self.key_path.is_none() => invalid(
                "server.tls.cert_path",
                "tls.mode = \"files\" needs both server.tls.cert_path and server.tls.key_path",
            ),
            TlsMode::Acme => self.acme.validate(),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// A certificate made and renewed by BarberPro itself (stored in the data folder).
    SelfSigned,
    /// A certificate chain and key from files, re-read on SIGHUP.
    Files,
    /// Plain HTTP, for running behind a TLS-terminating proxy.
    Off,
    /// A certificate from an ACME CA (Let's Encrypt), obtained and renewed in the background.
    Acme,
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Certificates from an ACME CA (Let's Encrypt by default), TLS-ALPN-01 on the HTTPS port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeSettings {
    /// The names the certificate covers; each must resolve to this server.
    pub domains: Vec<DnsName>,
    /// The e-mail the CA writes to about expiry and problems. None (`""`): not set.
    #[serde(with = "optional")]
    pub contact: Option<Contact>,
    /// The CA's directory. Staging (untrusted certificates, generous limits):
    /// `https://acme-staging-v02.api.letsencrypt.org/directory`.
    pub directory_url: HttpUrl,
    /// A PEM root to trust for the directory's own HTTPS (a private or test CA); None: the
    /// public web roots.
    pub directory_ca_file: Option<PathBuf>,
    /// Renew when the certificate has fewer days left than this.
    pub renew_before_days: u32,
    /// How often to look at the certificate's expiry, in seconds.
    pub check_interval_secs: u64,
    /// After a failed attempt, wait this long before the next (doubling up to 6 hours).
    pub retry_after_secs: u64,
}

impl Default for AcmeSettings {
    fn default() -> Self {
        Self {
            domains: Vec::new(),
            contact: None,
            directory_url: LETS_ENCRYPT.parse().expect("an https:// URL"),
            directory_ca_file: None,
            renew_before_days: 30,
            check_interval_secs: 12 * 3600,
            retry_after_secs: 60,
        }
    }
}

impl AcmeSettings {
    /// The domains as plain strings (certificate names).
    pub fn domain_names(&self) -> Vec<String> {
        self.domains.iter().map(ToString::to_string).collect()
    }

    /// What `tls.mode = "acme"` needs besides well-formed values. Whether the domains really
    /// reach this server can only be learned at run time (the first order says so in the log).
    fn validate(&self) -> Result<(), ConfigError> {
        if self.domains.is_empty() {
            return invalid(
                "server.tls.acme.domains",
                "tls.mode = \"acme\" needs the domain names that point at this server, e.g. [\"turnos.example.com\"]",
            );
        }
        if self.contact.is_none() {
            return invalid(
                "server.tls.acme.contact",
                "an e-mail address the CA can write to about this certificate",
            );
        }
        if !self.directory_url.is_https() {
            return invalid("server.tls.acme.directory_url", "must be an https:// URL");
        }
        if self.renew_before_days == 0
            || self.check_interval_secs == 0
            || self.retry_after_secs == 0
        {
            return invalid(
                "server.tls.acme.renew_before_days",
                "renew_before_days, check_interval_secs and retry_after_secs must be above 0",
            );
        }
        Ok(())
    }
}

checked_string! {
    /// A DNS name a certificate can be ordered for: no IP address, no wildcard.
    pub struct DnsName;
    fn check(domain) {
        let ok = domain.len() <= 253
            && domain.contains('.')
            && domain.parse::<std::net::IpAddr>().is_err()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if ok {
            Ok(())
        } else {
            Err(format!("`{domain}` is not a DNS name (no IP addresses, no wildcards)"))
        }
    }
}

checked_string! {
    /// The ACME account's contact: an e-mail address.
    pub struct Contact;
    fn check(s) {
        if s.contains('@') {
            Ok(())
        } else {
            Err("an e-mail address the CA can write to about this certificate".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme_config(f: fn(&mut AcmeSettings)) -> Option<String> {
        let mut tls = TlsConfig {
            mode: TlsMode::Acme,
            ..TlsConfig::default()
        };
        tls.acme.domains = vec!["turnos.example.com".parse().expect("a name")];
        tls.acme.contact = Some("dueno@example.com".parse().expect("an address"));
        f(&mut tls.acme);
        tls.validate().err().map(|e| e.to_string())
    }

    #[test]
    fn acme_mode_says_what_is_missing() {
        assert_eq!(acme_config(|_| {}), None, "domains and contact are enough");
        let no_domain = acme_config(|a| a.domains.clear()).expect("refused");
        assert!(no_domain.contains("server.tls.acme.domains"), "{no_domain}");
        let no_contact = acme_config(|a| a.contact = None).expect("refused");
        assert!(
            no_contact.contains("server.tls.acme.contact"),
            "{no_contact}"
        );
        let http = acme_config(|a| a.directory_url = "http://ca.example/dir".parse().expect("url"))
            .expect("refused");
        assert!(http.contains("server.tls.acme.directory_url"), "{http}");
    }

    #[test]
    fn acme_domains_are_dns_names() {
        for bad in [
            "",
            "203.0.113.7",
            "*.example.com",
            "localhost",
            "-a.example.com",
        ] {
            let err = bad.parse::<DnsName>().expect_err(bad);
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!("turnos.example.com".parse::<DnsName>().is_ok());
        assert!("dueno-at-example.com".parse::<Contact>().is_err());
    }
}
