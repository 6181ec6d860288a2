//! The change log's segment format, independent of redb's file format (`docs/storage.md`).
//! Pure: encoding and scanning bytes, no I/O.
//!
//! ```text
//! segment = header record* footer?
//! header  = "BPCHLOG1" u8 gen_len gen u64 segment_no
//! record  = u32 len  u64 seq  i64 commit_unix_ms  ops  [8]check      (len counts all after it)
//! footer  = u32 0xFFFF_FFFF  u64 records  u64 first_seq  u64 last_seq
//!           i64 first_ms  i64 last_ms  [32]sha256(everything before these 32 bytes)
//! ```
//! `check` is the first 8 bytes of SHA-256 over seq, time and ops; `ops` is
//! [`capture`](super::super::capture)'s encoding. Integers are little-endian. A segment
//! without its footer is open (being written) or truncated.

use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 8] = b"BPCHLOG1";
const FOOTER_MARK: u32 = u32::MAX;
const FOOTER_LEN: usize = 4 + 8 * 5 + 32;

/// One committed write transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    /// Commit time, Unix milliseconds (the machine's clock).
    pub at_ms: i64,
    pub ops: Vec<u8>,
}

/// A sealed segment's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    pub records: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

pub fn header(generation: &str, segment: u64) -> Vec<u8> {
    let gen_bytes = &generation.as_bytes()[..generation.len().min(255)];
    let mut out = Vec::with_capacity(17 + gen_bytes.len());
    out.extend_from_slice(MAGIC);
    out.push(gen_bytes.len() as u8);
    out.extend_from_slice(gen_bytes);
    out.extend_from_slice(&segment.to_le_bytes());
    out
}

fn check(seq: u64, at_ms: i64, ops: &[u8]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(seq.to_le_bytes());
    h.update(at_ms.to_le_bytes());
    h.update(ops);
    let d = h.finalize();
    let mut out = [0; 8];
    out.copy_from_slice(&d[..8]);
    out
}

pub fn encode_record(seq: u64, at_ms: i64, ops: &[u8]) -> Vec<u8> {
    let len = 8 + 8 + ops.len() + 8;
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&at_ms.to_le_bytes());
    out.extend_from_slice(ops);
    out.extend_from_slice(&check(seq, at_ms, ops));
    out
}

/// The footer that seals `body` (header and records as written).
pub fn footer(body: &[u8], f: &Footer) -> Vec<u8> {
    let mut out = Vec::with_capacity(FOOTER_LEN);
    out.extend_from_slice(&FOOTER_MARK.to_le_bytes());
    out.extend_from_slice(&f.records.to_le_bytes());
    out.extend_from_slice(&f.first_seq.to_le_bytes());
    out.extend_from_slice(&f.last_seq.to_le_bytes());
    out.extend_from_slice(&f.first_ms.to_le_bytes());
    out.extend_from_slice(&f.last_ms.to_le_bytes());
    let mut h = Sha256::new();
    h.update(body);
    h.update(&out);
    out.extend_from_slice(&h.finalize());
    out
}

