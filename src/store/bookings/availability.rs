//! Free slots, and where a booking goes: the rules are `domain::availability`'s
//! ([`BarberDay`], [`BarberPick`], [`Offers`]); this file loads what they need (the
//! catalogue, the barbers' agendas) and adds the invariant's own guard ([`place`]).

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use redb::ReadableTable;

use super::index::agenda_overlaps;
use super::{BarberChoice, Slot, get};
use crate::domain::booking::span_minutes;
use crate::domain::time::local_date;
use crate::domain::{
    Barber, BarberDay, BarberId, BarberPick, Booking, BookingId, BookingRules, Branch, BranchId,
    Closure, DomainError, Interval, LocalDay, Offers, Service, ServiceId,
};
use crate::store::catalog::{self, Catalog};
use crate::store::tables::BarberEntry;
use crate::store::{ReadTx, StoreError, tables};

/// The services chosen for a booking, in the order given: 1 to 5, distinct, active, and
/// offered at the branch.
pub(super) fn resolve_services(
    catalog: &Catalog,
    branch: BranchId,
    ids: &[ServiceId],
) -> Result<Vec<Service>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    if ids.is_empty() || ids.len() > 5 || !ids.iter().all(|id| seen.insert(*id)) {
        return Err(DomainError::InvalidServiceSelection.into());
    }
    ids.iter()
        .map(|id| {
            catalog
                .services_at(branch)
                .find(|s| s.id == *id)
                .cloned()
                .ok_or(StoreError::Rule(DomainError::UnknownService(id.0)))
        })
        .collect()
}

/// The barbers who could take the booking: the one asked for (who must work at the branch
/// and do every service), or every such barber for "any".
pub(super) fn candidates<'c>(
    catalog: &'c Catalog,
    branch: BranchId,
    choice: BarberChoice,
    services: &[ServiceId],
) -> Result<Vec<&'c Barber>, StoreError> {
    match choice {
        BarberChoice::Barber(id) => {
            let barber = catalog
                .barber(id)
                .filter(|b| b.works_at(branch))
                .ok_or(DomainError::UnknownBarber(id.0))?;
            if !barber.does_all(services) {
                return Err(DomainError::ServiceNotOffered.into());
            }
            Ok(vec![barber])
        }
        BarberChoice::Any => {
            let all: Vec<_> = catalog
                .barbers_at(branch)
                .filter(|b| b.does_all(services))
                .collect();
            if all.is_empty() {
                return Err(DomainError::ServiceNotOffered.into());
            }
            Ok(all)
        }
    }
}

/// Everything deciding one barber's free time at one branch on one local day.
/// `exclude` leaves one booking out (the one being rescheduled).
pub fn barber_day(
    tx: &impl ReadTx,
    branch: &Branch,
    barber: &Barber,
    date: Date,
    exclude: Option<BookingId>,
) -> Result<BarberDay, StoreError> {
    let closures = &catalog::load(tx)?.closures;
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    DayQuery::new(branch, &branch.tz(), closures, date, exclude)?.of(&agenda, barber)
}

/// What [`barber_day`] needs besides the barber, computed once per request.
pub(super) struct DayQuery<'a> {
    branch: BranchId,
    closures: &'a [Closure],
    pub(super) day: LocalDay,
    exclude: Option<BookingId>,
}

impl<'a> DayQuery<'a> {
    pub(super) fn new(
        branch: &Branch,
        tz: &TimeZone,
        closures: &'a [Closure],
        date: Date,
        exclude: Option<BookingId>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            branch: branch.id,
            closures,
            day: LocalDay::new(date, tz)?,
            exclude,
        })
    }

    /// The barber's day: [`BarberDay::scheduled`], and their active bookings read through
    /// `agenda` (opened once per request).
    pub(super) fn of(
        &self,
        agenda: &impl ReadableTable<(u64, i64, u64), BarberEntry>,
        barber: &Barber,
    ) -> Result<BarberDay, StoreError> {
        let mut day = BarberDay::scheduled(&self.day, self.branch, barber, self.closures);
        if day.open.is_empty() {
            // Not working that day: no start can be free, whatever the bookings.
            return Ok(day);
        }
        let (whole_day, exclude, owner) = (self.day.whole, self.exclude, barber.id.0);
        // Active bookings never overlap and never last a day, so only the last active one
        // starting in the day before can spill over into this one: a reverse seek that stops
        // there instead of reading the whole day before.
        let day_before = (owner, whole_day.start - 86_400, 0);
        for row in agenda.range(day_before..(owner, whole_day.start, 0))?.rev() {
            let (k, v) = row?;
            let (_, start, id) = k.value();
            let (busy_until, active, ..) = v.value();
            if !active || Some(BookingId(id)) == exclude {
                continue;
            }
            if busy_until > whole_day.start {
                day.busy.push(Interval::new(start, busy_until));
            }
            break;
        }
        for row in agenda.range((owner, whole_day.start, 0)..(owner, whole_day.end, 0))? {
            let (k, v) = row?;
            let (_, start, id) = k.value();
            let (busy_until, active, ..) = v.value();
            if active && Some(BookingId(id)) != exclude {
                day.busy.push(Interval::new(start, busy_until));
            }
        }
        Ok(day)
    }
}

