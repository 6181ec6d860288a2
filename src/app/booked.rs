//! The bookings in the way of a catalogue change: a service or a branch taken off while
//! booked ahead, a closure over booked time, a barber's hours or services changed under their
//! bookings. Such a change is refused with these bookings, for the owner to deal with first.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::domain::catalog::DEFAULT_TZ;
use crate::domain::time::time_zone;
use crate::domain::{BarberId, Booking, BookingId, ClientId};
use crate::store::{ReadTx, StoreError, bookings, catalog, clients};

/// How many of the bookings in the way a refusal names (the rest are counted).
pub const LISTED: usize = 8;

/// A catalogue change's outcome: done (`Ok`), or refused for the bookings in the way.
pub type Checked<T> = Result<T, InTheWay>;

/// The bookings that refused a change, earliest first: the first [`LISTED`], and how many
/// more there are.
#[derive(Debug, Clone)]
pub struct InTheWay {
    pub listed: Vec<Listed>,
    pub more: usize,
}

/// One booking in the way, as a refusal names it (with its client, for the desk to call or
/// move them).
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: BookingId,
    pub start: Timestamp,
    /// Its branch's time zone.
    pub tz: TimeZone,
    /// Its branch's slug, for a link to that day's agenda.
    pub branch: String,
    /// Its barber's name.
    pub barber: String,
    pub client: ClientId,
    /// The client's name (empty for a record that is gone).
    pub client_name: String,
}

/// The active bookings of `barbers` that start from `now` on (within 400 days) and that
/// `keep` selects, earliest first: what a catalogue change must not strand.
pub fn ahead(
    tx: &impl ReadTx,
    barbers: &[BarberId],
    now: Timestamp,
    keep: impl Fn(&Booking) -> bool,
) -> Result<Vec<Booking>, StoreError> {
    let until = now.checked_add(400.days()).unwrap_or(Timestamp::MAX);
    during(tx, barbers, now, until, |b| b.start >= now && keep(b))
}

/// The active bookings of `barbers` that overlap `[from, until)` and that `keep` selects,
/// earliest first.
pub fn during(
    tx: &impl ReadTx,
    barbers: &[BarberId],
    from: Timestamp,
    until: Timestamp,
    keep: impl Fn(&Booking) -> bool,
) -> Result<Vec<Booking>, StoreError> {
    let mut booked = Vec::new();
    for barber in barbers {
        booked.extend(
            bookings::active_of_barber(tx, *barber, from, until)?
                .into_iter()
                .filter(|b| keep(b)),
        );
    }
    booked.sort_by_key(|b| b.start);
    Ok(booked)
}

/// `found` as a refusal names them: each with its branch's time zone and its barber's name.
pub fn in_the_way(tx: &impl ReadTx, found: &[Booking]) -> Result<InTheWay, StoreError> {
    let fallback = time_zone(DEFAULT_TZ)?;
    let mut listed = Vec::new();
    for b in found.iter().take(LISTED) {
        let branch = catalog::branch(tx, b.branch)?;
        let tz = branch
            .as_ref()
            .map(|branch| branch.tz())
            .unwrap_or_else(|| fallback.clone());
        let client_name = clients::get(tx, b.client)?
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_default();
        let barber = catalog::barber(tx, b.barber)?
            .map(|x| x.name.as_str().to_owned())
            .unwrap_or_default();
        listed.push(Listed {
            id: b.id,
            start: b.start,
            tz,
            branch: branch
                .map(|branch| branch.slug.as_str().to_owned())
                .unwrap_or_default(),
            barber,
            client: b.client,
            client_name,
        });
    }
    Ok(InTheWay {
        listed,
        more: found.len().saturating_sub(LISTED),
    })
}

/// `Ok(())` when nothing is in the way, else the refusal naming `found`.
pub fn refuse_if_any(tx: &impl ReadTx, found: &[Booking]) -> Result<Checked<()>, StoreError> {
    if found.is_empty() {
        Ok(Ok(()))
    } else {
        Ok(Err(in_the_way(tx, found)?))
    }
}
