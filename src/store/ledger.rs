//! La caja's ledger: sales, voids, cash movements and advances, append-only.
//!
//! [`append`] is the one function that writes a `ledger` row, and it refuses an id already
//! taken: nothing here updates or deletes an entry. With each entry, in the same write
//! transaction, go its index entries (by branch day, by barber), the day's totals
//! (`ledger_daily`), and for a sale the booking's charge (`idx_ledger_booking`, checked
//! first: two desks cannot charge one booking twice, the writer runs them one after the
//! other) and the stock it sold. A void undoes those (stock back, the booking free to be
//! charged again) and is marked in `idx_ledger_voids` so a sale is voided once.
//!
//! Rule errors are returned before anything is written (a batch shares its transaction).

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use jiff::civil::Date;
use redb::ReadableTable;

use super::{ReadTx, StoreError, codec, next_id, products, tables};
use crate::domain::caja::{
    CajaError, DayTotals, Entry, EntryId, EntryKind, Sale, Void, day_from_key, day_key,
};
use crate::domain::staff::StaffId;
use crate::domain::{BarberId, BookingId, BranchId, DomainError, Text};

fn rule(e: CajaError) -> StoreError {
    StoreError::Rule(DomainError::Caja(e))
}

/// Where and when an entry is written, and by whom.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub branch: BranchId,
    pub day: Date,
    pub at: Timestamp,
    pub by: Option<StaffId>,
}

/// Writes a new entry with its index entries and the day's totals.
pub fn append(txn: &WriteTransaction, stamp: Stamp, kind: EntryKind) -> Result<Entry, StoreError> {
    let id = EntryId(next_id(txn, "ledger")?);
    let entry = Entry {
        id,
        at: stamp.at,
        branch: stamp.branch,
        day: stamp.day,
        by: stamp.by,
        kind,
    };
    let mut ledger = txn.open_table(tables::LEDGER)?;
    if ledger.get(id.0)?.is_some() {
        // The sequence never hands out an id twice; refuse rather than overwrite.
        return Err(StoreError::BatchFailed(format!("ledger entry {id} exists")));
    }
    codec::put(&mut ledger, id.0, &entry)?;
    let day = day_key(entry.day);
    txn.open_table(tables::LEDGER_BY_DAY)?
        .insert((entry.branch.0, day, id.0), ())?;
    if let Some(barber) = entry.barber() {
        txn.open_table(tables::LEDGER_BY_BARBER)?
            .insert((barber.0, day, id.0), ())?;
    }
    if let Some((sale, _)) = entry.signed_sale() {
        let key = (day, entry.branch.0, sale.barber.0);
        let mut daily = txn.open_table(tables::LEDGER_DAILY)?;
        let mut totals: DayTotals = match daily.get(key)? {
            Some(v) => codec::decode_named("ledger_daily", v.value())?,
            None => DayTotals::default(),
        };
        totals.add(&entry);
        daily.insert(key, codec::encode(&totals)?.as_slice())?;
    }
    Ok(entry)
}

/// Records a sale: refused if its booking already has one standing, or a product lacks
/// stock; otherwise the stock goes down and the booking is marked charged, with the entry.
pub fn sell(txn: &WriteTransaction, stamp: Stamp, sale: Sale) -> Result<Entry, StoreError> {
    if let Some(b) = sale.booking
        && txn.table(tables::LEDGER_BY_BOOKING)?.get(b.0)?.is_some()
    {
        return Err(rule(CajaError::AlreadyCharged));
    }
    products::check_stock(txn, stamp.branch, &sale.checkout.products)?;
    products::take(txn, stamp.branch, &sale.checkout.products)?;
    let booking = sale.booking;
    let entry = append(txn, stamp, EntryKind::Sale(sale))?;
    if let Some(b) = booking {
        txn.open_table(tables::LEDGER_BY_BOOKING)?
            .insert(b.0, entry.id.0)?;
    }
    Ok(entry)
}

