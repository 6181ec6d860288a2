//! The change log: every committed write transaction's rows (see [`super::capture`]),
//! numbered in `meta["changelog.seq"]` in the transaction itself, appended to segment files
//! in `<data>/changelog/` by a thread of its own after the commit. Nothing here runs on the
//! booking's path but the capture, one `meta` row per batch and a channel send: no fsync, no
//! second pass. What the appender had not written when the machine lost power is lost from
//! the log (the replication's RPO covers it); a gap it leaves is noticed at the next start
//! and breaks the generation until the next snapshot starts a new one.
//!
//! A generation is one snapshot and the segments after it. Segments are sealed (footer with
//! a SHA-256) when asked ([`ChangeLog::seal`]) and then wait, named
//! `<generation>.<segment:08>.seg`, until the shipper (`crate::replication`) uploads and
//! removes them.

pub mod format;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::capture::WriteTransaction;
use crate::store::error::StoreError;
use format::Footer;

/// The folder under the data folder.
pub const DIR: &str = "changelog";
/// The `meta` key holding the last transaction's number in the log.
pub const SEQ_KEY: &str = "changelog.seq";
const OPEN_FILE: &str = "open.seg";
const STATE_FILE: &str = "state.json";

/// What survives a restart: the generation being written, and whether it is whole.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// This data folder's id: a lease in the bucket names it (a copy of the folder brought
    /// back elsewhere would carry it, a restore into a new folder makes a new one).
    pub server_id: String,
    /// `None` until the first snapshot starts one: before it, nothing is logged.
    pub generation: Option<String>,
    pub next_segment: u64,
    /// Why this generation misses transactions (records dropped over the backlog bound, a
    /// tail lost to a power cut); nothing more is logged until the next generation.
    pub broken: Option<String>,
    /// The bucket location (`s3://bucket/prefix`) this folder was restored or promoted from:
    /// only such a folder, before its first generation, may take over that prefix's lease
    /// from another server (`snapshot::replicate::check_lease`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takeover: Option<String>,
}

/// Figures the shipper and the metrics read.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Sealed segments waiting to be shipped, and their bytes.
    pub waiting: u64,
    pub waiting_bytes: u64,
    /// Records dropped because the backlog was over its bound.
    pub dropped: u64,
    /// The bound on `waiting_bytes` (`snapshot.replicate_max_backlog_mb`).
    pub max_backlog: u64,
    /// The newest transaction handed to the log: number, commit time (Unix ms).
    pub last_seq: u64,
    pub last_ms: Option<i64>,
    /// When the oldest transaction not yet shipped committed (about: after a shipped one,
    /// that one's time), `None` when all are shipped.
    pub pending_since: Option<i64>,
    /// What the shipper reported: the newest transaction in the bucket, bytes and objects
    /// uploaded, failed rounds (in all, and in a row), the last failure.
    pub shipped: Shipped,
    pub state: State,
}

/// The shipper's figures, kept here so that metrics and pages read them from the store.
#[derive(Debug, Clone, Default)]
pub struct Shipped {
    pub last_seq: u64,
    pub last_ms: Option<i64>,
    pub bytes: u64,
    pub objects: u64,
    pub failures: u64,
    pub failing_for: u64,
    /// When the failing rounds in a row began (Unix ms).
    pub failing_since: Option<i64>,
    pub last_error: Option<String>,
}

impl Figures {
    /// How old the oldest transaction not yet in the bucket is, in seconds, at `now_ms`
    /// (0 when everything is shipped): what a lost disk would cost now.
    pub fn lag_seconds(&self, now_ms: i64) -> f64 {
        self.pending_since
            .map_or(0.0, |since| (now_ms - since).max(0) as f64 / 1000.0)
    }

    /// Whether transactions are no longer kept for the bucket (over the bound, or a gap).
    pub fn behind(&self) -> bool {
        self.state.broken.is_some()
    }
}

enum Msg {
    Record(format::Record),
    Seal(mpsc::Sender<std::io::Result<()>>),
    Generation(String, mpsc::Sender<std::io::Result<()>>),
    EndGeneration(mpsc::Sender<std::io::Result<()>>),
}

/// The handle: the writer stamps and sends, snapshots start generations, the shipper seals.
#[derive(Clone)]
pub struct ChangeLog {
    tx: mpsc::Sender<Msg>,
    next_seq: Arc<AtomicU64>,
    dir: PathBuf,
    shared: Arc<Mutex<Figures>>,
    /// Whether a generation is being written (whole): the writer captures rows only then.
    capturing: Arc<AtomicBool>,
}

