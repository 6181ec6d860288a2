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
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Read back (JSON, a stored row) through [`Email::parse`].
impl TryFrom<String> for Email {
    type Error = DomainError;

    fn try_from(raw: String) -> Result<Self, DomainError> {
        let email = Self::parse(&raw)?;
        if email.0.len() == raw.len() {
            Ok(email)
        } else {
            Err(DomainError::InvalidEmail)
        }
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

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
    /// The front desk's notes about the person (preferences, allergies…).
    #[serde(default)]
    pub notes: Option<Text>,
    /// When the person's data was erased (Ley 25.326): the record is a shell that keeps the
    /// bookings' accounts together, with no name, phone, e-mail or notes.
    #[serde(default)]
    pub anonymised_at: Option<Timestamp>,
    /// The records merged into this one (the same person saved twice), oldest merge first:
    /// their ids still name the person in the audit log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<ClientId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The name an anonymised client is shown with.
pub const ANONYMISED_NAME: &str = "Cliente anonimizado";

impl Client {
    pub fn is_anonymised(&self) -> bool {
        self.anonymised_at.is_some()
    }

    /// The same record with every personal field replaced: name, phone (a placeholder that is
    /// no number, so nobody can be reached or found by it), e-mail, notes and consent.
    pub fn anonymised(self, now: Timestamp) -> Self {
        Self {
            name: Text::from_static(ANONYMISED_NAME),
            phone: super::phone::erased_placeholder(self.id.0),
            email: None,
            notes: None,
            whatsapp_consent: false,
            anonymised_at: Some(now),
            updated_at: now,
            ..self
        }
    }
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
