//! The bookings of a period, for the owner's reports: each barber's entries of
//! `idx_barber_timeline` between two instants (an index over dates, whose entries carry the
//! status, branch and client: no row is read), and a client's first booking from
//! `idx_client_timeline` (one seek).

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

/// Above this many clients one pass over the client index is cheaper than a seek each.
const SCAN_ABOVE: usize = 4096;

/// When each of `clients` (sorted by id, no repeats) first booked (any status, any branch;
/// Unix seconds), in the same order. Few clients: a seek each; many (a year's report): one
/// pass over `idx_client_timeline` from the first of them, whose first entry per client is
/// its earliest.
pub fn first_starts<T>(tx: &T, clients: &[ClientId]) -> Result<Vec<Option<i64>>, StoreError>
where
    T: ReadTx,
    for<'t> T::Table<'t, (u64, i64, u64), (i64, bool)>: Sync,
{
    let index = tx.table(tables::CLIENT_BOOKINGS)?;
    let mut out = vec![None; clients.len()];
    if clients.len() <= SCAN_ABOVE {
        for (slot, client) in out.iter_mut().zip(clients) {
            if let Some(entry) = index
                .range((client.0, i64::MIN, 0)..=(client.0, i64::MAX, u64::MAX))?
                .next()
            {
                *slot = Some(entry?.0.value().1);
            }
        }
        return Ok(out);
    }
    // Two halves, one thread each: the pass is most of a year's report, and the machine has
    // two cores.
    let mid = clients.len() / 2;
    let (lo_out, hi_out) = out.split_at_mut(mid);
    let (lo_clients, hi_clients) = clients.split_at(mid);
    let index = &index;
    std::thread::scope(|s| {
        let low = s.spawn(move || scan(index, lo_clients, Some(hi_clients[0]), lo_out));
        let high = scan(index, hi_clients, None, hi_out);
        low.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .and(high)
    })?;
    Ok(out)
}

/// One pass over the client index from `clients[0]` to `until` (excluded), filling `out`.
fn scan(
    index: &impl ReadableTable<(u64, i64, u64), (i64, bool)>,
    clients: &[ClientId],
    until: Option<ClientId>,
    out: &mut [Option<i64>],
) -> Result<(), StoreError> {
    let Some(first) = clients.first() else {
        return Ok(());
    };
    let from = (first.0, i64::MIN, 0);
    let entries = match until {
        Some(end) => index.range(from..(end.0, i64::MIN, 0))?,
        None => index.range(from..)?,
    };
    let mut i = 0;
    for entry in entries {
        let (owner, start, _) = entry?.0.value();
        while i < clients.len() && clients[i].0 < owner {
            i += 1;
        }
        let Some(client) = clients.get(i) else { break };
        if client.0 == owner {
            out[i] = Some(start);
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableDatabase};

    /// Client `c`'s entries: none for multiples of 5, else up to three (client, start, id).
    fn entries(c: u64) -> Vec<(u64, i64, u64)> {
        if c.is_multiple_of(5) {
            return Vec::new();
        }
        (0..c % 3 + 1)
            .map(|k| (c, 1_000 + ((c * 7 + k * 13) % 50) as i64, c * 10 + k))
            .collect()
    }

    #[test]
    fn one_pass_and_seeks_find_each_clients_earliest_booking() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Database::create(dir.path().join("t.redb")).expect("db");
        let last = 2 * SCAN_ABOVE as u64 + 3_000;
        let w = db.begin_write().expect("write");
        {
            let mut t = w.open_table(tables::CLIENT_BOOKINGS).expect("table");
            for c in 1..=last {
                for key in entries(c) {
                    t.insert(key, (key.1 + 1_800, c.is_multiple_of(2)))
                        .expect("insert");
                }
            }
        }
        w.commit().expect("commit");
        let r = db.begin_read().expect("read");
        // Every other client, and some past the index's last one.
        let asked: Vec<ClientId> = (3..=last + 40).step_by(2).map(ClientId).collect();
        assert!(asked.len() > SCAN_ABOVE, "one pass");
        let expected: Vec<Option<i64>> = asked
            .iter()
            .map(|c| {
                entries(c.0)
                    .iter()
                    .map(|e| e.1)
                    .min()
                    .filter(|_| c.0 <= last)
            })
            .collect();
        assert_eq!(first_starts(&r, &asked).expect("scan"), expected);
        let sought: Vec<Option<i64>> = asked
            .chunks(1_000)
            .flat_map(|chunk| first_starts(&r, chunk).expect("seeks"))
            .collect();
        assert_eq!(sought, expected, "a seek each");
        assert!(first_starts(&r, &[]).expect("none").is_empty());
    }
}
