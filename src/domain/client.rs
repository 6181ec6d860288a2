//! The people who book.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::catalog::id_type;
use super::{DomainError, Phone, Text};

id_type!(
    /// Identifies a client across every branch.
    ClientId
);

/// A plausible e-mail address (one `@`, a dot in the domain, no spaces), at most 254 chars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One person, one record for the whole chain, found by phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    pub name: Text,
    pub phone: Phone,
    pub email: Option<Email>,
    /// Whether the client agreed to receive WhatsApp messages.
    pub whatsapp_consent: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("ana@example.com.ar").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "a b@x.com",
            "a@b",
            "a@@b.com",
            "a@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
