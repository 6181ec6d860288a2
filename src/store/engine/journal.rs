//! The redo journal: what makes a client's booking durable without flushing redb each time.
//!
//! A redb durable commit writes every page the transaction copied (~60 scattered 4 KiB pages
//! for a batch of ten bookings) and waits for one `fdatasync` of them: ~2–3 ms in which the
//! writer can do nothing else. A logged batch instead appends one record (the requests
//! themselves, a few KiB) to this preallocated file, whose `fdatasync` (a sequential write, a
//! fraction of that) runs on the journal's own thread while the writer runs the requests
//! ([`Journal::write`], then [`Journal::wait`]); only then does it commit to redb without
//! flushing (`Durability::None`). A checkpoint (a durable redb commit, within
//! `storage.checkpoint_interval_ms`, and at every clean stop) makes everything before it
//! durable in the database.
//!
//! The journal is two files (segments) used in turn. Records go to the active one; a
//! checkpoint [rotates](Journal::rotate) them, and the segment it retires keeps its records
//! until the checkpoint's flush (which runs in the background, see
//! [`dbfile`](super::dbfile)) is done; only then is it [emptied](Journal::retire), ready for
//! the next rotation. A commit flushed through redb itself empties both.
//!
//! After a crash, [`Journal::open`] returns the records the database may lack, from both
//! segments in sequence order; the store replays, in order, those with a sequence number above
//! the one its durable state recorded (see `writer::replay`). Replaying a record runs the same
//! requests with the same inputs (time, rules, ids drawn from the same sequences) over the same
//! state, so it gives the same result.
//!
//! Format of a segment: records laid end to end from offset 0, each
//! `magic "BPJ1" | seq u64 | len u32 | checksum u64 | payload (len bytes)`, little-endian; the
//! checksum is the first 8 bytes of SHA-256 over `seq | len | payload`. Reading stops at the
//! first record that is torn, fails its checksum, or does not follow its predecessor's
//! sequence number.
//!
//! Records hold clients' names and phones, so a segment never keeps them longer than the
//! database needs them: emptying a segment (and retracting a record) overwrites every byte the
//! records used with zeros, not just the first header, so bytes past the last record are
//! always zero. Segments written by a version that zeroed only the first header may still hold
//! older rounds past it; [`Journal::scrub`] rewrites them once (see `Store::open`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use sha2::{Digest, Sha256};

/// The journal's two segment files inside the data folder.
pub const JOURNAL_FILES: [&str; 2] = ["barberpro.journal", "barberpro.journal.2"];
/// Size of each (zero-filled, preallocated) segment file. Overwriting blocks that already exist makes
/// each `fdatasync` a pure data write: no block allocation, no file-system journal commit.
pub const CAPACITY: u64 = 16 << 20;

const MAGIC: [u8; 4] = *b"BPJ1";
const HEADER: usize = 4 + 8 + 4 + 8;

/// One journal record: a sequence number and the logged requests, encoded by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// The two segments, which one takes records, and whether the other one still holds records
/// the database may lack (a checkpoint's flush runs).
#[derive(Debug)]
pub struct Journal {
    segments: [Segment; 2],
    active: usize,
    retiring: bool,
    syncer: Syncer,
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
}

/// The thread that runs a written record's `fdatasync` while the writer goes on; it ends
/// when the journal is dropped.
#[derive(Debug)]
struct Syncer {
    requests: mpsc::Sender<(Arc<File>, mpsc::SyncSender<io::Result<()>>)>,
}

