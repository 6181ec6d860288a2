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
        let first = match rx.blocking_recv() {
            Some(Msg::Job(job)) => job,
            Some(Msg::Stop(done)) => {
                stop = Some(done);
                break;
            }
            None => break,
        };
        QUEUED_WORK.with(|f| f.set(false));
        let committed = run_batch(&db, first, &mut rx, &mut stop, observer.get());
        if QUEUED_WORK.with(|f| f.replace(false)) && committed {
            wake.notify_one();
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

/// Moves what is queued into `batch`, up to [`MAX_BATCH`] and not past a stop request.
fn take_queued(
    rx: &mut mpsc::Receiver<Msg>,
    batch: &mut Vec<Box<dyn Job>>,
    stop: &mut Option<oneshot::Sender<()>>,
) {
    while batch.len() < MAX_BATCH && stop.is_none() {
        match rx.try_recv() {
            Ok(Msg::Job(job)) => batch.push(job),
            Ok(Msg::Stop(done)) => *stop = Some(done),
            Err(_) => break,
        }
    }
}

/// Runs `first` and whatever is queued in one transaction, then commits it; true if it
/// committed. Requests that arrive while earlier ones run join the open transaction (up to
/// [`MAX_BATCH`]) instead of waiting for the next commit: the commit's fixed cost is shared
/// by more requests, and nobody waits for a batch that is already running.
fn run_batch(
    db: &Database,
    first: Box<dyn Job>,
    rx: &mut mpsc::Receiver<Msg>,
    stop: &mut Option<oneshot::Sender<()>>,
    observer: Option<&BatchObserver>,
) -> bool {
    let started = Instant::now();
    let mut batch = vec![first];
    let outcome: Result<(), String> = (|| {
        // No quick repair: it saves the allocator state with every commit, which made each
        // commit about three times slower on a 1 GB database (see benches/). The price is
        // paid only after a crash: the next start walks the file (seconds per million
        // bookings); a clean restart stays fast.
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        let mut ran = 0;
        loop {
            take_queued(rx, &mut batch, stop);
            if ran == batch.len() {
                break;
            }
            for job in &mut batch[ran..] {
                if !job.run(&txn) {
                    txn.abort().map_err(|e| e.to_string())?;
                    return Err("a request in the batch failed; the batch was rolled back".into());
                }
            }
            ran = batch.len();
        }
        txn.commit().map_err(|e| e.to_string())
    })();
    let size = batch.len();
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc as std_mpsc;

    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    use super::*;

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    fn writer() -> (
        tempfile::TempDir,
        Arc<Database>,
        Writer,
        Arc<Mutex<Vec<BatchStats>>>,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Database::create(dir.path().join("w.redb")).expect("create"));
        let writer = Writer::start(db.clone()).expect("start");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        assert!(writer.observe(Box::new(move |s| log.lock().expect("lock").push(s))));
        (dir, db, writer, seen)
    }

    fn put(key: u64, value: u64) -> impl FnOnce(&WriteTransaction) -> Result<(), StoreError> {
        move |txn| {
            txn.open_table(T)?.insert(key, value)?;
            Ok(())
        }
    }

    /// Runs a first request that holds its batch open until `second` waits in the queue
    /// behind it, then lets both finish; returns both answers.
    async fn behind_an_open_batch<R: Send + 'static>(
        writer: &Writer,
        second: impl FnOnce(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
    ) -> (Result<(), StoreError>, Result<R, StoreError>) {
        let (running, is_running) = oneshot::channel();
        let (release, held) = std_mpsc::channel::<()>();
        let w = writer.clone();
        let first = tokio::spawn(async move {
            w.write(move |txn| {
                let _ = running.send(());
                let _ = held.recv();
                put(1, 1)(txn)
            })
            .await
        });
        is_running.await.expect("the first request ran");
        let w = writer.clone();
        let second = tokio::spawn(async move { w.write(second).await });
        while writer.queue.capacity() == QUEUE_DEPTH {
            tokio::task::yield_now().await;
        }
        release.send(()).expect("release");
        (
            first.await.expect("join first"),
            second.await.expect("join second"),
        )
    }

    #[tokio::test]
    async fn a_request_queued_while_a_batch_runs_joins_it_and_sees_its_writes() {
        let (_dir, db, writer, seen) = writer();
        let (first, second) = behind_an_open_batch(&writer, |txn| {
            let earlier = txn.open_table(T)?.get(1)?.map(|v| v.value());
            put(2, earlier.unwrap_or(0) + 1)(txn)
        })
        .await;
        first.expect("first");
        second.expect("second, which saw the first one's write");

        let batches = seen.lock().expect("lock").clone();
        assert_eq!(batches.len(), 1, "one commit for both: {batches:?}");
        assert_eq!(batches[0].requests, 2);
        assert!(batches[0].committed);
        let read = db.begin_read().expect("read");
        let table = read.open_table(T).expect("table");
        assert_eq!(table.get(2).expect("get").map(|v| v.value()), Some(2));
    }

    #[tokio::test]
    async fn a_request_that_fails_rolls_back_the_requests_that_joined_its_batch() {
        let (_dir, db, writer, seen) = writer();
        let (first, failing) = behind_an_open_batch(&writer, |txn| {
            put(3, 3)(txn)?;
            Err::<(), _>(StoreError::BatchFailed("boom".into()))
        })
        .await;
        assert!(first.is_err(), "its batch was rolled back");
        assert!(failing.is_err());
        let batches = seen.lock().expect("lock").clone();
        assert_eq!(batches.len(), 1);
        assert!(!batches[0].committed);
        let read = db.begin_read().expect("read");
        assert!(read.open_table(T).is_err(), "nothing was written");
        // The writer goes on with the next batch.
        writer.write(put(4, 4)).await.expect("next batch");
    }
}
