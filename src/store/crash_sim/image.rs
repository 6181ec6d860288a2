//! What a power cut leaves in the data folder, built from the tap's log (`engine::probe`).
//!
//! A file's data and size written before its last completed sync are on disk; every write
//! since reaches each 512-byte sector it touches or not (the sector then holds the old bytes
//! or one of the versions written to it, in order: a torn write), and each `set_len` since
//! happened or not. Names created, renamed or removed since the folder's last sync: a prefix
//! of them happened (the file system journals them in order); a hard link is a second name
//! of the same file.

use std::collections::BTreeMap;

use crate::store::engine::probe::Op;
pub(super) use crate::store::engine::torn::Rng;
use crate::store::engine::torn::{put, tear};

/// The folder: each file's name and bytes.
pub(super) type Folder = BTreeMap<String, Vec<u8>>;

/// The crash points worth a look in `log`: before every operation that is not a write (a
/// sync, a name's change, what a caller was told), and at its end. Writes between two such
/// points are covered by the images' choices of which sectors reached the disk.
pub(super) fn cuts(log: &[Op]) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..log.len())
        .filter(|&i| !matches!(log[i], Op::Write { .. } | Op::SetLen { .. }))
        .collect();
    cuts.push(log.len());
    cuts
}

/// One file's life in the log: where it started, and its writes, size changes and syncs.
#[derive(Default)]
struct Inode<'a> {
    base: Vec<u8>,
    ops: Vec<(usize, &'a Op)>,
}

/// The folder a crash right before `log[cut]` may leave, over `base` (on disk before the log
/// began).
pub(super) fn image(base: &Folder, log: &[Op], cut: usize, rng: &mut Rng) -> Folder {
    let mut inodes: Vec<Inode> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (name, bytes) in base {
        names.insert(name.clone(), inodes.len());
        inodes.push(Inode {
            base: bytes.clone(),
            ops: Vec::new(),
        });
    }
    let mut durable = names.clone();
    let mut since: Vec<BTreeMap<String, usize>> = Vec::new();
    for (i, op) in log[..cut].iter().enumerate() {
        match op {
            Op::Create(name) => {
                names.insert(name.clone(), inodes.len());
                inodes.push(Inode::default());
                since.push(names.clone());
            }
            Op::Rename { from, to } => {
                if let Some(id) = names.remove(from) {
                    names.insert(to.clone(), id);
                }
                since.push(names.clone());
            }
            Op::Link { from, to } => {
                if let Some(&id) = names.get(from) {
                    names.insert(to.clone(), id);
                }
                since.push(names.clone());
            }
            Op::Remove(name) => {
                names.remove(name);
                since.push(names.clone());
            }
            Op::DirSync => {
                durable = names.clone();
                since.clear();
            }
            Op::Write { file, .. } | Op::SetLen { file, .. } | Op::Sync { file, .. } => {
                if let Some(&id) = names.get(file) {
                    inodes[id].ops.push((i, op));
                }
            }
            Op::Note => {}
        }
    }
    let k = rng.below(since.len() as u64 + 1) as usize;
    let chosen = if k == 0 { &durable } else { &since[k - 1] };
    chosen
        .iter()
        .map(|(name, &id)| (name.clone(), content(&inodes[id], rng)))
        .collect()
}

/// One file's bytes after the crash (see the module's docs).
fn content(inode: &Inode, rng: &mut Rng) -> Vec<u8> {
    let synced = inode
        .ops
        .iter()
        .filter_map(|(_, op)| match op {
            Op::Sync { upto, .. } => Some(*upto),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut data = inode.base.clone();
    let mut later = Vec::new();
    for &(i, op) in &inode.ops {
        let durable = i < synced;
        match op {
            Op::Write { at, bytes, .. } if durable => put(&mut data, *at, bytes),
            Op::Write { at, bytes, .. } => later.push((*at, bytes.as_slice())),
            Op::SetLen { len, .. } if durable || rng.below(2) == 0 => {
                data.resize(*len as usize, 0);
            }
            _ => {}
        }
    }
    tear(&mut data, &later, rng);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(file: &str, at: u64, bytes: &[u8]) -> Op {
        Op::Write {
            file: file.into(),
            at,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn synced_data_stays_and_an_unsynced_create_may_revert() {
        let log = vec![
            Op::Create("a".into()),
            write("a", 0, b"kept"),
            Op::Sync {
                file: "a".into(),
                upto: 2,
            },
            write("a", 0, b"lost"),
        ];
        let (mut with, mut without) = (0, 0);
        let mut rng = Rng(7);
        for _ in 0..64 {
            let folder = image(&Folder::new(), &log, log.len(), &mut rng);
            match folder.get("a") {
                Some(bytes) => {
                    with += 1;
                    assert!(bytes == b"kept" || bytes == b"lost", "{bytes:?}");
                }
                None => without += 1,
            }
        }
        assert!(with > 0 && without > 0, "{with} with, {without} without");
        let log = [log, vec![Op::DirSync]].concat();
        for _ in 0..16 {
            assert!(image(&Folder::new(), &log, log.len(), &mut rng).contains_key("a"));
        }
    }
}
