//! The booking calendar: for each of a few days, the free slots and, when there are none,
//! why (`domain::calendar::DayState`). One read of the catalogue and one agenda table for
//! all the days; each barber's day reads only that day's rows of the barbers' index.

use jiff::Timestamp;
use jiff::civil::Date;

use super::Slot;
use super::availability::{DayQuery, candidates, day_offers, resolve_services, span};
use crate::domain::calendar::DayState;
use crate::domain::time::local_date;
use crate::domain::{BookingRules, Branch, ClosureScope, Interval, ServiceId};
use crate::store::bookings::BarberChoice;
use crate::store::{ReadTx, StoreError, catalog, tables};

/// One day of the calendar.
#[derive(Debug, Clone)]
pub struct CalendarDay {
    pub date: Date,
    pub state: DayState,
    /// The day's free slots (empty unless `state` is `Free`).
    pub slots: Vec<Slot>,
}

/// The calendar of `dates` for the chosen services and barber, as `availability` would answer
/// each day. Dates before today or beyond the horizon are left out.
pub fn calendar(
    tx: &impl ReadTx,
    branch: &Branch,
    dates: &[Date],
    services: &[ServiceId],
    choice: BarberChoice,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Vec<CalendarDay>, StoreError> {
    let tz = branch.tz();
    let today = local_date(now, &tz);
    let last = rules.last_day(today);
    let catalog = catalog::load(tx)?;
    let chosen = resolve_services(&catalog, branch.id, services)?;
    let len = span(&chosen);
    let barbers = candidates(&catalog, branch.id, choice, services)?;
    let (step, earliest) = (rules.step_seconds(), rules.earliest(now));
    let agenda = tx.table(tables::BARBER_BOOKINGS)?;
    let mut out = Vec::with_capacity(dates.len());
    for &date in dates.iter().filter(|d| today <= **d && **d <= last) {
        let query = DayQuery::new(branch, &tz, &catalog.closures, date, None)?;
        let (slots, days) = day_offers(&query, &agenda, &barbers, len, step, earliest)?;
        let state = if slots.is_empty() {
            let closures: Vec<(Interval, &str)> = catalog
                .closures
                .iter()
                .filter(|c| c.scope == ClosureScope::Branch(branch.id))
                .map(|c| (Interval::from_ts(c.start, c.end), c.reason.as_str()))
                .filter(|(span, _)| span.overlaps(&query.day.whole))
                .collect();
            DayState::without_slots(&days, &closures)
        } else {
            DayState::Free(slots.len())
        };
        out.push(CalendarDay { date, state, slots });
    }
    Ok(out)
}
