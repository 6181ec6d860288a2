//! The transactions the engine hands out: [`Tx`], the write transaction a request runs in,
//! and [`ReadTx`], the read access that read and write transactions share.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Deref;

use redb::{Key, ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, Value};

use super::capture::{self, WriteTransaction};
use crate::store::error::StoreError;

/// Read access shared by read and write transactions, so one query function serves both
/// the read path and the checks inside a write.
pub trait ReadTx {
    type Table<'a, K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>
    where
        Self: 'a;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<'_, K, V>, StoreError>;
}

impl ReadTx for ReadTransaction {
    type Table<'a, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<ReadOnlyTable<K, V>, StoreError> {
        Ok(self.open_table(def)?)
    }
}

impl ReadTx for redb::WriteTransaction {
    type Table<'a, K: Key + 'static, V: Value + 'static> = Table<'a, K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Table<'_, K, V>, StoreError> {
        Ok(self.open_table(def)?)
    }
}

impl ReadTx for WriteTransaction {
    type Table<'a, K: Key + 'static, V: Value + 'static> = capture::Table<'a, K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<capture::Table<'_, K, V>, StoreError> {
        Ok(self.open_table(def)?)
    }
}

/// A write transaction, and what its commit must set off. It derefs to redb's
/// [`WriteTransaction`], so a function taking `&WriteTransaction` takes a `&Tx` as it is;
/// only what raises an after-commit signal needs the `Tx` itself.
pub struct Tx {
    txn: WriteTransaction,
    /// Set by a request that queued background work; the writer reads it once the
    /// transaction has committed.
    wake: Cell<bool>,
    /// Values read once per transaction (see [`Tx::memo`]).
    memos: RefCell<HashMap<&'static str, Box<dyn Any + Send>>>,
}

impl Tx {
    pub fn new(txn: redb::WriteTransaction) -> Self {
        Self::capturing(txn, true)
    }

    /// A transaction whose rows are captured for the change log only when `captured`.
    pub fn capturing(txn: redb::WriteTransaction, captured: bool) -> Self {
        Self {
            txn: WriteTransaction::with_capture(txn, captured),
            wake: Cell::new(false),
            memos: RefCell::new(HashMap::new()),
        }
    }

    /// `load`'s answer for `key`, loaded once per transaction: every request of a batch may
    /// ask (the messaging policies each booking follows). Whoever writes what `load` reads
    /// calls [`Tx::forget`] in the same transaction, so later requests see the write.
    pub fn memo<T: Clone + Send + 'static>(
        &self,
        key: &'static str,
        load: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(found) = self
            .memos
            .borrow()
            .get(key)
            .and_then(|v| v.downcast_ref::<T>())
        {
            return Ok(found.clone());
        }
        let value = load(self)?;
        self.memos.borrow_mut().insert(key, Box::new(value.clone()));
        Ok(value)
    }

    /// Drops the memo of `key` (its source changed in this transaction).
    pub fn forget(&self, key: &'static str) {
        self.memos.borrow_mut().remove(key);
    }

    /// Asks the writer to wake [`Writer::committed_work`](super::Writer::committed_work)'s
    /// waiter once this transaction commits (for background work queued in it, an outbox
    /// message). Never before: the waiter would look before the rows are visible. A
    /// transaction that does not commit wakes nobody.
    pub fn wake_after_commit(&self) {
        self.wake.set(true);
    }

    /// Whether a request asked for [`Tx::wake_after_commit`].
    pub fn wakes(&self) -> bool {
        self.wake.get()
    }

    pub(super) fn set_durability(
        &mut self,
        durability: redb::Durability,
    ) -> Result<(), redb::SetDurabilityError> {
        self.txn.set_durability(durability)
    }

    /// Commits the transaction and returns the rows it changed, for the change log. Waking,
    /// if asked for, is the caller's: see [`Tx::wakes`].
    pub fn commit(self) -> Result<Vec<u8>, redb::CommitError> {
        self.txn.commit()
    }

    pub fn abort(self) -> Result<(), redb::StorageError> {
        self.txn.abort()
    }
}

impl Deref for Tx {
    type Target = WriteTransaction;

    fn deref(&self) -> &WriteTransaction {
        &self.txn
    }
}

impl ReadTx for Tx {
    type Table<'a, K: Key + 'static, V: Value + 'static> = capture::Table<'a, K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<capture::Table<'_, K, V>, StoreError> {
        Ok(self.txn.open_table(def)?)
    }
}

/// A write transaction lent for reading only: code given one can call the store's read
/// functions (`&impl ReadTx`) in that transaction, never its write functions.
pub struct ReadOnly<'t>(&'t WriteTransaction);

impl<'t> ReadOnly<'t> {
    pub fn new(txn: &'t WriteTransaction) -> Self {
        Self(txn)
    }
}

impl ReadTx for ReadOnly<'_> {
    type Table<'a, K: Key + 'static, V: Value + 'static>
        = capture::Table<'a, K, V>
    where
        Self: 'a;
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<capture::Table<'_, K, V>, StoreError> {
        Ok(self.0.open_table(def)?)
    }
}
