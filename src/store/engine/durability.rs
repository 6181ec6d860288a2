//! Where the writer's commits become durable, and in which order: a journaled batch's record
//! is written before its requests run and is on disk before its redb commit, which then
//! skips redb's flush; any other batch commits durably in redb. Checkpoints are in
//! [`checkpoint`], a part of this module.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::dbfile::Flusher;
use super::job::Job;
use super::journal::{Journal, Pending};
use super::replay::{journal_seq, record_payload, set_journal_seq};
use super::{Tx, WriterEvent, WriterObserver};
use checkpoint::Flushing;

mod checkpoint;

/// Where the writer's commits become durable: the journal, while it works, and redb.
pub(super) struct Durability {
    pub(super) journal: Option<Journal>,
    /// Runs checkpoints' flushes in the background; without it they run on the writer.
    pub(super) flusher: Option<Arc<Flusher>>,
    /// The last checkpoint, while its flush runs: the journal's retired segment holds the
    /// records it covers until it is done.
    pub(super) flushing: Option<Flushing>,
    /// When redb last committed durably (a checkpoint or a batch that was not journaled);
    /// after a failed checkpoint, a second ahead, which spaces out the retries.
    pub(super) flushed_at: Instant,
    /// Whether the journal holds records redb has not flushed, or a checkpoint's flush runs
    /// (read by the ticker thread, which then wakes an idle writer).
    pub(super) unflushed: Arc<AtomicBool>,
    pub(super) observer: Arc<OnceLock<WriterObserver>>,
    /// A failed batch's record that may still be read back (its write, flush or retraction
    /// failed): [`Durability::void`] moves `journal.seq` past it before anyone is answered.
    pub(super) to_void: Option<u64>,
    pub(super) halt: super::Halt,
    /// Where committed transactions' rows go (continuous backup), when kept.
    pub(super) changelog: Option<super::changelog::ChangeLog>,
}

impl Durability {
    pub(super) fn new(
        journal: Option<Journal>,
        flusher: Option<Arc<Flusher>>,
        unflushed: Arc<AtomicBool>,
        observer: Arc<OnceLock<WriterObserver>>,
        halt: super::Halt,
    ) -> Self {
        Self {
            journal,
            flusher,
            flushing: None,
            flushed_at: Instant::now(),
            unflushed,
            observer,
            to_void: None,
            halt,
            changelog: None,
        }
    }

    /// Whether the next transaction's rows are captured (the change log writes a generation).
    pub(super) fn capturing(&self) -> bool {
        self.changelog
            .as_ref()
            .is_some_and(super::changelog::ChangeLog::capturing)
    }

