//! Finding snapshots (local folder and bucket), restoring one, and the `verify` drill.
//!
//! A restore trusts nothing: the stored file's SHA-256 must match the manifest, the
//! decompressed file's too, redb's integrity check must pass, every table's row count must
//! equal the manifest's, and the schema must not be newer than this binary's. Only then is
//! the live file kept as `barberpro.redb.pre-restore` and the new one renamed over it (the
//! crash-safe order is `swap.rs`'s), with the data folder's lock held so no server can start
//! meanwhile.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::tz::TimeZone;
use serde::Serialize;

use super::manifest::{self, Listed, Manifest};
use super::upload::Remote;
use super::{Hashing, SnapshotError, list_dir, private_dir, sha256_file, status};
use crate::config::Config;
use crate::store::engine::swap::{self, pre_restore_suffix};
use crate::store::snapshot::{FileReport, inspect, lock_folder, refuse_newer_schema};
use crate::store::{DB_FILE, StoreError};

/// Which snapshot: the newest complete one, one by name, or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Latest,
    /// A base name (`barberpro-20261128T050000Z-host`) or one of its file names.
    Name(String),
    /// A local `.redb.zst[.age]` file with its manifest beside it.
    Path(PathBuf),
}

impl Source {
    pub fn parse(arg: &str) -> Self {
        if arg == "latest" {
            return Self::Latest;
        }
        if arg.contains('/') {
            return Self::Path(PathBuf::from(arg));
        }
        match manifest::classify(arg) {
            Some((name, _)) => Self::Name(name.base()),
            None => Self::Name(arg.to_owned()),
        }
    }
}

/// Where a snapshot's data file is.
#[derive(Debug, Clone)]
enum DataAt {
    Local(PathBuf),
    Remote(String),
}

#[derive(Debug, Clone)]
struct Located {
    manifest: Manifest,
    data: DataAt,
    /// Where it came from, for messages.
    from: String,
}

/// What a restore or verify brought back.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub name: String,
    pub from: String,
    pub tables: BTreeMap<String, u64>,
    /// The previous database, kept (restore only).
    pub pre_restore: Option<PathBuf>,
    pub duration_ms: u64,
}

impl Restored {
    pub fn summary(&self, verb: &str) -> String {
        let bookings = self.tables.get("bookings").copied().unwrap_or(0);
        let kept = match &self.pre_restore {
            Some(p) => format!(", previous database kept as {}", p.display()),
            None => String::new(),
        };
        format!(
            "{verb} {} ok (from {}): integrity checked, {} tables and {bookings} bookings match the manifest{kept}, {} ms",
            self.name,
            self.from,
            self.tables.len(),
            self.duration_ms
        )
    }
}

