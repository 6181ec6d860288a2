//! Checkpoints: a durable redb commit after journaled ones, after which the journal lets go
//! of their records. Part of [`Durability`] (its state is the journal's and the flush's), so
//! a child of it rather than a sibling. The writer only hands redb's pages to the kernel;
//! their flush runs on the [`dbfile`](crate::store::engine::dbfile) flush thread, and the journal's retired segment keeps the
//! records it covers until that flush is done. A checkpoint due while the last one's flush
//! still runs is put off, never waited for.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redb::Database;

use super::Durability;
use crate::store::engine::WriterEvent;
use crate::store::engine::dbfile::Ticket;

impl Durability {
    /// Makes everything committed so far durable in redb, if the journal holds anything and
    /// `due` says so: commits an empty transaction durably, which hands redb's buffered pages
    /// to the kernel, and (with a flusher) leaves their flush to the flush thread, rotating
    /// the journal. Also notices the end of the last checkpoint's flush.
    pub(in crate::store::engine) fn checkpoint(
        &mut self,
        db: &Database,
        due: impl Fn(Duration) -> bool,
    ) {
        self.settle(false);
        let Some(journal) = self.journal.as_ref() else {
            return;
        };
        if journal.used() == 0 || !due(self.flushed_at.elapsed()) {
            return;
        }
        if self.flushing.is_some() {
            // The retired segment is needed again, and the last checkpoint's (paced) flush
            // still runs: the next batch or tick tries again rather than wait for it here.
            return;
        }
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        if journal.is_retiring() {
            // Its flush failed: the records stay where they are (see `settle`).
            return;
        }
        let started = Instant::now();
        // Deferred only once the transaction is open: redb's one-writer lock then makes sure
        // the flush handed over is this commit's.
        let (committed, ticket) = match db.begin_write() {
            Ok(txn) => match &self.flusher {
                Some(flusher) => flusher.deferring(|| txn.commit().map_err(redb::Error::from)),
                None => (txn.commit().map_err(redb::Error::from), None),
            },
            Err(e) => (Err(e.into()), None),
        };
        let paused = started.elapsed();
        match (committed, ticket) {
            (Ok(()), Some(ticket)) => {
                journal.rotate();
                self.flushed_at = Instant::now();
                self.flushing = Some(Flushing {
                    ticket,
                    started,
                    paused,
                });
            }
            (Ok(()), None) => {
                self.flushed();
                self.report(WriterEvent::Checkpoint {
                    elapsed: paused,
                    paused,
                    ok: true,
                });
            }
            (Err(e), _) => {
                tracing::error!(error = %e, "checkpoint failed; the journal keeps its records");
                self.halt.halt(&format!("a checkpoint failed: {e}"));
                self.failed_checkpoint(paused, paused);
            }
        }
        tracing::debug!(paused_us = paused.as_micros() as u64, "checkpoint");
    }

    /// If the last checkpoint's flush is over (or once it is, with `wait`), lets the journal's
    /// retired segment go and reports the checkpoint.
    pub(in crate::store::engine) fn settle(&mut self, wait: bool) {
        let (Some(flushing), Some(flusher)) = (&self.flushing, &self.flusher) else {
            return;
        };
        let outcome = if wait {
            flusher.wait(flushing.ticket)
        } else {
            match flusher.finished(flushing.ticket) {
                Some(outcome) => outcome,
                None => return,
            }
        };
        let Flushing {
            started, paused, ..
        } = *flushing;
        self.flushing = None;
        match outcome {
            Ok(finished_at) => {
                if let Some(journal) = self.journal.as_mut() {
                    if let Err(e) = journal.retire() {
                        tracing::error!(error = %e, path = %journal.path().display(), "the journal cannot let go of its records; no longer used");
                        self.journal = None;
                    } else if journal.used() == 0 {
                        self.unflushed.store(false, Ordering::Release);
                    }
                }
                // Until both the writer's part and the flush were done, not until this thread
                // noticed (an idle writer notices at the next tick).
                self.report(WriterEvent::Checkpoint {
                    elapsed: finished_at.saturating_duration_since(started).max(paused),
                    paused,
                    ok: true,
                });
            }
            Err(why) => {
                // redb's file refuses every change from now on; the journal keeps every
                // record since the last good checkpoint, for the replay at the next start.
                tracing::error!(error = %why, "a checkpoint's flush failed; the journal keeps its records");
                self.halt
                    .halt(&format!("a checkpoint's flush failed: {why}"));
                self.failed_checkpoint(started.elapsed(), paused);
            }
        }
    }

    fn failed_checkpoint(&mut self, elapsed: Duration, paused: Duration) {
        // The next attempt waits a second more than usual: a failing disk would otherwise be
        // retried (and logged) at every tick.
        self.flushed_at = Instant::now() + Duration::from_secs(1);
        self.report(WriterEvent::Checkpoint {
            elapsed,
            paused,
            ok: false,
        });
    }

    /// redb just committed durably (not deferred, so after any deferred flush): the journal's
    /// records are all in it.
    pub(in crate::store::engine) fn flushed(&mut self) {
        self.settle(true);
        self.flushed_at = Instant::now();
        self.unflushed.store(false, Ordering::Release);
        if let Some(journal) = self.journal.as_mut()
            && let Err(e) = journal.start_over()
        {
            // Harmless for correctness (its records are in the database, so a replay skips
            // them), but the journal would fill: write through redb from now on.
            tracing::error!(error = %e, path = %journal.path().display(), "the journal cannot start over; no longer used");
            self.journal = None;
        }
    }
}

/// A checkpoint whose flush runs in the background.
#[derive(Clone, Copy)]
pub(in crate::store::engine) struct Flushing {
    ticket: Ticket,
    started: Instant,
    paused: Duration,
}
