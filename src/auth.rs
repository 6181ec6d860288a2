//! Staff credentials: argon2id password hashes and the random tokens of sessions, CSRF and
//! the setup link. CPU work only (no database, no HTTP); hashing is slow on purpose, so
//! async callers run it on the blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::domain::staff::NewPassword;

/// argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of a new password.
pub fn hash_password(password: &NewPassword) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        // Only fails for parameters or salts outside argon2's limits, which ours are not.
        .unwrap_or_default()
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify_password(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks a password for an account that may not exist: with no stored hash, a dummy hash of
/// the same parameters is verified instead, so an unknown account costs as long as a known
/// one and the answer cannot tell them apart.
pub fn verify_or_waste_time(phc: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    match phc {
        Some(phc) => verify_password(phc, password),
        None => {
            let dummy = DUMMY.get_or_init(|| {
                let mut bytes = [0u8; 24];
                OsRng.fill_bytes(&mut bytes);
                let p = NewPassword::parse(&URL_SAFE_NO_PAD.encode(bytes)).ok();
                p.map(|p| hash_password(&p)).unwrap_or_default()
            });
            let _ = verify_password(dummy, password);
            false
        }
    }
}

/// 32 random bytes, base64url (43 characters): session, CSRF and setup tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A readable random password for `admin create-user` without a prompt: 20 characters.
pub fn generate_password() -> NewPassword {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    let s: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    NewPassword::parse(&s).unwrap_or_else(|_| unreachable!("20 characters is a valid length"))
}

/// Compares two tokens in constant time.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// SHA-256 of a token, hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    crate::domain::token::hash(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let p = NewPassword::parse("correct horse battery").expect("valid");
        let phc = hash_password(&p);
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(&phc, "correct horse battery"));
        assert!(!verify_password(&phc, "correct horse batterY"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        assert_ne!(phc, hash_password(&p), "salts are random");
    }

    #[test]
    fn unknown_accounts_never_verify() {
        assert!(!verify_or_waste_time(None, "anything at all"));
    }

    #[test]
    fn tokens_are_random_and_compare_exactly() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &b));
        assert!(!tokens_equal(&a, &a[..42]));
        assert_eq!(generate_password().expose().len(), 20);
    }
}
