//! The write transaction the store writes through, and the change log's capture: every row a
//! transaction puts or removes, in every table, is appended as bytes to the transaction's
//! buffer as it is written (no second pass, no I/O). The writer hands the buffer of a
//! committed transaction to the change log ([`super::changelog`]); an aborted one is dropped.
//!
//! The captured form is redb's row bytes (`Key::as_bytes`, `Value::as_bytes`) under the
//! table's name, so replaying it needs the table's types, not redb's file format
//! (`store::tables::apply_row`).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::ops::Bound;
use std::ops::RangeBounds;

use redb::{
    AccessGuard, Cursor, Key, Range, ReadableTable, ReadableTableMetadata, StorageError,
    TableDefinition, TableError, TableHandle, TableStats, UntypedTableHandle, Value,
};

/// A put: op, table name (u8 length), key (u32 length), value (u32 length).
pub const OP_PUT: u8 = 1;
/// A removal: op, table name (u8 length), key (u32 length).
pub const OP_REMOVE: u8 = 2;

/// redb's write transaction with its rows captured. Functions of the store take
/// `&WriteTransaction` (this one) and open tables through it as they would through redb's.
pub struct WriteTransaction {
    txn: redb::WriteTransaction,
    ops: RefCell<Vec<u8>>,
    /// False for transactions outside the change log (migrations at open, the bulk loader).
    logged: bool,
}

impl WriteTransaction {
    pub fn new(txn: redb::WriteTransaction) -> Self {
        Self {
            txn,
            ops: RefCell::new(Vec::new()),
            logged: true,
        }
    }

    /// `new` when `captured`, else [`Self::unlogged`]: the writer captures only while the
    /// change log writes a generation (no bucket, no generation: nothing is captured).
    pub fn with_capture(txn: redb::WriteTransaction, captured: bool) -> Self {
        Self {
            logged: captured,
            ..Self::new(txn)
        }
    }

    /// A transaction whose rows are not captured: schema migrations at open and the bulk
    /// loader, which run before the change log's generation (a snapshot) starts.
    pub fn unlogged(txn: redb::WriteTransaction) -> Self {
        Self {
            logged: false,
            ..Self::new(txn)
        }
    }

    /// Opens (creating if needed) a table whose writes are captured.
    pub fn open_table<'txn, K: Key + 'static, V: Value + 'static>(
        &'txn self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Table<'txn, K, V>, TableError> {
        Ok(Table {
            table: self.txn.open_table(def)?,
            def,
            ops: self.logged.then_some(&self.ops),
        })
    }

    /// Deletes a table. Only migrations do (before the change log starts); not captured.
    pub fn delete_table(&self, def: impl TableHandle) -> Result<bool, TableError> {
        self.txn.delete_table(def)
    }

    pub fn list_tables(
        &self,
    ) -> Result<impl Iterator<Item = UntypedTableHandle> + '_, StorageError> {
        self.txn.list_tables()
    }

    pub fn set_durability(
        &mut self,
        durability: redb::Durability,
    ) -> Result<(), redb::SetDurabilityError> {
        self.txn.set_durability(durability)
    }

    /// Commits, and returns the rows it changed (empty if it changed none).
    pub fn commit(self) -> Result<Vec<u8>, redb::CommitError> {
        self.txn.commit()?;
        Ok(self.ops.into_inner())
    }

    pub fn abort(self) -> Result<(), StorageError> {
        self.txn.abort()
    }

    /// Whether the transaction changed any row the change log keeps.
    pub fn has_changes(&self) -> bool {
        !self.ops.borrow().is_empty()
    }

    /// The rows captured so far (tests).
    pub fn captured(&self) -> Vec<u8> {
        self.ops.borrow().clone()
    }
}

fn push_op(ops: &mut Vec<u8>, op: u8, table: &str, key: &[u8], value: Option<&[u8]>) {
    ops.reserve(10 + table.len() + key.len() + value.map_or(0, <[u8]>::len));
    ops.push(op);
    // Table names are short constants (tables.rs); a longer one would be a bug there.
    let name = &table.as_bytes()[..table.len().min(255)];
    ops.push(name.len() as u8);
    ops.extend_from_slice(name);
    ops.extend_from_slice(&(key.len() as u32).to_le_bytes());
    ops.extend_from_slice(key);
    if let Some(value) = value {
        ops.extend_from_slice(&(value.len() as u32).to_le_bytes());
        ops.extend_from_slice(value);
    }
}

