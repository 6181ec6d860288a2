//! After a failed flush of the database file (`barberpro.redb.suspect`, written by
//! [`dbfile`](super::engine::dbfile)): Linux may have marked the pages that did not reach the
//! disk clean, so the file can say it holds a checkpoint that is not on the disk, and the
//! journal's records it covers would be skipped. The start therefore trusts no flush of that
//! file: it copies every table, from one read transaction, into a fresh file that is flushed
//! on its own, and swaps it in (the old one kept as `barberpro.redb.pre-rebuild`); then the
//! replay applies the journal's records after it as usual.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase};

use super::engine::dbfile::SUSPECT;
use super::{DB_FILE, StoreError, files, tables};

/// Whether the database file in `data_dir` is suspect (a flush of it failed).
pub(super) fn is_suspect(data_dir: &Path) -> bool {
    data_dir.join(SUSPECT).exists()
}

/// Rebuilds `db` (the file `barberpro.redb` in `data_dir`, suspect) into a fresh file and
/// swaps it in; the caller reopens it. Returns where the old file was kept.
pub(super) fn rebuild(db: Database, data_dir: &Path) -> Result<PathBuf, StoreError> {
    let io = |what: String| move |e| StoreError::io(what, e);
    let live = data_dir.join(DB_FILE);
    let fresh = data_dir.join(format!("{DB_FILE}.rebuilt"));
    let kept = (1..)
        .map(|n| match n {
            1 => data_dir.join(format!("{DB_FILE}.pre-rebuild")),
            n => data_dir.join(format!("{DB_FILE}.pre-rebuild.{n}")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| data_dir.join(format!("{DB_FILE}.pre-rebuild")));
    let _ = std::fs::remove_file(&fresh);
    {
        let txn = db.begin_read()?;
        let unknown = tables::unknown_tables(&txn)?;
        if !unknown.is_empty() {
            return Err(StoreError::Journal(format!(
                "{} is suspect (a flush failed) and holds tables this binary does not know \
                 ({}): it cannot be rebuilt",
                live.display(),
                unknown.join(", ")
            )));
        }
        // Every table's copy commits durably (its own flush of the fresh file).
        let copy = Database::create(&fresh)?;
        tables::copy_all(&txn, &copy)?;
    }
    drop(db);
    std::fs::hard_link(&live, &kept).map_err(io(format!("keeping {}", kept.display())))?;
    std::fs::rename(&fresh, &live).map_err(io(format!("renaming {}", fresh.display())))?;
    files::sync_dir(data_dir).map_err(io(format!("syncing {}", data_dir.display())))?;
    // Only once the fresh file is in place is the file no longer suspect.
    std::fs::remove_file(data_dir.join(SUSPECT))
        .and_then(|()| files::sync_dir(data_dir))
        .map_err(io(format!("removing {}", data_dir.join(SUSPECT).display())))?;
    Ok(kept)
}
