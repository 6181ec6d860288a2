//! The two booking indexes and the Idempotency-Keys.
//!
//! A booking has one entry in `idx_barber_timeline` and one in `idx_client_timeline`, keyed
//! `(owner, start, id)` and saying until when it holds its owner and whether it is active
//! (the barber's entry also its status, branch and client, for the reports); they change in
//! the same write transaction as the row, and their fields match it. Active entries of one owner never
//! overlap (the invariant), so sorted by start they are sorted by end too: the overlap check
//! needs one reverse seek ([`agenda_overlaps`]).

use crate::store::engine::WriteTransaction;
use crate::store::engine::capture::Table;
use crate::store::tables::{BarberEntry, barber_entry};
use jiff::Timestamp;
use redb::{ReadableTable, Value};
use serde::{Deserialize, Serialize};

use super::{Idempotency, get};
use crate::domain::{Booking, BookingId, BookingStatus, DomainError, Interval};
use crate::store::{ReadTx, StoreError, codec, tables};

/// The booking indexes, opened once for a booking's checks and writes.
pub(super) type BarberIndex<'t> = Table<'t, (u64, i64, u64), BarberEntry>;
pub(super) type ClientIndex<'t> = Table<'t, (u64, i64, u64), (i64, bool)>;

/// An index value that says until when the entry holds its owner and whether it is active.
pub(super) trait Holds: Value + 'static {
    fn holds(v: Self::SelfType<'_>) -> (i64, bool);
}

impl Holds for (i64, bool) {
    fn holds(v: (i64, bool)) -> (i64, bool) {
        v
    }
}

impl Holds for BarberEntry {
    fn holds(v: BarberEntry) -> (i64, bool) {
        (v.0, v.1)
    }
}

/// Whether an active booking of `owner` in a booking index overlaps `want`. Active entries
/// of one owner never overlap, so sorted by start they are sorted by end too: only the last
/// active entry starting before `want.end` can overlap it (inactive ones are stepped over).
pub(super) fn agenda_overlaps<V: Holds>(
    agenda: &impl ReadableTable<(u64, i64, u64), V>,
    owner: u64,
    want: Interval,
    exclude: Option<BookingId>,
) -> Result<bool, StoreError> {
    for row in agenda
        .range((owner, i64::MIN, 0)..(owner, want.end, 0))?
        .rev()
    {
        let (k, v) = row?;
        let (_, start, id) = k.value();
        let (until, active) = V::holds(v.value());
        if !active || Some(BookingId(id)) == exclude {
            continue;
        }
        return Ok(Interval::new(start, until).overlaps(&want));
    }
    Ok(false)
}

/// Writes a booking's entries in the barber's and the client's index (replacing those of the
/// same start: a status change).
pub(crate) fn index_insert(txn: &WriteTransaction, b: &Booking) -> Result<(), StoreError> {
    let mut by_barber = txn.open_table(tables::BARBER_BOOKINGS)?;
    let mut by_client = txn.open_table(tables::CLIENT_BOOKINGS)?;
    index_entries(&mut by_barber, &mut by_client, b)
}

/// [`index_insert`] into indexes already open.
pub(super) fn index_entries(
    by_barber: &mut BarberIndex<'_>,
    by_client: &mut ClientIndex<'_>,
    b: &Booking,
) -> Result<(), StoreError> {
    let start = b.start.as_second();
    let active = b.status.is_active();
    by_barber.insert((b.barber.0, start, b.id.0), barber_entry(b))?;
    by_client.insert((b.client.0, start, b.id.0), (b.end.as_second(), active))?;
    Ok(())
}

/// Removes a booking's entries (before it moves to another start or barber).
pub(super) fn index_remove(txn: &WriteTransaction, b: &Booking) -> Result<(), StoreError> {
    let start = b.start.as_second();
    txn.open_table(tables::BARBER_BOOKINGS)?
        .remove((b.barber.0, start, b.id.0))?;
    txn.open_table(tables::CLIENT_BOOKINGS)?
        .remove((b.client.0, start, b.id.0))?;
    Ok(())
}

/// How many of a client's bookings ended as no-shows (the deposit rule counts them): the
/// inactive entries of the client's index whose row says `no_show`.
pub(super) fn no_shows(
    txn: &WriteTransaction,
    by_client: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
    client: u64,
) -> Result<u32, StoreError> {
    let mut count = 0;
    for row in by_client.range((client, i64::MIN, 0)..=(client, i64::MAX, u64::MAX))? {
        let (k, v) = row?;
        if !v.value().1
            && get(txn, BookingId(k.value().2))?.is_some_and(|b| b.status == BookingStatus::NoShow)
        {
            count += 1;
        }
    }
    Ok(count)
}

/// Which booking indexes [`reindex`] rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reindex {
    /// The barber index only (schema 7: its value grew; the client index is unchanged).
    Barber,
    /// Both (schema 3 made them).
    Both,
}

