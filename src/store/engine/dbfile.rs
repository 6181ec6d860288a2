//! redb's database file, with one twist: a checkpoint's `fdatasync` finishes on a thread of its
//! own ([`Flusher`]) instead of holding up the writer.
//!
//! What holds: every commit a checkpoint covers is already durable in the journal, which keeps
//! it until the checkpoint's flush is done, so only that flush is deferred
//! ([`Flusher::deferring`]). Until it is done, every call that changes the file (`write`,
//! `set_len`, another `sync_data`) waits for it: the file goes through exactly the writes and
//! flushes, in the order, it would with a plain file, each flush complete before the next
//! write, and a crash meanwhile leaves what a crash during a plain `sync_data` would. Every
//! other `sync_data` is not deferred. The deferred flush is paced ([`write_back`]): it starts
//! the write-back of the pages itself, a [`CHUNK`] at a time, so that a journal `fdatasync`
//! issued meanwhile carries a chunk or two rather than all of them; durability still comes
//! from its `fdatasync` alone. See `docs/storage.md`.

use std::fmt;
use std::fs::File;
use std::io;
use std::num::NonZeroU64;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

pub use super::flusher::{Flusher, Ticket};
use super::probe::{self, Mutation};

/// redb's file: a [`FileBackend`] whose deferred flushes run on the flush thread.
pub struct DbFile {
    inner: FileBackend,
    flusher: Arc<Flusher>,
    /// Where a failed flush is recorded ([`SUSPECT`] beside the file), if anywhere.
    suspect: Option<PathBuf>,
    /// The file's path (empty when unknown), for the power-loss simulator's tap.
    path: PathBuf,
}

/// Written (durably) beside the database file when a flush of it fails: Linux may then have
/// marked pages clean that never reached the disk, so the next start must not trust the
/// file's last checkpoint (it rebuilds the file: `store::rebuild`).
pub const SUSPECT: &str = "barberpro.redb.suspect";

/// A deferred flush starts the write-back of this many bytes of pages at a time, and rests
/// [`REST`] before the next, so that the device has room for the journal's flushes in
/// between (see the module's docs).
pub const CHUNK: u64 = 64 << 10;
const REST: Duration = Duration::from_millis(1);

impl DbFile {
    /// Opens the database file at `path` (created if missing) and starts its flush thread.
    /// A file created here has its folder synced: its name is durable before redb's first
    /// commit is.
    pub fn open(path: &Path) -> io::Result<(Self, Arc<Flusher>)> {
        let existed = path.exists();
        let file = open_rw(path)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        if !existed {
            probe::created(path);
            File::open(&dir)?.sync_all()?;
            probe::dir_synced(&dir);
        }
        let flushing = file.try_clone()?;
        let tapped = path.to_path_buf();
        let (mut file, flusher) =
            Self::with_flush_marking(file, Some(dir.join(SUSPECT)), move |written| {
                if probe::mutated(&tapped, Mutation::DeferredSyncDoesNothing) {
                    return Ok(());
                }
                let upto = probe::sync_starts(&tapped);
                write_back(&flushing, written)?;
                probe::synced(&tapped, upto);
                Ok(())
            })?;
        file.path = path.to_path_buf();
        Ok((file, flusher))
    }

    /// [`DbFile::with_flush`], recording a failed flush (deferred or not) at `suspect`.
    pub(super) fn with_flush_marking(
        file: File,
        suspect: Option<PathBuf>,
        mut flush: impl FnMut(Vec<(u64, u64)>) -> io::Result<()> + Send + 'static,
    ) -> io::Result<(Self, Arc<Flusher>)> {
        let marking = suspect.clone();
        let (mut file, flusher) = Self::with_flush(file, move |written| {
            flush(written).inspect_err(|e| {
                if let Some(path) = &marking {
                    mark_suspect(path, e);
                }
            })
        })?;
        file.suspect = suspect;
        Ok((file, flusher))
    }

