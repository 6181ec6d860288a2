//! Photos of branches and barbers, as uploaded in Catálogo once resized and re-encoded
//! (`app::photos`): JPEG bytes under a fresh id each time, never changed afterwards, so a
//! photo's URL can be cached for good. The owner index lists a branch's or barber's photos in
//! upload order; the row and its index entry change in one write transaction.

use crate::store::engine::WriteTransaction;
use redb::ReadableTable;

use super::{ReadTx, StoreError, next_id, tables};
use crate::domain::{BarberId, BranchId};

/// Whose photo it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Branch(BranchId),
    Barber(BarberId),
}

impl Owner {
    fn key(self) -> (u8, u64) {
        match self {
            Self::Branch(id) => (1, id.0),
            Self::Barber(id) => (2, id.0),
        }
    }
}

/// Stores `jpeg` as a new photo of `owner`; returns its id.
pub fn add(txn: &WriteTransaction, owner: Owner, jpeg: &[u8]) -> Result<u64, StoreError> {
    let id = next_id(txn, "photo")?;
    txn.open_table(tables::PHOTOS)?.insert(id, jpeg)?;
    let (kind, of) = owner.key();
    txn.open_table(tables::PHOTOS_BY_OWNER)?
        .insert((kind, of, id), ())?;
    Ok(id)
}

/// Removes photo `id` of `owner`; whether there was one.
pub fn remove(txn: &WriteTransaction, owner: Owner, id: u64) -> Result<bool, StoreError> {
    let (kind, of) = owner.key();
    let listed = txn
        .open_table(tables::PHOTOS_BY_OWNER)?
        .remove((kind, of, id))?
        .is_some();
    if listed {
        txn.open_table(tables::PHOTOS)?.remove(id)?;
    }
    Ok(listed)
}

/// The JPEG bytes of photo `id`.
pub fn get(tx: &impl ReadTx, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx
        .table(tables::PHOTOS)?
        .get(id)?
        .map(|v| v.value().to_vec()))
}

/// The photos of `owner`, oldest first.
pub fn of(tx: &impl ReadTx, owner: Owner) -> Result<Vec<u64>, StoreError> {
    let (kind, of) = owner.key();
    let index = tx.table(tables::PHOTOS_BY_OWNER)?;
    let mut out = Vec::new();
    for row in index.range((kind, of, 0)..=(kind, of, u64::MAX))? {
        out.push(row?.0.value().2);
    }
    Ok(out)
}
