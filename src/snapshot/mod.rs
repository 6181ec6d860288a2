//! Snapshots: take, compress, encrypt, keep locally, upload, prune; restore and verify.
//!
//! * [`manifest`]: names, the manifest, the retention rule (pure).
//! * [`upload`]: the S3-compatible bucket (`object_store`).
//! * [`restore`]: fetch, verify, swap in; the `verify` drill.
//! * [`status`]: the last results, in a JSON file the metrics and admin pages read.
//! * [`follow`], [`standby`]: the standby kept current from the bucket, its promotion.
//!
//! The redb part (a consistent copy from one read transaction, compaction, integrity check)
//! is `crate::store::snapshot`: this module never touches redb.

pub mod follow;
pub mod keys;
pub mod manifest;
pub mod pitr;
mod prune;
pub mod replicate;
pub mod restore;
pub mod standby;
pub mod status;
pub mod upload;

use prune::{prune_generations, prune_local, prune_remote};

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::store::snapshot::{CheckError, free_space};
use crate::store::{Store, StoreError};
use manifest::{MANIFEST_FORMAT, Manifest, REDB_VERSION, SnapshotName};
use upload::{Remote, RemoteError};

/// Exit statuses of `snapshot`, `snapshot verify` and `restore` (see `barberpro --help`).
pub mod exit {
    pub const CONFIG: u8 = 1;
    pub const IN_USE: u8 = 3;
    pub const SCHEMA_TOO_NEW: u8 = 4;
    pub const FAILED: u8 = 7;
    pub const UPLOAD_FAILED: u8 = 8;
    pub const RETENTION_FAILED: u8 = 9;
    /// A point-in-time restore stopped at a damaged change-log segment (what came before it
    /// is restored).
    pub const PARTIAL: u8 = 10;
    /// `follow` on a folder that holds a primary's database (or a standby of another
    /// bucket), `promote` on a folder that is not a standby.
    pub const STANDBY: u8 = 11;
}

/// Why a snapshot, restore or verify did not succeed. [`SnapshotError::exit_code`] maps each
/// to the command's exit status.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Settings that cannot work (exit 1).
    #[error("configuration: {0}")]
    Config(String),
    /// The database (exit 3 when another process holds it, 4 for a newer schema, else 7).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A copy or a file to restore failed its checks (exit 7, or 4 for a newer schema).
    #[error(transparent)]
    Check(#[from] CheckError),
    /// Not enough room for the copy (exit 7).
    #[error(
        "not enough free space in {dir}: {free} bytes free, {needed} needed (twice the database)"
    )]
    NoSpace { dir: String, free: u64, needed: u64 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// age encryption or decryption (exit 7).
    #[error("age: {0}")]
    Crypto(String),
    /// The snapshot was taken and kept locally, but not uploaded (exit 8).
    #[error("upload to {location} failed; the local copy {local} is kept: {source}")]
    Upload {
        location: String,
        local: String,
        source: Box<RemoteError>,
    },
    /// Another server writes this bucket and prefix; nothing was taken (exit 8).
    #[error("{0}")]
    Lease(String),
    /// The folder is not what `follow` or `promote` needs (exit 11).
    #[error("{0}")]
    Standby(String),
    /// `promote`'s last catch-up from the bucket failed; nothing was changed (exit 7).
    #[error("{0}")]
    CatchUp(String),
    /// Uploaded, but old snapshots that should be gone are still there (exit 9).
    #[error("retention: {0}")]
    Retention(String),
    /// A downloaded or local snapshot does not match its manifest (exit 7).
    #[error("verification failed: {0}")]
    Mismatch(String),
    /// Nothing to restore (exit 7).
    #[error("no snapshot found: {0}")]
    NotFound(String),
    /// Listing or downloading from the bucket (exit 7).
    #[error(transparent)]
    Remote(Box<RemoteError>),
}

impl From<RemoteError> for SnapshotError {
    fn from(e: RemoteError) -> Self {
        Self::Remote(Box::new(e))
    }
}

impl SnapshotError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => exit::CONFIG,
            Self::Store(StoreError::InUse { .. })
            | Self::Check(CheckError::Store(StoreError::InUse { .. })) => exit::IN_USE,
            Self::Store(StoreError::SchemaTooNew { .. })
            | Self::Check(CheckError::Store(StoreError::SchemaTooNew { .. })) => {
                exit::SCHEMA_TOO_NEW
            }
            Self::Upload { .. } | Self::Lease(_) => exit::UPLOAD_FAILED,
            Self::Retention(_) => exit::RETENTION_FAILED,
            Self::Standby(_) => exit::STANDBY,
            _ => exit::FAILED,
        }
    }

    /// An I/O error's wrapper, naming what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

