//! The storage engine: one writer thread that group-commits write requests, the redo journal
//! that makes journaled requests durable between checkpoints, and redb's file. It knows
//! transactions ([`Tx`]) and journal records, not what they hold: the one request type it
//! journals is the store's ([`Journaled`](crate::store::engine::Journaled)). The design, and why,
//! is in `docs/storage.md`.
//!
//! What holds:
//! * Nobody is answered before the transaction holding their request is durable, and a
//!   batch's writes are visible to readers only once they are (`batch.rs`).
//! * Durable means: in redb's last durable commit, or in a journal record after it. A
//!   journaled batch's record is on disk before its redb commit; a batch that fails after its
//!   record was written has it zeroed before anyone is answered (`durability.rs`).
//! * A checkpoint's flush may finish late, never out of order ([`dbfile`]); the journal keeps
//!   the records a checkpoint covers until that flush is done (`durability/checkpoint.rs`).
//! * An I/O error the database cannot go on after halts the writer ([`Halt`]): nothing is
//!   acknowledged after it, and the server exits for a restart that replays the journal.
//! * After-commit signals travel with the transaction ([`Tx::wake_after_commit`]) and fire
//!   only if it commits.

mod batch;
pub mod capture;
pub mod changelog;
pub mod dbfile;
mod durability;
/// Files beside redb's, written whole and durably (temporary, sync, rename, folder sync).
pub(crate) mod files;
mod flusher;
mod halt;
mod job;
pub mod journal;
/// The power-loss simulator's tap on file operations (empty outside tests).
pub(crate) mod probe;
mod queue;
mod replay;
mod stats;
/// A restore's swap of the live files: never a mix of the old and the restored, never none.
pub(crate) mod swap;
#[cfg(test)]
pub(crate) mod torn;
mod tx;
mod writer;

pub use capture::WriteTransaction;
pub use changelog::ChangeLog;
pub use halt::Halt;
pub use job::Journaled;
pub use replay::replay;
pub use stats::{BatchStats, WriterEvent, WriterObserver};
pub use tx::{ReadOnly, ReadTx, Tx};
pub use writer::{CHECKPOINT_EVERY, Writer};

/// `meta`, where the engine keeps its sequence numbers (`journal.seq`, `changelog.seq`) beside
/// the aggregates' id sequences: the table `store::tables::META` lists for snapshots, named here
/// so that the engine never reads the aggregates' table list.
pub(crate) const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
