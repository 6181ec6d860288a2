//! Bulk loading, for the load benchmark's data generator (`barberpro bench-data`).
//!
//! Rows and indexes are written by the same functions the live paths use
//! ([`clients::upsert`], [`bookings::index_insert`], [`codec::put`], [`next_id`]), but many
//! thousands per write transaction instead of one request's worth: nothing else may write
//! while a [`BulkWriter`] is open. It checks no booking rule — the caller must hand it
//! bookings that do not overlap — so it is never reachable from the HTTP layer.

use std::time::Instant;

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;

use super::clients::{self, ClientDetails};
use super::{Store, StoreError, bookings, codec, next_id, tables};
use crate::domain::{Booking, BookingId, Client};

/// Writes rows in large transactions, committing every `rows_per_commit` rows.
pub struct BulkWriter<'s> {
    store: &'s Store,
    txn: Option<WriteTransaction>,
    rows_in_txn: usize,
    rows_per_commit: usize,
    commits: usize,
    started: Instant,
}

impl Store {
    /// A bulk writer on this store. The group-commit writer must be idle meanwhile (the
    /// generator runs before the server starts).
    pub fn bulk_writer(&self, rows_per_commit: usize) -> Result<BulkWriter<'_>, StoreError> {
        let mut writer = BulkWriter {
            store: self,
            txn: None,
            rows_in_txn: 0,
            rows_per_commit: rows_per_commit.max(1),
            commits: 0,
            started: Instant::now(),
        };
        writer.begin()?;
        Ok(writer)
    }
}

impl BulkWriter<'_> {
    fn begin(&mut self) -> Result<(), StoreError> {
        let txn = WriteTransaction::unlogged(self.store.db.begin_write()?);
        self.txn = Some(txn);
        self.rows_in_txn = 0;
        Ok(())
    }

    /// The open transaction, for catalogue inserts through [`super::catalog`].
    pub fn txn(&self) -> &WriteTransaction {
        // `begin` always leaves a transaction open until `finish` consumes the writer.
        self.txn.as_ref().expect("a bulk transaction is open")
    }

    /// Commits the current transaction and opens the next one if it is full.
    fn row_written(&mut self) -> Result<(), StoreError> {
        self.rows_in_txn += 1;
        if self.rows_in_txn >= self.rows_per_commit {
            self.commit()?;
            self.begin()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if let Some(txn) = self.txn.take() {
            txn.commit()?;
            self.commits += 1;
            tracing::debug!(
                commits = self.commits,
                elapsed_ms = self.started.elapsed().as_millis() as u64,
                "bulk transaction committed"
            );
        }
        Ok(())
    }

    /// Adds a client exactly as a booking request would (row and phone index).
    pub fn client(&mut self, details: ClientDetails, now: Timestamp) -> Result<Client, StoreError> {
        let client = clients::upsert(self.txn(), details, now)?;
        self.row_written()?;
        Ok(client)
    }

    /// Stores a booking under the next booking id, with every index [`bookings::create`]
    /// writes. `booking.id` is ignored; the id given is returned. The caller guarantees that
    /// active bookings of one barber (and of one client) do not overlap.
    pub fn booking(&mut self, mut booking: Booking) -> Result<BookingId, StoreError> {
        let txn = self.txn();
        booking.id = BookingId(next_id(txn, "booking")?);
        codec::put(
            &mut txn.open_table(tables::BOOKINGS)?,
            booking.id.0,
            &booking,
        )?;
        bookings::index_insert(txn, &booking)?;
        self.row_written()?;
        Ok(booking.id)
    }

    /// Records a sale through `ledger::sell` (its indexes and daily totals included).
    pub fn sale(
        &mut self,
        stamp: super::ledger::Stamp,
        sale: crate::domain::caja::Sale,
    ) -> Result<(), StoreError> {
        super::ledger::sell(self.txn(), stamp, sale)?;
        self.row_written()
    }

    /// Commits what is left.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.commit()
    }
}
