//! A standby folder's marker and status: `<data>/standby.json` ([`STANDBY_FILE`]). While it
//! is there the folder is a standby (`Store::open` refuses it, so `serve` and every command
//! that writes stay off it); `barberpro follow` rewrites it after each round (durably: temp,
//! fsync, rename, folder fsync) with where it stands, which `follow --status` prints;
//! `barberpro promote` removes it.

use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::SnapshotError;
pub use crate::store::STANDBY_FILE;

/// Where a standby stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The bucket location it follows (`s3://bucket/prefix`).
    pub location: String,
    /// The generation (its snapshot's base name) the folder holds; `None` until the first
    /// restore is swapped in.
    pub generation: Option<String>,
    /// The next segment of that generation to apply.
    pub next_segment: u64,
    /// The newest applied transaction: number and commit time (Unix ms, the primary's clock).
    pub last_seq: u64,
    pub last_ms: Option<i64>,
    /// When the last round ended (Unix ms), and its error if it failed.
    pub checked_ms: Option<i64>,
    pub error: Option<String>,
}

impl Status {
    /// How far behind the primary's newest applied transaction is, in seconds, at `now_ms`.
    pub fn lag_seconds(&self, now_ms: i64) -> Option<f64> {
        self.last_ms.map(|ms| (now_ms - ms).max(0) as f64 / 1000.0)
    }

    /// The line `follow --status` prints (times in `tz`).
    pub fn line(&self, now_ms: i64, tz: &TimeZone) -> String {
        let time = |ms: Option<i64>| {
            ms.and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .map_or_else(
                    || "never".to_owned(),
                    |t| {
                        t.to_zoned(tz.clone())
                            .strftime("%Y-%m-%d %H:%M:%S %Z")
                            .to_string()
                    },
                )
        };
        let Some(generation) = &self.generation else {
            return format!(
                "standby of {}: not built yet (first restore pending); last round {}{}",
                self.location,
                time(self.checked_ms),
                self.error_part()
            );
        };
        format!(
            "standby of {}: generation {generation}, {} segments applied; newest applied \
             transaction {} committed {} (lag {}); last round {}{}",
            self.location,
            self.next_segment,
            self.last_seq,
            time(self.last_ms),
            self.lag_seconds(now_ms)
                .map_or_else(|| "unknown".to_owned(), |s| format!("{s:.0} s")),
            time(self.checked_ms),
            self.error_part()
        )
    }

    fn error_part(&self) -> String {
        self.error
            .as_ref()
            .map(|e| format!("; LAST ROUND FAILED: {e}"))
            .unwrap_or_default()
    }
}

/// Whether `data_dir` is a standby.
pub fn is_standby(data_dir: &Path) -> bool {
    data_dir.join(STANDBY_FILE).exists()
}

/// The standby's status, `None` when the folder is not a standby.
pub fn read(data_dir: &Path) -> Result<Option<Status>, SnapshotError> {
    let path = data_dir.join(STANDBY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            SnapshotError::Mismatch(format!("{} is not a standby's status: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SnapshotError::io(format!("reading {}", path.display()))(e)),
    }
}

/// Writes the status (and so the marker) durably.
pub fn write(data_dir: &Path, status: &Status) -> Result<(), SnapshotError> {
    let bytes = serde_json::to_vec_pretty(status).map_err(|e| SnapshotError::Io {
        context: "encoding the standby's status".into(),
        source: e.into(),
    })?;
    super::write_private(&data_dir.join(STANDBY_FILE), &bytes)
}

/// Removes the marker durably: the folder is a primary from then on.
pub fn remove(data_dir: &Path) -> Result<(), SnapshotError> {
    let path = data_dir.join(STANDBY_FILE);
    std::fs::remove_file(&path)
        .map_err(SnapshotError::io(format!("removing {}", path.display())))?;
    crate::store::sync_dir(data_dir)
        .map_err(SnapshotError::io(format!("syncing {}", data_dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_names_the_generation_the_newest_transaction_and_the_lag() {
        let s = Status {
            location: "s3://b/p".into(),
            generation: Some("barberpro-20261206T120000Z-a".into()),
            next_segment: 3,
            last_seq: 42,
            last_ms: Some(1_000_000),
            checked_ms: Some(1_004_000),
            error: None,
        };
        let line = s.line(1_007_000, &TimeZone::UTC);
        assert!(line.contains("transaction 42"), "{line}");
        assert!(line.contains("lag 7 s"), "{line}");
        assert!(line.contains("3 segments"), "{line}");
        let failing = Status {
            error: Some("bucket down".into()),
            ..s
        };
        assert!(
            failing
                .line(0, &TimeZone::UTC)
                .contains("LAST ROUND FAILED: bucket down")
        );
    }

    #[test]
    fn a_folder_is_a_standby_while_its_marker_is_there() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(!is_standby(dir.path()));
        assert_eq!(read(dir.path()).expect("read"), None);
        write(dir.path(), &Status::default()).expect("write");
        assert!(is_standby(dir.path()));
        assert_eq!(read(dir.path()).expect("read"), Some(Status::default()));
        remove(dir.path()).expect("remove");
        assert!(!is_standby(dir.path()));
    }
}
