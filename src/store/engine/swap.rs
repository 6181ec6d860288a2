//! The restore's swap in the data folder, the only part of a restore that touches the live
//! files. At every point a crash may hit, the folder holds EITHER the old file with its
//! journal, whole, OR the restored file (which ignores that journal), never a mix and never
//! no file; every restore's kept files survive. In order:
//! 1. the staged file (`barberpro.redb.restoring`, beside the live one) is made to ignore
//!    the old journal's records ([`journal::disown`]) and synced: its bytes are on disk
//!    before its name can be;
//! 2. the live file gets a second name, `barberpro.redb.<suffix>` (a hard link: the live
//!    name is never missing), the journal's segments are copied beside it, and the folder
//!    is synced: the kept files are on disk before anything is replaced;
//! 3. the staged file is renamed over the live one, and the folder synced;
//! 4. the old journal is removed (a start before that finds its records and skips them).
//!
//! The power-loss simulator checks this order (`store::crash_sim::restore`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::store::DB_FILE;
use crate::store::engine::files::sync_dir;
use crate::store::engine::journal::{self, JOURNAL_FILES};
use crate::store::engine::probe::{self, Mutation};

/// Where a restore stages its file: in the data folder, so the swap is one folder's rename.
pub(crate) const STAGED: &str = "barberpro.redb.restoring";

/// Swaps `staged` (in `data_dir`) in as the live database; returns the kept old file.
pub(crate) fn swap_in(
    data_dir: &Path,
    staged: &Path,
    suffix: &str,
) -> Result<Option<PathBuf>, crate::store::StoreError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |e: io::Error| crate::store::StoreError::io(what, e)
    };
    if !probe::mutated(staged, Mutation::RestoreKeepsJournalSeq) {
        journal::disown(staged, data_dir)?;
    }
    probe::appeared(staged);
    if !probe::mutated(staged, Mutation::RestoreRenamesUnsynced) {
        let upto = probe::sync_starts(staged);
        File::open(staged)
            .and_then(|f| f.sync_all())
            .map_err(io("syncing the restored file"))?;
        probe::synced(staged, upto);
    }
    let live = data_dir.join(DB_FILE);
    let mut kept = None;
    if live.exists() {
        let pre = data_dir.join(format!("{DB_FILE}.{suffix}"));
        std::fs::hard_link(&live, &pre).map_err(io("keeping the old database"))?;
        probe::linked(&live, &pre);
        kept = Some(pre);
    }
    journal::copy_aside(data_dir, suffix).map_err(io("keeping the old journal"))?;
    sync_dir(data_dir).map_err(io("syncing the data folder"))?;
    let drop_first = probe::mutated(staged, Mutation::RestoreDropsJournalFirst);
    if drop_first {
        journal::remove_segments(data_dir).map_err(io("removing the old journal"))?;
    }
    std::fs::rename(staged, &live).map_err(io("moving the restored file into place"))?;
    probe::renamed(staged, &live);
    sync_dir(data_dir).map_err(io("syncing the data folder"))?;
    if !drop_first {
        journal::remove_segments(data_dir).map_err(io("removing the old journal"))?;
    }
    Ok(kept)
}

/// `pre-restore`, or `pre-restore.N` for the first N from 2 that no kept file uses yet.
pub(crate) fn pre_restore_suffix(data_dir: &Path) -> String {
    let names = [DB_FILE, JOURNAL_FILES[0], JOURNAL_FILES[1]];
    (1..)
        .map(|n| match n {
            1 => "pre-restore".to_owned(),
            n => format!("pre-restore.{n}"),
        })
        .find(|suffix| {
            names
                .iter()
                .all(|name| !data_dir.join(format!("{name}.{suffix}")).exists())
        })
        .unwrap_or_else(|| "pre-restore".to_owned())
}
