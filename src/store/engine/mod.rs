//! The storage engine: the group-commit writer, the redo journal and redb's file.

pub mod dbfile;
pub mod journal;
pub mod writer;