/// Rebuilds booking indexes from the rows (migrations to schema 3 and 7), inserting in key
/// order into indexes assumed empty. Returns how many bookings were indexed.
pub(crate) fn reindex(txn: &WriteTransaction, which: Reindex) -> Result<u64, StoreError> {
    let mut by_barber = Vec::new();
    let mut by_client = Vec::new();
    for row in txn.open_table(tables::BOOKINGS)?.iter()? {
        let (_, bytes) = row?;
        let b: Booking = codec::decode(tables::BOOKINGS, bytes.value())?;
        let start = b.start.as_second();
        by_barber.push(((b.barber.0, start, b.id.0), barber_entry(&b)));
        if which == Reindex::Both {
            let entry = (b.end.as_second(), b.status.is_active());
            by_client.push(((b.client.0, start, b.id.0), entry));
        }
    }
    by_barber.sort_unstable();
    by_client.sort_unstable();
    let mut barbers = txn.open_table(tables::BARBER_BOOKINGS)?;
    for (k, v) in &by_barber {
        barbers.insert(k, v)?;
    }
    let mut clients = txn.open_table(tables::CLIENT_BOOKINGS)?;
    for (k, v) in &by_client {
        clients.insert(k, v)?;
    }
    Ok(by_barber.len() as u64)
}

/// What an Idempotency-Key remembers: the request it came with and the booking it made.
#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    request_hash: String,
    booking: u64,
    created_at: Timestamp,
}

fn corrupt(source: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        table: "idempotency_keys".into(),
        source,
    }
}

/// The booking an Idempotency-Key made, if it made one; the same key with another request
/// is refused (`IdempotencyKeyReused`).
pub(super) fn idempotent_booking(
    txn: &WriteTransaction,
    idem: &Idempotency,
) -> Result<Option<BookingId>, StoreError> {
    let record = txn
        .open_table(tables::IDEMPOTENCY)?
        .get(idem.key.as_str())?
        .map(|v| serde_json::from_slice::<IdempotencyRecord>(v.value()));
    let Some(record) = record else {
        return Ok(None);
    };
    let record = record.map_err(corrupt)?;
    if record.request_hash != idem.request_hash {
        return Err(DomainError::IdempotencyKeyReused.into());
    }
    Ok(Some(BookingId(record.booking)))
}

/// Remembers that `idem` made `booking`, indexed by time for the upkeep that forgets it.
pub(super) fn remember_idempotency(
    txn: &WriteTransaction,
    idem: Idempotency,
    booking: BookingId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let record = IdempotencyRecord {
        request_hash: idem.request_hash,
        booking: booking.0,
        created_at: now,
    };
    let bytes = serde_json::to_vec(&record).map_err(corrupt)?;
    txn.open_table(tables::IDEMPOTENCY)?
        .insert(idem.key.as_str(), bytes.as_slice())?;
    txn.open_table(tables::IDEMPOTENCY_BY_TIME)?
        .insert((now.as_second(), idem.key.as_str()), ())?;
    Ok(())
}

/// Up to `limit` Idempotency-Keys recorded before `before`, oldest first, as (second, key):
/// what [`prune_idempotency_keys`] forgets. The upkeep looks in a read transaction first, so
/// that an hour with nothing to forget costs the writer nothing.
pub fn expired_idempotency_keys(
    tx: &impl ReadTx,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<(i64, String)>, StoreError> {
    let by_time = tx.table(tables::IDEMPOTENCY_BY_TIME)?;
    by_time
        .range(..(before.as_second(), ""))?
        .take(limit)
        .map(|entry| entry.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// Forgets Idempotency-Keys recorded before `before` (at most `limit` per call, to keep a
/// write transaction short); returns how many went. A client retries within minutes; after
/// the TTL the same key makes a new booking attempt.
pub fn prune_idempotency_keys(
    txn: &WriteTransaction,
    before: Timestamp,
    limit: usize,
) -> Result<usize, StoreError> {
    let old = expired_idempotency_keys(txn, before, limit)?;
    let mut by_time = txn.open_table(tables::IDEMPOTENCY_BY_TIME)?;
    let mut keys = txn.open_table(tables::IDEMPOTENCY)?;
    for (at, key) in &old {
        by_time.remove((*at, key.as_str()))?;
        keys.remove(key.as_str())?;
    }
    Ok(old.len())
}

/// Schema 1 → 2: builds [`tables::IDEMPOTENCY_BY_TIME`] from the records' own `created_at`.
pub(crate) fn index_idempotency_keys_by_time(txn: &WriteTransaction) -> Result<(), StoreError> {
    let keys = txn.open_table(tables::IDEMPOTENCY)?;
    let mut by_time = txn.open_table(tables::IDEMPOTENCY_BY_TIME)?;
    for entry in keys.iter()? {
        let (key, value) = entry?;
        let record: IdempotencyRecord = serde_json::from_slice(value.value()).map_err(corrupt)?;
        by_time.insert((record.created_at.as_second(), key.value()), ())?;
    }
    Ok(())
}