/// Restores `source` into `data_dir`. Refuses while a server (or anyone) holds the folder.
pub async fn restore(
    config: &Config,
    source: &Source,
    data_dir: &Path,
) -> Result<Restored, SnapshotError> {
    let started = Instant::now();
    let _lock = lock_folder(data_dir).map_err(|e| match e {
        StoreError::InUse { dir, holder } => SnapshotError::Store(StoreError::InUse {
            dir,
            holder: format!(
                "{holder}: stop the server first (systemctl stop barberpro), then restore"
            ),
        }),
        other => other.into(),
    })?;
    let work = data_dir.join(".restore");
    let staged = data_dir.join(swap::STAGED);
    // What a restore cut short left: never read, replaced here.
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_file(&staged);
    private_dir(&work)?;
    let result = async {
        let located = locate(config, source, false).await?;
        fetch_and_check(config, &located, &work, &staged).await?;
        // Each restore keeps what it replaces under a name of its own: an earlier restore's
        // kept files are never overwritten.
        let suffix = pre_restore_suffix(data_dir);
        let kept = swap::swap_in(data_dir, &staged, &suffix)?;
        Ok(Restored {
            name: located.manifest.name.clone(),
            from: located.from.clone(),
            tables: located.manifest.tables.clone(),
            pre_restore: kept,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// The restore drill: fetches (from the bucket when one is configured), checks everything a
/// restore checks, in a temporary folder, without touching the live data. Records the result.
pub async fn verify(config: &Config, source: &Source) -> Result<Restored, SnapshotError> {
    let started = Instant::now();
    let work = config
        .snapshot
        .local_dir(&config.storage.data_dir)
        .join(format!(".verify-{}", std::process::id()));
    let result = async {
        private_dir(&work)?;
        let located = locate(config, source, true).await?;
        fetch_and_check(config, &located, &work, &work.join(DB_FILE)).await?;
        Ok(Restored {
            name: located.manifest.name.clone(),
            from: located.from.clone(),
            tables: located.manifest.tables.clone(),
            pre_restore: None,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    let name = result.as_ref().ok().map(|r| r.name.clone());
    status::record_verify(
        &config.storage.data_dir,
        name.as_deref(),
        result.as_ref().map(|_| ()),
        started.elapsed(),
    );
    result
}

/// Downloads (if remote) into `work`, verifies and decompresses into `raw`.
async fn fetch_and_check(
    config: &Config,
    located: &Located,
    work: &Path,
    raw: &Path,
) -> Result<FileReport, SnapshotError> {
    let m = &located.manifest;
    refuse_newer_schema(m.schema_version)?;
    let data = match &located.data {
        DataAt::Local(path) => path.clone(),
        DataAt::Remote(file) => {
            let remote = remote(config)?
                .ok_or_else(|| SnapshotError::NotFound("no bucket configured".into()))?;
            let dest = work.join(file);
            remote.download(file, &dest).await?;
            dest
        }
    };
    let raw = raw.to_path_buf();
    let identity = config.snapshot.age_identity_file.clone();
    let manifest = m.clone();
    let report = tokio::task::spawn_blocking({
        let raw = raw.clone();
        move || check(&data, &manifest, &raw, identity.as_deref())
    })
    .await
    .map_err(|e| SnapshotError::Io {
        context: "the verification task failed".into(),
        source: std::io::Error::other(e.to_string()),
    })??;
    Ok(report)
}

/// Hash → decrypt → decompress → hash → integrity → schema → counts.
fn check(
    data: &Path,
    m: &Manifest,
    raw: &Path,
    identity: Option<&Path>,
) -> Result<FileReport, SnapshotError> {
    let (sha, size) = sha256_file(data)?;
    if size != m.stored_bytes || sha != m.stored_sha256 {
        return Err(SnapshotError::Mismatch(format!(
            "{}: {size} bytes with SHA-256 {sha}, the manifest says {} bytes with {} \
             (corrupted or truncated copy)",
            data.display(),
            m.stored_bytes,
            m.stored_sha256
        )));
    }
    let input = BufReader::new(
        File::open(data).map_err(SnapshotError::io(format!("opening {}", data.display())))?,
    );
    let plain: Box<dyn Read> = if m.encrypted() {
        let identity = identity.ok_or_else(|| {
            SnapshotError::Config(format!(
                "{} is age-encrypted: set snapshot.age_identity_file to the private key",
                m.file
            ))
        })?;
        let identities = age::IdentityFile::from_file(identity.display().to_string())
            .map_err(|e| SnapshotError::Crypto(format!("reading {}: {e}", identity.display())))?
            .into_identities()
            .map_err(|e| SnapshotError::Crypto(e.to_string()))?;
        let decryptor =
            age::Decryptor::new(input).map_err(|e| SnapshotError::Crypto(e.to_string()))?;
        let reader = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| SnapshotError::Crypto(format!("cannot decrypt {}: {e}", m.file)))?;
        Box::new(reader)
    } else {
        Box::new(input)
    };
    let mut decoder = zstd::Decoder::new(plain).map_err(SnapshotError::io(format!(
        "decompressing {}",
        data.display()
    )))?;
    let out = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(raw)
            .map_err(SnapshotError::io(format!("creating {}", raw.display())))?
    };
    let mut out = Hashing::new(BufWriter::new(out));
    std::io::copy(&mut decoder, &mut out).map_err(SnapshotError::io(format!(
        "decompressing {}",
        data.display()
    )))?;
    out.flush()
        .map_err(SnapshotError::io(format!("writing {}", raw.display())))?;
    let (_, raw_sha, raw_bytes) = out.finish();
    if raw_bytes != m.raw_bytes || raw_sha != m.raw_sha256 {
        return Err(SnapshotError::Mismatch(format!(
            "the decompressed database has {raw_bytes} bytes with SHA-256 {raw_sha}, the manifest says {} with {}",
            m.raw_bytes, m.raw_sha256
        )));
    }
    let report = inspect(raw)?;
    refuse_newer_schema(report.schema_version)?;
    // Every table the manifest lists must hold its rows. A table it does not list is one this
    // binary knows and the snapshot's (older) schema did not: it must be empty.
    let differ: Vec<String> = m
        .tables
        .iter()
        .filter(|(t, n)| report.tables.get(*t) != Some(n))
        .map(|(t, n)| {
            format!(
                "{t}: manifest {n}, file {}",
                report.tables.get(t).copied().unwrap_or(0)
            )
        })
        .chain(
            report
                .tables
                .iter()
                .filter(|(t, n)| **n > 0 && !m.tables.contains_key(*t))
                .map(|(t, n)| format!("{t}: not in the manifest, file {n}")),
        )
        .collect();
    if !differ.is_empty() {
        return Err(SnapshotError::Mismatch(format!(
            "row counts differ from the manifest: {}",
            differ.join(", ")
        )));
    }
    Ok(report)
}

fn remote(config: &Config) -> Result<Option<Remote>, SnapshotError> {
    Remote::from_config(&config.snapshot.s3).map_err(|e| SnapshotError::Config(e.to_string()))
}

/// Finds the snapshot to restore. The local copy wins unless `prefer_remote` (the drill
/// proves the off-site copy).
async fn locate(
    config: &Config,
    source: &Source,
    prefer_remote: bool,
) -> Result<Located, SnapshotError> {
    if let Source::Path(path) = source {
        return locate_path(path);
    }
    let dir = config.snapshot.local_dir(&config.storage.data_dir);
    let local: Vec<Listed> = manifest::group(list_dir(&dir)?)
        .into_iter()
        .filter(Listed::complete)
        .collect();
    let remote = remote(config)?;
    let remote_listed: Vec<Listed> = match &remote {
        Some(r) => match r.list().await {
            Ok(files) => manifest::group(files)
                .into_iter()
                .filter(Listed::complete)
                .collect(),
            Err(e) if !prefer_remote && !local.is_empty() => {
                tracing::warn!(error = %e, "cannot list the bucket; using the local snapshots");
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        },
        None => Vec::new(),
    };
    let pick = |listed: &[Listed]| -> Option<Listed> {
        match source {
            Source::Latest => listed.first().cloned(),
            Source::Name(name) => listed.iter().find(|l| &l.name.base() == name).cloned(),
            Source::Path(_) => None,
        }
    };
    let (local_pick, remote_pick) = (pick(&local), pick(&remote_listed));
    let use_remote = match (&local_pick, &remote_pick) {
        (Some(l), Some(r)) => r.name > l.name || (prefer_remote && r.name == l.name),
        (None, Some(_)) => true,
        _ => false,
    };
    match (use_remote, remote_pick, local_pick, remote) {
        (true, Some(listed), _, Some(remote)) => {
            let manifest_file = listed.manifest.clone().unwrap_or_default();
            let manifest =
                parse_manifest(&remote.get_bytes(&manifest_file).await?, &manifest_file)?;
            let (file, _) = listed.data.clone().unwrap_or_default();
            check_manifest_names(&manifest, &file)?;
            Ok(Located {
                manifest,
                data: DataAt::Remote(file.clone()),
                from: format!("{}/{file}", remote.location),
            })
        }
        (_, _, Some(listed), _) => {
            let (file, _) = listed.data.clone().unwrap_or_default();
            locate_path(&dir.join(file))
        }
        _ => Err(SnapshotError::NotFound(format!(
            "{} (looked in {}{})",
            match source {
                Source::Latest => "no complete snapshot".to_owned(),
                Source::Name(n) => format!("no complete snapshot named {n}"),
                Source::Path(p) => p.display().to_string(),
            },
            dir.display(),
            if config.snapshot.s3.bucket.is_some() {
                " and the bucket"
            } else {
                ""
            }
        ))),
    }
}

fn locate_path(path: &Path) -> Result<Located, SnapshotError> {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let Some((name, manifest::FileKind::Data { .. })) = manifest::classify(file) else {
        return Err(SnapshotError::NotFound(format!(
            "{} is not a snapshot file (barberpro-YYYYMMDDTHHMMSSZ-HOST.redb.zst[.age])",
            path.display()
        )));
    };
    if !path.is_file() {
        return Err(SnapshotError::NotFound(path.display().to_string()));
    }
    let manifest_path = path.with_file_name(name.manifest_file());
    let bytes = std::fs::read(&manifest_path).map_err(|e| {
        SnapshotError::NotFound(format!(
            "no manifest {} beside the file ({e}): an incomplete snapshot is never restored",
            manifest_path.display()
        ))
    })?;
    let manifest = parse_manifest(&bytes, &manifest_path.display().to_string())?;
    check_manifest_names(&manifest, file)?;
    Ok(Located {
        manifest,
        data: DataAt::Local(path.to_path_buf()),
        from: path.display().to_string(),
    })
}

fn parse_manifest(bytes: &[u8], what: &str) -> Result<Manifest, SnapshotError> {
    serde_json::from_slice(bytes)
        .map_err(|e| SnapshotError::Mismatch(format!("{what} is not a valid manifest: {e}")))
}

fn check_manifest_names(m: &Manifest, file: &str) -> Result<(), SnapshotError> {
    if m.file != file {
        return Err(SnapshotError::Mismatch(format!(
            "the manifest describes {}, not {file}",
            m.file
        )));
    }
    Ok(())
}

/// One line of `barberpro snapshots list`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    /// `local`, `remote` or `local+remote`.
    pub location: String,
    /// Creation time in the configured time zone.
    pub created_local: String,
    pub stored_bytes: u64,
    pub schema_version: Option<u64>,
    pub complete: bool,
}

impl Row {
    pub fn line(&self) -> String {
        format!(
            "{}  {}  {:>12}  schema {}  {:<12}  {}",
            self.created_local,
            self.name,
            self.stored_bytes,
            self.schema_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into()),
            self.location,
            if self.complete {
                "complete"
            } else {
                "INCOMPLETE (no manifest)"
            }
        )
    }
}

/// Local and remote snapshots, newest first.
pub async fn list(config: &Config) -> Result<Vec<Row>, SnapshotError> {
    let tz = TimeZone::get(&config.locale.time_zone).unwrap_or(TimeZone::UTC);
    let dir = config.snapshot.local_dir(&config.storage.data_dir);
    let mut rows: BTreeMap<manifest::SnapshotName, Row> = BTreeMap::new();
    for listed in manifest::group(list_dir(&dir)?) {
        let schema = listed
            .manifest
            .as_ref()
            .and_then(|f| std::fs::read(dir.join(f)).ok())
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .map(|m| m.schema_version);
        rows.insert(listed.name.clone(), row(&listed, "local", schema, &tz));
    }
    if let Some(remote) = remote(config)? {
        for listed in manifest::group(remote.list().await?) {
            let schema = match &listed.manifest {
                Some(f) => remote
                    .get_bytes(f)
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
                    .map(|m| m.schema_version),
                None => None,
            };
            let new = row(&listed, "remote", schema, &tz);
            rows.entry(listed.name.clone())
                .and_modify(|r| {
                    r.location = "local+remote".into();
                    r.complete = r.complete && new.complete;
                })
                .or_insert(new);
        }
    }
    Ok(rows.into_values().rev().collect())
}

fn row(listed: &Listed, location: &str, schema_version: Option<u64>, tz: &TimeZone) -> Row {
    Row {
        name: listed.name.base(),
        location: location.into(),
        created_local: listed
            .name
            .created
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        stored_bytes: listed.data.as_ref().map(|(_, s)| *s).unwrap_or(0),
        schema_version,
        complete: listed.complete(),
    }
}
