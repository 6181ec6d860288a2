//! Group commit: one writer thread drains queued write requests into a single redb write
//! transaction, commits once, then answers every request in the batch.
//!
//! Each request's closure runs inside the shared transaction, after the ones queued before it,
//! so it sees their writes: a rule checked there (no overlapping bookings) is exactly as strong
//! as with one transaction per request. Nobody is answered before the commit is durable.
//! A closure that fails with a rule error must not have written anything (check, then write);
//! any other error, or a panic, aborts the whole batch and every request in it fails.
//!
//! Durable, two ways. A batch made only of logged requests (clients' bookings, see
//! [`Writer::book`]) first writes one record (the requests themselves) to the
//! [`journal`](super::journal), runs the requests while the journal's thread flushes it
//! (`fdatasync`), waits for that flush, and only then commits to redb without flushing it
//! (`Durability::None`); if the batch fails after all, the record is taken back (zeroed) before
//! anyone is answered. Replaying a record gives the same results as the first run, rule errors
//! included, so writing it before knowing them is safe;
//! a checkpoint (a durable commit) follows within `storage.checkpoint_interval_ms`, and at every
//! clean stop. The writer spends on a checkpoint only the time to hand redb's pages to the
//! kernel: their flush runs on the [`dbfile`](super::dbfile) flush thread while the next
//! batches commit, and the journal keeps the records it covers until it is done. Any other
//! batch commits durably in redb (one fsync of its pages). Either way the batch's writes
//! become visible to readers only once they are durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, WriteTransaction};
use tokio::sync::{Notify, mpsc, oneshot};

use super::Tx;
use super::dbfile::{Flusher, Ticket};
use super::journal::{Journal, Pending, Record};
use crate::store::bookings::{ClientBooking, Created};
use crate::store::error::StoreError;
use crate::store::tables;
use crate::domain::token::TokenKey;

/// A batch never holds more than this many requests (nor more than are queued).
const MAX_BATCH: usize = 256;
/// Queued requests beyond this wait for room (back-pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 4096;
/// The default time after a journaled commit when its checkpoint (the durable redb commit
/// after which the journal lets go of its records; `storage.checkpoint_interval_ms`) is due;
/// a busy writer waits for an empty queue, at most twice this, and for the last checkpoint's
/// flush to be done (a slow disk stretches it, never the writer). It bounds the replay after a crash,
/// the redb pages buffered in memory meanwhile, and so how long each checkpoint holds up
/// the requests that arrive during it (the time to hand those pages to the kernel; their
/// flush runs in the background).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// The `meta` key holding the sequence number of the last journal record in the database.
const JOURNAL_SEQ: &str = "journal.seq";

/// Told about every batch once its fate is known, and every checkpoint (metrics); runs on the
/// writer thread, so it must be quick. Keeps redb out of the caller's sight.
pub type WriterObserver = Box<dyn Fn(WriterEvent) + Send + Sync>;

/// What the writer reports to its [`WriterObserver`].
#[derive(Debug, Clone, Copy)]
pub enum WriterEvent {
    Batch(BatchStats),
    /// A checkpoint: redb flushed what the journaled commits left in its buffer (`ok`), so the
    /// journal let go of their records; or it failed, and the journal keeps them. `elapsed`
    /// runs until the flush is done, `paused` is the part the writer spent on it.
    Checkpoint {
        elapsed: Duration,
        paused: Duration,
        ok: bool,
    },
}

/// One write batch, as seen by a [`WriterObserver`].
#[derive(Debug, Clone, Copy)]
pub struct BatchStats {
    pub requests: usize,
    pub elapsed: Duration,
    pub committed: bool,
    /// Made durable by a journal record rather than by flushing redb.
    pub journaled: bool,
}

trait Job: Send {
    /// Runs the request inside the batch's transaction; `false` if it poisoned the batch.
    fn run(&mut self, txn: &Tx) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, outcome: Result<(), &str>);
    /// The request as the journal records it (JSON), when it is a logged one.
    fn entry(&self) -> Option<&[u8]> {
        None
    }
}

