//! JSON rows: reading and writing the serde-encoded values of the entity tables.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use redb::{ReadableTable, Table, TableDefinition};
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

/// A whole table as it was decoded last time: its raw rows and what they decoded to.
struct Decoded<T> {
    rows: Vec<(u64, Box<[u8]>)>,
    values: Arc<Vec<T>>,
}

/// The last decoding of each small table, by table name and row type. Shared by every open
/// database, and safe to be: an entry is used only when the table's bytes, read in the
/// caller's own transaction, are identical to those it was decoded from. So it can never
/// serve a stale or another database's row; it only skips parsing bytes already parsed.
type Memo = Mutex<HashMap<(String, TypeId), Arc<dyn Any + Send + Sync>>>;
static MEMO: LazyLock<Memo> = LazyLock::new(Default::default);

/// As [`all`], but reuses the previous decoding while the table's bytes are unchanged. For
/// small, rarely written tables read on every request (the catalogue): comparing bytes costs
/// a fraction of parsing JSON.
pub fn all_memo<T>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    def: TableDefinition<u64, &[u8]>,
) -> Result<Arc<Vec<T>>, StoreError>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let key = (redb::TableHandle::name(&def).to_owned(), TypeId::of::<T>());
    let cached = MEMO
        .lock()
        .map_err(|_| StoreError::BatchFailed("decode memo poisoned".into()))?
        .get(&key)
        .cloned()
        .and_then(|entry| entry.downcast::<Decoded<T>>().ok());
    if let Some(cached) = &cached {
        let mut same = true;
        let mut seen = 0;
        for row in table.iter()? {
            let (k, v) = row?;
            match cached.rows.get(seen) {
                Some((id, bytes)) if *id == k.value() && **bytes == *v.value() => seen += 1,
                _ => {
                    same = false;
                    break;
                }
            }
        }
        if same && seen == cached.rows.len() {
            return Ok(cached.values.clone());
        }
    }
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        values.push(decode(def, v.value())?);
        rows.push((k.value(), Box::from(v.value())));
    }
    let values = Arc::new(values);
    let entry = Arc::new(Decoded {
        rows,
        values: values.clone(),
    });
    if let Ok(mut memo) = MEMO.lock() {
        memo.insert(key, entry);
    }
    Ok(values)
}

/// As [`get`], but reuses the row's decoding from the last [`all_memo`] of its table when
/// the row's bytes are the same.
pub fn get_memo<T>(
    table: &impl ReadableTable<u64, &'static [u8]>,
    def: TableDefinition<u64, &[u8]>,
    id: u64,
) -> Result<Option<T>, StoreError>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let Some(bytes) = table.get(id)? else {
        return Ok(None);
    };
    let key = (redb::TableHandle::name(&def).to_owned(), TypeId::of::<T>());
    let cached = MEMO
        .lock()
        .map_err(|_| StoreError::BatchFailed("decode memo poisoned".into()))?
        .get(&key)
        .cloned()
        .and_then(|entry| entry.downcast::<Decoded<T>>().ok());
    if let Some(cached) = cached
        && let Ok(i) = cached.rows.binary_search_by_key(&id, |(k, _)| *k)
        && *cached.rows[i].1 == *bytes.value()
    {
        return Ok(Some(cached.values[i].clone()));
    }
    decode(def, bytes.value()).map(Some)
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