impl Syncer {
    fn start() -> io::Result<Self> {
        let (requests, incoming) = mpsc::channel::<(Arc<File>, mpsc::SyncSender<io::Result<()>>)>();
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
    fn sync(&self, file: &Arc<File>) -> mpsc::Receiver<io::Result<()>> {
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
        };
        Ok((journal, records))
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
            },
            synced: self.syncer.sync(&segment.file),
        })
    }

    /// Waits until the record `pending` is on disk, and hands back where it lies. On error
    /// nothing is counted as written: the caller must not commit what the record describes.
    pub fn wait(&mut self, pending: Pending) -> io::Result<Synced> {
        let synced = pending
            .synced
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the journal's sync thread is gone")));
        let Synced { segment, at, len } = pending.record;
        if let Err(e) = synced {
            self.segments[segment].unwrite(at, len);
            return Err(e);
        }
        Ok(pending.record)
    }

    /// Forgets `record`, the last one written (its batch could not be committed after all).
    /// Fails if the record may still be read back.
    pub fn retract(&mut self, record: Synced) -> io::Result<()> {
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

/// One open segment file and where its next record goes.
#[derive(Debug)]
struct Segment {
    file: Arc<File>,
    path: PathBuf,
    tail: u64,
    capacity: u64,
    /// Created (or recreated) zero-filled since the journal was opened: nothing from an
    /// earlier round can be in it.
    created: bool,
}

impl Segment {
    /// Opens the segment `name` in `data_dir` (creating it, zero-filled, if missing or of
    /// another size) and returns it with the records it holds, oldest first.
    fn open(data_dir: &Path, name: &str) -> io::Result<(Self, Vec<Record>)> {
        let path = data_dir.join(name);
        let existing = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (records, size) = match &existing {
            Some(file) => {
                let size = file.metadata()?.len();
                (scan(file, size)?, Some(size))
            }
            None => (Vec::new(), None),
        };
        let created = existing.is_none() || size != Some(CAPACITY);
        let file = match existing {
            Some(file) if size == Some(CAPACITY) => file,
            // Never throw records away before they are replayed: use the file as it is (it
            // is recreated at the right size once empty, at the next start over).
            Some(file) if !records.is_empty() => {
                let capacity = size.unwrap_or(0);
                return Ok((
                    Self {
                        file: Arc::new(file),
                        path,
                        tail: capacity,
                        capacity,
                        created: false,
                    },
                    records,
                ));
            }
            _ => {
                create_zeroed(data_dir, &path)?;
                OpenOptions::new().read(true).write(true).open(&path)?
            }
        };
        let tail = records
            .iter()
            .map(|r| (HEADER + r.payload.len()) as u64)
            .sum();
        Ok((
            Self {
                file: Arc::new(file),
                path,
                tail,
                capacity: CAPACITY,
                created,
            },
            records,
        ))
    }

    /// Whether a record with a payload of `len` bytes still fits.
    fn fits(&self, len: usize) -> bool {
        self.tail + (HEADER + len) as u64 <= self.capacity
    }

    /// Writes a record after the last one (not flushed) and returns where it went and its
    /// length in bytes. On error nothing is counted as written.
    fn write(&mut self, seq: u64, payload: &[u8]) -> io::Result<(u64, u64)> {
        if !self.fits(payload.len()) {
            return Err(io::Error::other("the journal is full"));
        }
        let len = u32::try_from(payload.len()).map_err(|_| io::Error::other("record too big"))?;
        let mut buf = Vec::with_capacity(HEADER + payload.len());
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&checksum(seq, len, payload).to_le_bytes());
        buf.extend_from_slice(payload);
        let at = self.tail;
        let len = buf.len() as u64;
        if let Err(e) = self.file.write_all_at(&buf, at) {
            self.unwrite(at, len);
            return Err(e);
        }
        self.tail += len;
        Ok((at, len))
    }

    /// Takes back the record written at `at` (the last one), `len` bytes long, whose write or
    /// flush failed: it may have reached the disk all the same, so it is zeroed to make sure
    /// it is never replayed, since its batch will not commit (best effort; the caller stops
    /// using the journal).
    fn unwrite(&mut self, at: u64, len: u64) {
        let _ = self.zero(at, at + len).and_then(|()| self.file.sync_data());
        self.tail = at;
    }

    /// Forgets the last record written, `len` bytes at `at` (its batch could not be
    /// committed after all). Fails if the record may still be read back.
    fn retract(&mut self, at: u64, len: u64) -> io::Result<()> {
        if at + len != self.tail {
            return Err(io::Error::other("only the last record can be retracted"));
        }
        self.zero(at, self.tail)?;
        self.file.sync_data()?;
        self.tail = at;
        Ok(())
    }

    /// Starts over from offset 0, once the database holds every record durably, zeroing
    /// every byte the records used.
    fn start_over(&mut self) -> io::Result<()> {
        if self.tail == 0 {
            return Ok(());
        }
        if self.capacity != CAPACITY {
            // An odd-sized file kept for its records: they are in the database now.
            self.recreate()?;
        } else {
            // A crash part-way may leave some records readable: they are in the database,
            // and a replay skips them by their sequence numbers.
            self.zero(0, self.tail)?;
            self.file.sync_data()?;
        }
        self.tail = 0;
        Ok(())
    }

    /// See [`Journal::scrub`].
    fn scrub(&mut self) -> io::Result<()> {
        if self.created || self.tail != 0 {
            return Ok(());
        }
        self.recreate()
    }

    /// Replaces the file with a zero-filled one of [`CAPACITY`] bytes.
    fn recreate(&mut self) -> io::Result<()> {
        create_zeroed(self.path.parent().unwrap_or(Path::new(".")), &self.path)?;
        self.file = Arc::new(OpenOptions::new().read(true).write(true).open(&self.path)?);
        self.capacity = CAPACITY;
        self.created = true;
        Ok(())
    }

    /// Overwrites bytes `from..to` with zeros (not flushed).
    fn zero(&self, from: u64, to: u64) -> io::Result<()> {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let mut at = from;
        while at < to {
            let n = (to - at).min(ZEROS.len() as u64);
            self.file.write_all_at(&ZEROS[..n as usize], at)?;
            at += n;
        }
        Ok(())
    }
}

