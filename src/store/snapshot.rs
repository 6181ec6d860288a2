//! The redb side of snapshots: a consistent copy of the live database into a fresh file, and
//! the checks a copy must pass before anyone trusts it.
//!
//! Copying the live file is not safe while the writer commits (redb #634), so a snapshot opens
//! one read transaction (MVCC: writers carry on meanwhile) and copies every typed table listed
//! in [`tables`](super::tables) into a new database, which is then compacted and
//! integrity-checked. Everything else about snapshots (compression, encryption, S3, the
//! manifest) lives in `crate::snapshot` and never sees redb.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

use redb::{Database, ReadableDatabase};

use super::{SCHEMA_VERSION, Store, StoreError, read_schema_version, tables, take_lock};

/// Rows per table, by table name.
pub type TableCounts = BTreeMap<String, u64>;

/// Why a snapshot copy or a file to restore cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// redb failed, or the file is not a database BarberPro can open.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file holds tables this binary does not know: copying would silently drop them.
    #[error(
        "the database holds tables this BarberPro does not know (a copy would lose them): {0:?}"
    )]
    UnknownTables(Vec<String>),
    /// redb's integrity check found damage (checksums).
    #[error("redb's integrity check failed on {0}: the file is damaged")]
    Integrity(String),
}

/// What a copy (or a file about to be restored) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub schema_version: u64,
    pub tables: TableCounts,
    /// Size of the file on disk, in bytes.
    pub bytes: u64,
}

/// A finished copy: what it holds and how long the read transaction was open.
#[derive(Debug, Clone)]
pub struct CopyReport {
    pub file: FileReport,
    /// Time the read transaction stayed open (writers are not blocked meanwhile).
    pub copy_ms: u64,
    /// Time spent compacting and checking the copy.
    pub check_ms: u64,
}

/// The data folder's lock, held while a restore swaps files in. Released on drop.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

/// Takes the data folder's lock, as `Store::open` does, without opening the database: fails
/// with [`StoreError::InUse`] while a server (or another command) holds the folder.
pub fn lock_folder(data_dir: &Path) -> Result<FolderLock, StoreError> {
    // A folder made here (a restore into a new one) is private, as `Store::open` makes it.
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(|e| StoreError::io(format!("creating {}", data_dir.display()), e))?;
    Ok(FolderLock {
        _file: take_lock(data_dir)?,
    })
}

impl Store {
    /// Size of the live database file, in bytes.
    pub fn file_size(&self) -> Result<u64, StoreError> {
        std::fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|e| StoreError::io(format!("reading the size of {}", self.path.display()), e))
    }

    /// Copies every table, from one read transaction, into a new database at `dest` (which
    /// must not exist), compacts and integrity-checks it. Blocking: run it off the executor.
    /// The server keeps serving reads and writes meanwhile.
    pub fn copy_to(&self, dest: &Path) -> Result<CopyReport, CheckError> {
        let started = Instant::now();
        let txn = self.db.begin_read().map_err(StoreError::from)?;
        let unknown = tables::unknown_tables(&txn)?;
        if !unknown.is_empty() {
            return Err(CheckError::UnknownTables(unknown));
        }
        if dest.exists() {
            return Err(StoreError::io(
                format!("{} already exists", dest.display()),
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            )
            .into());
        }
        // Made owner-only first (redb initialises an empty file): a snapshot is personal data.
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dest)
                .map_err(|e| StoreError::io(format!("creating {}", dest.display()), e))?;
        }
        let copy = Database::builder()
            .set_cache_size(16 << 20)
            .create(dest)
            .map_err(StoreError::from)?;
        let copied = tables::copy_all(&txn, &copy)?;
        drop(txn);
        let copy_ms = started.elapsed().as_millis() as u64;
        drop(copy);
        let checked = Instant::now();
        compact(dest)?;
        let file = inspect(dest)?;
        for (table, rows) in copied {
            let found = file.tables.get(table).copied().unwrap_or(0);
            if found != rows {
                return Err(CheckError::Integrity(format!(
                    "{}: table {table} has {found} rows after compaction, {rows} were copied",
                    dest.display()
                )));
            }
        }
        Ok(CopyReport {
            file,
            copy_ms,
            check_ms: checked.elapsed().as_millis() as u64,
        })
    }
}

/// Compacts a database file that nobody else has open (a fresh copy).
fn compact(path: &Path) -> Result<(), CheckError> {
    let mut db = Database::open(path).map_err(StoreError::from)?;
    // Each pass may free pages another pass can reclaim; a few passes reach the fixed point.
    for _ in 0..4 {
        match db.compact() {
            Ok(true) => continue,
            Ok(false) => break,
            Err(e) => return Err(StoreError::Db(e.into()).into()),
        }
    }
    Ok(())
}

