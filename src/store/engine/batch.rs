//! Group commit: one batch of requests in one write transaction. Each request's closure runs
//! after the ones queued before it and sees their writes, so a rule checked there is as
//! strong as with one transaction per request; a rule error must have written nothing, and
//! any other error, or a panic, rolls the whole batch back. Nobody is answered before the
//! batch's fate is known, and a committed batch only once it is durable.

use std::time::Instant;

use redb::Database;
use tokio::sync::{mpsc, oneshot};

use super::durability::Durability;
use super::job::Job;
use super::queue::{Msg, take_queued};
use super::{BatchStats, Tx, WriterEvent};

/// Runs `first` and whatever is queued in one transaction, then commits it; true if it
/// committed and a request in it asked to wake the committed-work waiter
/// ([`Tx::wake_after_commit`]). A batch of logged requests has its journal record written
/// first, so that its `fdatasync` runs while the requests do; in any other batch, requests
/// that arrive while earlier ones run join the open transaction (up to
/// [`MAX_BATCH`](super::queue::MAX_BATCH)) instead of waiting for the next commit: the
/// commit's fixed cost is shared by more requests.
pub(super) fn run_batch(
    db: &Database,
    durability: &mut Durability,
    first: Box<dyn Job>,
    rx: &mut mpsc::Receiver<Msg>,
    stop: &mut Option<oneshot::Sender<()>>,
) -> bool {
    let started = Instant::now();
    let mut batch = vec![first];
    let mut wake = false;
    let outcome: Result<bool, String> = (|| {
        // No quick repair: it saves the allocator state with every commit, which makes each
        // commit much slower on a large database. The price is paid only after a crash: the
        // next start walks the file; a clean restart stays fast.
        let mut txn = Tx::capturing(
            db.begin_write().map_err(|e| e.to_string())?,
            durability.capturing(),
        );
        take_queued(rx, &mut batch, stop);
        let mut written = match durability.write_record(&mut txn, &batch) {
            Ok(written) => written,
            Err(why) => {
                let _ = txn.abort();
                return Err(why);
            }
        };
        let mut ran = 0;
        loop {
            for job in &mut batch[ran..] {
                if !job.run(&txn) {
                    if let Some(written) = written.take() {
                        durability.take_back(written);
                    }
                    txn.abort().map_err(|e| e.to_string())?;
                    return Err("a request in the batch failed; the batch was rolled back".into());
                }
            }
            ran = batch.len();
            // A journal record names its batch's requests: nobody joins after it is written.
            if written.is_none() {
                take_queued(rx, &mut batch, stop);
            }
            if ran == batch.len() {
                break;
            }
        }
        let stamp = match durability.stamp(&txn) {
            Ok(stamp) => stamp,
            Err(why) => {
                if let Some(written) = written.take() {
                    durability.take_back(written);
                }
                let _ = txn.abort();
                return Err(why);
            }
        };
        wake = txn.wakes();
        durability.commit(txn, written, stamp)
    })();
    // A failed batch's record that may still be read back is voided before anyone is told.
    let outcome = if durability.void(db) {
        outcome
    } else {
        Err("the database refused to void a failed batch's journal record".into())
    };
    let size = batch.len();
    match &outcome {
        Ok(journaled) => tracing::debug!(
            size,
            journaled,
            elapsed_us = started.elapsed().as_micros() as u64,
            "write batch committed"
        ),
        Err(why) => tracing::error!(size, error = %why, "write batch failed"),
    }
    durability.report(WriterEvent::Batch(BatchStats {
        requests: size,
        elapsed: started.elapsed(),
        committed: outcome.is_ok(),
        journaled: outcome.as_ref().is_ok_and(|j| *j),
    }));
    // A batch the halt ended is not answered: its callers see WriterGone (503, try again),
    // as everyone queued after it does.
    let halted = outcome.is_err() && durability.halt.reason().is_some();
    for job in batch {
        if halted {
            drop(job);
        } else {
            job.finish(outcome.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
    outcome.is_ok() && wake
}
