use std::sync::Mutex;
use std::sync::mpsc as std_mpsc;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::super::dbfile::{DbFile, open_rw};
use super::super::journal::{JOURNAL_FILES, Record};
use super::super::replay::JOURNAL_SEQ;
use super::super::{BatchStats, WriterEvent, replay};
use super::*;

const T: TableDefinition<u64, u64> = TableDefinition::new("t");

/// A journaled request writing `key` under `key`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Put(u64);

impl Journaled for Put {
    type Output = ();
    type Context = ();
    fn apply(self, tx: &Tx, (): &()) -> Result<(), StoreError> {
        put(self.0, self.0)(tx)
    }
}

/// The batches a writer's observer saw.
type Seen = Arc<Mutex<Vec<BatchStats>>>;

fn writer() -> (tempfile::TempDir, Arc<Database>, Writer<Put>, Seen) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(Database::create(dir.path().join("w.redb")).expect("create"));
    let writer = Writer::start(db.clone(), None, None, (), CHECKPOINT_EVERY).expect("start");
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
    writer: &Writer<Put>,
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
) -> (Arc<Database>, Writer<Put>) {
    let db = Arc::new(
        Database::builder()
            .create_with_backend(file)
            .expect("create"),
    );
    let (journal, records) = Journal::open(dir).expect("journal");
    assert!(records.is_empty());
    let writer = Writer::start(db.clone(), Some(journal), Some(flusher), (), every).expect("start");
    (db, writer)
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

    writer.journaled(Put(1)).await.expect("committed");
    let batch = seen.recv_timeout(Duration::from_secs(5)).expect("a batch");
    assert!(
        matches!(batch, WriterEvent::Batch(b) if b.committed && b.journaled),
        "{batch:?}"
    );
    let read = db.begin_read().expect("read");
    let seq = read
        .open_table(crate::store::engine::META)
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
        std::fs::read(dir.path().join(JOURNAL_FILES[0])).expect("journal")[..4],
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
    let segment = dir.path().join(JOURNAL_FILES[0]);

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
    writer.journaled(Put(1)).await.expect("committed");
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
    writer.journaled(Put(1)).await.expect("first");
    // Its checkpoint starts (the ticker wakes the idle writer) and its flush is held.
    tokio::time::sleep(every * 10).await;
    // Checkpoints fall due again and again meanwhile: none may make a write wait.
    for key in 2..20 {
        tokio::time::timeout(Duration::from_secs(5), writer.journaled(Put(key)))
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
    let record = |seq: u64| Record {
        seq,
        payload: format!("[{seq}]").into_bytes(),
    };
    let err = replay::<Put>(&db, &[record(1), record(3)], &[], &(), None).expect_err("a gap");
    assert!(
        err.to_string().contains("skips from record 1 to 3"),
        "{err}"
    );
    let err =
        replay::<Put>(&db, &[record(2)], &[], &(), None).expect_err("starts past the database");
    assert!(matches!(err, StoreError::Journal(_)), "{err}");
    assert_eq!(
        replay::<Put>(&db, &[record(1), record(2)], &[], &(), None).expect("replayed"),
        2
    );
    let read = db.begin_read().expect("read");
    let table = read.open_table(T).expect("table");
    for key in [1, 2] {
        assert_eq!(table.get(key).expect("get").map(|v| v.value()), Some(key));
    }
    let meta = read.open_table(crate::store::engine::META).expect("meta");
    assert_eq!(
        meta.get(JOURNAL_SEQ).expect("get").map(|v| v.value()),
        Some(2)
    );
}

#[tokio::test]
async fn only_a_committed_batch_that_asked_wakes_the_committed_work_waiter() {
    let (_dir, db, writer, _) = writer();
    let woken = writer.committed_work();
    let failed = writer
        .write(|txn| {
            txn.wake_after_commit();
            put(1, 1)(txn)?;
            Err::<(), _>(StoreError::BatchFailed("boom".into()))
        })
        .await;
    assert!(failed.is_err(), "{failed:?}");
    writer
        .write(put(2, 2))
        .await
        .expect("a batch that asks nothing");
    assert!(
        tokio::time::timeout(Duration::from_millis(100), woken.notified())
            .await
            .is_err(),
        "woken by a batch that rolled back or did not ask"
    );
    writer
        .write(|txn| {
            put(3, 3)(txn)?;
            txn.wake_after_commit();
            Ok(())
        })
        .await
        .expect("committed");
    tokio::time::timeout(Duration::from_secs(5), woken.notified())
        .await
        .expect("woken once the batch committed");
    let read = db.begin_read().expect("read");
    let table = read.open_table(T).expect("table");
    assert_eq!(table.get(3).expect("get").map(|v| v.value()), Some(3));
}

#[cfg(test)]
#[path = "power.rs"]
mod power;
