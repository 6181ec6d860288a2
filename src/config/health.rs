//! `[health]`: the thresholds `/readyz` judges by.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Readiness thresholds (`/readyz`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Not ready when the data folder's disk has less free space than this many MiB.
    pub min_free_disk_mib: u64,
    /// Not ready when the last successful snapshot is older than this many hours, or when
    /// snapshots were tried and none ever succeeded. 0: not checked.
    pub max_snapshot_age_hours: u32,
    /// Not ready when a WhatsApp message has been due this many minutes without the sender
    /// taking it (the sender is stuck; a failing API reschedules, it does not age). 0: off.
    pub max_outbox_delay_minutes: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            min_free_disk_mib: 512,
            max_snapshot_age_hours: 26,
            max_outbox_delay_minutes: 15,
        }
    }
}

impl HealthConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.min_free_disk_mib > 1 << 30 {
            return invalid(
                "health.min_free_disk_mib",
                "must be at most 1073741824 (1 PiB)",
            );
        }
        Ok(())
    }
}
