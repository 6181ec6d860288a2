//! The storage engine: the group-commit writer, the redo journal and redb's file.

pub mod dbfile;
pub mod journal;
mod tx;
pub mod writer;

pub use tx::{ReadTx, Tx};
pub use writer::Writer;
