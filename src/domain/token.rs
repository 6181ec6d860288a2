//! The secret token in a client's manage link.
//!
//! Tokens are derived, not stored: `token = base64url(HMAC-SHA256(server key, booking id))`.
//! The database keeps only SHA-256 of the token, so a copy of the database (a snapshot)
//! cannot act on anyone's booking, while a retried request with the same Idempotency-Key can
//! be answered with the same token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::BookingId;

/// The server's key for manage tokens (32 random bytes kept in the data folder).
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

impl TokenKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A 32-byte key for one `purpose` alone (HMAC of the purpose under this key), so no
    /// other use of `secret.key` can be turned against it.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"barberpro/derive/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The manage token of a booking.
    pub fn issue(&self, booking: BookingId) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"barberpro/manage/v1/");
        mac.update(&booking.0.to_be_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// SHA-256 of a token, hex: what the database keeps.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` matches the stored hash, in constant time.
pub fn verify(token: &str, stored_hash: &str) -> bool {
    hash(token).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_booking_and_verify_against_their_hash() {
        let key = TokenKey::from_bytes([7; 32]);
        let t1 = key.issue(BookingId(1));
        assert_eq!(t1, key.issue(BookingId(1)));
        assert_ne!(t1, key.issue(BookingId(2)));
        assert_ne!(t1, TokenKey::from_bytes([8; 32]).issue(BookingId(1)));
        assert!(verify(&t1, &hash(&t1)));
        assert!(!verify("nope", &hash(&t1)));
        assert_eq!(t1.len(), 43);
    }
}