struct TypedJob<F, R> {
    work: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Job for TypedJob<F, R>
where
    F: FnOnce(&Tx) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn run(&mut self, txn: &Tx) -> bool {
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

/// A job whose request the journal can record and replay.
struct Logged<J> {
    job: J,
    entry: Vec<u8>,
}

impl<J: Job> Job for Logged<J> {
    fn run(&mut self, txn: &Tx) -> bool {
        self.job.run(txn)
    }

    fn finish(self: Box<Self>, outcome: Result<(), &str>) {
        Box::new(self.job).finish(outcome)
    }

    fn entry(&self) -> Option<&[u8]> {
        Some(&self.entry)
    }
}

enum Msg {
    Job(Box<dyn Job>),
    /// Time for a checkpoint, if the journal holds anything (sent while the writer may idle).
    Tick,
    /// Finish what is queued, then stop.
    Stop(oneshot::Sender<()>),
}

/// The handle through which async code submits writes.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Msg>,
    observer: Arc<OnceLock<WriterObserver>>,
    committed_work: Arc<Notify>,
    /// Manage tokens are derived inside the booking's transaction (from its id).
    keys: TokenKey,
}

impl Writer {
    /// Starts the writer thread, journaling clients' bookings in `journal` when there is one;
    /// with a `flusher` (redb's file is a [`DbFile`](super::dbfile::DbFile)), checkpoints
    /// flush in the background. It stops when every `Writer` clone is dropped.
    pub fn start(
        db: Arc<Database>,
        journal: Option<Journal>,
        flusher: Option<Arc<Flusher>>,
        keys: TokenKey,
        checkpoint_every: Duration,
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
        let durability = Durability {
            journal,
            flusher,
            flushing: None,
            flushed_at: Instant::now(),
            unflushed,
            observer: seen,
        };
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer_loop(db, durability, checkpoint_every, rx, wake))?;
        Ok(Self {
            queue,
            observer,
            committed_work,
            keys,
        })
    }

    /// Notified after each committed batch in which a request queued background work.
    pub fn committed_work(&self) -> Arc<Notify> {
        self.committed_work.clone()
    }

    /// Installs the observer (once; false if one is already installed).
    pub fn observe(&self, observer: WriterObserver) -> bool {
        self.observer.set(observer).is_ok()
    }

