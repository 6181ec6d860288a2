//! The storage layer's error type.

use crate::domain::DomainError;

/// What can go wrong below the HTTP layer. Only [`StoreError::Rule`] is the caller's fault;
/// every other variant aborts the write batch it happened in.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A booking rule refused the request (nothing was written).
    #[error(transparent)]
    Rule(#[from] DomainError),
    /// redb failed (I/O, corruption, …).
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// A stored record could not be decoded.
    #[error("corrupt record in table {table}: {source}")]
    Corrupt {
        table: String,
        source: serde_json::Error,
    },
    /// Another process holds the data folder.
    #[error("the data folder {dir} is already in use by {holder}")]
    InUse { dir: String, holder: String },
    /// The data folder is a standby (`barberpro follow` keeps it): nothing may write it
    /// until `barberpro promote` makes it a primary.
    #[error(
        "{dir} is a standby kept current from the bucket by `barberpro follow` (it holds \
         {file}): it serves nothing and takes no writes. To make it the primary: stop the \
         follower, then `barberpro promote --data-dir {dir}`"
    )]
    Standby { dir: String, file: &'static str },
    /// A command that works on data already there found no database in its data folder.
    #[error(
        "there is no BarberPro database in {dir} ({file} is missing): check --data-dir or \
         storage.data_dir"
    )]
    NoDatabase { dir: String, file: &'static str },
    /// The database was written by a newer BarberPro.
    #[error(
        "the database has schema version {found}, newer than the {supported} this binary knows: \
         install the newer BarberPro (or restore an older snapshot)"
    )]
    SchemaTooNew { found: u64, supported: u64 },
    /// File-system trouble around the database (lock file, data folder).
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// The journal cannot be replayed onto this database (see `store::engine::journal`).
    #[error("journal: {0}")]
    Journal(String),
    /// The write batch this request was in failed as a whole (see the log for the cause).
    #[error("the write batch failed: {0}")]
    BatchFailed(String),
    /// The writer thread is gone (the server is shutting down, or halted).
    #[error("the database writer has stopped")]
    WriterGone,
    /// The writer halted because the disk is full: no write until a restart with room.
    #[error("the disk is full: the database takes no writes until there is room")]
    DiskFull,
}

/// Whether `why` names a full disk or quota: an `io::Error`'s text ends in `(os error N)`.
pub(crate) fn names_a_full_disk(why: &str) -> bool {
    why.contains("(os error 28)") || why.contains("(os error 122)")
}

impl StoreError {
    /// Whether the error comes from a full disk (or quota): room, not repair, heals it.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::DiskFull => true,
            Self::Io { source, .. } => matches!(source.raw_os_error(), Some(28 | 122)),
            other => names_a_full_disk(&other.to_string()),
        }
    }

    /// Whether the error poisons the write transaction it happened in.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::Rule(_))
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError
);