/// redb's table with its puts and removals captured; reads go straight to redb's.
pub struct Table<'txn, K: Key + 'static, V: Value + 'static> {
    table: redb::Table<'txn, K, V>,
    def: TableDefinition<'static, K, V>,
    ops: Option<&'txn RefCell<Vec<u8>>>,
}

impl<K: Key + 'static, V: Value + 'static> Table<'_, K, V> {
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StorageError> {
        let (key, value) = (key.borrow(), value.borrow());
        if let Some(ops) = self.ops {
            push_op(
                &mut ops.borrow_mut(),
                OP_PUT,
                self.def.name(),
                K::as_bytes(key).as_ref(),
                Some(V::as_bytes(value).as_ref()),
            );
        }
        self.table.insert(key, value)
    }

    pub fn remove<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StorageError> {
        let key = key.borrow();
        if let Some(ops) = self.ops {
            push_op(
                &mut ops.borrow_mut(),
                OP_REMOVE,
                self.def.name(),
                K::as_bytes(key).as_ref(),
                None,
            );
        }
        self.table.remove(key)
    }

    /// Keeps the rows `predicate` accepts; each one removed is captured.
    pub fn retain<F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool>(
        &mut self,
        mut predicate: F,
    ) -> Result<(), StorageError> {
        let Some(ops) = self.ops else {
            return self.table.retain(predicate);
        };
        let name = self.def.name();
        self.table.retain(|k, v| {
            let bytes = K::as_bytes(&k).as_ref().to_vec();
            let keep = predicate(k, v);
            if !keep {
                push_op(&mut ops.borrow_mut(), OP_REMOVE, name, &bytes, None);
            }
            keep
        })
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTableMetadata for Table<'_, K, V> {
    fn stats(&self) -> Result<TableStats, StorageError> {
        self.table.stats()
    }

    fn len(&self) -> Result<u64, StorageError> {
        self.table.len()
    }
}

impl<K: Key + 'static, V: Value + 'static> ReadableTable<K, V> for Table<'_, K, V> {
    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StorageError> {
        self.table.get(key)
    }

    fn range<'a, KR>(
        &self,
        range: impl RangeBounds<KR> + 'a,
    ) -> Result<Range<'_, K, V>, StorageError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.table.range(range)
    }

    fn first(&self) -> Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>, StorageError> {
        self.table.first()
    }

    fn last(&self) -> Result<Option<(AccessGuard<'_, K>, AccessGuard<'_, V>)>, StorageError> {
        self.table.last()
    }

    fn lower_bound<'a>(
        &self,
        bound: Bound<impl Borrow<K::SelfType<'a>>>,
    ) -> Result<Cursor<'_, K, V>, StorageError> {
        self.table.lower_bound(bound)
    }

    fn upper_bound<'a>(
        &self,
        bound: Bound<impl Borrow<K::SelfType<'a>>>,
    ) -> Result<Cursor<'_, K, V>, StorageError> {
        self.table.upper_bound(bound)
    }
}

/// One captured row change, decoded (replay, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOp<'a> {
    pub table: &'a str,
    pub key: &'a [u8],
    /// `None`: removed.
    pub value: Option<&'a [u8]>,
}

/// Decodes a transaction's captured rows; `None` if they do not parse (a corrupt record).
pub fn decode_ops(mut bytes: &[u8]) -> Option<Vec<RowOp<'_>>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(head)
    }
    fn len32(bytes: &mut &[u8]) -> Option<usize> {
        let b = take(bytes, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let op = take(&mut bytes, 1)?[0];
        let name_len = usize::from(take(&mut bytes, 1)?[0]);
        let table = std::str::from_utf8(take(&mut bytes, name_len)?).ok()?;
        let key_len = len32(&mut bytes)?;
        let key = take(&mut bytes, key_len)?;
        let value = match op {
            OP_PUT => {
                let n = len32(&mut bytes)?;
                Some(take(&mut bytes, n)?)
            }
            OP_REMOVE => None,
            _ => return None,
        };
        out.push(RowOp { table, key, value });
    }
    Some(out)
}