/// Voids sale `id`: a new entry on `stamp`'s day; the stock comes back and its booking may
/// be charged again. Returns (the void, the sale it undid).
pub fn void(
    txn: &WriteTransaction,
    stamp: Stamp,
    id: EntryId,
    reason: Text,
) -> Result<(Entry, Entry), StoreError> {
    let original = get(txn, id)?.ok_or(rule(CajaError::UnknownEntry))?;
    let EntryKind::Sale(sale) = &original.kind else {
        return Err(rule(CajaError::NotVoidable));
    };
    if txn.table(tables::LEDGER_VOIDS)?.get(id.0)?.is_some() {
        return Err(rule(CajaError::AlreadyVoided));
    }
    let stamp = Stamp {
        branch: original.branch,
        ..stamp
    };
    products::put_back(txn, original.branch, &sale.checkout.products)?;
    let void = append(
        txn,
        stamp,
        EntryKind::Void(Void {
            of: id,
            reason,
            sale: sale.clone(),
        }),
    )?;
    txn.open_table(tables::LEDGER_VOIDS)?
        .insert(id.0, void.id.0)?;
    if let Some(b) = sale.booking {
        let mut by_booking = txn.open_table(tables::LEDGER_BY_BOOKING)?;
        let current = by_booking.get(b.0)?.map(|v| v.value());
        if current == Some(id.0) {
            by_booking.remove(b.0)?;
        }
    }
    Ok((void, original))
}

pub fn get(tx: &impl ReadTx, id: EntryId) -> Result<Option<Entry>, StoreError> {
    codec::get(&tx.table(tables::LEDGER)?, tables::LEDGER, id.0)
}

/// The void that undid sale `id`, if one did.
pub fn voided_by(tx: &impl ReadTx, id: EntryId) -> Result<Option<EntryId>, StoreError> {
    Ok(tx
        .table(tables::LEDGER_VOIDS)?
        .get(id.0)?
        .map(|v| EntryId(v.value())))
}

/// The standing sale of a booking, if it was charged.
pub fn sale_of_booking(
    tx: &impl ReadTx,
    booking: BookingId,
) -> Result<Option<EntryId>, StoreError> {
    Ok(tx
        .table(tables::LEDGER_BY_BOOKING)?
        .get(booking.0)?
        .map(|v| EntryId(v.value())))
}

/// A branch's entries of one till day, in the order they were written.
pub fn day(tx: &impl ReadTx, branch: BranchId, day: Date) -> Result<Vec<Entry>, StoreError> {
    let k = day_key(day);
    let index = tx.table(tables::LEDGER_BY_DAY)?;
    let ledger = tx.table(tables::LEDGER)?;
    let mut out = Vec::new();
    for row in index.range((branch.0, k, 0)..=(branch.0, k, u64::MAX))? {
        let (key, _) = row?;
        let id = key.value().2;
        if let Some(e) = codec::get(&ledger, tables::LEDGER, id)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// A barber's entries (sales, voids, advances) from `from` to `to`, both included.
pub fn barber_entries(
    tx: &impl ReadTx,
    barber: BarberId,
    from: Date,
    to: Date,
) -> Result<Vec<Entry>, StoreError> {
    let index = tx.table(tables::LEDGER_BY_BARBER)?;
    let ledger = tx.table(tables::LEDGER)?;
    let mut out = Vec::new();
    for row in index.range((barber.0, day_key(from), 0)..=(barber.0, day_key(to), u64::MAX))? {
        let (key, _) = row?;
        if let Some(e) = codec::get(&ledger, tables::LEDGER, key.value().2)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// The daily totals from `from` to `to` (both included): (day, branch, barber, totals).
pub fn daily(
    tx: &impl ReadTx,
    from: Date,
    to: Date,
) -> Result<Vec<(Date, BranchId, BarberId, DayTotals)>, StoreError> {
    let table = tx.table(tables::LEDGER_DAILY)?;
    let mut out = Vec::new();
    for row in table.range((day_key(from), 0, 0)..=(day_key(to), u64::MAX, u64::MAX))? {
        let (k, v) = row?;
        let (d, branch, barber) = k.value();
        let Some(day) = day_from_key(d) else { continue };
        out.push((
            day,
            BranchId(branch),
            BarberId(barber),
            codec::decode_named("ledger_daily", v.value())?,
        ));
    }
    Ok(out)
}

/// Every entry, in order (tests and the bench's checks).
pub fn all(tx: &impl ReadTx) -> Result<Vec<Entry>, StoreError> {
    codec::all(&tx.table(tables::LEDGER)?, tables::LEDGER)
}