/// What a scan of a segment's bytes found.
#[derive(Debug, Default)]
pub struct Scan {
    pub generation: String,
    pub segment: u64,
    /// The records up to the first damage, in file order.
    pub records: Vec<Record>,
    /// Bytes of the valid prefix (header and whole records), where an append continues.
    pub valid_len: usize,
    pub footer: Option<Footer>,
    /// Why the scan stopped early: a torn or corrupt record, a bad footer hash. `None`: the
    /// bytes end cleanly (after the footer, or after a whole record when not sealed).
    pub damage: Option<String>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a segment: its header, every record up to the first damage, its footer.
pub fn scan(bytes: &[u8]) -> Result<Scan, String> {
    if bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err("not a change-log segment (bad magic)".into());
    }
    let gen_len = usize::from(*bytes.get(8).ok_or("header truncated")?);
    let generation = bytes
        .get(9..9 + gen_len)
        .and_then(|g| std::str::from_utf8(g).ok())
        .ok_or("header truncated")?
        .to_owned();
    let segment = u64_at(bytes, 9 + gen_len).ok_or("header truncated")?;
    let mut at = 17 + gen_len;
    let mut scan = Scan {
        generation,
        segment,
        valid_len: at,
        ..Scan::default()
    };
    while at < bytes.len() {
        let Some(len) = u32_at(bytes, at) else {
            scan.damage = Some(format!("truncated record length at byte {at}"));
            return Ok(scan);
        };
        if len == FOOTER_MARK {
            let Some(tail) = bytes.get(at..at + FOOTER_LEN) else {
                scan.damage = Some(format!("truncated footer at byte {at}"));
                return Ok(scan);
            };
            let f = Footer {
                records: u64_at(tail, 4).unwrap_or(0),
                first_seq: u64_at(tail, 12).unwrap_or(0),
                last_seq: u64_at(tail, 20).unwrap_or(0),
                first_ms: u64_at(tail, 28).unwrap_or(0) as i64,
                last_ms: u64_at(tail, 36).unwrap_or(0) as i64,
            };
            let sealed = footer(&bytes[..at], &f);
            if sealed != tail {
                scan.damage = Some("the segment's SHA-256 does not match its footer".into());
            } else if f.records != scan.records.len() as u64 {
                scan.damage = Some(format!(
                    "the footer counts {} records, the segment holds {}",
                    f.records,
                    scan.records.len()
                ));
            } else if at + FOOTER_LEN != bytes.len() {
                scan.damage = Some("bytes after the footer".into());
            } else {
                scan.footer = Some(f);
            }
            return Ok(scan);
        }
        let len = len as usize;
        let Some(body) = bytes.get(at + 4..at + 4 + len).filter(|_| len >= 24) else {
            scan.damage = Some(format!("truncated record at byte {at}"));
            return Ok(scan);
        };
        let seq = u64_at(body, 0).unwrap_or(0);
        let at_ms = u64_at(body, 8).unwrap_or(0) as i64;
        let ops = &body[16..len - 8];
        if check(seq, at_ms, ops) != body[len - 8..] {
            scan.damage = Some(format!("record at byte {at} fails its checksum"));
            return Ok(scan);
        }
        scan.records.push(Record {
            seq,
            at_ms,
            ops: ops.to_vec(),
        });
        at += 4 + len;
        scan.valid_len = at;
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(records: &[(u64, i64, &[u8])]) -> Vec<u8> {
        let mut body = header("gen-1", 7);
        for (seq, at, ops) in records {
            body.extend(encode_record(*seq, *at, ops));
        }
        let f = Footer {
            records: records.len() as u64,
            first_seq: records[0].0,
            last_seq: records[records.len() - 1].0,
            first_ms: records[0].1,
            last_ms: records[records.len() - 1].1,
        };
        let tail = footer(&body, &f);
        body.extend(tail);
        body
    }

    #[test]
    fn a_sealed_segment_reads_back_whole() {
        let bytes = sealed(&[(5, 100, b"abc"), (6, 200, b"")]);
        let scan = scan(&bytes).expect("scan");
        assert_eq!((scan.generation.as_str(), scan.segment), ("gen-1", 7));
        assert_eq!(scan.records.len(), 2);
        assert_eq!(scan.records[0].ops, b"abc");
        assert_eq!(scan.footer.expect("sealed").last_seq, 6);
        assert!(scan.damage.is_none());
    }

    #[test]
    fn every_flipped_bit_and_every_truncation_is_caught() {
        let bytes = sealed(&[(5, 100, b"abc"), (6, 200, b"defg")]);
        // The header's segment number is covered by the footer's hash too.
        let records_from = header("gen-1", 7).len();
        for i in records_from - 8..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            let s = scan(&bad).expect("header intact");
            assert!(
                s.footer.is_none() || s.records.len() < 2,
                "flip at {i} went unnoticed"
            );
            assert!(s.damage.is_some(), "flip at {i} reported no damage");
        }
        for cut in records_from..bytes.len() {
            let s = scan(&bytes[..cut]).expect("header intact");
            assert!(s.footer.is_none(), "a cut at {cut} still reads as sealed");
        }
    }
}