/// The active bookings of a barber that overlap `[from, to)`, by start.
pub fn active_of_barber(
    tx: &impl ReadTx,
    barber: BarberId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Booking>, StoreError> {
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    // A booking never lasts a day, so starting a day early catches any that spill over.
    let lo = (barber.0, from.as_second().saturating_sub(86_400), 0);
    let hi = (barber.0, to.as_second(), 0);
    let mut out = Vec::new();
    for row in agenda.range(lo..hi)? {
        let (k, v) = row?;
        let (_, _, id) = k.value();
        let (busy_until, active, ..) = v.value();
        if active
            && busy_until > from.as_second()
            && let Some(b) = get(tx, BookingId(id))?
        {
            out.push(b);
        }
    }
    Ok(out)
}

/// Free slots at a branch on a local date for the chosen services, with one barber or any.
/// For "any", each start time is offered once, with the barber the booking would get.
pub fn availability(
    tx: &impl ReadTx,
    branch: &Branch,
    date: Date,
    services: &[ServiceId],
    choice: BarberChoice,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Vec<Slot>, StoreError> {
    availability_excluding(tx, branch, date, services, choice, now, rules, None)
}

/// [`availability`] as if booking `exclude` were not there: where that booking may move (the
/// same check `reschedule` makes, which also steps over the booking it moves).
#[allow(clippy::too_many_arguments)]
pub fn availability_excluding(
    tx: &impl ReadTx,
    branch: &Branch,
    date: Date,
    services: &[ServiceId],
    choice: BarberChoice,
    now: Timestamp,
    rules: &BookingRules,
    exclude: Option<BookingId>,
) -> Result<Vec<Slot>, StoreError> {
    let tz = branch.tz();
    let today = local_date(now, &tz);
    if date < today {
        return Err(DomainError::InThePast.into());
    }
    if date > rules.last_day(today) {
        return Err(DomainError::BeyondHorizon.into());
    }
    let catalog = catalog::load(tx)?;
    let chosen = resolve_services(&catalog, branch.id, services)?;
    let (work, busy) = span(&chosen);
    let barbers = candidates(&catalog, branch.id, choice, services)?;
    let step = rules.step_seconds();
    let earliest = rules.earliest(now);
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    let query = DayQuery::new(branch, &tz, &catalog.closures, date, exclude)?;
    let (slots, _) = day_offers(&query, &agenda, &barbers, (work, busy), step, earliest)?;
    Ok(slots)
}

/// One day's free starts for `barbers` (each start once, with the barber it would go to), and
/// the barbers' days they came from. `len` is (service, busy) seconds.
pub(super) fn day_offers(
    query: &DayQuery<'_>,
    agenda: &impl ReadableTable<(u64, i64, u64), BarberEntry>,
    barbers: &[&Barber],
    (work, busy): (i64, i64),
    step: i64,
    earliest: i64,
) -> Result<(Vec<Slot>, Vec<BarberDay>), StoreError> {
    let mut offers = Offers::default();
    let mut days = Vec::with_capacity(barbers.len());
    for barber in barbers {
        let day = query.of(agenda, barber)?;
        offers.add(barber.id, &day, busy, step, earliest);
        days.push(day);
    }
    let slots = offers
        .into_starts()
        .map(|(start, barber)| {
            Ok(Slot {
                start: Timestamp::from_second(start).map_err(|_| DomainError::InvalidDate)?,
                end: Timestamp::from_second(start + work).map_err(|_| DomainError::InvalidDate)?,
                barber,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((slots, days))
}

/// (service seconds, busy seconds) of a selection of services.
pub(super) fn span(services: &[Service]) -> (i64, i64) {
    let parts: Vec<(u16, u16)> = services
        .iter()
        .map(|s| (s.duration_minutes, s.buffer_minutes))
        .collect();
    let (work, busy) = span_minutes(&parts);
    (work * 60, busy * 60)
}

/// Checks every rule for `[start, start + busy)` against the barbers' index `agenda` and
/// returns the barber who gets it, with the booking's (service, busy) seconds: the day's
/// rules ([`BarberDay::check`], and [`BarberPick`] for "any"), then the invariant's own guard.
#[allow(clippy::too_many_arguments)]
pub(super) fn place(
    agenda: &impl ReadableTable<(u64, i64, u64), BarberEntry>,
    catalog: &Catalog,
    branch: &Branch,
    services: &[Service],
    choice: BarberChoice,
    start: Timestamp,
    now: Timestamp,
    rules: &BookingRules,
    exclude: Option<BookingId>,
) -> Result<(BarberId, i64, i64), StoreError> {
    let tz = branch.tz();
    rules.check_timing(start, now, &tz)?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let barbers = candidates(catalog, branch.id, choice, &ids)?;
    let (work, busy) = span(services);
    let step = rules.step_seconds();
    let query = DayQuery::new(
        branch,
        &tz,
        &catalog.closures,
        local_date(start, &tz),
        exclude,
    )?;
    let mut pick = BarberPick::default();
    for barber in barbers {
        pick.consider(
            barber.id,
            &query.of(agenda, barber)?,
            start.as_second(),
            busy,
            step,
        );
    }
    let barber = pick.chosen()?;
    // The invariant's own guard, independent of the day computation above.
    let want = Interval::new(start.as_second(), start.as_second() + busy);
    if agenda_overlaps(agenda, barber.0, want, exclude)? {
        return Err(DomainError::SlotUnavailable.into());
    }
    Ok((barber, work, busy))
}
