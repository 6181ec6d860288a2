//! The last snapshot and verify results, in `<data_dir>/snapshot-status.json`, for the
//! metrics and the admin page (which only read it) and for operators (`cat` it).

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{SnapshotError, SnapshotReport, write_private};
use crate::metrics::SnapshotFigures;

/// File name inside the data folder.
pub const STATUS_FILE: &str = "snapshot-status.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// The last attempt, successful or not.
    pub last_snapshot: Option<Attempt>,
    /// When the last snapshot succeeded (taken, checked and, if configured, uploaded).
    pub last_success_at: Option<Timestamp>,
    pub last_success_duration_ms: Option<u64>,
    pub last_success_stored_bytes: Option<u64>,
    /// Failed snapshot attempts since the file was created.
    pub failures_total: u64,
    /// The last `snapshot verify` drill.
    pub last_verify: Option<Attempt>,
    /// When a verify drill last succeeded.
    pub last_verified_at: Option<Timestamp>,
    pub verify_failures_total: u64,
}

impl Status {
    /// What the snapshot gauges show.
    pub fn figures(&self) -> SnapshotFigures {
        SnapshotFigures {
            last_success_at: self.last_success_at,
            last_success_duration_ms: self.last_success_duration_ms,
            last_success_stored_bytes: self.last_success_stored_bytes,
            failures_total: self.failures_total,
            last_verified_at: self.last_verified_at,
            verify_failures_total: self.verify_failures_total,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub ok: bool,
    pub name: Option<String>,
    pub duration_ms: u64,
    pub error: Option<String>,
    pub exit_code: u8,
}

/// Reads the status (empty when there is none yet or it is unreadable).
pub fn read(data_dir: &Path) -> Status {
    std::fs::read(data_dir.join(STATUS_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn write(data_dir: &Path, status: &Status) {
    let result = serde_json::to_vec_pretty(status)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            write_private(&data_dir.join(STATUS_FILE), &bytes).map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record the snapshot status");
    }
}

pub(crate) fn record_snapshot(
    data_dir: &Path,
    result: &Result<SnapshotReport, SnapshotError>,
    took: Duration,
) {
    let mut status = read(data_dir);
    let now = Timestamp::now();
    let duration_ms = took.as_millis() as u64;
    status.last_snapshot = Some(match result {
        Ok(r) => {
            status.last_success_at = Some(now);
            status.last_success_duration_ms = Some(duration_ms);
            status.last_success_stored_bytes = Some(r.stored_bytes);
            Attempt {
                at: now,
                ok: true,
                name: Some(r.name.clone()),
                duration_ms,
                error: None,
                exit_code: 0,
            }
        }
        Err(e) => {
            status.failures_total += 1;
            Attempt {
                at: now,
                ok: false,
                name: None,
                duration_ms,
                error: Some(e.to_string()),
                exit_code: e.exit_code(),
            }
        }
    });
    write(data_dir, &status);
}

pub(crate) fn record_verify(
    data_dir: &Path,
    name: Option<&str>,
    result: Result<(), &SnapshotError>,
    took: Duration,
) {
    let mut status = read(data_dir);
    let now = Timestamp::now();
    match result {
        Ok(()) => status.last_verified_at = Some(now),
        Err(_) => status.verify_failures_total += 1,
    }
    status.last_verify = Some(Attempt {
        at: now,
        ok: result.is_ok(),
        name: name.map(str::to_owned),
        duration_ms: took.as_millis() as u64,
        error: result.err().map(|e| e.to_string()),
        exit_code: result.err().map(SnapshotError::exit_code).unwrap_or(0),
    });
    write(data_dir, &status);
}