impl std::fmt::Debug for ChangeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeLog").field("dir", &self.dir).finish()
    }
}

/// The last logged transaction's number, from `meta`.
pub fn logged_seq(txn: &impl super::ReadTx) -> Result<u64, StoreError> {
    Ok(txn
        .table(super::META)?
        .get(SEQ_KEY)?
        .map_or(0, |v| v.value()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl ChangeLog {
    /// Opens `<data>/changelog` (0700), checks its open segment against the database's
    /// last logged number `db_seq`, and starts the appender thread. `max_backlog` bounds the
    /// bytes of sealed segments waiting to be shipped.
    pub fn open(data_dir: &Path, db_seq: u64, max_backlog: u64) -> std::io::Result<Self> {
        let dir = data_dir.join(DIR);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        let mut state: State = std::fs::read(dir.join(STATE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if state.server_id.is_empty() {
            state.server_id = uuid::Uuid::new_v4().simple().to_string();
            write_state(&dir, &state)?;
        }
        let mut appender = Appender {
            dir: dir.clone(),
            state,
            open: None,
            shared: Arc::new(Mutex::new(Figures {
                max_backlog,
                ..Figures::default()
            })),
            capturing: Arc::new(AtomicBool::new(false)),
        };
        appender.recover(db_seq)?;
        appender.capturing.store(
            appender.state.generation.is_some() && appender.state.broken.is_none(),
            Ordering::Release,
        );
        let (shared, capturing) = (appender.shared.clone(), appender.capturing.clone());
        appender.publish();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("changelog".into())
            .spawn(move || appender.run(rx))?;
        Ok(Self {
            tx,
            next_seq: Arc::new(AtomicU64::new(db_seq + 1)),
            dir,
            shared,
            capturing,
        })
    }

    /// Whether the writer should capture rows: a whole generation is being written. Off
    /// until a snapshot starts one (never, with no bucket), and while one is broken.
    pub fn capturing(&self) -> bool {
        self.capturing.load(Ordering::Acquire)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Numbers a transaction that changed rows: writes its number in `meta` (itself part of
    /// the transaction, so a restored database knows where it stands). Called by the writer
    /// just before the commit; [`Self::append`] follows it if the commit succeeds.
    pub(crate) fn stamp(&self, txn: &WriteTransaction) -> Result<Option<(u64, i64)>, StoreError> {
        if !txn.has_changes() {
            return Ok(None);
        }
        let seq = self.next_seq.load(Ordering::Relaxed);
        txn.open_table(super::META)?.insert(SEQ_KEY, seq)?;
        Ok(Some((seq, now_ms())))
    }

    /// Hands a committed transaction's rows to the appender (never blocks).
    pub(crate) fn append(&self, seq: u64, at_ms: i64, ops: Vec<u8>) {
        self.next_seq.store(seq + 1, Ordering::Relaxed);
        if let Ok(mut f) = self.shared.lock() {
            f.last_seq = seq;
            f.last_ms = Some(at_ms);
            f.pending_since.get_or_insert(at_ms);
        }
        let _ = self
            .tx
            .send(Msg::Record(format::Record { seq, at_ms, ops }));
    }

    /// Seals the open segment (if it holds records) so that it can be shipped; returns once
    /// it is done.
    pub fn seal(&self) -> std::io::Result<()> {
        self.ask(Msg::Seal)
    }

    /// Seals the open segment and starts generation `name`: called before a snapshot's
    /// copy, whose `changelog.seq` then sits at or after the generation's first record.
    pub fn begin_generation(&self, name: &str) -> std::io::Result<()> {
        let name = name.to_owned();
        self.ask(|reply| Msg::Generation(name, reply))
    }

    /// Seals the open segment and ends the generation (none is written until a snapshot
    /// starts the next): after a schema migration at open, whose snapshot the old
    /// generation's replay could not reach (migrations are not logged).
    pub fn end_generation(&self) -> std::io::Result<()> {
        self.ask(Msg::EndGeneration)
    }

    fn ask(
        &self,
        msg: impl FnOnce(mpsc::Sender<std::io::Result<()>>) -> Msg,
    ) -> std::io::Result<()> {
        let (reply, answer) = mpsc::channel();
        self.tx
            .send(msg(reply))
            .map_err(|_| std::io::Error::other("the change-log thread is gone"))?;
        answer
            .recv()
            .map_err(|_| std::io::Error::other("the change-log thread is gone"))?
    }

    /// Sets the bound on the bytes of sealed segments waiting to be shipped.
    pub fn set_max_backlog(&self, bytes: u64) {
        if let Ok(mut f) = self.shared.lock() {
            f.max_backlog = bytes;
        }
    }

    /// The shipper's report of one round.
    pub fn report(&self, update: impl FnOnce(&mut Shipped)) {
        if let Ok(mut f) = self.shared.lock() {
            update(&mut f.shipped);
            if f.shipped.last_seq >= f.last_seq {
                f.pending_since = None;
            } else if let Some(shipped) = f.shipped.last_ms {
                f.pending_since = Some(shipped);
            }
        }
    }

    pub fn figures(&self) -> Figures {
        self.shared.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Sealed segments waiting to be shipped, oldest first.
    pub fn sealed(&self) -> std::io::Result<Vec<PathBuf>> {
        sealed_in(&self.dir)
    }

    /// Re-counts the backlog after the shipper removed a segment.
    pub fn shipped(&self) {
        let _ = count_backlog(&self.dir, &self.shared);
    }
}

/// Sets the backlog figures (segments waiting, their bytes) from the sealed files in `dir`.
fn count_backlog(dir: &Path, shared: &Mutex<Figures>) -> std::io::Result<()> {
    let list = sealed_in(dir)?;
    if let Ok(mut f) = shared.lock() {
        f.waiting = list.len() as u64;
        f.waiting_bytes = list
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
    }
    Ok(())
}

/// Sealed segment files in `dir`, in name order (generation, then number).
pub fn sealed_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".seg") && n != OPEN_FILE)
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The file name of a sealed segment.
pub fn segment_name(generation: &str, segment: u64) -> String {
    format!("{generation}.{segment:08}.seg")
}

/// Gives `data_dir` a change log of its own, as a restore or a promotion does: a new server
/// id, no generation, and `takeover` (the bucket location it came from). Written durably,
/// with no server holding the folder; returns the new id.
pub fn start_fresh(data_dir: &Path, takeover: Option<String>) -> std::io::Result<String> {
    let dir = data_dir.join(DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let state = State {
        server_id: uuid::Uuid::new_v4().simple().to_string(),
        takeover,
        ..State::default()
    };
    write_state(&dir, &state)?;
    Ok(state.server_id)
}

fn write_state(dir: &Path, state: &State) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    super::files::write_durably(&dir.join(STATE_FILE), &bytes, 0o600)
}

struct OpenSegment {
    file: File,
    /// Header and records written (kept to hash at the seal: segments are small).
    body: Vec<u8>,
    first: Option<(u64, i64)>,
    last: Option<(u64, i64)>,
    records: u64,
}

struct Appender {
    dir: PathBuf,
    state: State,
    open: Option<OpenSegment>,
    shared: Arc<Mutex<Figures>>,
    capturing: Arc<AtomicBool>,
}

impl Appender {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Record(r) => {
                    if let Err(e) = self.write(&r) {
                        self.break_generation(format!(
                            "writing transaction {} to the change log failed: {e}",
                            r.seq
                        ));
                    }
                }
                Msg::Seal(reply) => {
                    let _ = reply.send(self.seal());
                }
                Msg::Generation(name, reply) => {
                    let _ = reply.send(self.generation(name));
                }
                Msg::EndGeneration(reply) => {
                    let _ = reply.send(self.end_generation());
                }
            }
            self.publish();
        }
        // The writer is gone (a clean stop): what is open stays for the next start.
    }

    fn publish(&self) {
        if let Ok(mut f) = self.shared.lock() {
            f.state = self.state.clone();
        }
    }

    fn break_generation(&mut self, why: String) {
        if self.state.broken.is_none() {
            tracing::error!(reason = %why, "continuous backup: the change log's generation is broken until the next snapshot");
            self.state.broken = Some(why);
            self.capturing.store(false, Ordering::Release);
            let _ = write_state(&self.dir, &self.state);
        }
    }

    fn write(&mut self, r: &format::Record) -> std::io::Result<()> {
        let Some(generation) = self.state.generation.clone() else {
            return Ok(());
        };
        if self.state.broken.is_some() {
            return Ok(());
        }
        if let Some((last, _)) = self.open.as_ref().and_then(|o| o.last)
            && r.seq != last + 1
        {
            self.break_generation(format!("transaction {} follows {last}", r.seq));
            return Ok(());
        }
        let (waiting, bound) = self
            .shared
            .lock()
            .map(|f| (f.waiting_bytes, f.max_backlog))
            .unwrap_or((0, u64::MAX));
        if waiting > bound {
            if let Ok(mut f) = self.shared.lock() {
                f.dropped += 1;
            }
            self.break_generation(format!(
                "{waiting} bytes wait to be shipped, over the bound: transaction {} and later are not kept",
                r.seq
            ));
            return Ok(());
        }
        if self.open.is_none() {
            self.open = Some(self.create(&generation)?);
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        let bytes = format::encode_record(r.seq, r.at_ms, &r.ops);
        open.file.write_all(&bytes)?;
        open.body.extend_from_slice(&bytes);
        open.first.get_or_insert((r.seq, r.at_ms));
        open.last = Some((r.seq, r.at_ms));
        open.records += 1;
        Ok(())
    }

    fn create(&mut self, generation: &str) -> std::io::Result<OpenSegment> {
        let header = format::header(generation, self.state.next_segment);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(self.dir.join(OPEN_FILE))?;
        file.write_all(&header)?;
        Ok(OpenSegment {
            file,
            body: header,
            first: None,
            last: None,
            records: 0,
        })
    }

    /// Footer, then rename to its sealed name; the next segment gets the next number.
    fn seal(&mut self) -> std::io::Result<()> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        let (Some(first), Some(last), Some(generation)) =
            (open.first, open.last, self.state.generation.clone())
        else {
            return Ok(());
        };
        let tail = format::footer(
            &open.body,
            &Footer {
                records: open.records,
                first_seq: first.0,
                last_seq: last.0,
                first_ms: first.1,
                last_ms: last.1,
            },
        );
        open.file.write_all(&tail)?;
        open.file.sync_data()?;
        let name = segment_name(&generation, self.state.next_segment);
        std::fs::rename(self.dir.join(OPEN_FILE), self.dir.join(&name))?;
        self.state.next_segment += 1;
        write_state(&self.dir, &self.state)?;
        if let Ok(mut f) = self.shared.lock() {
            f.waiting += 1;
            f.waiting_bytes += (open.body.len() + tail.len()) as u64;
        }
        Ok(())
    }

    fn generation(&mut self, name: String) -> std::io::Result<()> {
        if self.state.broken.is_none() {
            self.seal()?;
        }
        self.open = None;
        let _ = std::fs::remove_file(self.dir.join(OPEN_FILE));
        self.state.generation = Some(name);
        self.state.next_segment = 0;
        self.state.broken = None;
        write_state(&self.dir, &self.state)?;
        // Before the answer: the snapshot's copy then waits out the transactions begun
        // without capture (see `snapshot::take`).
        self.capturing.store(true, Ordering::Release);
        Ok(())
    }

    fn end_generation(&mut self) -> std::io::Result<()> {
        if self.state.broken.is_none() {
            self.seal()?;
        }
        self.open = None;
        let _ = std::fs::remove_file(self.dir.join(OPEN_FILE));
        self.state.generation = None;
        self.state.next_segment = 0;
        self.state.broken = None;
        self.capturing.store(false, Ordering::Release);
        write_state(&self.dir, &self.state)
    }

    /// At open: takes up the open segment a stop left, keeping its whole records up to the
    /// database's number. Records the database has and the log lost (a power cut) break the
    /// generation.
    fn recover(&mut self, db_seq: u64) -> std::io::Result<()> {
        let path = self.dir.join(OPEN_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let scan = format::scan(&bytes).ok();
        let mut kept = match (&scan, &self.state.generation) {
            (Some(s), Some(g)) if &s.generation == g && s.segment == self.state.next_segment => s
                .records
                .iter()
                .take_while(|r| r.seq <= db_seq)
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        let logged = kept.last().map(|r| r.seq);
        if let Some(generation) = self.state.generation.clone()
            && self.state.broken.is_none()
        {
            let mut open = self.create(&generation)?;
            for r in kept.drain(..) {
                let bytes = format::encode_record(r.seq, r.at_ms, &r.ops);
                open.file.write_all(&bytes)?;
                open.body.extend_from_slice(&bytes);
                open.first.get_or_insert((r.seq, r.at_ms));
                open.last = Some((r.seq, r.at_ms));
                open.records += 1;
            }
            self.open = Some(open);
            // The sealed segments' last number, when the open one is empty.
            let sealed_last = sealed_in(&self.dir)?
                .last()
                .and_then(|p| std::fs::read(p).ok())
                .and_then(|b| format::scan(&b).ok())
                .and_then(|s| s.footer)
                .map(|f| f.last_seq);
            if let Some(last) = logged.or(sealed_last)
                && last < db_seq
            {
                self.open = None;
                self.break_generation(format!(
                    "the database holds transactions {}..={db_seq} the change log lost (an unclean stop)",
                    last + 1
                ));
            }
        }
        count_backlog(&self.dir, &self.shared)
    }
}
