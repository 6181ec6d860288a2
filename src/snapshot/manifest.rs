//! Snapshot names, the manifest written beside each snapshot, and the retention rule. Pure:
//! no I/O, so the clock is a parameter.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Version of the manifest format itself.
pub const MANIFEST_FORMAT: u32 = 1;
/// Every snapshot name starts with this.
const NAME_PREFIX: &str = "barberpro-";
/// The redb version that wrote the file (pinned exactly in Cargo.toml).
pub const REDB_VERSION: &str = "4.6.0";
/// Suffix of the compressed snapshot file.
pub const DATA_SUFFIX: &str = ".redb.zst";
/// Extra suffix when the file is age-encrypted.
pub const AGE_SUFFIX: &str = ".age";
/// Suffix of the manifest beside it.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// The identity of a snapshot: `barberpro-{YYYYMMDDTHHMMSSZ}-{host}`. Names sort by time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotName {
    pub created: Timestamp,
    pub host: String,
}

impl SnapshotName {
    /// A name for a snapshot taken at `now` (rounded down to the second) on `host`.
    pub fn new(now: Timestamp, host: &str) -> Self {
        let created = Timestamp::from_second(now.as_second()).unwrap_or(now);
        Self {
            created,
            host: sanitize_host(host),
        }
    }

    /// `barberpro-20261128T173000Z-host`.
    pub fn base(&self) -> String {
        let stamp = self
            .created
            .to_zoned(TimeZone::UTC)
            .strftime("%Y%m%dT%H%M%SZ");
        format!("{NAME_PREFIX}{stamp}-{}", self.host)
    }

    /// The stored file: `{base}.redb.zst`, plus `.age` when encrypted.
    pub fn data_file(&self, encrypted: bool) -> String {
        let age = if encrypted { AGE_SUFFIX } else { "" };
        format!("{}{DATA_SUFFIX}{age}", self.base())
    }

    pub fn manifest_file(&self) -> String {
        format!("{}{MANIFEST_SUFFIX}", self.base())
    }

    /// Parses a base name (`barberpro-20261128T173000Z-host`).
    pub fn parse(base: &str) -> Option<Self> {
        let rest = base.strip_prefix(NAME_PREFIX)?;
        let (stamp, host) = (rest.get(..16)?, rest.get(17..)?);
        if rest.as_bytes().get(16) != Some(&b'-') || host.is_empty() || !stamp.ends_with('Z') {
            return None;
        }
        let civil = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", &stamp[..15]).ok()?;
        let created = civil.to_zoned(TimeZone::UTC).ok()?.timestamp();
        Some(Self {
            created,
            host: host.to_owned(),
        })
    }
}

/// What a file in a snapshot folder (or bucket prefix) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    Data { encrypted: bool },
    Manifest,
}

/// Classifies a file name: a snapshot's data file, its manifest, or something else (`None`).
pub fn classify(file: &str) -> Option<(SnapshotName, FileKind)> {
    if let Some(base) = file.strip_suffix(MANIFEST_SUFFIX) {
        return Some((SnapshotName::parse(base)?, FileKind::Manifest));
    }
    if let Some(base) = file
        .strip_suffix(AGE_SUFFIX)
        .and_then(|f| f.strip_suffix(DATA_SUFFIX))
    {
        return Some((
            SnapshotName::parse(base)?,
            FileKind::Data { encrypted: true },
        ));
    }
    let base = file.strip_suffix(DATA_SUFFIX)?;
    Some((
        SnapshotName::parse(base)?,
        FileKind::Data { encrypted: false },
    ))
}