/// Opens a database file nobody else has open, runs redb's integrity check, refuses tables
/// this binary does not know and reports the schema version and every table's row count.
/// Does not refuse a newer schema: callers compare `schema_version` with
/// [`SCHEMA_VERSION`] themselves (see [`refuse_newer_schema`]).
pub fn inspect(path: &Path) -> Result<FileReport, CheckError> {
    // redb panics on some kinds of damage (an invalid page type) instead of returning an
    // error: a damaged file must be a refusal, not a crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inspect_unguarded(path)))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("redb panicked");
            Err(CheckError::Integrity(format!("{}: {why}", path.display())))
        })
}

fn inspect_unguarded(path: &Path) -> Result<FileReport, CheckError> {
    let bytes = std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
    let mut db = Database::builder()
        .set_cache_size(16 << 20)
        .open(path)
        .map_err(|e| match e {
            redb::DatabaseError::Storage(s) => {
                CheckError::Integrity(format!("{}: {s}", path.display()))
            }
            other => StoreError::from(other).into(),
        })?;
    match db.check_integrity() {
        Ok(true) => {}
        Ok(false) => {
            return Err(CheckError::Integrity(format!(
                "{} (it needed repairs)",
                path.display()
            )));
        }
        Err(e) => return Err(CheckError::Integrity(format!("{}: {e}", path.display()))),
    }
    let txn = db.begin_read().map_err(StoreError::from)?;
    let unknown = tables::unknown_tables(&txn)?;
    if !unknown.is_empty() {
        return Err(CheckError::UnknownTables(unknown));
    }
    let schema_version = read_schema_version(&txn)?;
    let tables = tables::count_all(&txn)?
        .into_iter()
        .map(|(name, rows)| (name.to_owned(), rows))
        .collect();
    Ok(FileReport {
        schema_version,
        tables,
        bytes,
    })
}

/// Refuses a file written by a newer BarberPro (this binary could not read it correctly).
pub fn refuse_newer_schema(found: u64) -> Result<(), StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Writes `version` as the schema version of a database file nobody has open. For tests
/// that need a file from a "newer" BarberPro.
#[doc(hidden)]
pub fn set_schema_version(path: &Path, version: u64) -> Result<(), StoreError> {
    let db = Database::open(path)?;
    let txn = db.begin_write()?;
    txn.open_table(tables::META)?
        .insert("schema_version", version)?;
    txn.commit()?;
    Ok(())
}

/// Free space, in bytes, on the file system holding `path`.
pub fn free_space(path: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_copy_holds_every_row_and_passes_the_checks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("data"), 1 << 20).expect("store");
        crate::demo::seed_if_empty(&store, jiff::Timestamp::now())
            .await
            .expect("demo data");
        let dest = dir.path().join("copy.redb");
        let report = store.copy_to(&dest).expect("copy");
        assert_eq!(report.file.schema_version, SCHEMA_VERSION);
        assert_eq!(
            report.file.tables.len(),
            tables::ALL.len(),
            "every table is counted"
        );
        assert!(
            report.file.tables["branches"] > 0,
            "demo branches were copied: {report:?}"
        );
        assert_eq!(inspect(&dest).expect("inspect").tables, report.file.tables);
        assert!(
            store.copy_to(&dest).is_err(),
            "an existing destination is never overwritten"
        );
    }

    #[test]
    fn a_damaged_file_fails_the_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.redb");
        {
            let db = Database::create(&path).expect("create");
            let txn = db.begin_write().expect("write");
            {
                let mut t = txn.open_table(tables::BOOKINGS).expect("table");
                for i in 0..2000u64 {
                    t.insert(i, [7u8; 200].as_slice()).expect("insert");
                }
            }
            txn.commit().expect("commit");
        }
        let mut bytes = std::fs::read(&path).expect("read");
        let len = bytes.len();
        for b in &mut bytes[len / 2..len / 2 + 4096] {
            *b ^= 0xff;
        }
        std::fs::write(&path, &bytes).expect("write");
        assert!(
            inspect(&path).is_err(),
            "a file with flipped bytes must not pass"
        );
    }

    #[test]
    fn newer_schemas_are_refused() {
        assert!(refuse_newer_schema(SCHEMA_VERSION).is_ok());
        assert!(matches!(
            refuse_newer_schema(SCHEMA_VERSION + 1),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
