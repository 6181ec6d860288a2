//! What the writer tells its observer (metrics): batches and checkpoints, never redb.

use std::time::Duration;

/// Told about every batch once its fate is known, and every checkpoint (metrics); runs on the
/// writer thread, so it must be quick. Keeps redb out of the caller's sight.
pub type WriterObserver = Box<dyn Fn(WriterEvent) + Send + Sync>;

/// What the writer reports to its [`WriterObserver`].
#[derive(Debug, Clone, Copy)]
pub enum WriterEvent {
    Batch(BatchStats),
    /// A checkpoint: redb flushed what the journaled commits left in its buffer (`ok`), so the
    /// journal let go of their records; or it failed, and the journal keeps them. `elapsed`
    /// runs until the flush is done, `paused` is the part the writer spent on it.
    Checkpoint {
        elapsed: Duration,
        paused: Duration,
        ok: bool,
    },
}

/// One write batch, as seen by a [`WriterObserver`].
#[derive(Debug, Clone, Copy)]
pub struct BatchStats {
    pub requests: usize,
    pub elapsed: Duration,
    pub committed: bool,
    /// Made durable by a journal record rather than by flushing redb.
    pub journaled: bool,
}
