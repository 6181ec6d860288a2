//! Replaying the change log onto a database file (a restore): each record's rows applied by
//! table name (`tables::apply_row`), in order, with no gap after the file's own
//! `meta["changelog.seq"]`; records it already holds are skipped.

use std::path::Path;

use redb::Database;

use super::engine::capture::decode_ops;
use super::engine::changelog::{SEQ_KEY, format::Record};
use super::{StoreError, tables};
use redb::ReadableTable;

/// The file a replay writes (opened by [`open`]): callers outside `store` hold it without
/// naming redb.
pub type Target = Database;

/// Where a replay got to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replayed {
    /// The file's `changelog.seq` before the replay.
    pub from_seq: u64,
    /// The last transaction applied (or `from_seq`), and its commit time.
    pub last_seq: u64,
    pub last_ms: Option<i64>,
    pub applied: u64,
}

/// Opens the redb file at `path` for a replay (no server holds it).
pub fn open(path: &Path) -> Result<(Database, Replayed), StoreError> {
    let db = Database::create(path)?;
    let txn = db.begin_write()?;
    let from = txn
        .open_table(tables::META)?
        .get(SEQ_KEY)?
        .map_or(0, |v| v.value());
    txn.abort()?;
    Ok((
        db,
        Replayed {
            from_seq: from,
            last_seq: from,
            ..Replayed::default()
        },
    ))
}

/// Applies `records` (one segment's, in order) in one transaction; records at or before
/// `done.last_seq` are skipped, a record after `until_ms` stops it (returns false). A gap
/// or a row that does not decode is an error naming the transaction.
pub fn apply(
    db: &Database,
    done: &mut Replayed,
    records: &[Record],
    until_ms: Option<i64>,
) -> Result<bool, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::None)
        .map_err(|e| StoreError::BatchFailed(e.to_string()))?;
    let mut go_on = true;
    let mut state = done.clone();
    for r in records {
        if r.seq <= state.last_seq {
            continue;
        }
        if until_ms.is_some_and(|until| r.at_ms > until) {
            go_on = false;
            break;
        }
        if r.seq != state.last_seq + 1 {
            return Err(StoreError::Journal(format!(
                "the change log skips from transaction {} to {}",
                state.last_seq, r.seq
            )));
        }
        let ops = decode_ops(&r.ops)
            .ok_or_else(|| StoreError::Journal(format!("transaction {} does not decode", r.seq)))?;
        for op in ops {
            if !tables::apply_row(&txn, op.table, op.key, op.value)? {
                return Err(StoreError::Journal(format!(
                    "transaction {} writes table {}, which this BarberPro does not know",
                    r.seq, op.table
                )));
            }
        }
        state.last_seq = r.seq;
        state.last_ms = Some(r.at_ms);
        state.applied += 1;
    }
    txn.commit()?;
    *done = state;
    Ok(go_on)
}

/// Makes the replay durable (the last transaction flushed with redb's own commit).
pub fn finish(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    txn.commit()?;
    Ok(())
}
