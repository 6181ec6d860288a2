//! What a power cut, a failing disk or a dead flush thread must not do: lose an acknowledged
//! record, replay a failed one, leave personal data in the journal, or hang the writer.

use std::os::unix::fs::FileExt;
use std::sync::Mutex;
use std::sync::mpsc as std_mpsc;

use redb::{ReadableDatabase, ReadableTable};

use super::super::super::dbfile::{DbFile, open_rw};
use super::super::super::journal::{JOURNAL_FILES, Journal};
use super::super::super::replay;
use super::*;

/// A journal in `dir` holding records 1..=n, each a `Put` of its number, written and synced.
fn journal_with(dir: &std::path::Path, n: u64) -> Vec<u64> {
    let (mut journal, found) = Journal::open(dir).expect("journal");
    assert!(found.is_empty());
    let mut offsets = Vec::new();
    let mut at = 0;
    for seq in 1..=n {
        offsets.push(at);
        let pending = journal
            .write(seq, format!("[{seq}]").as_bytes())
            .expect("write");
        journal.wait(pending).expect("synced");
        at = journal.used();
    }
    offsets
}

/// Flips a byte of the payload of the record written at `at` (its header is 24 bytes).
fn damage(dir: &std::path::Path, at: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(dir.join(JOURNAL_FILES[0]))
        .expect("segment");
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, at + 24).expect("read");
    file.write_all_at(&[byte[0] ^ 0xff], at + 24)
        .expect("write");
}

fn keys(db: &Database) -> Vec<u64> {
    let read = db.begin_read().expect("read");
    let Ok(table) = read.open_table(T) else {
        return Vec::new();
    };
    table
        .iter()
        .expect("iter")
        .map(|e| e.expect("entry").0.value())
        .collect()
}

#[test]
fn a_damaged_record_followed_by_others_refuses_the_replay_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = journal_with(dir.path(), 3);
    damage(dir.path(), at[1]);
    let db = Database::create(dir.path().join("w.redb")).expect("create");
    let (journal, records) = Journal::open(dir.path()).expect("journal");
    let refused = replay::<Put>(&db, &records, &journal.stranded(), &(), None);
    let err = refused.expect_err("record 3 follows the damaged one: it would be lost");
    let why = err.to_string();
    assert!(why.contains("barberpro.journal"), "names the file: {why}");
    assert!(keys(&db).is_empty(), "nothing replayed: {:?}", keys(&db));
}

#[test]
fn a_torn_last_record_is_dropped_and_the_rest_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = journal_with(dir.path(), 3);
    damage(dir.path(), at[2]);
    let db = Database::create(dir.path().join("w.redb")).expect("create");
    let (journal, records) = Journal::open(dir.path()).expect("journal");
    assert_eq!(
        replay::<Put>(&db, &records, &journal.stranded(), &(), None).expect("replayed"),
        2
    );
    assert_eq!(keys(&db), vec![1, 2]);
}

fn all_zero(path: &std::path::Path) -> bool {
    std::fs::read(path).expect("read").iter().all(|&b| b == 0)
}

#[test]
fn after_an_unclean_stop_the_journal_keeps_nothing_past_its_last_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(JOURNAL_FILES[0]);
    // A torn record (never acknowledged) after two good ones: its bytes hold a client's data.
    let at = journal_with(dir.path(), 2);
    let end = at[1] + 24 + 3;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("segment");
    file.write_all_at(b"BPJ1\x03\0\0\0\0\0\0\0Ana Perez +5491155550001", end)
        .expect("torn");
    drop(file);
    let db = Database::create(dir.path().join("w.redb")).expect("create");
    let (mut journal, records) = Journal::open(dir.path()).expect("journal");
    assert_eq!(
        replay::<Put>(&db, &records, &journal.stranded(), &(), None).expect("replayed"),
        2
    );
    journal.start_over().expect("start over");
    drop(journal);
    assert!(
        all_zero(&path),
        "the torn record's bytes are left in the segment"
    );

    // Power lost while a segment was being emptied: its first record zeroed, the rest not.
    journal_with(dir.path(), 2);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("segment");
    file.write_all_at(&[0; 27], 0).expect("half emptied");
    drop(file);
    let (mut journal, records) = Journal::open(dir.path()).expect("journal");
    assert!(records.is_empty(), "{records:?}");
    journal.start_over().expect("start over");
    drop(journal);
    assert!(
        all_zero(&path),
        "the second record's bytes are left in the segment"
    );
}

