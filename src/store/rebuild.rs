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
use super::engine::probe::{self, Mutation};
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
    // redb's durable commits synced the fresh file; one more sync says so to the power-loss
    // simulator, which does not see redb's own writes (`probe::appeared`).
    probe::appeared(&fresh);
    let upto = probe::sync_starts(&fresh);
    std::fs::File::open(&fresh)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("syncing {}", fresh.display())))?;
    probe::synced(&fresh, upto);
    let suspect = data_dir.join(SUSPECT);
    let unmark = || {
        std::fs::remove_file(&suspect)
            .inspect(|()| probe::removed(&suspect))
            .and_then(|()| files::sync_dir(data_dir))
            .map_err(io(format!("removing {}", suspect.display())))
    };
    let early = probe::mutated(&live, Mutation::RebuildUnmarksFirst);
    if early {
        unmark()?;
    }
    std::fs::hard_link(&live, &kept).map_err(io(format!("keeping {}", kept.display())))?;
    probe::linked(&live, &kept);
    std::fs::rename(&fresh, &live).map_err(io(format!("renaming {}", fresh.display())))?;
    probe::renamed(&fresh, &live);
    files::sync_dir(data_dir).map_err(io(format!("syncing {}", data_dir.display())))?;
    // Only once the fresh file is in place is the file no longer suspect.
    if !early {
        unmark()?;
    }
    Ok(kept)
}