/// Keeps only letters, digits, `-` and `.` (anything else becomes `-`), so a name stays one
/// path segment that parses back.
pub fn sanitize_host(host: &str) -> String {
    let clean: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// The JSON written beside every snapshot (and uploaded last): enough to verify the file and
/// to know what a restore will bring back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Base name, `barberpro-{YYYYMMDDTHHMMSSZ}-{host}`.
    pub name: String,
    /// The stored file's name (`.redb.zst` or `.redb.zst.age`).
    pub file: String,
    pub created_at: Timestamp,
    pub host: String,
    pub app_version: String,
    pub schema_version: u64,
    pub redb_version: String,
    /// Rows per table in the snapshot.
    pub tables: BTreeMap<String, u64>,
    /// The uncompressed redb file.
    pub raw_bytes: u64,
    pub raw_sha256: String,
    /// The stored (compressed, maybe encrypted) file.
    pub stored_bytes: u64,
    pub stored_sha256: String,
    pub compression: String,
    pub zstd_level: i32,
    /// `"age"` when encrypted for a recipient, else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// How long the read transaction was open while copying, in milliseconds.
    pub copy_ms: u64,
}

impl Manifest {
    pub fn encrypted(&self) -> bool {
        self.encryption.is_some()
    }
}

/// One snapshot as seen in a folder or bucket: its data file and manifest, if present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: SnapshotName,
    /// Stored file name and size.
    pub data: Option<(String, u64)>,
    /// Manifest file name.
    pub manifest: Option<String>,
}

impl Listed {
    /// Data and manifest are both there: only such a snapshot is restored or counts as newest.
    pub fn complete(&self) -> bool {
        self.data.is_some() && self.manifest.is_some()
    }

    pub fn files(&self) -> Vec<String> {
        // The manifest goes first: a half-deleted snapshot is then merely incomplete.
        self.manifest
            .iter()
            .cloned()
            .chain(self.data.iter().map(|(f, _)| f.clone()))
            .collect()
    }
}

/// Groups `(file name, size)` pairs into snapshots, newest first; other files are ignored.
pub fn group(files: impl IntoIterator<Item = (String, u64)>) -> Vec<Listed> {
    let mut by_name: BTreeMap<SnapshotName, Listed> = BTreeMap::new();
    for (file, size) in files {
        let Some((name, kind)) = classify(&file) else {
            continue;
        };
        let entry = by_name.entry(name.clone()).or_insert_with(|| Listed {
            name,
            data: None,
            manifest: None,
        });
        match kind {
            FileKind::Data { .. } => entry.data = Some((file, size)),
            FileKind::Manifest => entry.manifest = Some(file),
        }
    }
    by_name.into_values().rev().collect()
}