    /// [`DbFile::open`] for an open `file`, with what the flush thread runs for a deferred
    /// flush (given the ranges written since the last flush).
    pub(super) fn with_flush(
        file: File,
        flush: impl FnMut(Vec<(u64, u64)>) -> io::Result<()> + Send + 'static,
    ) -> io::Result<(Self, Arc<Flusher>)> {
        let inner = FileBackend::new(file).map_err(io::Error::other)?;
        let flusher = Flusher::start(flush)?;
        Ok((
            Self {
                inner,
                flusher: flusher.clone(),
                suspect: None,
                path: PathBuf::new(),
            },
            flusher,
        ))
    }
}

/// Opens `path` for reading and writing, creating it if missing (owner-only: it holds
/// clients' personal data), as redb opens its files.
pub(super) fn open_rw(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

impl fmt::Debug for DbFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbFile")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Drop for DbFile {
    fn drop(&mut self) {
        self.flusher.close();
    }
}

impl StorageBackend for DbFile {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.flusher.settle()?;
        self.inner.set_len(len)?;
        probe::set_len(&self.path, len);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        if self.flusher.take_deferral() {
            // A deferred flush waits for none: the flush thread runs them one at a time, and
            // nothing was written since the last one finished (writes wait for it).
            return self.flusher.ask();
        }
        self.flusher.settle()?;
        let upto = probe::sync_starts(&self.path);
        if let Err(e) = self.inner.sync_data() {
            if let Some(path) = &self.suspect {
                mark_suspect(path, &e);
            }
            return Err(e);
        }
        probe::synced(&self.path, upto);
        self.flusher.lock().written.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.flusher.settle()?;
        self.inner.write(offset, data)?;
        probe::wrote(&self.path, offset, data);
        self.flusher
            .lock()
            .written
            .push((offset, data.len() as u64));
        Ok(())
    }

    fn close(&self) -> io::Result<()> {
        let settled = self.flusher.settle();
        self.flusher.close();
        let closed = self.inner.close();
        settled.and(closed)
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

/// Records durably that a flush of the database failed (see [`SUSPECT`]); if even that
/// fails, the error says so in the log, and the writer halts all the same.
fn mark_suspect(path: &Path, why: &io::Error) {
    let tmp = path.with_extension("suspect.new");
    let written = std::fs::write(&tmp, format!("a flush of the database failed: {why}\n"))
        .and_then(|()| File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all());
    match written {
        Ok(()) => {
            tracing::error!(error = %why, path = %path.display(), "a flush of the database failed; the next start rebuilds it")
        }
        Err(e) => {
            tracing::error!(error = %why, marker = %e, path = %path.display(), "a flush of the database failed, and so did recording it")
        }
    }
}

/// A deferred flush: starts the write-back of the `written` ranges of `file` a [`CHUNK`] at a
/// time, resting [`REST`] after each, then flushes the file (see the module's docs). If the
/// kernel refuses to start a write-back, the `fdatasync` alone does the work.
fn write_back(file: &File, written: Vec<(u64, u64)>) -> io::Result<()> {
    for chunk in chunks(written, CHUNK) {
        if start_write_back(file, &chunk).is_err() {
            break;
        }
        std::thread::sleep(REST);
    }
    file.sync_data()
}

/// Hands the dirty pages of every range in `chunk` to the device, without waiting for them.
/// On Linux `POSIX_FADV_DONTNEED` starts the write-back of a range's dirty pages
/// (`WB_SYNC_NONE`, what `sync_file_range(SYNC_FILE_RANGE_WRITE)` does; PostgreSQL's
/// `pg_flush_data` uses it the same way where that call is missing) and then drops only the
/// range's clean pages, which these, dirty or under write-back, are not (unless the kernel
/// wrote them back already: then redb reads them from the disk again). Unlike
/// `sync_file_range`, it has a safe wrapper.
fn start_write_back(file: &File, chunk: &[(u64, u64)]) -> io::Result<()> {
    for &(offset, len) in chunk {
        if let Some(len) = NonZeroU64::new(len) {
            rustix::fs::fadvise(file, offset, Some(len), rustix::fs::Advice::DontNeed)?;
        }
    }
    Ok(())
}

/// The ranges in `written`, sorted, merged where they touch or overlap, and cut into groups
/// of `size` bytes (the last one less), a range split where a group ends.
fn chunks(mut written: Vec<(u64, u64)>, size: u64) -> Vec<Vec<(u64, u64)>> {
    let size = size.max(1);
    written.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(written.len());
    for (offset, len) in written {
        match merged.last_mut() {
            Some((at, n)) if offset <= *at + *n => *n = (*n).max(offset + len - *at),
            _ => merged.push((offset, len)),
        }
    }
    let mut out: Vec<Vec<(u64, u64)>> = Vec::new();
    let mut group: Vec<(u64, u64)> = Vec::new();
    let mut bytes = 0;
    for (mut offset, mut len) in merged {
        while len > 0 {
            let piece = len.min(size - bytes);
            group.push((offset, piece));
            (offset, len, bytes) = (offset + piece, len - piece, bytes + piece);
            if bytes == size {
                out.push(std::mem::take(&mut group));
                bytes = 0;
            }
        }
    }
    if !group.is_empty() {
        out.push(group);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use redb::{Database, ReadableDatabase, TableDefinition};

    use super::*;

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    fn open(path: &Path) -> (Database, Arc<Flusher>) {
        let (file, flusher) = DbFile::open(path).unwrap();
        (
            Database::builder().create_with_backend(file).unwrap(),
            flusher,
        )
    }

    fn put(db: &Database, key: u64, durability: redb::Durability) {
        let mut txn = db.begin_write().unwrap();
        txn.set_durability(durability).unwrap();
        txn.open_table(T).unwrap().insert(key, key).unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn written_ranges_are_merged_sorted_and_cut_into_chunks() {
        let page = 4096;
        // Out of order, one repeated, two touching, one overlapping.
        let written = vec![
            (10 * page, page),
            (0, page),
            (page, page),
            (10 * page, page),
            (3 * page, 2 * page),
            (4 * page, 3 * page),
            (20 * page, page),
        ];
        assert_eq!(
            chunks(written.clone(), 3 * page),
            vec![
                vec![(0, 2 * page), (3 * page, page)],
                vec![(4 * page, 3 * page)],
                vec![(10 * page, page), (20 * page, page)],
            ]
        );
        assert_eq!(
            chunks(written, u64::MAX),
            vec![vec![
                (0, 2 * page),
                (3 * page, 4 * page),
                (10 * page, page),
                (20 * page, page)
            ]]
        );
        assert!(chunks(Vec::new(), CHUNK).is_empty());
    }

    #[test]
    fn a_deferred_flush_writes_back_what_was_written_since_the_last_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.redb");
        let (given, flushes) = std::sync::mpsc::channel::<Vec<(u64, u64)>>();
        let flushing = open_rw(&path).unwrap();
        let (file, flusher) = DbFile::with_flush(open_rw(&path).unwrap(), move |written| {
            given.send(written.clone()).unwrap();
            write_back(&flushing, written)
        })
        .unwrap();
        let db = Database::builder().create_with_backend(file).unwrap();
        for key in 0..50 {
            put(&db, key, redb::Durability::None);
        }
        let checkpoint = |db: &Database| {
            let txn = db.begin_write().unwrap();
            let (committed, ticket) = flusher.deferring(|| txn.commit());
            committed.unwrap();
            flusher.wait(ticket.expect("deferred")).unwrap();
            flushes.recv().unwrap()
        };
        let first = checkpoint(&db);
        assert!(!first.is_empty(), "the checkpoint wrote pages");
        // A durable commit flushed on the caller's thread: the next deferred flush is given
        // only what came after it.
        put(&db, 100, redb::Durability::Immediate);
        let second = checkpoint(&db);
        assert!(second.len() < first.len(), "{second:?} after {first:?}");
        drop(db);
        let (db, _) = open(&path);
        let read = db.begin_read().unwrap();
        let table = read.open_table(T).unwrap();
        for key in (0..50).chain([100]) {
            assert_eq!(table.get(key).unwrap().map(|v| v.value()), Some(key));
        }
    }

    #[test]
    fn a_deferred_flush_is_numbered_and_its_end_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.redb");
        let (db, flusher) = open(&path);
        put(&db, 1, redb::Durability::None);
        let txn = db.begin_write().unwrap();
        let (committed, ticket) = flusher.deferring(|| txn.commit());
        committed.unwrap();
        let ticket = ticket.expect("the durable commit's flush was deferred");
        flusher.wait(ticket).unwrap();
        assert!(matches!(flusher.finished(ticket), Some(Ok(_))));
        // Only that commit: the next durable one flushes before it returns.
        put(&db, 2, redb::Durability::Immediate);
        let (_, none) = flusher.deferring(|| ());
        assert_eq!(none, None, "nothing asked for a flush");
        let txn = db.begin_write().unwrap();
        let (_, later) = flusher.deferring(|| txn.commit());
        assert!(later.is_some_and(|t| t.0 == ticket.0 + 1), "{later:?}");
        drop(db);
        let (db, _) = open(&path);
        let read = db.begin_read().unwrap();
        let table = read.open_table(T).unwrap();
        for key in [1, 2] {
            assert_eq!(table.get(key).unwrap().map(|v| v.value()), Some(key));
        }
    }

    #[test]
    fn a_commit_that_fails_before_its_flush_leaves_the_next_one_on_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let (db, flusher) = open(&dir.path().join("f.redb"));
        let (outcome, ticket) = flusher.deferring(|| Err::<(), _>("refused before the flush"));
        assert!(outcome.is_err());
        assert_eq!(ticket, None);
        let before = flusher.lock().asked;
        put(&db, 1, redb::Durability::Immediate);
        assert_eq!(
            flusher.lock().asked,
            before,
            "flushed on the caller's thread"
        );
    }

    #[test]
    fn writes_wait_for_the_deferred_flush_and_a_failed_one_refuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = open_rw(&dir.path().join("f.redb")).unwrap();
        // The flush thread's flushes wait for the test's word, and the second one fails.
        let (gate, opened) = std::sync::mpsc::channel::<io::Result<()>>();
        let opened = Mutex::new(opened);
        let (file, flusher) = DbFile::with_flush(file, move |_| {
            opened.lock().unwrap().recv().unwrap_or(Ok(()))
        })
        .unwrap();
        let db = Arc::new(Database::builder().create_with_backend(file).unwrap());
        put(&db, 1, redb::Durability::None);
        // The checkpoint runs on a thread of its own: when its commit shrinks the file, the
        // shrink (a change) waits for the flush too.
        let checkpointing = db.clone();
        let checkpoint_flusher = flusher.clone();
        let checkpoint = std::thread::spawn(move || {
            let txn = checkpointing.begin_write().unwrap();
            let (committed, ticket) = checkpoint_flusher.deferring(|| txn.commit());
            committed.unwrap();
            ticket.expect("deferred")
        });
        while flusher.lock().asked == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let first = Ticket(1);
        assert_eq!(flusher.finished(first), None, "the flush runs");

        // No durable commit meanwhile gets its pages written before that flush is done.
        let (done, finished) = std::sync::mpsc::channel();
        let writing = db.clone();
        let writer = std::thread::spawn(move || {
            put(&writing, 2, redb::Durability::Immediate);
            done.send(()).unwrap();
        });
        assert!(
            finished.recv_timeout(Duration::from_millis(300)).is_err(),
            "a commit wrote while the flush ran"
        );
        gate.send(Ok(())).unwrap();
        finished.recv_timeout(Duration::from_secs(10)).unwrap();
        writer.join().unwrap();
        assert_eq!(checkpoint.join().unwrap(), first);
        assert!(matches!(flusher.finished(first), Some(Ok(_))));

        // A deferred flush that fails: its ticket says so, and the file refuses every change.
        let checkpointing = db.clone();
        let checkpoint_flusher = flusher.clone();
        let checkpoint = std::thread::spawn(move || {
            let txn = checkpointing.begin_write().unwrap();
            checkpoint_flusher.deferring(|| txn.commit()).1
        });
        while flusher.lock().asked == 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        gate.send(Err(io::Error::other("the disk is gone")))
            .unwrap();
        let why = flusher.wait(Ticket(2)).unwrap_err();
        assert!(why.contains("the disk is gone"), "{why}");
        assert_eq!(checkpoint.join().unwrap(), Some(Ticket(2)));
        let after = db.begin_write().map_err(redb::Error::from).and_then(|txn| {
            txn.open_table(T)?.insert(3, 3)?;
            Ok(txn.commit()?)
        });
        assert!(after.is_err(), "a commit after the failed flush");
    }
}