/// A snapshot that was taken (and uploaded, if asked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotReport {
    pub name: String,
    pub local_file: PathBuf,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
    pub encrypted: bool,
    pub bookings: u64,
    pub duration_ms: u64,
    /// How long the read transaction was open (writers are never blocked by it).
    pub copy_ms: u64,
    /// `s3://bucket/prefix` when uploaded.
    pub uploaded_to: Option<String>,
    /// Remote snapshots deleted by retention.
    pub pruned: Vec<String>,
}

impl SnapshotReport {
    /// The one line `barberpro snapshot` prints.
    pub fn summary(&self) -> String {
        let upload = match &self.uploaded_to {
            Some(to) => format!("uploaded to {to}"),
            None => "not uploaded".into(),
        };
        format!(
            "snapshot {} ok: {} bookings, {} bytes stored ({} raw{}), {upload}, {} pruned, {} ms",
            self.name,
            self.bookings,
            self.stored_bytes,
            self.raw_bytes,
            if self.encrypted {
                ", age-encrypted"
            } else {
                ""
            },
            self.pruned.len(),
            self.duration_ms
        )
    }
}

/// Whether to upload: the flag if given, else whenever a bucket is configured.
pub fn wants_upload(config: &Config, flag: Option<bool>) -> Result<bool, SnapshotError> {
    let configured = config.snapshot.s3.bucket.is_some();
    match flag {
        Some(true) if !configured => Err(SnapshotError::Config(
            "--upload needs a bucket: set snapshot.s3.bucket".into(),
        )),
        Some(flag) => Ok(flag),
        None => Ok(configured),
    }
}

/// Takes a snapshot of `store` and records the outcome in the status file. This is what
/// both the server (asked over the socket) and a stand-alone `barberpro snapshot` run.
pub async fn run(
    config: &Config,
    store: &Store,
    upload: Option<bool>,
) -> Result<SnapshotReport, SnapshotError> {
    let started = Instant::now();
    let result = take(config, store, upload, Timestamp::now()).await;
    status::record_snapshot(&config.storage.data_dir, &result, started.elapsed());
    match &result {
        Ok(r) => {
            tracing::info!(name = %r.name, bytes = r.stored_bytes, ms = r.duration_ms, "snapshot taken")
        }
        Err(e) => tracing::error!(error = %e, "snapshot failed"),
    }
    result
}

/// Names have a one-second resolution: a second snapshot within the same second (an upgrade's
/// snapshot right after the timer's) takes the next free second instead of overwriting the
/// first. Snapshots are taken one at a time, so checking the local folder is enough.
fn free_name(dir: &Path, mut name: SnapshotName, encrypted: bool) -> SnapshotName {
    while dir.join(name.manifest_file()).exists() || dir.join(name.data_file(encrypted)).exists() {
        name.created += jiff::SignedDuration::from_secs(1);
    }
    name
}