/// The snapshots retention deletes: those created more than `keep_days` days before `now`,
/// except the newest complete snapshot, which is kept whatever its age. Incomplete leftovers
/// (a failed upload) age out the same way. `keep_days == 0` deletes nothing.
pub fn to_prune(listed: &[Listed], now: Timestamp, keep_days: u32) -> Vec<Listed> {
    if keep_days == 0 {
        return Vec::new();
    }
    let cutoff = now - jiff::SignedDuration::from_hours(24 * i64::from(keep_days));
    let newest_complete = listed
        .iter()
        .filter(|l| l.complete())
        .map(|l| &l.name)
        .max();
    listed
        .iter()
        .filter(|l| l.name.created < cutoff && Some(&l.name) != newest_complete)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    fn snap(created: &str, complete: bool) -> Listed {
        let name = SnapshotName::new(ts(created), "host-1");
        Listed {
            data: Some((name.data_file(false), 10)),
            manifest: complete.then(|| name.manifest_file()),
            name,
        }
    }

    #[test]
    fn names_round_trip_and_sort_by_time() {
        let n = SnapshotName::new(ts("2026-11-28T17:30:05.9Z"), "caja-1.palermo");
        assert_eq!(n.base(), "barberpro-20261128T173005Z-caja-1.palermo");
        assert_eq!(
            n.data_file(true),
            "barberpro-20261128T173005Z-caja-1.palermo.redb.zst.age"
        );
        assert_eq!(SnapshotName::parse(&n.base()), Some(n.clone()));
        let later = SnapshotName::new(ts("2026-11-29T01:00:00Z"), "a");
        assert!(later.base() > n.base().replace("caja-1.palermo", "a"));
        assert_eq!(
            classify("barberpro-20261128T173005Z-h.manifest.json").map(|(_, k)| k),
            Some(FileKind::Manifest)
        );
        assert_eq!(
            classify("barberpro-20261128T173005Z-h.redb.zst.age").map(|(_, k)| k),
            Some(FileKind::Data { encrypted: true })
        );
        for bad in [
            "barberpro-2026.redb.zst",
            "other-20261128T173005Z-h.redb.zst",
            "barberpro-20261328T173005Z-h.redb.zst",
            "barberpro-20261128T173005Z-.redb.zst",
            "notes.txt",
        ] {
            assert_eq!(classify(bad), None, "{bad} is not a snapshot");
        }
    }

    #[test]
    fn hosts_are_made_safe() {
        assert_eq!(sanitize_host("my host/x"), "my-host-x");
        assert_eq!(sanitize_host(" "), "localhost");
    }

    #[test]
    fn grouping_pairs_files_and_orders_newest_first() {
        let a = SnapshotName::new(ts("2026-11-01T02:00:00Z"), "h");
        let b = SnapshotName::new(ts("2026-11-02T02:00:00Z"), "h");
        let listed = group(vec![
            (a.data_file(false), 5),
            (a.manifest_file(), 1),
            (b.data_file(true), 7),
            ("unrelated.txt".into(), 3),
        ]);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].name, b);
        assert!(!listed[0].complete(), "no manifest: incomplete");
        assert!(listed[1].complete());
        assert_eq!(
            listed[1].files()[0],
            a.manifest_file(),
            "manifest deleted first"
        );
    }

    #[test]
    fn retention_prunes_old_snapshots_but_never_the_newest_complete_one() {
        let now = ts("2026-12-31T12:00:00Z");
        let listed = vec![
            snap("2026-12-30T02:00:00Z", false), // recent but incomplete: kept (young)
            snap("2026-11-20T02:00:00Z", true),  // newest complete, old: kept anyway
            snap("2026-11-19T02:00:00Z", true),  // old: pruned
            snap("2026-11-18T02:00:00Z", false), // old leftover: pruned
        ];
        let pruned: Vec<String> = to_prune(&listed, now, 30)
            .iter()
            .map(|l| l.name.base())
            .collect();
        assert_eq!(
            pruned,
            vec![listed[2].name.base(), listed[3].name.base()],
            "wrong snapshots pruned"
        );
        assert!(
            to_prune(&listed, now, 0).is_empty(),
            "0 days means never delete"
        );
        let only_one = vec![snap("2020-01-01T00:00:00Z", true)];
        assert!(
            to_prune(&only_one, now, 1).is_empty(),
            "the only complete snapshot is kept"
        );
    }

    #[test]
    fn retention_keeps_everything_younger_than_the_window() {
        let now = ts("2026-12-31T12:00:00Z");
        let listed = vec![
            snap("2026-12-30T02:00:00Z", true),
            snap("2026-12-02T02:00:00Z", true),
        ];
        assert!(to_prune(&listed, now, 30).is_empty());
        assert_eq!(to_prune(&listed, now, 7).len(), 1);
    }

    /// A snapshot's files (the manifest here) are renamed into place and their folder synced
    /// after the rename: before it, a power cut could take back a snapshot reported made.
    #[test]
    fn a_snapshot_file_is_renamed_into_place_then_its_folder_synced() {
        use crate::store::engine::probe::{self, Op};
        let dir = tempfile::tempdir().unwrap();
        let tap = probe::watch(dir.path(), None);
        super::super::write_private(&dir.path().join("s.manifest.json"), b"{}").unwrap();
        probe::unwatch(dir.path());
        let log = tap.log.lock().unwrap();
        let renamed = log
            .iter()
            .position(|op| matches!(op, Op::Rename { to, .. } if to == "s.manifest.json"))
            .expect("renamed into place");
        assert!(
            log[renamed..].iter().any(|op| matches!(op, Op::DirSync)),
            "the folder is not synced after the rename: {log:?}"
        );
    }
}
