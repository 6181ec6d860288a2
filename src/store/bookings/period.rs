//! The bookings of a period, for the owner's reports: each barber's entries of
//! `idx_barber_bookings` between two instants (an index over dates), and of each row only the
//! fields a report counts; a client's first booking from `idx_client_timeline` (one seek).

use jiff::Timestamp;
use redb::ReadableTable;
use serde::Deserialize;

use crate::domain::{BarberId, BookingId, BookingStatus, BranchId, ClientId};
use crate::store::{ReadTx, StoreError, codec, tables};

/// What a report needs of a booking.
#[derive(Debug, Clone, Copy)]
pub struct PeriodBooking {
    pub id: BookingId,
    pub branch: BranchId,
    pub barber: BarberId,
    pub client: ClientId,
    pub start: i64,
    /// When the barber is free again (the services' buffer included).
    pub busy_until: i64,
    pub status: BookingStatus,
}

/// The row's fields a report reads; serde skips the rest without building it.
#[derive(Deserialize)]
struct Slim {
    branch: BranchId,
    client: ClientId,
    status: BookingStatus,
}

/// Every booking (any status) of `barbers` starting in `[from, to)` (Unix seconds), by
/// barber then start.
pub fn in_period(
    tx: &impl ReadTx,
    barbers: &[BarberId],
    from: i64,
    to: i64,
) -> Result<Vec<PeriodBooking>, StoreError> {
    let index = tx.table(tables::BARBER_BOOKINGS)?;
    let rows = tx.table(tables::BOOKINGS)?;
    let mut out = Vec::new();
    for barber in barbers {
        for entry in index.range((barber.0, from, 0)..(barber.0, to, 0))? {
            let (k, v) = entry?;
            let (_, start, id) = k.value();
            let Some(row) = rows.get(id)? else { continue };
            let slim: Slim = codec::decode(tables::BOOKINGS, row.value())?;
            out.push(PeriodBooking {
                id: BookingId(id),
                branch: slim.branch,
                barber: *barber,
                client: slim.client,
                start,
                busy_until: v.value().0,
                status: slim.status,
            });
        }
    }
    Ok(out)
}

/// When the client's first booking (any status, any branch) starts, if they have one.
pub fn first_start(tx: &impl ReadTx, client: ClientId) -> Result<Option<Timestamp>, StoreError> {
    let index = tx.table(tables::CLIENT_BOOKINGS)?;
    let first = index
        .range((client.0, i64::MIN, 0)..=(client.0, i64::MAX, u64::MAX))?
        .next();
    match first {
        Some(entry) => {
            let (_, start, _) = entry?.0.value();
            Ok(Timestamp::from_second(start).ok())
        }
        None => Ok(None),
    }
}