/// The pipeline: copy → compress (→ encrypt) → manifest → local retention → upload (data,
/// then manifest) → remote retention.
pub async fn take(
    config: &Config,
    store: &Store,
    upload: Option<bool>,
    now: Timestamp,
) -> Result<SnapshotReport, SnapshotError> {
    let started = Instant::now();
    let cfg = &config.snapshot;
    let upload = wants_upload(config, upload)?;
    let remote = if upload {
        Remote::from_config(&cfg.s3).map_err(|e| SnapshotError::Config(e.to_string()))?
    } else {
        None
    };
    let recipient = match &cfg.age_recipient {
        Some(key) => Some(
            key.recipient()
                .map_err(|e| SnapshotError::Config(format!("snapshot.age_recipient: {e}")))?,
        ),
        None => None,
    };
    let dir = cfg.local_dir(&config.storage.data_dir);
    private_dir(&dir)?;
    let needed = store.file_size()?.saturating_mul(2);
    let free = free_space(&dir).map_err(SnapshotError::io(format!(
        "checking free space in {}",
        dir.display()
    )))?;
    if free < needed {
        return Err(SnapshotError::NoSpace {
            dir: dir.display().to_string(),
            free,
            needed,
        });
    }

    let encrypted = recipient.is_some();
    let name = free_name(
        &dir,
        SnapshotName::new(now, &host_name(cfg.host.as_deref())),
        encrypted,
    );
    let data_file = name.data_file(encrypted);
    let raw = dir.join(format!(".{}.redb.tmp", name.base()));
    let _ = std::fs::remove_file(&raw);
    // An old machine brought back is refused before it starts a generation or uploads.
    let mut lease_read = true;
    if let Some(remote) = &remote {
        lease_read = replicate::check_lease(remote, store.changelog())
            .await
            .map_err(SnapshotError::Lease)?;
    }
    // A new generation of the change log starts before the copy: the copy's
    // `changelog.seq` is then at or after the generation's first transaction.
    {
        let (log, base) = (store.changelog().clone(), name.base());
        tokio::task::spawn_blocking(move || log.begin_generation(&base))
            .await
            .map_err(|e| SnapshotError::Io {
                context: "the change-log task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(SnapshotError::io(
                "starting a change-log generation".to_owned(),
            ))?;
    }
    // Transactions the writer began before the generation started were not captured: one
    // write round trip later they have all committed, so the copy below holds them.
    store.write(|_| Ok(())).await?;
    let copy = {
        let (store, raw) = (store.clone(), raw.clone());
        tokio::task::spawn_blocking(move || store.copy_to(&raw))
            .await
            .map_err(|e| SnapshotError::Io {
                context: "the copy task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })?
    };
    let copy = match copy {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&raw);
            return Err(e.into());
        }
    };
    let stored_path = dir.join(&data_file);
    let packed = {
        let (raw, out, level) = (raw.clone(), stored_path.clone(), cfg.zstd_level);
        tokio::task::spawn_blocking(move || pack(&raw, &out, level, recipient))
            .await
            .map_err(|e| SnapshotError::Io {
                context: "the compression task failed".into(),
                source: std::io::Error::other(e.to_string()),
            })?
    };
    let _ = std::fs::remove_file(&raw);
    let packed = packed?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        name: name.base(),
        file: data_file.clone(),
        created_at: name.created,
        host: name.host.clone(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: copy.file.schema_version,
        redb_version: REDB_VERSION.into(),
        tables: copy.file.tables.clone(),
        raw_bytes: packed.raw_bytes,
        raw_sha256: packed.raw_sha256,
        stored_bytes: packed.stored_bytes,
        stored_sha256: packed.stored_sha256,
        compression: "zstd".into(),
        zstd_level: cfg.zstd_level,
        encryption: encrypted.then(|| "age".into()),
        copy_ms: copy.copy_ms,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|e| SnapshotError::Io {
        context: "encoding the manifest".into(),
        source: e.into(),
    })?;
    write_private(&dir.join(name.manifest_file()), &manifest_json)?;
    prune_local(&dir, cfg.keep_local)?;

    let mut report = SnapshotReport {
        name: name.base(),
        local_file: stored_path.clone(),
        raw_bytes: manifest.raw_bytes,
        stored_bytes: manifest.stored_bytes,
        encrypted,
        bookings: manifest.tables.get("bookings").copied().unwrap_or(0),
        duration_ms: 0,
        copy_ms: copy.copy_ms,
        uploaded_to: None,
        pruned: Vec::new(),
    };
    if let Some(remote) = remote {
        let upload_failed = |source| SnapshotError::Upload {
            location: remote.location.clone(),
            local: stored_path.display().to_string(),
            source: Box::new(source),
        };
        remote
            .upload_file(&stored_path, &data_file)
            .await
            .map_err(upload_failed)?;
        // The manifest goes last: until it is there the snapshot is incomplete.
        remote
            .upload_bytes(&name.manifest_file(), manifest_json)
            .await
            .map_err(upload_failed)?;
        // The keys travel beside the snapshot, only encrypted (see `keys`).
        if let Some(r) = cfg.age_recipient.as_ref().and_then(|k| k.recipient().ok()) {
            let bundle = keys::bundle(&config.storage.data_dir, &r)
                .map_err(SnapshotError::io("bundling the keys".to_owned()))?;
            remote
                .upload_bytes(&format!("{}{}", name.base(), keys::SUFFIX), bundle)
                .await
                .map_err(upload_failed)?;
        }
        // This data folder now writes the prefix's change log (see `replicate`), unless the
        // lease, unreadable before the copy, turns out to be held.
        let held = match lease_read {
            true => None,
            false => replicate::held_by_another(&remote, store.changelog()).await,
        };
        if let Some(holder) = held {
            tracing::warn!(holder = %holder, "continuous backup: the bucket's lease is another server's; not taken");
        } else if let Err(e) = replicate::take_lease(&remote, store.changelog()).await {
            tracing::warn!(error = %e, "continuous backup: could not take the bucket's lease");
        }
        report.uploaded_to = Some(remote.location.clone());
        report.pruned = prune_remote(&remote, now, cfg.retention_days).await?;
        if let Err(e) = prune_generations(&remote, now, cfg.retention_days).await {
            tracing::warn!(error = %e, "continuous backup: pruning old generations failed");
        }
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// `(file name, size)` of every file in `dir` (an absent folder is empty).
pub fn list_dir(dir: &Path) -> Result<Vec<(String, u64)>, SnapshotError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SnapshotError::io(format!("listing {}", dir.display()))(e)),
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        if let (Some(name), Ok(meta)) = (entry.file_name().to_str(), entry.metadata())
            && meta.is_file()
        {
            files.push((name.to_owned(), meta.len()));
        }
    }
    Ok(files)
}

