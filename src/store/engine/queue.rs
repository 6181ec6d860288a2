//! The writer's queue: what it carries, and how a batch takes from it. Both the writer's
//! handle and thread ([`writer`](super::writer)) and a batch ([`batch`](super::batch)) use it;
//! it uses neither, so the writer owns the batches and not the other way round.

use tokio::sync::{mpsc, oneshot};

use super::job::Job;

/// A batch never holds more than this many requests (nor more than are queued).
pub(super) const MAX_BATCH: usize = 256;
/// Queued requests beyond this wait for room (back-pressure instead of unbounded memory).
pub(super) const QUEUE_DEPTH: usize = 4096;

/// What the writer thread takes from its queue.
pub(super) enum Msg {
    Job(Box<dyn Job>),
    /// Time for a checkpoint, if the journal holds anything (sent while the writer may idle).
    Tick,
    /// Finish what is queued, then stop.
    Stop(oneshot::Sender<()>),
}

/// Moves what is queued into `batch`, up to [`MAX_BATCH`] and not past a stop request.
pub(super) fn take_queued(
    rx: &mut mpsc::Receiver<Msg>,
    batch: &mut Vec<Box<dyn Job>>,
    stop: &mut Option<oneshot::Sender<()>>,
) {
    while batch.len() < MAX_BATCH && stop.is_none() {
        match rx.try_recv() {
            Ok(Msg::Job(job)) => batch.push(job),
            // A busy writer checks for its checkpoint after every batch.
            Ok(Msg::Tick) => {}
            Ok(Msg::Stop(done)) => *stop = Some(done),
            Err(_) => break,
        }
    }
}
