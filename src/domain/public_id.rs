//! The booking id clients see (in their links, the API's `id`, the calendar file): one
//! AES-256 block of the internal id, keyed from `secret.key`, written base64url without
//! padding (22 characters). It reveals nothing (neither how many bookings there are nor the
//! order they came in), and a forged one decodes to no booking: the block's first 8 bytes
//! must be [`TAG`], which a random block matches once in 2^64.
//!
//! Old links carried the internal number; [`PublicIds::resolve`] still reads one until the
//! migration window (`booking.numeric_ids_until`) closes.

use std::fmt;
use std::str::FromStr;

use aes::Aes256;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{BookingId, DomainError};

/// The first half of every encrypted block (the second is the id, big-endian).
const TAG: [u8; 8] = *b"bp-turno";

/// Length of a public id: 16 bytes in base64url without padding.
pub const LEN: usize = 22;

/// What a public id looks like: 21 base64url characters and a last one that carries only two
/// bits (the encoding is canonical: the other four are zero).
pub const PATTERN: &str = "^[A-Za-z0-9_-]{21}[AQgw]$";

/// A well-formed public booking id (it may still name no booking).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicId(String);

impl PublicId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::block(raw)
            .map(|_| Self(raw.to_owned()))
            .ok_or(DomainError::InvalidField {
                field: "id",
                reason: "invalid booking id",
            })
    }

    /// The 16 bytes, if `raw` is exactly 22 characters of canonical base64url.
    fn block(raw: &str) -> Option<[u8; 16]> {
        if raw.len() != LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        bytes.try_into().ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PublicId {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        Self::parse(s)
    }
}

/// Read back (JSON) through [`PublicId::parse`].
impl TryFrom<String> for PublicId {
    type Error = DomainError;

    fn try_from(raw: String) -> Result<Self, DomainError> {
        Self::parse(&raw)
    }
}

impl From<PublicId> for String {
    fn from(id: PublicId) -> String {
        id.0
    }
}

/// Turns internal booking ids into public ones and back.
#[derive(Clone)]
pub struct PublicIds {
    cipher: Aes256,
    /// Until this instant a client's URL may still name a booking by its internal number.
    numeric_until: Option<Timestamp>,
}

impl fmt::Debug for PublicIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicIds")
            .field("key", &"[redacted]")
            .field("numeric_until", &self.numeric_until)
            .finish()
    }
}

impl PublicIds {
    /// `key`: 32 bytes derived from the server's secret for this purpose alone.
    /// `numeric_until`: the end of the migration window (`None`: numbers are never read).
    pub fn new(key: [u8; 32], numeric_until: Option<Timestamp>) -> Self {
        Self {
            cipher: Aes256::new(&key.into()),
            numeric_until,
        }
    }

    /// The public id of a booking.
    pub fn public(&self, id: BookingId) -> PublicId {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&TAG);
        block[8..].copy_from_slice(&id.0.to_be_bytes());
        let mut block = block.into();
        self.cipher.encrypt_block(&mut block);
        PublicId(URL_SAFE_NO_PAD.encode(block))
    }

    /// The booking a public id names, if it was made with this key.
    pub fn booking(&self, id: &PublicId) -> Option<BookingId> {
        let mut block = PublicId::block(&id.0)?.into();
        self.cipher.decrypt_block(&mut block);
        let (tag, id) = block.split_at(8);
        if tag != TAG {
            return None;
        }
        let id = u64::from_be_bytes(id.try_into().ok()?);
        (id != 0).then_some(BookingId(id))
    }

    /// The booking a client's URL names: a public id, or at `now` still inside the migration
    /// window an internal number. `None` for anything else (the caller answers "not found").
    pub fn resolve(&self, raw: &str, now: Timestamp) -> Option<BookingId> {
        if let Ok(id) = PublicId::parse(raw) {
            return self.booking(&id);
        }
        let open = self.numeric_until.is_some_and(|until| now < until);
        let numeric = !raw.is_empty() && raw.len() <= 20 && raw.bytes().all(|b| b.is_ascii_digit());
        match raw.parse::<u64>() {
            Ok(n) if open && numeric && n != 0 => Some(BookingId(n)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(until: Option<&str>) -> PublicIds {
        PublicIds::new([3; 32], until.map(|t| t.parse().unwrap()))
    }

    #[test]
    fn a_public_id_round_trips_and_looks_random() {
        let k = ids(None);
        let mut seen = std::collections::HashSet::new();
        for n in [1u64, 2, 3, 1000, u64::MAX] {
            let p = k.public(BookingId(n));
            assert_eq!(p.as_str().len(), LEN, "{p}");
            assert!(
                p.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(!p.as_str().contains(&n.to_string()) || n < 10);
            assert_eq!(k.booking(&p), Some(BookingId(n)));
            assert_eq!(PublicId::parse(p.as_str()), Ok(p.clone()));
            assert!(seen.insert(p));
        }
        // Another key reads none of them.
        let other = PublicIds::new([4; 32], None);
        assert_eq!(other.booking(&k.public(BookingId(1))), None);
    }

    #[test]
    fn the_pattern_says_what_parse_accepts() {
        let k = ids(None);
        let last: std::collections::BTreeSet<char> = (1..2000u64)
            .map(|n| k.public(BookingId(n)).as_str().chars().last().unwrap())
            .collect();
        assert_eq!(last.into_iter().collect::<String>(), "AQgw");
        let p = k.public(BookingId(7)).to_string();
        for bad in [
            "",
            "1",
            &p[..21],
            &format!("{p}A"),
            &format!("{}B", &p[..21]),
            &format!("{}=", &p[..21]),
            &format!("{}+", &p[..21]),
        ] {
            assert!(PublicId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<PublicId>("\"abc\"").is_err());
        assert_eq!(
            serde_json::from_str::<PublicId>(&format!("\"{p}\""))
                .unwrap()
                .as_str(),
            p
        );
    }

    #[test]
    fn a_forged_id_decodes_to_no_booking() {
        let k = ids(None);
        // Every well-formed id made by flipping one character of a real one names nothing.
        let p = k.public(BookingId(42)).to_string();
        for i in 0..21 {
            let mut s = p.clone().into_bytes();
            s[i] = if s[i] == b'A' { b'B' } else { b'A' };
            let forged = PublicId::parse(std::str::from_utf8(&s).unwrap()).unwrap();
            assert_eq!(k.booking(&forged), None, "{forged}");
        }
        assert_eq!(
            k.resolve("AAAAAAAAAAAAAAAAAAAAAA", Timestamp::UNIX_EPOCH),
            None
        );
    }

    #[test]
    fn numbers_are_read_only_inside_the_window() {
        let k = ids(Some("2027-03-08T03:00:00Z"));
        let before: Timestamp = "2027-03-08T02:59:59Z".parse().unwrap();
        let after: Timestamp = "2027-03-08T03:00:00Z".parse().unwrap();
        assert_eq!(k.resolve("17", before), Some(BookingId(17)));
        assert_eq!(k.resolve("17", after), None);
        for bad in [
            "0",
            "+17",
            "-1",
            " 17",
            "17 ",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(k.resolve(bad, before), None, "{bad:?}");
        }
        assert_eq!(ids(None).resolve("17", before), None);
        let p = k.public(BookingId(17));
        assert_eq!(k.resolve(p.as_str(), after), Some(BookingId(17)));
    }
}