/// A writer over a file whose deferred flushes run `flush`.
fn writer_over(
    dir: &std::path::Path,
    flush: impl FnMut(Vec<(u64, u64)>) -> std::io::Result<()> + Send + 'static,
) -> (Arc<Database>, Writer<Put>) {
    let path = dir.join("w.redb");
    let file = DbFile::with_flush(open_rw(&path).expect("open"), flush).expect("file");
    let db = Arc::new(
        Database::builder()
            .create_with_backend(file.0)
            .expect("create"),
    );
    let (journal, _) = Journal::open(dir).expect("journal");
    let every = Duration::from_millis(10);
    let writer = Writer::start(db.clone(), Some(journal), Some(file.1), (), every).expect("start");
    (db, writer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_thread_that_dies_fails_the_writes_instead_of_hanging_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_db, writer) = writer_over(dir.path(), |_| panic!("the flush thread dies"));
    writer.journaled(Put(1)).await.expect("first");
    // Its checkpoint falls due (the flush thread dies on it); later writes must not hang.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut refused = false;
    for key in 2..6 {
        let outcome = tokio::time::timeout(Duration::from_secs(10), writer.write(put(key, key)))
            .await
            .expect("a write hangs behind the dead flush thread");
        refused |= outcome.is_err();
    }
    assert!(refused, "writes go on as if the flush had succeeded");
    assert!(!writer.is_alive(), "the writer says it runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_stops_every_acknowledgement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gate, failing) = std_mpsc::channel::<()>();
    let failing = Mutex::new(failing);
    let (_db, writer) = writer_over(dir.path(), move |_| {
        let _ = failing.lock().expect("lock").recv();
        Err(std::io::Error::other("EIO"))
    });
    writer.journaled(Put(1)).await.expect("first");
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(gate); // the checkpoint's flush fails
    tokio::time::sleep(Duration::from_millis(100)).await;
    for key in 2..6 {
        let outcome = tokio::time::timeout(Duration::from_secs(10), writer.journaled(Put(key)))
            .await
            .expect("a write hangs");
        assert!(
            matches!(outcome, Err(StoreError::WriterGone)),
            "record {key} after a failed flush: {outcome:?}"
        );
    }
    assert!(
        !writer.is_alive(),
        "the writer says it runs after a failed flush"
    );
}

#[tokio::test]
async fn a_failed_batch_whose_record_cannot_be_taken_back_is_never_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.redb");
    {
        let (file, flusher) = DbFile::open(&path).expect("file");
        let db = Arc::new(
            Database::builder()
                .create_with_backend(file)
                .expect("create"),
        );
        let (mut journal, _) = Journal::open(dir.path()).expect("journal");
        journal.fail_retract = true;
        let writer: Writer<Put> = Writer::start(
            db,
            Some(journal),
            Some(flusher),
            (),
            Duration::from_secs(3600),
        )
        .expect("start");
        // Written to the journal and synced, then the request fails the batch; the zeroing
        // that should take its record back is refused.
        let (job, answer) = TypedJob::new(|txn: &Tx| {
            put(9, 9)(txn)?;
            Err::<(), _>(StoreError::BatchFailed("boom".into()))
        });
        // Its entry is `Put(9)`: replayed, it would write what the batch was refused.
        let job = Box::new(Logged {
            job,
            entry: b"9".to_vec(),
        });
        let failed = writer.submit(job, answer).await;
        assert!(failed.is_err(), "{failed:?}");
        writer.stop().await;
    }
    // The record is still in the segment: the next start must not replay it.
    let (file, _) = DbFile::open(&path).expect("file");
    let db = Database::builder().create_with_backend(file).expect("open");
    let (journal, records) = Journal::open(dir.path()).expect("journal");
    assert_eq!(records.len(), 1, "the record stayed on disk");
    replay::<Put>(&db, &records, &journal.stranded(), &(), None).expect("replay");
    assert!(
        keys(&db).is_empty(),
        "a booking its caller was told failed appeared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_flush_halts_the_writer_once_the_watchdog_gives_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_gate, hung) = std_mpsc::channel::<()>();
    let hung = Mutex::new(hung);
    let path = dir.path().join("w.redb");
    let (file, flusher) = DbFile::with_flush(open_rw(&path).expect("open"), move |_| {
        let _ = hung.lock().expect("lock").recv(); // never answered while the test runs
        Ok(())
    })
    .expect("file");
    flusher.set_hang_limit(Duration::from_millis(300));
    let db = Arc::new(
        Database::builder()
            .create_with_backend(file)
            .expect("create"),
    );
    let (journal, _) = Journal::open(dir.path()).expect("journal");
    let writer: Writer<Put> = Writer::start(
        db,
        Some(journal),
        Some(flusher),
        (),
        Duration::from_millis(10),
    )
    .expect("start");
    writer.journaled(Put(1)).await.expect("first");
    // A durable commit waits for the hung checkpoint's flush: the watchdog must end the wait.
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.write(put(2, 2)).await
    })
    .await
    .expect("a write hangs behind the hung flush");
    assert!(outcome.is_err(), "{outcome:?}");
    let why = writer.halt().reason().expect("halted");
    assert!(why.contains("has not finished"), "{why}");
    assert!(!writer.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_marks_the_database_suspect_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.redb");
    let suspect = dir.path().join(super::super::super::dbfile::SUSPECT);
    let (file, flusher) =
        DbFile::with_flush_marking(open_rw(&path).expect("open"), Some(suspect.clone()), |_| {
            Err(std::io::Error::other("EIO"))
        })
        .expect("file");
    let db = Arc::new(
        Database::builder()
            .create_with_backend(file)
            .expect("create"),
    );
    let (journal, _) = Journal::open(dir.path()).expect("journal");
    let writer: Writer<Put> = Writer::start(
        db,
        Some(journal),
        Some(flusher),
        (),
        Duration::from_millis(10),
    )
    .expect("start");
    writer.journaled(Put(1)).await.expect("first");
    let halted = tokio::time::timeout(Duration::from_secs(10), writer.halt().halted())
        .await
        .expect("the failed flush halts the writer");
    assert!(halted.contains("EIO"), "{halted}");
    let marker = std::fs::read_to_string(&suspect).expect("the database is marked suspect");
    assert!(marker.contains("EIO"), "{marker}");
}

