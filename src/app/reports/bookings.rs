//! The owner's reports on bookings: occupancy (booked over available time per barber),
//! no-show and cancellation rates, new and returning clients. They read the period's
//! bookings from `idx_barber_timeline` alone (each barber's entries between the period's
//! first and last instant carry the branch, client and status: no row is read), for the
//! clients report each client's first booking from `idx_client_timeline`
//! (`period::first_starts`: a seek each, or one pass when there are many), and the
//! catalogue's shifts, breaks and closures; never the ledger nor bookings outside the period.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;

use super::{Filter, check};
use crate::app::checkout::require_owner;
use crate::app::{Actor, App, AppError};
use crate::domain::{BarberDay, BarberId, BookingStatus, BranchId, ClientId, LocalDay};
use crate::store::bookings::period;
use crate::store::catalog;

/// Bookings by outcome. `bookings` counts every status; `due` those not cancelled whose start
/// has passed (what a no-show is measured against).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub bookings: i64,
    pub due: i64,
    pub completed: i64,
    pub no_show: i64,
    pub cancelled: i64,
}

impl Outcomes {
    fn add(&mut self, status: BookingStatus, started: bool) {
        self.bookings += 1;
        match status {
            BookingStatus::Cancelled => self.cancelled += 1,
            BookingStatus::NoShow => self.no_show += 1,
            BookingStatus::Completed => self.completed += 1,
            _ => {}
        }
        if started && status != BookingStatus::Cancelled {
            self.due += 1;
        }
    }

    /// Cancelled over every booking of the period, in tenths of a percent.
    pub fn cancellation_rate(&self) -> Option<i64> {
        per_mille(self.cancelled, self.bookings)
    }

    /// No-shows over the bookings that were due, in tenths of a percent.
    pub fn no_show_rate(&self) -> Option<i64> {
        per_mille(self.no_show, self.due)
    }
}

/// Seconds a barber could be booked and seconds booked (active bookings, start to the end of
/// their buffer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupancy {
    pub available: i64,
    pub booked: i64,
}

impl Occupancy {
    /// Booked over available, in tenths of a percent (may pass 100 % when bookings were made
    /// outside today's hours).
    pub fn rate(&self) -> Option<i64> {
        per_mille(self.booked, self.available)
    }
}

/// Distinct clients with a booking in the period neither cancelled nor missed: `new` when their
/// first booking ever (any status, any branch) starts in the period, else `returning`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientMix {
    pub new: i64,
    pub returning: i64,
}

/// The three reports at once: they read the same bookings.
#[derive(Debug, Clone, Default)]
pub struct BookingReport {
    pub total: Outcomes,
    pub by_day: BTreeMap<Date, Outcomes>,
    pub by_barber: BTreeMap<BarberId, Outcomes>,
    pub by_branch: BTreeMap<BranchId, Outcomes>,
    pub occupancy: Occupancy,
    pub occupancy_by_barber: BTreeMap<BarberId, Occupancy>,
    pub clients: ClientMix,
    pub clients_by_barber: BTreeMap<BarberId, ClientMix>,
    /// New clients by the day of their first booking in the period; returning clients by the
    /// day of theirs.
    pub clients_by_day: BTreeMap<Date, ClientMix>,
}

/// `num / den` in tenths of a percent, rounded half up; `None` without a denominator.
pub fn per_mille(num: i64, den: i64) -> Option<i64> {
    (den > 0)
        .then(|| (2000 * i128::from(num) + i128::from(den)) / (2 * i128::from(den)))
        .map(|v| v as i64)
}

