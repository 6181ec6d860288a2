//! MercadoPago's webhook signature: `X-Signature: ts=<ts>,v1=<hex>` where `v1` is
//! `hex(HMAC-SHA256(secret, "id:<data.id>;request-id:<X-Request-Id>;ts:<ts>;"))`; a part
//! whose value is missing is left out of the manifest.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Signature header")]
    Missing,
    #[error("X-Signature without ts or v1")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signed timestamp is outside the tolerance")]
    Stale,
}

/// The signed manifest, parts with a missing value left out.
pub fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut m = String::new();
    if let Some(id) = data_id.filter(|s| !s.is_empty()) {
        m.push_str(&format!("id:{id};"));
    }
    if let Some(rid) = request_id.filter(|s| !s.is_empty()) {
        m.push_str(&format!("request-id:{rid};"));
    }
    m.push_str(&format!("ts:{ts};"));
    m
}

/// Lowercase hex of HMAC-SHA256(secret, message).
pub fn sign(secret: &[u8], message: &str) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `ts` and `v1` of an `X-Signature` header (unknown keys ignored).
pub fn parse_header(header: &str) -> Result<(&str, &str), SignatureError> {
    let (mut ts, mut v1) = (None, None);
    for part in header.split(',') {
        if let Some((k, v)) = part.split_once('=') {
            match k.trim() {
                "ts" => ts = Some(v.trim()),
                "v1" => v1 = Some(v.trim()),
                _ => {}
            }
        }
    }
    match (ts, v1) {
        (Some(ts), Some(v1)) if !ts.is_empty() && !v1.is_empty() => Ok((ts, v1)),
        _ => Err(SignatureError::Malformed),
    }
}

/// Checks a webhook: the header's `v1` against our HMAC of the manifest (constant time),
/// then the age of `ts` (values above 10^12 are milliseconds) against `tolerance_secs`
/// around `now_secs`.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    data_id: Option<&str>,
    request_id: Option<&str>,
    now_secs: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let (ts, v1) = parse_header(header.ok_or(SignatureError::Missing)?)?;
    let expected = sign(secret, &manifest(data_id, request_id, ts));
    let given = v1.to_ascii_lowercase();
    if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        return Err(SignatureError::Mismatch);
    }
    let raw: i64 = ts.parse().map_err(|_| SignatureError::Malformed)?;
    let secs = if raw > 1_000_000_000_000 {
        raw / 1000
    } else {
        raw
    };
    if now_secs.abs_diff(secs) > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"your_secret_key_here";
    const RID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
    const TS: &str = "1742505638683";
    const NOW: i64 = 1_742_505_638;

    #[test]
    fn reference_vectors() {
        let m = manifest(Some("123456"), Some(RID), TS);
        assert_eq!(m, format!("id:123456;request-id:{RID};ts:{TS};"));
        assert_eq!(
            sign(SECRET, &m),
            "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd"
        );
        let m = manifest(None, Some(RID), TS);
        assert_eq!(
            sign(SECRET, &m),
            "d69d974256f9e0bc92b7894e202b36a44a10f1f677e6db59a38c8695a37b65e4"
        );
    }

    #[test]
    fn good_signatures_pass_in_any_part_order_and_case() {
        let v1 = "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd";
        let header = format!("ts={TS},v1={v1}");
        assert_eq!(
            verify(SECRET, Some(&header), Some("123456"), Some(RID), NOW, 300),
            Ok(())
        );
        let reordered = format!("v2=whatever, v1={} ,ts={TS}", v1.to_uppercase());
        assert_eq!(
            verify(
                SECRET,
                Some(&reordered),
                Some("123456"),
                Some(RID),
                NOW,
                300
            ),
            Ok(())
        );
    }

    #[test]
    fn forged_missing_malformed_and_stale_signatures_fail() {
        let v1 = "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd";
        let ok = format!("ts={TS},v1={v1}");
        let check =
            |h: Option<&str>, id: &str, now: i64| verify(SECRET, h, Some(id), Some(RID), now, 300);
        assert_eq!(check(None, "123456", NOW), Err(SignatureError::Missing));
        assert_eq!(
            check(Some("v1=abc"), "123456", NOW),
            Err(SignatureError::Malformed)
        );
        // Another payment id under the same signature: the manifest differs.
        assert_eq!(
            check(Some(&ok), "123457", NOW),
            Err(SignatureError::Mismatch)
        );
        let forged = format!("ts={TS},v1={}", "0".repeat(64));
        assert_eq!(
            check(Some(&forged), "123456", NOW),
            Err(SignatureError::Mismatch)
        );
        // Another timestamp with the old hash.
        let moved = format!("ts=1742505638684,v1={v1}");
        assert_eq!(
            check(Some(&moved), "123456", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(&ok), "123456", NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(Some(&ok), "123456", NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                b"another secret",
                Some(&ok),
                Some("123456"),
                Some(RID),
                NOW,
                300
            ),
            Err(SignatureError::Mismatch)
        );
    }
}
