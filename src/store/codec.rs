//! JSON rows: reading and writing the serde-encoded values of the entity tables.

use redb::{ReadableTable, TableDefinition};

use crate::store::engine::capture::Table;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// Reads and decodes the row `id` of a `u64 → JSON` table.
pub fn get<T: DeserializeOwned>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    def: TableDefinition<u64, &[u8]>,
    id: u64,
) -> Result<Option<T>, StoreError> {
    match table.get(id)? {
        Some(v) => decode(def, v.value()).map(Some),
        None => Ok(None),
    }
}

/// Decodes every row of a `u64 → JSON` table, in id order.
pub fn all<T: DeserializeOwned>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    def: TableDefinition<u64, &[u8]>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, v) = row?;
        out.push(decode(def, v.value())?);
    }
    Ok(out)
}

pub fn put<T: Serialize>(
    table: &mut Table<u64, &'static [u8]>,
    id: u64,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(|source| StoreError::Corrupt {
        table: "(encoding)".to_owned(),
        source,
    })?;
    table.insert(id, bytes.as_slice())?;
    Ok(())
}

pub fn decode<T: DeserializeOwned>(
    def: TableDefinition<u64, &[u8]>,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        table: redb::TableHandle::name(&def).to_owned(),
        source,
    })
}

/// Encodes a row of a table keyed otherwise than by `u64` (the caller inserts it).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Corrupt {
        table: "(encoding)".to_owned(),
        source,
    })
}

/// Writes the setting `key` (a policy the process keeps in `settings`, read inside the
/// transactions it governs).
pub fn put_setting<T: Serialize>(
    txn: &super::Tx,
    key: &'static str,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = encode(value)?;
    txn.open_table(super::tables::SETTINGS)?
        .insert(key, bytes.as_slice())?;
    txn.forget(key);
    Ok(())
}

/// The setting `key` as `txn` sees it, read once per transaction ([`super::Tx::memo`]).
pub fn memo_setting<T: DeserializeOwned + Default + Clone + Send + 'static>(
    txn: &super::Tx,
    key: &'static str,
) -> Result<T, StoreError> {
    txn.memo(key, |txn| setting(txn, key))
}

/// The setting `key`, or its default when it was never written.
pub fn setting<T: DeserializeOwned + Default>(
    tx: &impl super::ReadTx,
    key: &str,
) -> Result<T, StoreError> {
    let table = tx.table(super::tables::SETTINGS)?;
    match table.get(key)? {
        Some(bytes) => decode_named("settings", bytes.value()),
        None => Ok(T::default()),
    }
}

/// Decodes a row of the table named `table`.
pub fn decode_named<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        table: table.to_owned(),
        source,
    })
}