/// The bookings of the filter's days (owner only). The client mix (each client's first
/// booking looked up) is counted only when `clients` is asked: the other reports leave it
/// empty.
pub async fn bookings(
    app: &App,
    actor: &Actor,
    filter: Filter,
    clients: bool,
) -> Result<BookingReport, AppError> {
    require_owner(actor)?;
    check(&filter)?;
    let now = app.clock.now().as_second();
    Ok(app
        .store
        .read(move |tx| {
            let cat = catalog::load(tx)?;
            let mut r = BookingReport::default();
            // Each branch's local days of the period (their instants), sorted by start.
            let mut days: HashMap<BranchId, Vec<LocalDay>> = HashMap::new();
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            for branch in cat
                .branches
                .iter()
                .filter(|b| filter.branch.is_none_or(|f| f == b.id))
            {
                let tz = branch.tz();
                let mut list = Vec::new();
                let mut d = filter.from;
                while d <= filter.to {
                    let day = LocalDay::new(d, &tz)?;
                    lo = lo.min(day.whole.start);
                    hi = hi.max(day.whole.end);
                    list.push(day);
                    d = d
                        .tomorrow()
                        .map_err(|_| crate::domain::DomainError::InvalidDate)?;
                }
                days.insert(branch.id, list);
            }
            let barbers: Vec<_> = cat
                .barbers
                .iter()
                .filter(|b| filter.barber.is_none_or(|f| f == b.id))
                .collect();
            // Available time: each barber's scheduled days at each branch they work at.
            let closures: Vec<_> = cat
                .closures
                .iter()
                .filter(|c| c.start.as_second() < hi && c.end.as_second() > lo)
                .cloned()
                .collect();
            for barber in &barbers {
                for (branch, list) in &days {
                    if !barber.shifts.iter().any(|s| s.branch == *branch) {
                        continue;
                    }
                    let mut available = 0;
                    for day in list {
                        available += BarberDay::scheduled(day, *branch, barber, &closures)
                            .available_seconds();
                    }
                    r.occupancy_by_barber
                        .entry(barber.id)
                        .or_default()
                        .available += available;
                    r.occupancy.available += available;
                }
            }
            if lo >= hi {
                return Ok(r);
            }
            let ids: Vec<BarberId> = barbers.iter().map(|b| b.id).collect();
            let mut first_day: HashMap<ClientId, (Date, Vec<BarberId>)> = HashMap::new();
            for b in period::in_period(tx, &ids, lo, hi)? {
                let Some(list) = days.get(&b.branch) else {
                    continue;
                };
                // The booking's local day at its branch, if it is one of the period's.
                let i = list.partition_point(|d| d.whole.end <= b.start);
                let Some(day) = list.get(i).filter(|d| d.whole.start <= b.start) else {
                    continue;
                };
                let started = b.start <= now;
                r.total.add(b.status, started);
                r.by_day.entry(day.date).or_default().add(b.status, started);
                r.by_barber
                    .entry(b.barber)
                    .or_default()
                    .add(b.status, started);
                r.by_branch
                    .entry(b.branch)
                    .or_default()
                    .add(b.status, started);
                if b.status.is_active() {
                    let booked = b.busy_until - b.start;
                    r.occupancy.booked += booked;
                    r.occupancy_by_barber.entry(b.barber).or_default().booked += booked;
                }
                if clients && b.status.is_active() {
                    let seen = first_day.entry(b.client).or_insert((day.date, Vec::new()));
                    seen.0 = seen.0.min(day.date);
                    if !seen.1.contains(&b.barber) {
                        seen.1.push(b.barber);
                    }
                }
            }
            // By client id: their first bookings come from the client index in its order.
            let mut first_day: Vec<_> = first_day.into_iter().collect();
            first_day.sort_unstable_by_key(|(client, _)| *client);
            let ids: Vec<ClientId> = first_day.iter().map(|(c, _)| *c).collect();
            let firsts = period::first_starts(tx, &ids)?;
            for ((_, (day, barbers)), first) in first_day.into_iter().zip(firsts) {
                let new = first.unwrap_or(i64::MAX) >= lo;
                let bump = |m: &mut ClientMix| {
                    if new {
                        m.new += 1;
                    } else {
                        m.returning += 1;
                    }
                };
                bump(&mut r.clients);
                bump(r.clients_by_day.entry(day).or_default());
                for barber in barbers {
                    bump(r.clients_by_barber.entry(barber).or_default());
                }
            }
            Ok(r)
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_to_a_tenth_of_a_percent() {
        assert_eq!(per_mille(1, 3), Some(333));
        assert_eq!(per_mille(2, 3), Some(667));
        assert_eq!(per_mille(1, 8), Some(125));
        assert_eq!(per_mille(0, 5), Some(0));
        assert_eq!(
            per_mille(5, 0),
            None,
            "no bookings: no rate, not 0 % nor a panic"
        );
    }

    #[test]
    fn a_no_show_counts_against_the_bookings_that_were_due() {
        let mut o = Outcomes::default();
        o.add(BookingStatus::Completed, true);
        o.add(BookingStatus::NoShow, true);
        o.add(BookingStatus::Cancelled, true);
        o.add(BookingStatus::Confirmed, false);
        assert_eq!(o.bookings, 4);
        assert_eq!(o.due, 2, "cancelled and upcoming bookings were not due");
        assert_eq!(o.no_show_rate(), Some(500));
        assert_eq!(o.cancellation_rate(), Some(250));
    }
}