fn checksum(seq: u64, len: u32, payload: &[u8]) -> u64 {
    let mut h = Sha256::new();
    h.update(seq.to_le_bytes());
    h.update(len.to_le_bytes());
    h.update(payload);
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The valid records at the start of `file` (`size` bytes long), in order. Reads record by
/// record, so a start with an empty journal reads one header, not the whole file.
fn scan(file: &File, size: u64) -> io::Result<Vec<Record>> {
    let mut out: Vec<Record> = Vec::new();
    let mut at = 0u64;
    let mut header = [0u8; HEADER];
    while at + HEADER as u64 <= size {
        file.read_exact_at(&mut header, at)?;
        let field = |from: usize, to: usize| &header[from..to];
        if field(0, 4) != MAGIC {
            break;
        }
        let seq = u64::from_le_bytes(field(4, 12).try_into().unwrap_or([0; 8]));
        let len = u32::from_le_bytes(field(12, 16).try_into().unwrap_or([0; 4]));
        let sum = u64::from_le_bytes(field(16, 24).try_into().unwrap_or([0; 8]));
        let end = at + HEADER as u64 + u64::from(len);
        if end > size {
            break;
        }
        let mut payload = vec![0u8; len as usize];
        file.read_exact_at(&mut payload, at + HEADER as u64)?;
        if checksum(seq, len, &payload) != sum {
            break;
        }
        if out.last().is_some_and(|last| last.seq + 1 != seq) {
            break;
        }
        out.push(Record { seq, payload });
        at = end;
    }
    Ok(out)
}

/// Writes a zero-filled file of [`CAPACITY`] bytes at `path` (through a temporary name, so a
/// crash never leaves a short file behind) and makes it durable.
fn create_zeroed(dir: &Path, path: &Path) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..CAPACITY / zeros.len() as u64 {
            file.write_all(&zeros)?;
        }
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// Moves the journal's segments aside as `<name>.<suffix>` (a restore swaps the database under
/// them: the old records belong with the old file) and returns where they went; nothing
/// happens for a segment that does not exist.
pub fn set_aside(data_dir: &Path, suffix: &str) -> io::Result<Vec<PathBuf>> {
    let mut moved = Vec::new();
    for name in JOURNAL_FILES {
        let path = data_dir.join(name);
        if !path.exists() {
            continue;
        }
        let aside = data_dir.join(format!("{name}.{suffix}"));
        std::fs::rename(&path, &aside)?;
        moved.push(aside);
    }
    if !moved.is_empty() {
        File::open(data_dir)?.sync_all()?;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(records: &[Record]) -> Vec<(u64, &[u8])> {
        records
            .iter()
            .map(|r| (r.seq, r.payload.as_slice()))
            .collect()
    }

    #[test]
    fn records_come_back_in_order_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, found) = Journal::open(dir.path()).unwrap();
        assert!(found.is_empty());
        assert_eq!(
            std::fs::metadata(j.path()).unwrap().len(),
            CAPACITY,
            "preallocated"
        );
        j.append(7, b"first").unwrap();
        j.append(8, b"second").unwrap();
        drop(j);
        let (j, found) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            payloads(&found),
            vec![(7, &b"first"[..]), (8, &b"second"[..])]
        );
        assert_eq!(j.used(), (2 * HEADER + 11) as u64, "appends go after them");
    }

    #[test]
    fn a_torn_or_damaged_record_ends_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(1, b"kept").unwrap();
        j.append(2, b"damaged").unwrap();
        j.append(3, b"after the damage").unwrap();
        drop(j);
        let path = dir.path().join(JOURNAL_FILES[0]);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[2 * HEADER + 4 + 2] ^= 0xff; // a payload byte of record 2
        std::fs::write(&path, &bytes).unwrap();
        let (_, found) = Journal::open(dir.path()).unwrap();
        assert_eq!(payloads(&found), vec![(1, &b"kept"[..])]);
    }

    #[test]
    fn starting_over_forgets_every_record_and_a_retracted_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(1, b"one").unwrap();
        j.append(2, b"two").unwrap();
        j.start_over().unwrap();
        assert_eq!(j.used(), 0);
        drop(j);
        let (mut j, found) = Journal::open(dir.path()).unwrap();
        assert!(found.is_empty(), "{found:?}");
        // A new round overwrites the old one; what follows its last record is stale.
        j.append(3, b"three").unwrap();
        let four = j.append(4, b"four").unwrap();
        j.retract(four).unwrap();
        drop(j);
        let (_, found) = Journal::open(dir.path()).unwrap();
        assert_eq!(payloads(&found), vec![(3, &b"three"[..])]);
    }

    fn all_zero(path: &Path) -> bool {
        std::fs::read(path).unwrap().iter().all(|&b| b == 0)
    }

    #[test]
    fn emptied_and_retracted_records_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let path = j.path().to_owned();
        let ana = j.append(1, b"Ana Perez +5491155550001").unwrap();
        let beto = j.append(2, b"Beto Gomez +5491155550002").unwrap();
        assert!(j.retract(ana).is_err(), "only the last record");
        j.retract(beto).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let end = j.used() as usize;
        assert!(bytes[..end].windows(3).any(|w| w == b"Ana"));
        assert!(bytes[end..].iter().all(|&b| b == 0), "the retracted record");
        j.start_over().unwrap();
        assert!(all_zero(&path), "every byte the records used");
        // A retired segment is emptied the same way.
        j.append(3, b"Carla +5491155550003").unwrap();
        assert!(j.rotate());
        j.append(4, b"Dario +5491155550004").unwrap();
        j.retire().unwrap();
        assert!(all_zero(&path));
    }

    #[test]
    fn scrub_erases_what_an_older_version_left_past_the_first_header() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let path = j.path().to_owned();
        let ino = || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
        let fresh = ino();
        j.scrub().unwrap();
        assert_eq!(ino(), fresh, "a segment this open created is left alone");
        j.append(1, b"Ana Perez +5491155550001").unwrap();
        drop(j);
        // What an older version's start over did: only the first header zeroed.
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&[0; HEADER], 0).unwrap();
        drop(file);
        let (mut j, found) = Journal::open(dir.path()).unwrap();
        assert!(found.is_empty());
        assert!(!all_zero(&path), "the old record's bytes are still there");
        j.start_over().unwrap();
        j.scrub().unwrap();
        assert!(all_zero(&path));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), CAPACITY);
        j.append(2, b"next").unwrap();
        drop(j);
        let (_, found) = Journal::open(dir.path()).unwrap();
        assert_eq!(payloads(&found), vec![(2, &b"next"[..])]);
    }

    #[test]
    fn a_full_journal_refuses_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let big = vec![1u8; (CAPACITY as usize) - HEADER];
        assert!(j.fits(big.len()));
        assert!(!j.fits(big.len() + 1));
        j.append(1, &big).unwrap();
        assert!(j.append(2, b"x").is_err());
        assert_eq!(j.used(), CAPACITY);
    }

    #[test]
    fn a_rotation_keeps_the_retired_records_until_they_are_retired() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(1, b"one").unwrap();
        j.append(2, b"two").unwrap();
        let first = j.path().to_owned();
        assert!(j.rotate());
        assert_ne!(j.path(), first, "records go to the other segment");
        assert_eq!(j.used(), 0);
        assert!(!j.rotate(), "one segment is still retiring");
        j.append(3, b"three").unwrap();
        drop(j);
        // A crash before the checkpoint's flush is done: every record comes back, in order.
        let (mut j, found) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            payloads(&found),
            vec![(1, &b"one"[..]), (2, &b"two"[..]), (3, &b"three"[..])]
        );
        // Reopened, the first segment is active again (the caller replays, then starts over);
        // rotate as the writer would and retire the old segment.
        j.start_over().unwrap();
        j.append(4, b"four").unwrap();
        assert!(j.rotate());
        j.append(5, b"five").unwrap();
        assert!(j.is_retiring());
        j.retire().unwrap();
        assert!(!j.is_retiring());
        drop(j);
        let (_, found) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            payloads(&found),
            vec![(5, &b"five"[..])],
            "record 4 is retired"
        );
    }

    #[test]
    fn set_aside_moves_both_segments() {
        let dir = tempfile::tempdir().unwrap();
        assert!(set_aside(dir.path(), "pre-restore").unwrap().is_empty());
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(1, b"x").unwrap();
        drop(j);
        let aside = set_aside(dir.path(), "pre-restore").unwrap();
        assert_eq!(aside.len(), 2);
        assert!(aside.iter().all(|p| p.exists()));
        for name in JOURNAL_FILES {
            assert!(!dir.path().join(name).exists());
        }
        assert!(dir.path().join("barberpro.journal.pre-restore").exists());
    }
}