    /// Whether the writer thread still takes requests (false once stopped or dead).
    pub fn is_alive(&self) -> bool {
        !self.queue.is_closed()
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

    /// Makes a client's booking (see [`ClientBooking::apply`]) in a shared transaction and
    /// returns it once durable: through the journal, which records the request itself.
    pub async fn book(&self, request: ClientBooking) -> Result<Created, StoreError> {
        let entry = serde_json::to_vec(&request).map_err(|source| StoreError::Corrupt {
            table: "(journal)".into(),
            source,
        })?;
        let keys = self.keys.clone();
        let (job, answer) = TypedJob::new(move |txn: &Tx| request.apply(txn, &keys));
        self.submit(Box::new(Logged { job, entry }), answer).await
    }

    async fn submit<R>(
        &self,
        job: Box<dyn Job>,
        answer: oneshot::Receiver<Result<R, StoreError>>,
    ) -> Result<R, StoreError> {
        self.queue
            .send(Msg::Job(job))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

impl<F, R> TypedJob<F, R> {
    fn new(work: F) -> (Self, oneshot::Receiver<Result<R, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let job = Self {
            work: Some(work),
            result: None,
            reply,
        };
        (job, answer)
    }
}

/// Where the writer's commits become durable: the journal, while it works, and redb.
struct Durability {
    journal: Option<Journal>,
    /// Runs checkpoints' flushes in the background; without it they run on the writer.
    flusher: Option<Arc<Flusher>>,
    /// The last checkpoint, while its flush runs: the journal's retired segment holds the
    /// records it covers until it is done.
    flushing: Option<Flushing>,
    /// When redb last committed durably (a checkpoint or a batch that was not journaled);
    /// after a failed checkpoint, a second ahead, which spaces out the retries.
    flushed_at: Instant,
    /// Whether the journal holds records redb has not flushed, or a checkpoint's flush runs
    /// (read by the ticker thread, which then wakes an idle writer).
    unflushed: Arc<AtomicBool>,
    observer: Arc<OnceLock<WriterObserver>>,
}

impl Durability {
    fn report(&self, event: WriterEvent) {
        if let Some(observe) = self.observer.get() {
            observe(event);
        }
    }

    /// Makes everything committed so far durable in redb, if the journal holds anything and
    /// `due` says so: commits an empty transaction durably, which hands redb's buffered pages
    /// to the kernel, and (with a flusher) leaves their flush to the flush thread, rotating
    /// the journal. Also notices the end of the last checkpoint's flush.
    fn checkpoint(&mut self, db: &Database, due: impl Fn(Duration) -> bool) {
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
                self.failed_checkpoint(paused, paused);
            }
        }
        tracing::debug!(paused_us = paused.as_micros() as u64, "checkpoint");
    }

    /// If the last checkpoint's flush is over (or once it is, with `wait`), lets the journal's
    /// retired segment go and reports the checkpoint.
    fn settle(&mut self, wait: bool) {
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
    fn flushed(&mut self) {
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

    /// Writes the batch's journal record, when every request in it is logged and the record
    /// fits, and starts its `fdatasync` (it runs while the requests do); the transaction then
    /// commits without flushing redb. `None`: the batch commits durably in redb.
    fn write_record(
        &mut self,
        txn: &mut Tx,
        batch: &[Box<dyn Job>],
    ) -> Result<Option<Pending>, String> {
        let entries: Option<Vec<&[u8]>> = batch.iter().map(|job| job.entry()).collect();
        let (Some(journal), Some(entries)) = (self.journal.as_mut(), entries) else {
            return Ok(None);
        };
        let payload = record(&entries);
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
    fn take_back(&mut self, written: Pending) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let undone = journal
            .wait(written)
            .and_then(|record| journal.retract(record));
        if let Err(e) = undone {
            tracing::error!(error = %e, "could not take back the journal record of a failed batch; no longer used");
            self.journal = None;
        }
    }

    /// Commits the batch's transaction: once its journal record is on disk, when it has one
    /// (see [`Durability::write_record`]), otherwise durably in redb. True if journaled.
    fn commit(&mut self, txn: Tx, written: Option<Pending>) -> Result<bool, String> {
        let Some(written) = written else {
            txn.commit().map_err(|e| e.to_string())?;
            self.flushed();
            return Ok(false);
        };
        let Some(journal) = self.journal.as_mut() else {
            let _ = txn.abort();
            return Err("the journal went away while its record was written".into());
        };
        let record = match journal.wait(written) {
            Ok(record) => record,
            Err(e) => {
                // Nothing is committed, and from now on every batch is flushed through redb.
                tracing::error!(error = %e, path = %journal.path().display(), "journal write failed; no longer used");
                self.journal = None;
                let _ = txn.abort();
                return Err(format!("the journal write failed: {e}"));
            }
        };
        if let Err(e) = txn.commit() {
            if let Err(undo) = journal.retract(record) {
                tracing::error!(error = %undo, "could not retract the journal record of a failed commit");
                self.journal = None;
            }
            return Err(e.to_string());
        }
        self.unflushed.store(true, Ordering::Release);
        Ok(true)
    }
}

/// A checkpoint whose flush runs in the background.
#[derive(Clone, Copy)]
struct Flushing {
    ticket: Ticket,
    started: Instant,
    paused: Duration,
}

/// A journal record's payload: the batch's requests, in the order they ran, as a JSON array.
fn record(entries: &[&[u8]]) -> Vec<u8> {
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

fn journal_seq(txn: &WriteTransaction) -> Result<u64, StoreError> {
    Ok(txn
        .open_table(tables::META)?
        .get(JOURNAL_SEQ)?
        .map_or(0, |v| v.value()))
}

fn set_journal_seq(txn: &WriteTransaction, seq: u64) -> Result<(), StoreError> {
    txn.open_table(tables::META)?.insert(JOURNAL_SEQ, seq)?;
    Ok(())
}

/// Applies the journal records the database lacks (those after its `journal.seq`), in order,
/// in one durable transaction; returns how many. Run before the writer starts.
pub(crate) fn replay(
    db: &Database,
    records: &[Record],
    keys: &TokenKey,
) -> Result<usize, StoreError> {
    let txn = Tx::new(db.begin_write()?);
    let done = journal_seq(&txn)?;
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
        let requests: Vec<ClientBooking> =
            serde_json::from_slice(&record.payload).map_err(|source| StoreError::Corrupt {
                table: "(journal)".into(),
                source,
            })?;
        for request in requests {
            // Rule errors come out as they did the first time (and wrote nothing then either).
            match request.apply(&txn, keys) {
                Ok(_) | Err(StoreError::Rule(_)) => {}
                Err(e) => return Err(e),
            }
        }
        set_journal_seq(&txn, record.seq)?;
    }
    txn.commit()?;
    Ok(pending.len())
}

fn writer_loop(
    db: Arc<Database>,
    mut durability: Durability,
    every: Duration,
    mut rx: mpsc::Receiver<Msg>,
    wake: Arc<Notify>,
) {
    let mut stop = None;
    while stop.is_none() {
        let first = match rx.blocking_recv() {
            Some(Msg::Job(job)) => job,
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
    durability.settle(true);
    durability.checkpoint(&db, |_| true);
    durability.settle(true);
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
            // A busy writer checks for its checkpoint after every batch.
            Ok(Msg::Tick) => {}
            Ok(Msg::Stop(done)) => *stop = Some(done),
            Err(_) => break,
        }
    }
}

/// Runs `first` and whatever is queued in one transaction, then commits it; true if it
/// committed and a request in it asked to wake the committed-work waiter. A batch of logged requests has its journal record written first, so that its
/// `fdatasync` runs while the requests do; in any other batch, requests that arrive while
/// earlier ones run join the open transaction (up to [`MAX_BATCH`]) instead of waiting for the
/// next commit: the commit's fixed cost is shared by more requests.
fn run_batch(
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
        // No quick repair: it saves the allocator state with every commit, which made each
        // commit about three times slower on a 1 GB database (see benches/). The price is
        // paid only after a crash: the next start walks the file (seconds per million
        // bookings); a clean restart stays fast.
        let mut txn = Tx::new(db.begin_write().map_err(|e| e.to_string())?);
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
        wake = txn.wakes();
        durability.commit(txn, written)
    })();
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
    for job in batch {
        job.finish(outcome.as_ref().map(|_| ()).map_err(String::as_str));
    }
    outcome.is_ok() && wake
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc as std_mpsc;

    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    use super::super::dbfile::{DbFile, open_rw};
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
        let writer = Writer::start(
            db.clone(),
            None,
            None,
            TokenKey::from_bytes([7; 32]),
            CHECKPOINT_EVERY,
        )
        .expect("start");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        assert!(writer.observe(Box::new(move |event| {
            if let WriterEvent::Batch(s) = event {
                log.lock().expect("lock").push(s);
            }
        })));
        (dir, db, writer, seen)
    }

