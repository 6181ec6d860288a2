//! The writer's handle and its thread: requests queue up, the thread runs them in batches
//! (see [`batch`](super::batch)) and checkpoints between them when one is due.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redb::Database;
use tokio::sync::{Notify, mpsc, oneshot};

use super::batch::run_batch;
use super::dbfile::Flusher;
use super::durability::Durability;
use super::job::{Job, Journaled, Logged, TypedJob};
use super::journal::Journal;
use super::queue::{Msg, QUEUE_DEPTH};
use super::{Tx, WriterObserver};
use crate::store::error::StoreError;

/// The default time after a journaled commit when its checkpoint (the durable redb commit
/// after which the journal lets go of its records; `storage.checkpoint_interval_ms`) is due;
/// a busy writer waits for an empty queue, at most twice this, and for the last checkpoint's
/// flush to be done (a slow disk stretches it, never the writer). It bounds the replay after
/// a crash and the redb pages buffered meanwhile, which each checkpoint hands to the kernel.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// The handle through which async code submits writes; `J` is the request type it journals.
pub struct Writer<J: Journaled> {
    queue: mpsc::Sender<Msg>,
    observer: Arc<OnceLock<WriterObserver>>,
    committed_work: Arc<Notify>,
    halt: super::Halt,
    /// What every journaled request is applied with.
    context: J::Context,
}

impl<J: Journaled> Clone for Writer<J> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            observer: self.observer.clone(),
            committed_work: self.committed_work.clone(),
            halt: self.halt.clone(),
            context: self.context.clone(),
        }
    }
}

impl<J: Journaled> Writer<J> {
    /// Starts the writer thread, journaling `J` requests in `journal` when there is one;
    /// with a `flusher` (redb's file is a [`DbFile`](super::dbfile::DbFile)), checkpoints
    /// flush in the background. It stops when every `Writer` clone is dropped.
    pub fn start(
        db: Arc<Database>,
        journal: Option<Journal>,
        flusher: Option<Arc<Flusher>>,
        context: J::Context,
        checkpoint_every: Duration,
    ) -> std::io::Result<Self> {
        Self::start_logged(db, journal, flusher, context, checkpoint_every, None)
    }