    /// Numbers the batch's transaction in the change log, if it keeps one and the batch
    /// changed rows (see [`ChangeLog::stamp`](super::changelog::ChangeLog::stamp)).
    pub(super) fn stamp(&self, txn: &Tx) -> Result<Option<(u64, i64)>, String> {
        match &self.changelog {
            Some(log) => log.stamp(txn).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    /// A committed transaction's rows go to the change log (off this thread).
    fn logged(&self, stamp: Option<(u64, i64)>, ops: Vec<u8>) {
        if let (Some(log), Some((seq, at_ms))) = (&self.changelog, stamp) {
            log.append(seq, at_ms, ops);
        }
    }

    pub(super) fn report(&self, event: WriterEvent) {
        if let Some(observe) = self.observer.get() {
            observe(event);
        }
    }

    /// Writes the batch's journal record, when every request in it is logged and the record
    /// fits, and starts its `fdatasync` (it runs while the requests do); the transaction then
    /// commits without flushing redb. `None`: the batch commits durably in redb.
    pub(super) fn write_record(
        &mut self,
        txn: &mut Tx,
        batch: &[Box<dyn Job>],
    ) -> Result<Option<Pending>, String> {
        let entries: Option<Vec<&[u8]>> = batch.iter().map(|job| job.entry()).collect();
        let (Some(journal), Some(entries)) = (self.journal.as_mut(), entries) else {
            return Ok(None);
        };
        let payload = record_payload(&entries);
        if !journal.fits(payload.len()) {
            return Ok(None);
        }
        let seq = journal_seq(txn).map_err(|e| e.to_string())? + 1;
        set_journal_seq(txn, seq).map_err(|e| e.to_string())?;
        txn.set_durability(redb::Durability::None)
            .map_err(|e| e.to_string())?;
        match journal.write(seq, &payload) {
            Ok(pending) => Ok(Some(pending)),
            Err(e) => {
                self.to_void = Some(seq);
                // The disk refused it: the batch fails, and from now on every batch is
                // flushed through redb instead.
                tracing::error!(error = %e, path = %journal.path().display(), "journal write failed; no longer used");
                self.journal = None;
                Err(format!("the journal write failed: {e}"))
            }
        }
    }

    /// Takes back the record of a batch that will not commit, once it is on disk: a replay
    /// must never make what its callers were told failed.
    /// If that fails, the record is voided once the transaction is gone ([`Self::void`]).
    pub(super) fn take_back(&mut self, written: Pending) {
        let seq = written.seq();
        let Some(journal) = self.journal.as_mut() else {
            self.to_void = Some(seq);
            return;
        };
        let undone = journal
            .wait(written)
            .and_then(|record| journal.retract(record));
        if let Err(e) = undone {
            tracing::error!(error = %e, "could not take back the journal record of a failed batch; no longer used");
            self.journal = None;
            self.to_void = Some(seq);
        }
    }

    /// redb refused a commit: after an I/O error it refuses every change, so the writer halts.
    pub(super) fn halted_by(&self, e: impl std::fmt::Display) -> String {
        let why = format!("the database refused a commit: {e}");
        self.halt.halt(&why);
        why
    }

    /// A failed batch's record may still be read back (see [`Self::take_back`]): a durable
    /// redb commit moves `journal.seq` to its number, so that no replay applies it. Called
    /// with no write transaction open, before the batch's callers are answered. False if the
    /// database refused it too.
    pub(super) fn void(&mut self, db: &redb::Database) -> bool {
        let Some(seq) = self.to_void.take() else {
            return true;
        };
        let voided = (|| -> Result<(), crate::store::error::StoreError> {
            let txn = super::WriteTransaction::unlogged(db.begin_write()?);
            if journal_seq(&txn)? < seq {
                set_journal_seq(&txn, seq)?;
            }
            txn.commit()?;
            Ok(())
        })();
        match voided {
            Ok(()) => {
                tracing::warn!(seq, "a failed batch's journal record was voided");
                self.flushed();
                true
            }
            Err(e) => {
                self.halt.halt(&format!(
                    "could not void the journal record {seq} of a failed batch: {e}"
                ));
                false
            }
        }
    }

    /// Commits the batch's transaction: once its journal record is on disk, when it has one
    /// (see [`Durability::write_record`]), otherwise durably in redb. True if journaled.
    pub(super) fn commit(
        &mut self,
        txn: Tx,
        written: Option<Pending>,
        stamp: Option<(u64, i64)>,
    ) -> Result<bool, String> {
        let Some(written) = written else {
            let ops = txn.commit().map_err(|e| self.halted_by(e))?;
            self.logged(stamp, ops);
            self.flushed();
            return Ok(false);
        };
        let seq = written.seq();
        let Some(journal) = self.journal.as_mut() else {
            let _ = txn.abort();
            self.to_void = Some(seq);
            return Err("the journal went away while its record was written".into());
        };
        let record = match journal.wait(written) {
            Ok(record) => record,
            Err(e) => {
                self.to_void = Some(seq);
                // Nothing is committed, and from now on every batch is flushed through redb.
                tracing::error!(error = %e, path = %journal.path().display(), "journal write failed; no longer used");
                self.journal = None;
                let _ = txn.abort();
                return Err(format!("the journal write failed: {e}"));
            }
        };
        let ops = match txn.commit() {
            Ok(ops) => ops,
            Err(e) => {
                let why = self.halted_by(e);
                let Some(journal) = self.journal.as_mut() else {
                    self.to_void = Some(seq);
                    return Err(why);
                };
                if let Err(undo) = journal.retract(record) {
                    tracing::error!(error = %undo, "could not retract the journal record of a failed commit");
                    self.journal = None;
                    self.to_void = Some(seq);
                }
                return Err(why);
            }
        };
        self.logged(stamp, ops);
        self.unflushed.store(true, Ordering::Release);
        Ok(true)
    }
}
