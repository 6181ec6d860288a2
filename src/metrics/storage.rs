//! The database: file size, the disk it lives on, the writer's batches and checkpoints (fed by
//! the store's writer observer).

use std::path::Path;

use prometheus_client::registry::{Registry, Unit};

use super::Metrics;
use crate::store::engine::WriterEvent;

/// Write-batch commit buckets, seconds (one fsync each).
pub(super) const COMMIT_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
/// Requests per write batch.
pub(super) const BATCH_SIZE_BUCKETS: [f64; 9] =
    [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

impl Metrics {
    pub(super) fn register_storage(&self, r: &mut Registry) {
        r.register_with_unit(
            "barberpro_database_size",
            "Size of the database file",
            Unit::Bytes,
            self.database_size.clone(),
        );
        r.register_with_unit(
            "barberpro_disk_free",
            "Free space on the data folder's file system (for unprivileged users)",
            Unit::Bytes,
            self.disk_free.clone(),
        );
        r.register_with_unit(
            "barberpro_disk_size",
            "Size of the data folder's file system",
            Unit::Bytes,
            self.disk_total.clone(),
        );
        r.register_with_unit(
            "barberpro_write_batch_duration",
            "Time to run and commit one group-commit write transaction",
            Unit::Seconds,
            self.write_batch_duration.clone(),
        );
        r.register(
            "barberpro_write_batch_requests",
            "Write requests committed together in one transaction",
            self.write_batch_size.clone(),
        );
        r.register(
            "barberpro_write_batch_failures",
            "Write transactions that failed or were rolled back",
            self.write_batch_failures.clone(),
        );
        r.register(
            "barberpro_write_batch_journaled",
            "Write transactions made durable by a journal record instead of flushing the database",
            self.write_batch_journaled.clone(),
        );
        r.register_with_unit(
            "barberpro_checkpoint_duration",
            "Time to flush the journaled transactions into the database file (a checkpoint)",
            Unit::Seconds,
            self.checkpoint_duration.clone(),
        );
        r.register_with_unit(
            "barberpro_checkpoint_pause",
            "Time the database writer spends on a checkpoint (its flush then runs in the background)",
            Unit::Seconds,
            self.checkpoint_pause.clone(),
        );
        r.register(
            "barberpro_checkpoint_failures",
            "Checkpoints that failed (the journal keeps its records and may fill)",
            self.checkpoint_failures.clone(),
        );
    }

    /// The store writer's observer: its batches and checkpoints.
    pub fn writer_event(&self, event: WriterEvent) {
        match event {
            WriterEvent::Batch(b) => {
                self.write_batch_duration.observe(b.elapsed.as_secs_f64());
                self.write_batch_size.observe(b.requests as f64);
                if !b.committed {
                    self.write_batch_failures.inc();
                }
                if b.journaled {
                    self.write_batch_journaled.inc();
                }
            }
            WriterEvent::Checkpoint {
                elapsed,
                paused,
                ok,
            } => {
                self.checkpoint_duration.observe(elapsed.as_secs_f64());
                self.checkpoint_pause.observe(paused.as_secs_f64());
                if !ok {
                    self.checkpoint_failures.inc();
                }
            }
        }
    }

    /// Reads the database file's size and the disk's free space.
    pub fn sample_storage(&self, db_file: &Path) {
        if let Ok(meta) = std::fs::metadata(db_file) {
            self.database_size
                .set(i64::try_from(meta.len()).unwrap_or(i64::MAX));
        }
        if let Some(dir) = db_file.parent()
            && let Some(space) = disk_space(dir)
        {
            self.disk_free
                .set(i64::try_from(space.free).unwrap_or(i64::MAX));
            self.disk_total
                .set(i64::try_from(space.total).unwrap_or(i64::MAX));
        }
    }
}

/// Space on a file system.
#[derive(Debug, Clone, Copy)]
pub struct DiskSpace {
    /// Bytes available to unprivileged users.
    pub free: u64,
    pub total: u64,
}

pub fn disk_space(dir: &Path) -> Option<DiskSpace> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(DiskSpace {
        free: st.f_bavail.saturating_mul(st.f_frsize),
        total: st.f_blocks.saturating_mul(st.f_frsize),
    })
}
