//! The redo journal: what makes a journaled batch durable without flushing redb each time.
//! A batch appends one record (its requests, as opaque bytes) to a preallocated file, whose
//! `fdatasync` runs on the journal's own thread while the writer runs the requests
//! ([`Journal::write`], then [`Journal::wait`]); only then does redb commit, unflushed.
//!
//! What holds:
//! * Two files (segments) are used in turn. A checkpoint [rotates](Journal::rotate) them; the
//!   segment it retires keeps its records until the checkpoint's flush is done, and only then
//!   is [emptied](Journal::retire). A commit flushed through redb itself empties both.
//! * After a crash, [`Journal::open`] returns the records of both segments in sequence order;
//!   the writer's replay applies those the database lacks.
//! * Records may hold personal data (what the requests carry), so a segment never keeps
//!   them longer than the database needs them: emptying a segment or retracting a record overwrites every byte the
//!   records used with zeros, and bytes past the last record are always zero. Segments from a
//!   version that zeroed only the first header are rewritten once ([`Journal::scrub`]).
//!
//! The format is in `journal/segment.rs`; the design in `docs/storage.md`.

mod segment;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use segment::{Segment, SegmentFile};

/// The journal's two segment files inside the data folder.
/// The `meta` key holding the sequence number of the last journal record in the database.
pub(crate) const JOURNAL_SEQ: &str = "journal.seq";

pub const JOURNAL_FILES: [&str; 2] = ["barberpro.journal", "barberpro.journal.2"];
/// Size of each (zero-filled, preallocated) segment file. Overwriting blocks that already
/// exist makes each `fdatasync` a pure data write: no block allocation, no file-system
/// journal commit.
#[cfg(not(test))]
pub const CAPACITY: u64 = 16 << 20;
/// Unit tests' segments are small: the power-loss simulator copies them per crash image.
#[cfg(test)]
pub const CAPACITY: u64 = 256 << 10;

/// A record's `fdatasync` still running after this long is counted as failed (a hung disk or
/// sync thread), as the flush thread's watchdog counts a checkpoint's flush.
pub const SYNC_HANG_LIMIT: std::time::Duration = super::flusher::HANG_LIMIT;

/// One journal record: a sequence number and the logged requests, encoded by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// A valid record found past a bad one in a segment: only the last record may be torn, so
/// if the database lacks it, records were lost and the replay refuses to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stranded {
    pub file: PathBuf,
    /// Where the valid records end (the first bad byte).
    pub damaged_at: u64,
    /// Where the stranded record lies, and its number.
    pub at: u64,
    pub seq: u64,
}

/// The two segments, which one takes records, and whether the other one still holds records
/// the database may lack (a checkpoint's flush runs).
#[derive(Debug)]
pub struct Journal {
    segments: [Segment; 2],
    active: usize,
    retiring: bool,
    syncer: Syncer,
    /// How long [`Journal::wait`] waits for a record's `fdatasync` (the watchdog).
    sync_limit: std::time::Duration,
    /// Tests: every retraction fails, as on a disk that refuses the zeroing.
    #[cfg(test)]
    pub(in crate::store::engine) fail_retract: bool,
}

/// A record written to the active segment whose `fdatasync` runs on the journal's sync
/// thread: the writer applies the record's requests meanwhile, and [`Journal::wait`]s for it
/// before it commits them. Until then the journal takes no other call.
#[must_use = "a written record must be waited for"]
#[derive(Debug)]
pub struct Pending {
    record: Synced,
    synced: mpsc::Receiver<io::Result<()>>,
}

/// Where a record on disk lies, as [`Journal::wait`] hands it back: what
/// [`Journal::retract`] takes, should its batch not commit after all.
#[derive(Debug, Clone, Copy)]
pub struct Synced {
    segment: usize,
    at: u64,
    len: u64,
    pub seq: u64,
}

impl Pending {
    /// The record's sequence number.
    pub fn seq(&self) -> u64 {
        self.record.seq
    }
}

/// A segment file to `fdatasync`, and where its outcome goes.
type SyncRequest = (Arc<dyn SegmentFile>, mpsc::SyncSender<io::Result<()>>);

/// The thread that runs a written record's `fdatasync` while the writer goes on; it ends
/// when the journal is dropped.
#[derive(Debug)]
struct Syncer {
    requests: mpsc::Sender<SyncRequest>,
}

impl Syncer {
    fn start() -> io::Result<Self> {
        let (requests, incoming) = mpsc::channel::<SyncRequest>();
        std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || {
                for (file, done) in incoming {
                    let _ = done.send(file.sync_data());
                }
            })?;
        Ok(Self { requests })
    }

    /// Starts `file`'s `fdatasync`; the receiver gets its outcome.
    fn sync(&self, file: &Arc<dyn SegmentFile>) -> mpsc::Receiver<io::Result<()>> {
        let (done, synced) = mpsc::sync_channel(1);
        // A gone thread drops `done`: the waiter then sees an error, never a success.
        let _ = self.requests.send((file.clone(), done));
        synced
    }
}

