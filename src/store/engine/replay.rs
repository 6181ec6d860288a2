//! What a journal record holds for the writer, and the replay after a crash. A record's
//! payload is its batch's [`Journaled`] requests, in the order they ran, as a JSON array; each
//! journaled transaction sets `meta["journal.seq"]` to its record's number, so a replay
//! applies, in order, exactly the records after the durable one and refuses a journal that
//! skips one.

use redb::{Database, ReadableTable};

use super::capture::WriteTransaction;

use super::Tx;
use super::job::Journaled;
use super::journal::{Record, Stranded};
use crate::store::error::StoreError;

pub(super) use super::journal::JOURNAL_SEQ;

/// A journal record's payload: the batch's requests, in the order they ran, as a JSON array.
pub(super) fn record_payload(entries: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + entries.iter().map(|e| e.len() + 1).sum::<usize>());
    out.push(b'[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(entry);
    }
    out.push(b']');
    out
}

pub(super) fn journal_seq(txn: &WriteTransaction) -> Result<u64, StoreError> {
    Ok(txn
        .open_table(super::META)?
        .get(JOURNAL_SEQ)?
        .map_or(0, |v| v.value()))
}

pub(super) fn set_journal_seq(txn: &WriteTransaction, seq: u64) -> Result<(), StoreError> {
    txn.open_table(super::META)?.insert(JOURNAL_SEQ, seq)?;
    Ok(())
}

/// Applies the journal records the database lacks (those after its `journal.seq`), in order,
/// in one durable transaction; returns how many. Run before the writer starts. A record the
/// database lacks found past a damaged one (`stranded`) refuses the replay: only the last
/// record may be torn, and replaying up to the damage would lose what follows it.
pub fn replay<J: Journaled>(
    db: &Database,
    records: &[Record],
    stranded: &[Stranded],
    context: &J::Context,
    changelog: Option<&super::ChangeLog>,
) -> Result<usize, StoreError> {
    let txn = Tx::new(db.begin_write()?);
    let done = journal_seq(&txn)?;
    if let Some(lost) = stranded
        .iter()
        .filter(|s| s.seq > done)
        .min_by_key(|s| s.seq)
    {
        return Err(StoreError::Journal(format!(
            "{} is damaged at byte {}, and record {} (at byte {}), which the database lacks, \
             follows the damage: only a last record may be torn, so acknowledged bookings \
             would be lost. The journal is left as it is",
            lost.file.display(),
            lost.damaged_at,
            lost.seq,
            lost.at
        )));
    }
    let pending: Vec<&Record> = records.iter().filter(|r| r.seq > done).collect();
    let Some(first) = pending.first() else {
        return Ok(0);
    };
    if first.seq != done + 1 {
        return Err(StoreError::Journal(format!(
            "the database ends at record {done} but the journal resumes at {}: it belongs to \
             another copy of the database",
            first.seq
        )));
    }
    // The two segments' records, merged: a gap means records were lost, and replaying past
    // it would give other results than the first time.
    if let Some(pair) = pending.windows(2).find(|w| w[1].seq != w[0].seq + 1) {
        return Err(StoreError::Journal(format!(
            "the journal skips from record {} to {}",
            pair[0].seq, pair[1].seq
        )));
    }
    for record in &pending {
        let requests: Vec<J> =
            serde_json::from_slice(&record.payload).map_err(|source| StoreError::Corrupt {
                table: "(journal)".into(),
                source,
            })?;
        for request in requests {
            // Rule errors come out as they did the first time (and wrote nothing then either).
            match request.apply(&txn, context) {
                Err(e) if e.is_fatal() => return Err(e),
                Ok(_) | Err(_) => {}
            }
        }
        set_journal_seq(&txn, record.seq)?;
    }
    // The replayed requests are one transaction of the change log, as any batch.
    let stamp = match changelog {
        Some(log) => log.stamp(&txn)?,
        None => None,
    };
    let ops = txn.commit()?;
    if let (Some(log), Some((seq, at_ms))) = (changelog, stamp) {
        log.append(seq, at_ms, ops);
    }
    Ok(pending.len())
}
