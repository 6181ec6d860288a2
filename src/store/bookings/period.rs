//! The bookings of a period, for the owner's reports: each barber's entries of
//! `idx_barber_timeline` between two instants (an index over dates, whose entries carry the
//! status, branch and client: no row is read), and a client's first booking from
//! `idx_client_timeline` (one seek).

use jiff::Timestamp;
use redb::{ReadableTable, TableHandle};

use crate::domain::{BarberId, BookingId, BookingStatus, BranchId, ClientId};
use crate::store::{ReadTx, StoreError, tables};

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

/// Every booking (any status) of `barbers` starting in `[from, to)` (Unix seconds), by
/// barber then start: read from the barber index alone (its entries match their rows).
pub fn in_period(
    tx: &impl ReadTx,
    barbers: &[BarberId],
    from: i64,
    to: i64,
) -> Result<Vec<PeriodBooking>, StoreError> {
    let index = tx.table(tables::BARBER_BOOKINGS)?;
    let mut out = Vec::new();
    for barber in barbers {
        for entry in index.range((barber.0, from, 0)..(barber.0, to, 0))? {
            let (k, v) = entry?;
            let (_, start, id) = k.value();
            let (busy_until, _, code, branch, client) = v.value();
            let status = BookingStatus::from_code(code).ok_or_else(|| StoreError::Corrupt {
                table: tables::BARBER_BOOKINGS.name().into(),
                source: serde::de::Error::custom(format!("booking {id}: status code {code}")),
            })?;
            out.push(PeriodBooking {
                id: BookingId(id),
                branch: BranchId(branch),
                barber: *barber,
                client: ClientId(client),
                start,
                busy_until,
                status,
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
