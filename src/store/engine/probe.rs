//! The power-loss simulator's tap on the data folder's files (`store::crash_sim`): in test
//! builds, every write, `set_len`, completed sync, create, rename, removal and folder sync of
//! a file in a folder a test [watches](watch) is logged, in one order. In other builds every
//! function here is empty and inlined away: production does exactly the same I/O.
//!
//! Each call is made where the operation completed (a sync once it returned success), so
//! the log's order is the order the disk was promised things.

/// A deliberate deviation from the protocol, switched on per watched folder: the simulator
/// must catch each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Mutation {
    /// A checkpoint's deferred flush returns success without `fdatasync`.
    DeferredSyncDoesNothing,
    /// A journal segment is created (temporary, sync, rename) without its folder's sync.
    NoFolderSyncAfterSegment,
    /// A restore renames its staged file over the live one without syncing it first.
    RestoreRenamesUnsynced,
    /// A restore removes the old journal before its file is renamed into place (the order
    /// before issue 28: a crash between leaves the old file without its records).
    RestoreDropsJournalFirst,
    /// A restored file keeps its own `journal.seq`, so the old journal's later records
    /// would replay into it.
    RestoreKeepsJournalSeq,
    /// A rebuild removes the suspect mark before its fresh file is in place.
    RebuildUnmarksFirst,
}

#[cfg(test)]
pub(crate) use imp::*;

#[cfg(test)]
mod imp {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    use super::Mutation;

    /// One logged operation; files are named by their name inside the watched folder.
    #[derive(Debug, Clone)]
    pub(crate) enum Op {
        Create(String),
        Write {
            file: String,
            at: u64,
            bytes: Vec<u8>,
        },
        SetLen {
            file: String,
            len: u64,
        },
        /// The file's data and size written before log entry `upto` are on disk.
        Sync {
            file: String,
            upto: usize,
        },
        Rename {
            from: String,
            to: String,
        },
        /// A second name for `from`'s file (a hard link).
        Link {
            from: String,
            to: String,
        },
        Remove(String),
        /// Every name created, renamed or removed before this is on disk.
        DirSync,
        /// Not an I/O: what the simulator's workload was told (a test's own entries).
        Note,
    }

    /// The log of one watched folder.
    #[derive(Debug, Default)]
    pub(crate) struct Tap {
        pub(crate) log: Mutex<Vec<Op>>,
        pub(crate) mutation: Option<Mutation>,
    }

    impl Tap {
        pub(crate) fn push(&self, op: Op) -> usize {
            let mut log = self.log.lock().expect("tap");
            log.push(op);
            log.len()
        }
        pub(crate) fn len(&self) -> usize {
            self.log.lock().expect("tap").len()
        }
    }

    static WATCHED: Mutex<Vec<(PathBuf, Arc<Tap>)>> = Mutex::new(Vec::new());

    /// Logs every operation on files directly in `dir` until [`unwatch`].
    pub(crate) fn watch(dir: &Path, mutation: Option<Mutation>) -> Arc<Tap> {
        let tap = Arc::new(Tap {
            mutation,
            ..Tap::default()
        });
        let mut watched = WATCHED.lock().expect("watched");
        watched.retain(|(d, _)| d != dir);
        watched.push((dir.to_path_buf(), tap.clone()));
        tap
    }

    pub(crate) fn unwatch(dir: &Path) {
        WATCHED.lock().expect("watched").retain(|(d, _)| d != dir);
    }

    fn tap(dir: &Path) -> Option<Arc<Tap>> {
        let watched = WATCHED.lock().expect("watched");
        watched
            .iter()
            .find(|(d, _)| d == dir)
            .map(|(_, t)| t.clone())
    }

    fn file_tap(path: &Path) -> Option<(Arc<Tap>, String)> {
        let name = path.file_name()?.to_string_lossy().into_owned();
        Some((tap(path.parent()?)?, name))
    }

    pub(crate) fn created(path: &Path) {
        if let Some((t, name)) = file_tap(path) {
            t.push(Op::Create(name));
        }
    }
    pub(crate) fn wrote(path: &Path, at: u64, bytes: &[u8]) {
        if let Some((t, file)) = file_tap(path) {
            t.push(Op::Write {
                file,
                at,
                bytes: bytes.to_vec(),
            });
        }
    }
    pub(crate) fn set_len(path: &Path, len: u64) {
        if let Some((t, file)) = file_tap(path) {
            t.push(Op::SetLen { file, len });
        }
    }
    /// Where the log stands as a sync of `path` starts (see [`synced`]).
    pub(crate) fn sync_starts(path: &Path) -> usize {
        file_tap(path).map_or(0, |(t, _)| t.len())
    }
    /// A sync of `path` that started at `upto` ([`sync_starts`]) succeeded.
    pub(crate) fn synced(path: &Path, upto: usize) {
        if let Some((t, file)) = file_tap(path) {
            t.push(Op::Sync { file, upto });
        }
    }
    pub(crate) fn renamed(from: &Path, to: &Path) {
        if let (Some((t, from)), Some((_, to))) = (file_tap(from), file_tap(to)) {
            t.push(Op::Rename { from, to });
        }
    }
    pub(crate) fn linked(from: &Path, to: &Path) {
        if let (Some((t, from)), Some((_, to))) = (file_tap(from), file_tap(to)) {
            t.push(Op::Link { from, to });
        }
    }
    /// A file written outside the tap's sight (a restore's staged file, made by redb and
    /// the decompressor) now exists whole: logged as created and written, nothing synced,
    /// which covers every state it could have been in on disk.
    pub(crate) fn appeared(path: &Path) {
        if let Some((t, file)) = file_tap(path) {
            let bytes = std::fs::read(path).unwrap_or_default();
            t.push(Op::Create(file.clone()));
            t.push(Op::Write { file, at: 0, bytes });
        }
    }
    pub(crate) fn removed(path: &Path) {
        if let Some((t, name)) = file_tap(path) {
            t.push(Op::Remove(name));
        }
    }
    pub(crate) fn dir_synced(dir: &Path) {
        if let Some(t) = tap(dir) {
            t.push(Op::DirSync);
        }
    }
    /// Whether `mutation` is switched on for the folder holding `path`.
    pub(crate) fn mutated(path: &Path, mutation: Mutation) -> bool {
        file_tap(path).is_some_and(|(t, _)| t.mutation == Some(mutation))
    }
}

#[cfg(not(test))]
mod off {
    use std::path::Path;

    use super::Mutation;

    #[inline(always)]
    pub(crate) fn created(_: &Path) {}
    #[inline(always)]
    pub(crate) fn wrote(_: &Path, _: u64, _: &[u8]) {}
    #[inline(always)]
    pub(crate) fn set_len(_: &Path, _: u64) {}
    #[inline(always)]
    pub(crate) fn sync_starts(_: &Path) -> usize {
        0
    }
    #[inline(always)]
    pub(crate) fn synced(_: &Path, _: usize) {}
    #[inline(always)]
    pub(crate) fn renamed(_: &Path, _: &Path) {}
    #[inline(always)]
    pub(crate) fn linked(_: &Path, _: &Path) {}
    #[inline(always)]
    pub(crate) fn appeared(_: &Path) {}
    #[inline(always)]
    pub(crate) fn removed(_: &Path) {}
    #[inline(always)]
    pub(crate) fn dir_synced(_: &Path) {}
    #[inline(always)]
    pub(crate) fn mutated(_: &Path, _: Mutation) -> bool {
        false
    }
}

#[cfg(not(test))]
pub(crate) use off::*;
