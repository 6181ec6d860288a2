//! `[storage]`: the data folder and the database's cache and checkpoints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    /// redb page cache, in MiB.
    pub cache_size_mb: usize,
    /// How long after a booking made durable by the journal redb's checkpoint is due (under
    /// load it waits for a moment when no request is queued, at most twice this). Each
    /// checkpoint pauses the writer while redb hands the pages dirtied since the last one to
    /// the kernel (their flush then runs in the background): longer means fewer but longer
    /// pauses, and a longer replay after a crash.
    pub checkpoint_interval_ms: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            cache_size_mb: 64,
            checkpoint_interval_ms: 50,
        }
    }
}

impl StorageConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(10..=60_000).contains(&self.checkpoint_interval_ms) {
            return invalid(
                "storage.checkpoint_interval_ms",
                "must be between 10 and 60000",
            );
        }
        if self.cache_size_mb == 0 {
            return invalid("storage.cache_size_mb", "must be at least 1");
        }
        if self.data_dir.as_os_str().is_empty() {
            return invalid("storage.data_dir", "must not be empty");
        }
        Ok(())
    }
}