    fn put(key: u64, value: u64) -> impl FnOnce(&Tx) -> Result<(), StoreError> {
        move |txn| {
            txn.open_table(T)?.insert(key, value)?;
            Ok(())
        }
    }

    /// Runs a first request that holds its batch open until `second` waits in the queue
    /// behind it, then lets both finish; returns both answers.
    async fn behind_an_open_batch<R: Send + 'static>(
        writer: &Writer,
        second: impl FnOnce(&Tx) -> Result<R, StoreError> + Send + 'static,
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

    /// A writer journaling into `dir`, over redb's file as the store opens it (its
    /// checkpoints flush in the background).
    fn journaled_writer(
        dir: &std::path::Path,
        (file, flusher): (DbFile, Arc<Flusher>),
        every: Duration,
    ) -> (Arc<Database>, Writer) {
        let db = Arc::new(
            Database::builder()
                .create_with_backend(file)
                .expect("create"),
        );
        let (journal, records) = Journal::open(dir).expect("journal");
        assert!(records.is_empty());
        let keys = TokenKey::from_bytes([7; 32]);
        let writer =
            Writer::start(db.clone(), Some(journal), Some(flusher), keys, every).expect("start");
        (db, writer)
    }

    /// A logged (journaled) request writing `key`, and where its answer comes.
    fn logged(key: u64) -> (Box<dyn Job>, oneshot::Receiver<Result<(), StoreError>>) {
        logged_work(put(key, key))
    }

