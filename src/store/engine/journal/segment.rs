//! One segment file of the journal, and its format: records laid end to end from offset 0,
//! each `magic "BPJ1" | seq u64 | len u32 | checksum u64 | payload (len bytes)`,
//! little-endian; the checksum is the first 8 bytes of SHA-256 over `seq | len | payload`.
//! Reading stops at the first record that is torn, fails its checksum, or does not follow
//! its predecessor's sequence number. Only the last record may be torn (a power cut while it
//! was written): a valid record found past the first bad one is reported
//! ([`Segment::stranded`]), and the replay refuses it if the database lacks it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::super::probe::{self, Mutation};
use super::{CAPACITY, Record};

const MAGIC: [u8; 4] = *b"BPJ1";
pub(super) const HEADER: usize = 4 + 8 + 4 + 8;

/// What the journal does to a segment file: positioned writes and reads, and `fdatasync`.
/// A [`File`] in production; the power-loss simulator's recording file in tests.
pub(in crate::store::engine) trait SegmentFile:
    Send + Sync + std::fmt::Debug
{
    fn write_all_at(&self, buf: &[u8], at: u64) -> io::Result<()>;
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()>;
    fn sync_data(&self) -> io::Result<()>;
}

impl SegmentFile for File {
    fn write_all_at(&self, buf: &[u8], at: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, at)
    }
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, at)
    }
    fn sync_data(&self) -> io::Result<()> {
        File::sync_data(self)
    }
}

/// One open segment file and where its next record goes.
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) file: Arc<dyn SegmentFile>,
    pub(super) path: PathBuf,
    pub(super) tail: u64,
    pub(super) capacity: u64,
    /// Created (or recreated) zero-filled since the journal was opened: nothing from an
    /// earlier round can be in it.
    pub(super) created: bool,
    /// Where the last byte that is not zero ends, when past `tail` (a torn record, a crash
    /// while the segment was emptied): the next start over zeroes up to there.
    pub(super) dirty_end: u64,
    /// Valid records found past the first bad one: (offset, sequence number).
    pub(super) stranded: Vec<(u64, u64)>,
}