/// redb's file on a disk that fills up: once `full`, every write and growth fails with
/// ENOSPC (the fault-injecting backend).
#[derive(Debug)]
struct FillingUp {
    inner: DbFile,
    full: Arc<std::sync::atomic::AtomicBool>,
}

impl FillingUp {
    fn check(&self) -> std::io::Result<()> {
        if self.full.load(std::sync::atomic::Ordering::Acquire) {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        Ok(())
    }
}

impl redb::StorageBackend for FillingUp {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> std::io::Result<()> {
        self.inner.close()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_halts_the_writer_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.redb");
    let full = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut acked = Vec::new();
    {
        let (inner, flusher) = DbFile::open(&path).expect("file");
        let file = FillingUp {
            inner,
            full: full.clone(),
        };
        let db = Arc::new(
            Database::builder()
                .create_with_backend(file)
                .expect("create"),
        );
        let (journal, _) = Journal::open(dir.path()).expect("journal");
        let writer: Writer<Put> = Writer::start(
            db,
            Some(journal),
            Some(flusher),
            (),
            Duration::from_millis(10),
        )
        .expect("start");
        for key in 1..=3 {
            writer
                .journaled(Put(key))
                .await
                .expect("before the disk fills");
            acked.push(key);
        }
        full.store(true, std::sync::atomic::Ordering::Release);
        // The journal is preallocated: bookings may still be made durable there until the
        // next checkpoint (or commit) needs room in redb's file; then the writer halts.
        let mut refused = None;
        for key in 4..200 {
            match writer.journaled(Put(key)).await {
                Ok(()) => acked.push(key),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let refused = refused.expect("a full disk never refused a booking");
        // The refusal says the disk is full (its own message at every audience).
        assert!(matches!(refused, StoreError::DiskFull), "{refused:?}");
        let why = writer.halt().reason().expect("halted");
        assert!(why.contains("No space left") || why.contains("28"), "{why}");
        assert!(!writer.is_alive(), "readiness would pass");
        writer.stop().await;
    }
    // Room again: the restart replays the journal, and every acknowledged booking is there.
    full.store(false, std::sync::atomic::Ordering::Release);
    let (file, _) = DbFile::open(&path).expect("file");
    let db = Database::builder()
        .create_with_backend(file)
        .expect("reopen");
    let (journal, records) = Journal::open(dir.path()).expect("journal");
    replay::<Put>(&db, &records, &journal.stranded(), &(), None).expect("replay");
    assert_eq!(
        keys(&db),
        acked,
        "acknowledged bookings lost to a full disk"
    );
}