    /// A logged request that runs `work` (which may fail), and where its answer comes.
    fn logged_work<R: Send + 'static>(
        work: impl FnOnce(&Tx) -> Result<R, StoreError> + Send + 'static,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<R, StoreError>>) {
        let (job, answer) = TypedJob::new(work);
        let entry = b"{}".to_vec();
        (Box::new(Logged { job, entry }), answer)
    }

    #[tokio::test]
    async fn a_logged_request_is_journaled_then_checkpointed_within_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        // As the store opens it: checkpoints flush in the background.
        let every = Duration::from_millis(20);
        let file = DbFile::open(&dir.path().join("w.redb")).expect("file");
        let (db, writer) = journaled_writer(dir.path(), file, every);
        let (events, seen) = std_mpsc::channel();
        assert!(writer.observe(Box::new(move |event| {
            let _ = events.send(event);
        })));

        let (job, answer) = logged(1);
        writer.submit(job, answer).await.expect("committed");
        let batch = seen.recv_timeout(Duration::from_secs(5)).expect("a batch");
        assert!(
            matches!(batch, WriterEvent::Batch(b) if b.committed && b.journaled),
            "{batch:?}"
        );
        let read = db.begin_read().expect("read");
        let seq = read
            .open_table(tables::META)
            .expect("meta")
            .get(JOURNAL_SEQ)
            .expect("get");
        assert_eq!(
            seq.map(|v| v.value()),
            Some(1),
            "the transaction names its record"
        );

        // Nobody writes again: the ticker wakes the idle writer for its checkpoint.
        let checkpoint = seen
            .recv_timeout(Duration::from_secs(5))
            .expect("a checkpoint");
        assert!(
            matches!(checkpoint, WriterEvent::Checkpoint { ok: true, paused, elapsed } if paused <= elapsed),
            "{checkpoint:?}"
        );
        // Reported once its flush is done: the segment that held the record is emptied.
        assert_eq!(
            std::fs::read(dir.path().join(super::super::journal::JOURNAL_FILES[0]))
                .expect("journal")[..4],
            [0; 4],
            "the journal let go of the record"
        );
        // And only once: an empty journal needs no more.
        assert!(seen.recv_timeout(every * 5).is_err());
    }

    #[tokio::test]
    async fn a_journaled_batch_that_fails_takes_its_record_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = DbFile::open(&dir.path().join("w.redb")).expect("file");
        let (db, writer) = journaled_writer(dir.path(), file, Duration::from_secs(3600));
        let segment = dir.path().join(super::super::journal::JOURNAL_FILES[0]);

        // The record is written before the request runs; the request then fails the batch.
        let (job, answer) = logged_work(|txn: &Tx| {
            put(9, 9)(txn)?;
            Err::<(), _>(StoreError::BatchFailed("boom".into()))
        });
        let failed = writer.submit(job, answer).await;
        assert!(failed.is_err(), "{failed:?}");
        assert_eq!(
            std::fs::read(&segment).expect("journal")[..4],
            [0; 4],
            "a replay must not make what its caller was told failed"
        );
        let read = db.begin_read().expect("read");
        assert!(read.open_table(T).is_err(), "nothing was committed");
        drop(read);

        // The next record takes the sequence number the failed one had.
        let (job, answer) = logged(1);
        writer.submit(job, answer).await.expect("committed");
        let bytes = std::fs::read(&segment).expect("journal");
        assert_eq!(bytes[..4], *b"BPJ1");
        assert_eq!(u64::from_le_bytes(bytes[4..12].try_into().expect("seq")), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_checkpoint_whose_flush_runs_late_holds_up_no_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Every deferred flush waits for the test's word (or for the test to hang up).
        let (gate, opened) = std_mpsc::channel::<()>();
        let opened = Mutex::new(opened);
        let path = dir.path().join("w.redb");
        let file = DbFile::with_flush(open_rw(&path).expect("open"), move |_| {
            let _ = opened.lock().expect("lock").recv();
            Ok(())
        })
        .expect("file");
        let every = Duration::from_millis(10);
        let (db, writer) = journaled_writer(dir.path(), file, every);
        let (events, seen) = std_mpsc::channel();
        assert!(writer.observe(Box::new(move |event| {
            if let WriterEvent::Checkpoint { ok, .. } = event {
                let _ = events.send(ok);
            }
        })));
        let (job, answer) = logged(1);
        writer.submit(job, answer).await.expect("first");
        // Its checkpoint starts (the ticker wakes the idle writer) and its flush is held.
        tokio::time::sleep(every * 10).await;
        // Checkpoints fall due again and again meanwhile: none may make a write wait.
        for key in 2..20 {
            let (job, answer) = logged(key);
            tokio::time::timeout(Duration::from_secs(5), writer.submit(job, answer))
                .await
                .expect("a write waited for the held flush")
                .expect("written");
            tokio::time::sleep(every).await;
        }
        assert!(
            seen.try_recv().is_err(),
            "no checkpoint ended: its flush is held"
        );
        // Released, it ends, and the one put off follows for the later records.
        drop(gate);
        for _ in 0..2 {
            let ok = seen
                .recv_timeout(Duration::from_secs(5))
                .expect("a checkpoint");
            assert!(ok);
        }
        writer.stop().await;
        let read = db.begin_read().expect("read");
        let table = read.open_table(T).expect("table");
        assert_eq!(table.get(19).expect("get").map(|v| v.value()), Some(19));
    }

    #[test]
    fn a_journal_that_skips_a_record_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::create(dir.path().join("w.redb")).expect("create");
        let record = |seq| Record {
            seq,
            payload: b"[]".to_vec(),
        };
        let keys = TokenKey::from_bytes([7; 32]);
        let err = replay(&db, &[record(1), record(3)], &keys).expect_err("a gap");
        assert!(
            err.to_string().contains("skips from record 1 to 3"),
            "{err}"
        );
        let err = replay(&db, &[record(2)], &keys).expect_err("starts past the database");
        assert!(matches!(err, StoreError::Journal(_)), "{err}");
        assert_eq!(
            replay(&db, &[record(1), record(2)], &keys).expect("replayed"),
            2
        );
    }
}