impl Segment {
    /// Opens the segment `name` in `data_dir` (creating it, zero-filled, if missing or of
    /// another size) and returns it with the records it holds, oldest first.
    pub(super) fn open(data_dir: &Path, name: &str) -> io::Result<(Self, Vec<Record>)> {
        let path = data_dir.join(name);
        let existing = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (scanned, size) = match &existing {
            Some(file) => {
                let size = file.metadata()?.len();
                (scan(file as &dyn SegmentFile, size)?, Some(size))
            }
            None => (Scan::default(), None),
        };
        let Scan {
            records,
            dirty_end,
            stranded,
        } = scanned;
        let created = existing.is_none() || size != Some(CAPACITY);
        let file = match existing {
            Some(file) if size == Some(CAPACITY) => file,
            // Never throw records away before they are replayed: use the file as it is (it
            // is recreated at the right size once empty, at the next start over).
            Some(file) if !records.is_empty() => {
                let capacity = size.unwrap_or(0);
                return Ok((
                    Self {
                        file: shared(file, &path),
                        path,
                        tail: capacity,
                        capacity,
                        created: false,
                        dirty_end: 0,
                        stranded,
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
                file: shared(file, &path),
                path,
                tail,
                capacity: CAPACITY,
                created,
                dirty_end,
                stranded,
            },
            records,
        ))
    }

    /// A segment over `file`, of `capacity` bytes, that the journal did not create: its
    /// records, as [`Segment::open`] finds them (the power-loss simulator's door).
    #[cfg(test)]
    pub(super) fn over(
        file: Arc<dyn SegmentFile>,
        path: PathBuf,
        capacity: u64,
    ) -> io::Result<(Self, Vec<Record>)> {
        let Scan {
            records,
            dirty_end,
            stranded,
        } = scan(file.as_ref(), capacity)?;
        let tail = records
            .iter()
            .map(|r| (HEADER + r.payload.len()) as u64)
            .sum();
        Ok((
            Self {
                file,
                path,
                tail,
                capacity,
                created: true,
                dirty_end,
                stranded,
            },
            records,
        ))
    }

    /// Whether a record with a payload of `len` bytes still fits.
    pub(super) fn fits(&self, len: usize) -> bool {
        self.tail + (HEADER + len) as u64 <= self.capacity
    }

    /// Writes a record after the last one (not flushed) and returns where it went and its
    /// length in bytes. On error nothing is counted as written.
    pub(super) fn write(&mut self, seq: u64, payload: &[u8]) -> io::Result<(u64, u64)> {
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
    pub(super) fn unwrite(&mut self, at: u64, len: u64) {
        let _ = self.zero(at, at + len).and_then(|()| self.file.sync_data());
        self.tail = at;
    }

    /// Forgets the last record written, `len` bytes at `at` (its batch could not be
    /// committed after all). Fails if the record may still be read back.
    pub(super) fn retract(&mut self, at: u64, len: u64) -> io::Result<()> {
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
    /// After an unclean stop this also zeroes what lies past the last record (a torn
    /// record, what a crash while emptying left), so that nothing but zeros follows it.
    pub(super) fn start_over(&mut self) -> io::Result<()> {
        let end = self.tail.max(self.dirty_end);
        if end == 0 {
            return Ok(());
        }
        if self.capacity != CAPACITY && !self.created {
            // An odd-sized file kept for its records: they are in the database now.
            self.recreate()?;
        } else {
            // A crash part-way may leave some records readable: they are in the database,
            // and a replay skips them by their sequence numbers.
            self.zero(0, end)?;
            self.file.sync_data()?;
        }
        self.tail = 0;
        self.dirty_end = 0;
        self.stranded.clear();
        Ok(())
    }

    /// See [`Journal::scrub`].
    pub(super) fn scrub(&mut self) -> io::Result<()> {
        if self.created || self.tail != 0 {
            return Ok(());
        }
        self.recreate()
    }

    /// Replaces the file with a zero-filled one of [`CAPACITY`] bytes.
    fn recreate(&mut self) -> io::Result<()> {
        create_zeroed(self.path.parent().unwrap_or(Path::new(".")), &self.path)?;
        self.file = shared(
            OpenOptions::new().read(true).write(true).open(&self.path)?,
            &self.path,
        );
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

/// What a segment file holds: the valid records at its start, in order; where its last
/// byte that is not zero ends, if past them; valid records past the first bad one.
#[derive(Default)]
struct Scan {
    records: Vec<Record>,
    dirty_end: u64,
    stranded: Vec<(u64, u64)>,
}

/// Reads `file` (`size` bytes long) whole: its records, and whether anything but zeros lies
/// past them (then where valid records hide there).
fn scan(file: &dyn SegmentFile, size: u64) -> io::Result<Scan> {
    let mut bytes = vec![0u8; usize::try_from(size).map_err(io::Error::other)?];
    file.read_exact_at(&mut bytes, 0)?;
    let mut out = Scan::default();
    let mut at = 0usize;
    while let Some((record, end)) = parse(&bytes, at) {
        if out
            .records
            .last()
            .is_some_and(|last| last.seq + 1 != record.seq)
        {
            break;
        }
        out.records.push(record);
        at = end;
    }
    let Some(last) = bytes[at..].iter().rposition(|&b| b != 0) else {
        return Ok(out);
    };
    out.dirty_end = (at + last + 1) as u64;
    // Something past the last good record: a torn last record, leftovers of an emptying cut
    // short, or damage with records after it. Only the replay can tell (by their numbers).
    let mut from = at + 1;
    while let Some(found) = find_magic(&bytes, from) {
        if let Some((record, _)) = parse(&bytes, found) {
            out.stranded.push((found as u64, record.seq));
        }
        from = found + 1;
    }
    Ok(out)
}

/// The highest record number in `file`, valid or stranded past damage (0: none).
pub(super) fn last_seq(file: &File) -> io::Result<u64> {
    let found = scan(file, file.metadata()?.len())?;
    let valid = found.records.iter().map(|r| r.seq);
    let stranded = found.stranded.iter().map(|&(_, seq)| seq);
    Ok(valid.chain(stranded).max().unwrap_or(0))
}

fn find_magic(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
        .map(|i| from + i)
}

/// The record at `at` in `bytes` and where it ends, if it is whole and its checksum holds.
fn parse(bytes: &[u8], at: usize) -> Option<(Record, usize)> {
    let header = bytes.get(at..at.checked_add(HEADER)?)?;
    if header[0..4] != MAGIC {
        return None;
    }
    let seq = u64::from_le_bytes(header[4..12].try_into().ok()?);
    let len = u32::from_le_bytes(header[12..16].try_into().ok()?);
    let sum = u64::from_le_bytes(header[16..24].try_into().ok()?);
    let end = (at + HEADER).checked_add(len as usize)?;
    let payload = bytes.get(at + HEADER..end)?;
    (checksum(seq, len, payload) == sum).then(|| {
        (
            Record {
                seq,
                payload: payload.to_vec(),
            },
            end,
        )
    })
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
        probe::created(&tmp);
        let zeros = vec![0u8; (1 << 20).min(CAPACITY as usize)];
        for n in 0..CAPACITY / zeros.len() as u64 {
            file.write_all(&zeros)?;
            probe::wrote(&tmp, n * zeros.len() as u64, &zeros);
        }
        let upto = probe::sync_starts(&tmp);
        file.sync_all()?;
        probe::synced(&tmp, upto);
    }
    std::fs::rename(&tmp, path)?;
    probe::renamed(&tmp, path);
    if probe::mutated(path, Mutation::NoFolderSyncAfterSegment) {
        return Ok(());
    }
    File::open(dir)?.sync_all()?;
    probe::dir_synced(dir);
    Ok(())
}

/// A segment's file as the journal uses it; in tests, tapped by the power-loss simulator.
fn shared(file: File, path: &Path) -> Arc<dyn SegmentFile> {
    #[cfg(test)]
    return Arc::new(Tapped {
        file,
        path: path.to_path_buf(),
    });
    #[cfg(not(test))]
    {
        let _ = path;
        Arc::new(file)
    }
}

/// A segment file whose writes and syncs the power-loss simulator logs.
#[cfg(test)]
#[derive(Debug)]
struct Tapped {
    file: File,
    path: PathBuf,
}

#[cfg(test)]
impl SegmentFile for Tapped {
    fn write_all_at(&self, buf: &[u8], at: u64) -> io::Result<()> {
        FileExt::write_all_at(&self.file, buf, at)?;
        probe::wrote(&self.path, at, buf);
        Ok(())
    }
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        FileExt::read_exact_at(&self.file, buf, at)
    }
    fn sync_data(&self) -> io::Result<()> {
        let upto = probe::sync_starts(&self.path);
        File::sync_data(&self.file)?;
        probe::synced(&self.path, upto);
        Ok(())
    }
}