    /// [`Writer::start`], appending every committed transaction's rows to `changelog`.
    pub fn start_logged(
        db: Arc<Database>,
        journal: Option<Journal>,
        flusher: Option<Arc<Flusher>>,
        context: J::Context,
        checkpoint_every: Duration,
        changelog: Option<super::ChangeLog>,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let observer = Arc::new(OnceLock::new());
        let seen = observer.clone();
        let committed_work = Arc::new(Notify::new());
        let wake = committed_work.clone();
        let unflushed = Arc::new(AtomicBool::new(false));
        if journal.is_some() {
            // Wakes an idle writer for its checkpoint when the journal holds records; holds
            // the queue weakly, so that the writer still stops once every `Writer` is dropped.
            let weak = queue.downgrade();
            let pending = unflushed.clone();
            std::thread::Builder::new()
                .name("redb-checkpoint".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(checkpoint_every / 2);
                        let Some(queue) = weak.upgrade() else { break };
                        if pending.load(Ordering::Acquire) {
                            let _ = queue.try_send(Msg::Tick);
                        }
                    }
                })?;
        }
        let halt = super::Halt::default();
        let mut durability = Durability::new(journal, flusher, unflushed, seen, halt.clone());
        durability.changelog = changelog;
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer_loop(db, durability, checkpoint_every, rx, wake))?;
        Ok(Self {
            queue,
            observer,
            committed_work,
            halt,
            context,
        })
    }

    /// Notified after each committed batch in which a request asked for it
    /// ([`Tx::wake_after_commit`]: it queued background work).
    pub fn committed_work(&self) -> Arc<Notify> {
        self.committed_work.clone()
    }

    /// Installs the observer (once; false if one is already installed).
    pub fn observe(&self, observer: WriterObserver) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// Whether the writer thread still takes requests (false once stopped, halted or dead).
    pub fn is_alive(&self) -> bool {
        !self.queue.is_closed() && self.halt.reason().is_none()
    }

    /// The writer's halt: why it stopped taking writes after an I/O error, if it did.
    pub fn halt(&self) -> &super::Halt {
        &self.halt
    }

    /// Commits what is queued, checkpoints, stops the writer thread and waits for it: after
    /// this, no write is in flight and later writes fail with [`StoreError::WriterGone`].
    pub async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.queue.send(Msg::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
    }

    /// Runs `work` inside a write transaction shared with other concurrent requests and
    /// returns its result once that transaction is durably committed.
    pub async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Tx) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (job, answer) = TypedJob::new(work);
        self.submit(Box::new(job), answer).await
    }

    /// Runs `request` (see [`Journaled::apply`]) in a shared transaction and returns its
    /// result once durable: through the journal, which records the request itself.
    pub async fn journaled(&self, request: J) -> Result<J::Output, StoreError> {
        let entry = serde_json::to_vec(&request).map_err(|source| StoreError::Corrupt {
            table: "(journal)".into(),
            source,
        })?;
        let context = self.context.clone();
        let (job, answer) = TypedJob::new(move |txn: &Tx| request.apply(txn, &context));
        self.submit(Box::new(Logged { job, entry }), answer).await
    }

    pub(super) async fn submit<R>(
        &self,
        job: Box<dyn Job>,
        answer: oneshot::Receiver<Result<R, StoreError>>,
    ) -> Result<R, StoreError> {
        self.queue
            .send(Msg::Job(job))
            .await
            .map_err(|_| self.gone())?;
        answer.await.map_err(|_| self.gone())?
    }

    /// Why a request went unanswered: a full disk, or the writer stopped.
    fn gone(&self) -> StoreError {
        if self.halt.disk_full() {
            StoreError::DiskFull
        } else {
            StoreError::WriterGone
        }
    }
}

/// The writer thread: runs batches until told to stop, then commits what is queued and
/// checkpoints, so that a clean stop leaves the journal empty.
fn writer_loop(
    db: Arc<Database>,
    mut durability: Durability,
    every: Duration,
    mut rx: mpsc::Receiver<Msg>,
    wake: Arc<Notify>,
) {
    let mut stop = None;
    while stop.is_none() {
        // A failed or hung flush halts the writer before it answers anyone else.
        durability.settle(false);
        if durability.halt.reason().is_some() {
            break;
        }
        let first = match rx.blocking_recv() {
            Some(Msg::Job(job)) => {
                durability.settle(false);
                if durability.halt.reason().is_some() {
                    // Dropped unanswered: its caller sees WriterGone (503).
                    break;
                }
                job
            }
            Some(Msg::Tick) => {
                durability.checkpoint(&db, |since| since >= every);
                continue;
            }
            Some(Msg::Stop(done)) => {
                stop = Some(done);
                break;
            }
            None => break,
        };
        if run_batch(&db, &mut durability, first, &mut rx, &mut stop) {
            wake.notify_one();
        }
        // A due checkpoint waits for a moment when nobody is queued (the requests waiting
        // now would otherwise wait for it too), but never past twice the interval.
        let idle = rx.is_empty();
        durability.checkpoint(&db, |since| since >= every && (idle || since >= 2 * every));
    }
    rx.close();
    // Requests that raced the stop are refused (their callers see WriterGone).
    while rx.try_recv().is_ok() {}
    if durability.halt.reason().is_none() {
        durability.settle(true);
        durability.checkpoint(&db, |_| true);
        durability.settle(true);
    }
    drop(db);
    if let Some(done) = stop {
        tracing::info!("database writer stopped");
        let _ = done.send(());
    }
}

#[cfg(test)]
mod tests;