impl Journal {
    /// Opens both segments in `data_dir` (creating them, zero-filled, if missing) and returns
    /// the journal with the records they hold, in sequence order. The caller replays them and
    /// then calls [`Journal::start_over`].
    pub fn open(data_dir: &Path) -> io::Result<(Self, Vec<Record>)> {
        let (first, mut records) = Segment::open(data_dir, JOURNAL_FILES[0])?;
        let (second, more) = Segment::open(data_dir, JOURNAL_FILES[1])?;
        records.extend(more);
        records.sort_by_key(|r| r.seq);
        let journal = Self {
            segments: [first, second],
            active: 0,
            retiring: false,
            syncer: Syncer::start()?,
            sync_limit: SYNC_HANG_LIMIT,
            #[cfg(test)]
            fail_retract: false,
        };
        Ok((journal, records))
    }

    /// A journal over two segment files of `capacity` bytes each, as the power-loss simulator
    /// makes them; the records they hold, as [`Journal::open`] returns them.
    #[cfg(test)]
    pub(in crate::store::engine) fn over(
        files: [Arc<dyn SegmentFile>; 2],
        capacity: u64,
    ) -> io::Result<(Self, Vec<Record>)> {
        let [a, b] = files;
        let (first, mut records) = Segment::over(a, JOURNAL_FILES[0].into(), capacity)?;
        let (second, more) = Segment::over(b, JOURNAL_FILES[1].into(), capacity)?;
        records.extend(more);
        records.sort_by_key(|r| r.seq);
        let journal = Self {
            segments: [first, second],
            active: 0,
            retiring: false,
            syncer: Syncer::start()?,
            sync_limit: SYNC_HANG_LIMIT,
            fail_retract: false,
        };
        Ok((journal, records))
    }

    /// Tests: the sync watchdog's limit.
    #[cfg(test)]
    pub(in crate::store::engine) fn set_sync_limit(&mut self, limit: std::time::Duration) {
        self.sync_limit = limit;
    }

    /// Valid records found past a bad one, in either segment (see [`Stranded`]).
    pub fn stranded(&self) -> Vec<Stranded> {
        self.segments
            .iter()
            .flat_map(|s| {
                s.stranded.iter().map(|&(at, seq)| Stranded {
                    file: s.path.clone(),
                    damaged_at: s.tail,
                    at,
                    seq,
                })
            })
            .collect()
    }

    /// The active segment's file.
    pub fn path(&self) -> &Path {
        &self.segments[self.active].path
    }

    /// Bytes used by records in the active segment.
    pub fn used(&self) -> u64 {
        self.segments[self.active].tail
    }

    /// Whether a record with a payload of `len` bytes still fits in the active segment.
    pub fn fits(&self, len: usize) -> bool {
        self.segments[self.active].fits(len)
    }

    /// Appends a record to the active segment and waits until it is on disk (`fdatasync`).
    /// On error nothing is counted as written: the caller must not commit what the record
    /// describes.
    #[cfg(test)]
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> io::Result<Synced> {
        let pending = self.write(seq, payload)?;
        self.wait(pending)
    }

    /// Writes a record to the active segment and starts its `fdatasync` on the sync thread;
    /// [`Journal::wait`] tells whether it reached the disk. On error nothing is counted as
    /// written.
    pub fn write(&mut self, seq: u64, payload: &[u8]) -> io::Result<Pending> {
        let segment = &mut self.segments[self.active];
        let (at, len) = segment.write(seq, payload)?;
        Ok(Pending {
            record: Synced {
                segment: self.active,
                at,
                len,
                seq,
            },
            synced: self.syncer.sync(&segment.file),
        })
    }