/// The configured host name, else the machine's.
fn host_name(configured: Option<&str>) -> String {
    if let Some(host) = configured {
        return host.to_owned();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Creates `dir` (owner-only: snapshots hold names and phones) if missing.
pub(crate) fn private_dir(dir: &Path) -> Result<(), SnapshotError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(SnapshotError::io(format!("creating {}", dir.display())))
}

/// Writes a file atomically (temporary file, fsync, rename, folder fsync), owner-only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let tmp = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(SnapshotError::io(format!("creating {}", tmp.display())))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(SnapshotError::io(format!("writing {}", tmp.display())))?;
    rename_durably(&tmp, path)
}

/// Renames `tmp` to `path`, then syncs their folder: once this returns, a crash keeps the name.
pub(crate) fn rename_durably(tmp: &Path, path: &Path) -> Result<(), SnapshotError> {
    std::fs::rename(tmp, path).map_err(SnapshotError::io(format!("renaming {}", tmp.display())))?;
    crate::store::engine::probe::renamed(tmp, path);
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::store::sync_dir(dir).map_err(SnapshotError::io(format!("syncing {}", dir.display())))
}

/// Hashes and counts what passes through.
struct Hashing<T> {
    inner: T,
    hasher: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (T, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// SHA-256 (hex) and size of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64), SnapshotError> {
    let file =
        File::open(path).map_err(SnapshotError::io(format!("opening {}", path.display())))?;
    let mut reader = Hashing::new(BufReader::new(file));
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(SnapshotError::io(format!("reading {}", path.display())))?;
    let (_, sha, bytes) = reader.finish();
    Ok((sha, bytes))
}

struct Packed {
    raw_bytes: u64,
    raw_sha256: String,
    stored_bytes: u64,
    stored_sha256: String,
}

/// Streams `raw` through zstd (and age, with a recipient) into `out`, hashing both sides.
/// Written under a temporary name and renamed once synced.
fn pack(
    raw: &Path,
    out: &Path,
    level: i32,
    recipient: Option<age::x25519::Recipient>,
) -> Result<Packed, SnapshotError> {
    let tmp = out.with_extension("partial");
    let packed = pack_into(raw, &tmp, level, recipient);
    match packed {
        Ok(p) => rename_durably(&tmp, out).map(|()| p),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn pack_into(
    raw: &Path,
    tmp: &Path,
    level: i32,
    recipient: Option<age::x25519::Recipient>,
) -> Result<Packed, SnapshotError> {
    let io = |what: &str, p: &Path| SnapshotError::io(format!("{what} {}", p.display()));
    let input = File::open(raw).map_err(io("opening", raw))?;
    let mut input = Hashing::new(BufReader::new(input));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io("creating", tmp))?;
    let sink = Hashing::new(BufWriter::new(file));
    let sink = match recipient {
        Some(r) => {
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                    .map_err(|e| SnapshotError::Crypto(e.to_string()))?;
            let writer = encryptor
                .wrap_output(sink)
                .map_err(io("encrypting into", tmp))?;
            compress(&mut input, writer, level)
                .and_then(|w| w.finish())
                .map_err(io("compressing into", tmp))?
        }
        None => compress(&mut input, sink, level).map_err(io("compressing into", tmp))?,
    };
    let (buffered, stored_sha256, stored_bytes) = sink.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| SnapshotError::io(format!("writing {}", tmp.display()))(e.into_error()))?;
    file.sync_all().map_err(io("syncing", tmp))?;
    let (_, raw_sha256, raw_bytes) = input.finish();
    Ok(Packed {
        raw_bytes,
        raw_sha256,
        stored_bytes,
        stored_sha256,
    })
}

fn compress<R: Read, W: Write>(input: &mut R, out: W, level: i32) -> std::io::Result<W> {
    let mut encoder = zstd::Encoder::new(out, level)?;
    encoder.include_checksum(true)?;
    std::io::copy(input, &mut encoder)?;
    encoder.finish()
}
