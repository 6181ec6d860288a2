//! Group commit: one writer thread drains queued write requests into a single redb write
//! transaction, commits once (one fsync), then answers every request in the batch.
//!
//! Each request's closure runs inside the shared transaction, after the ones queued before it,
//! so it sees their writes: a rule checked there (no overlapping bookings) is exactly as strong
//! as with one transaction per request. Nobody is answered before the commit is durable.
//! A closure that fails with a rule error must not have written anything (check, then write);
//! any other error, or a panic, aborts the whole batch and every request in it fails.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redb::{Database, WriteTransaction};
use tokio::sync::{Notify, mpsc, oneshot};

use super::StoreError;

/// A batch never holds more than this many requests (nor more than are queued).
const MAX_BATCH: usize = 256;
/// Queued requests beyond this wait for room (back-pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 4096;

/// Told about every batch once its fate is known (metrics); runs on the writer thread, so it
/// must be quick. Keeps redb out of the caller's sight.
pub type BatchObserver = Box<dyn Fn(BatchStats) + Send + Sync>;

/// One write batch, as seen by a [`BatchObserver`].
#[derive(Debug, Clone, Copy)]
pub struct BatchStats {
    pub requests: usize,
    pub elapsed: Duration,
    pub committed: bool,
}

thread_local! {
    /// Set by a request that queued outbox work in the batch being run on this (the writer)
    /// thread; read and cleared once the batch's fate is known.
    static QUEUED_WORK: Cell<bool> = const { Cell::new(false) };
}

/// Called inside a write transaction that queued background work (an outbox message): once
/// that transaction commits, the writer wakes [`Writer::committed_work`]'s waiter. Waking
/// before the commit would let the worker look before the rows are visible.
pub(crate) fn wake_after_commit() {
    QUEUED_WORK.with(|f| f.set(true));
}

trait Job: Send {
    /// Runs the request inside the batch's transaction; `false` if it poisoned the batch.
    fn run(&mut self, txn: &WriteTransaction) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, outcome: Result<(), &str>);
}

struct TypedJob<F, R> {
    work: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Job for TypedJob<F, R>
where
    F: FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn run(&mut self, txn: &WriteTransaction) -> bool {
        let Some(work) = self.work.take() else {
            return true;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(txn)))
            .unwrap_or_else(|_| Err(StoreError::BatchFailed("a write request panicked".into())));
        let ok = !matches!(&result, Err(e) if e.is_fatal());
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, outcome: Result<(), &str>) {
        let answer = match (outcome, self.result) {
            // A rule error is the request's own answer whatever happened to the batch.
            (_, Some(Err(e))) if !e.is_fatal() => Err(e),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::BatchFailed("request was not run".into())),
            (Err(why), _) => Err(StoreError::BatchFailed(why.to_owned())),
        };
        let _ = self.reply.send(answer);
    }
}

enum Msg {
    Job(Box<dyn Job>),
    /// Finish what is queued, then stop.
    Stop(oneshot::Sender<()>),
}

/// The handle through which async code submits writes.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Msg>,
    observer: Arc<OnceLock<BatchObserver>>,
    committed_work: Arc<Notify>,
}

impl Writer {
    /// Starts the writer thread. It stops when every `Writer` clone is dropped.
    pub fn start(db: Arc<Database>) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let observer = Arc::new(OnceLock::new());
        let seen = observer.clone();
        let committed_work = Arc::new(Notify::new());
        let wake = committed_work.clone();
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer_loop(db, rx, seen, wake))?;
        Ok(Self {
            queue,
            observer,
            committed_work,
        })
    }

    /// Notified after each committed batch in which a request queued background work.
    pub fn committed_work(&self) -> Arc<Notify> {
        self.committed_work.clone()
    }

    /// Installs the batch observer (once; false if one is already installed).
    pub fn observe(&self, observer: BatchObserver) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// Whether the writer thread still takes requests (false once stopped or dead).
    pub fn is_alive(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Commits what is queued, stops the writer thread and waits for it: after this, no write
    /// is in flight and later writes fail with [`StoreError::WriterGone`].
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
        F: FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            work: Some(work),
            result: None,
            reply,
        });
        self.queue
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

fn writer_loop(
    db: Arc<Database>,
    mut rx: mpsc::Receiver<Msg>,
    observer: Arc<OnceLock<BatchObserver>>,
    wake: Arc<Notify>,
) {
    let mut stop = None;
    while stop.is_none() {
        let mut batch = Vec::new();
        match rx.blocking_recv() {
            Some(Msg::Job(job)) => batch.push(job),
            Some(Msg::Stop(done)) => stop = Some(done),
            None => break,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Stop(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            QUEUED_WORK.with(|f| f.set(false));
            let committed = run_batch(&db, batch, observer.get());
            if QUEUED_WORK.with(|f| f.replace(false)) && committed {
                wake.notify_one();
            }
        }
    }
    rx.close();
    // Requests that raced the stop are refused (their callers see WriterGone).
    while rx.try_recv().is_ok() {}
    drop(db);
    if let Some(done) = stop {
        tracing::info!("database writer stopped");
        let _ = done.send(());
    }
}

/// Runs and commits one batch; true if it committed.
fn run_batch(
    db: &Database,
    mut batch: Vec<Box<dyn Job>>,
    observer: Option<&BatchObserver>,
) -> bool {
    let started = Instant::now();
    let size = batch.len();
    let outcome: Result<(), String> = (|| {
        // No quick repair: it saves the allocator state with every commit, which made each
        // commit about three times slower on a 1 GB database (see benches/). The price is
        // paid only after a crash: the next start walks the file (seconds per million
        // bookings); a clean restart stays fast.
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        let mut poisoned = false;
        for job in batch.iter_mut() {
            if !job.run(&txn) {
                poisoned = true;
                break;
            }
        }
        if poisoned {
            txn.abort().map_err(|e| e.to_string())?;
            return Err("a request in the batch failed; the batch was rolled back".into());
        }
        txn.commit().map_err(|e| e.to_string())
    })();
    match &outcome {
        Ok(()) => tracing::debug!(
            size,
            elapsed_us = started.elapsed().as_micros() as u64,
            "write batch committed"
        ),
        Err(why) => tracing::error!(size, error = %why, "write batch failed"),
    }
    if let Some(observe) = observer {
        observe(BatchStats {
            requests: size,
            elapsed: started.elapsed(),
            committed: outcome.is_ok(),
        });
    }
    for job in batch {
        job.finish(outcome.as_ref().map(|_| ()).map_err(String::as_str));
    }
    outcome.is_ok()
}