    /// Waits until the record `pending` is on disk, and hands back where it lies. On error
    /// nothing is counted as written: the caller must not commit what the record describes.
    /// A sync still running after [`SYNC_HANG_LIMIT`] fails (the watchdog), as one the disk
    /// refused: the batch is not committed, and the caller stops using the journal.
    pub fn wait(&mut self, pending: Pending) -> io::Result<Synced> {
        let synced = match pending.synced.recv_timeout(self.sync_limit) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(io::Error::other("the journal's sync thread is gone"))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Zeroing the record would wait on the same hung disk: the caller voids it
                // through the database instead.
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the journal's fdatasync has not finished after {} s (a hung disk or sync thread)",
                        self.sync_limit.as_secs_f64()
                    ),
                ));
            }
        };
        let Synced {
            segment, at, len, ..
        } = pending.record;
        if let Err(e) = synced {
            self.segments[segment].unwrite(at, len);
            return Err(e);
        }
        Ok(pending.record)
    }

    /// Forgets `record`, the last one written (its batch could not be committed after all).
    /// Fails if the record may still be read back.
    pub fn retract(&mut self, record: Synced) -> io::Result<()> {
        #[cfg(test)]
        if self.fail_retract {
            return Err(io::Error::other("the zeroing was refused (test)"));
        }
        self.segments[record.segment].retract(record.at, record.len)
    }

    /// Whether the segment a checkpoint retired still holds its records.
    pub fn is_retiring(&self) -> bool {
        self.retiring
    }

    /// A checkpoint committed everything recorded so far: records go to the other segment
    /// from now on, and this one is kept until [`Journal::retire`]. False (and nothing
    /// changes) while the last retired segment is still kept.
    pub fn rotate(&mut self) -> bool {
        if self.retiring {
            return false;
        }
        self.active = 1 - self.active;
        self.retiring = true;
        true
    }

    /// The retired segment's records are durable in the database (its checkpoint's flush is
    /// done): empties it.
    pub fn retire(&mut self) -> io::Result<()> {
        if self.retiring {
            self.segments[1 - self.active].start_over()?;
            self.retiring = false;
        }
        Ok(())
    }

    /// Empties both segments, once the database holds every record durably (after a durable
    /// commit through redb, or a replay).
    pub fn start_over(&mut self) -> io::Result<()> {
        for segment in &mut self.segments {
            segment.start_over()?;
        }
        self.retiring = false;
        Ok(())
    }

    /// Rewrites both (empty) segments as zero-filled files, erasing whatever a version that
    /// zeroed only the first header left past it. A segment this open created is zero-filled
    /// already and is left alone. Call it after [`Journal::start_over`].
    pub fn scrub(&mut self) -> io::Result<()> {
        for segment in &mut self.segments {
            segment.scrub()?;
        }
        Ok(())
    }
}

/// Copies each segment to `<name>.damaged` (a copy already there, from an earlier refused
/// start, is kept: it is the first look at the damage), synced; returns the copies. The
/// segments themselves stay as they are.
pub fn keep_copies(data_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut kept = Vec::new();
    for name in JOURNAL_FILES {
        let path = data_dir.join(name);
        let copy = data_dir.join(format!("{name}.damaged"));
        if path.exists() && !copy.exists() {
            let tmp = data_dir.join(format!("{name}.damaged.new"));
            std::fs::copy(&path, &tmp)?;
            File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &copy)?;
        }
        if copy.exists() {
            kept.push(copy);
        }
    }
    File::open(data_dir)?.sync_all()?;
    Ok(kept)
}

/// Copies each segment there is to `<name>.<suffix>`, whole and durably (a restore keeps
/// the old records beside the old file; a copy, not a link, since the start zeroes the
/// segments in place); returns the copies.
pub fn copy_aside(data_dir: &Path, suffix: &str) -> io::Result<Vec<PathBuf>> {
    let mut copied = Vec::new();
    for name in JOURNAL_FILES {
        let bytes = match std::fs::read(data_dir.join(name)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let aside = data_dir.join(format!("{name}.{suffix}"));
        super::files::write_durably(&aside, &bytes, 0o600)?;
        copied.push(aside);
    }
    Ok(copied)
}

/// Removes both segments (a restored file starts with none) and syncs the folder.
pub fn remove_segments(data_dir: &Path) -> io::Result<()> {
    for name in JOURNAL_FILES {
        let path = data_dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => super::probe::removed(&path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    super::files::sync_dir(data_dir)
}

/// Makes the database file at `db` ignore every record the journal in `data_dir` holds
/// (valid or stranded): its `journal.seq` is raised past them, so a start that finds it
/// beside that journal replays none of them and numbers its own records after them.
pub fn disown(db: &Path, data_dir: &Path) -> Result<(), crate::store::StoreError> {
    let mut last = 0;
    for name in JOURNAL_FILES {
        let path = data_dir.join(name);
        let read = |e| crate::store::StoreError::io(format!("reading {}", path.display()), e);
        match File::open(&path) {
            Ok(file) => last = last.max(segment::last_seq(&file).map_err(read)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(read(e)),
        }
    }
    if last == 0 {
        return Ok(());
    }
    let db = redb::Database::open(db)?;
    let txn = db.begin_write()?;
    {
        use redb::ReadableTable;
        let mut meta = txn.open_table(super::META)?;
        let done = meta.get(JOURNAL_SEQ)?.map_or(0, |v| v.value());
        if done < last {
            meta.insert(JOURNAL_SEQ, last)?;
        }
    }
    txn.commit()?;
    Ok(())
}
