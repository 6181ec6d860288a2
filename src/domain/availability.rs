//! Which start times are free for one barber on one day, and why a given start is not; who
//! gets an "any barber" booking.
//!
//! Offering slots and accepting a booking use the same check ([`BarberDay::check`]), so every
//! slot offered can be booked, and nothing can be booked that would not have been offered.
//! They also rank free barbers the same way ([`BarberPick`], [`Offers`]), so a slot offered
//! for "any barber" goes to the barber it was offered with.
//!
//! A [`BarberDay`] is built from the catalogue ([`BarberDay::scheduled`]: shifts, breaks,
//! closures) and the barber's bookings, which the caller reads from its agenda.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::time::{self, ClockTime, iso_weekday};
use super::{Barber, BarberId, BranchId, Closure, ClosureScope, DomainError};

/// A half-open span of time `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
}

impl Interval {
    pub fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    pub fn from_ts(start: Timestamp, end: Timestamp) -> Self {
        Self::new(start.as_second(), end.as_second())
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// One local day in a branch's zone, as instants. Its two zone conversions are made once per
/// request and shared by every barber's day built for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    pub date: Date,
    /// Local midnight starting the day: the slot grid's origin.
    pub midnight: i64,
    /// Midnight to midnight (23 or 25 hours on a daylight-saving change).
    pub whole: Interval,
}

impl LocalDay {
    pub fn new(date: Date, tz: &TimeZone) -> Result<Self, DomainError> {
        let midnight = time::day_start(date, tz)?;
        let next = time::day_start(date.tomorrow().map_err(|_| DomainError::InvalidDate)?, tz)?;
        Ok(Self {
            date,
            midnight: midnight.as_second(),
            whole: Interval::from_ts(midnight, next),
        })
    }

    /// The instant of a time of day: what [`time::at`] computes (the time added to local
    /// midnight as an exact duration), without a zone conversion per call.
    pub fn at(&self, time: ClockTime) -> i64 {
        self.midnight + time.minutes() * 60
    }
}

/// Everything that decides a barber's free time on one local day.
#[derive(Debug, Clone, Default)]
pub struct BarberDay {
    /// Local midnight: the slot grid starts here.
    pub grid_origin: i64,
    /// Working windows: the day's shifts with their breaks cut out.
    pub open: Vec<Interval>,
    /// Closures and time off touching the day.
    pub closed: Vec<Interval>,
    /// Active bookings (start to busy-until).
    pub busy: Vec<Interval>,
}

impl BarberDay {
    /// A barber's day at a branch before its bookings: the weekday's shifts there, breaks cut
    /// out, and the closures touching the day, of the branch or of the barber (time off counts
    /// wherever they would work). The caller adds the bookings to [`BarberDay::busy`].
    pub fn scheduled(
        day: &LocalDay,
        branch: BranchId,
        barber: &Barber,
        closures: &[Closure],
    ) -> Self {
        let mut out = Self {
            grid_origin: day.midnight,
            ..Self::default()
        };
        for shift in barber.shifts_on(iso_weekday(day.date), branch) {
            let span = Interval::new(day.at(shift.start), day.at(shift.end));
            let breaks: Vec<_> = shift
                .breaks
                .iter()
                .map(|(s, e)| Interval::new(day.at(*s), day.at(*e)))
                .collect();
            out.add_shift(span, &breaks);
        }
        for closure in closures {
            let applies = match closure.scope {
                ClosureScope::Branch(b) => b == branch,
                ClosureScope::Barber(b) => b == barber.id,
            };
            let span = Interval::from_ts(closure.start, closure.end);
            if applies && span.overlaps(&day.whole) {
                out.closed.push(span);
            }
        }
        out
    }

    /// Cuts `breaks` out of a shift and adds the remaining windows.
    pub fn add_shift(&mut self, shift: Interval, breaks: &[Interval]) {
        let mut pieces = vec![shift];
        for b in breaks {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    if !p.overlaps(b) {
                        return vec![p];
                    }
                    let mut out = Vec::with_capacity(2);
                    if p.start < b.start {
                        out.push(Interval::new(p.start, b.start));
                    }
                    if b.end < p.end {
                        out.push(Interval::new(b.end, p.end));
                    }
                    out
                })
                .collect();
        }
        self.open.extend(pieces);
        self.open.sort();
    }

    /// Seconds the barber could be booked this day: the open windows less the closures
    /// (which may overlap each other and several windows; each second counts once).
    pub fn available_seconds(&self) -> i64 {
        let mut total = 0;
        for w in &self.open {
            let mut cuts: Vec<Interval> = self
                .closed
                .iter()
                .filter(|c| c.overlaps(w))
                .map(|c| Interval::new(c.start.max(w.start), c.end.min(w.end)))
                .collect();
            cuts.sort();
            let (mut closed, mut upto) = (0, w.start);
            for c in cuts {
                let start = c.start.max(upto);
                if c.end > start {
                    closed += c.end - start;
                    upto = c.end;
                }
            }
            total += w.end - w.start - closed;
        }
        total
    }

    /// Why a barber cannot be booked for `[start, start + len)` this day, if they cannot.
    /// `step` is the slot grid in seconds.
    pub fn check(&self, start: i64, len: i64, step: i64) -> Result<(), DomainError> {
        let want = Interval::new(start, start + len);
        if step <= 0 || (start - self.grid_origin).rem_euclid(step) != 0 {
            return Err(DomainError::Misaligned);
        }
        if self.closed.iter().any(|c| c.overlaps(&want)) {
            return Err(DomainError::Closed);
        }
        if !self.open.iter().any(|w| w.contains(&want)) {
            return Err(DomainError::OutsideHours);
        }
        if self.busy.iter().any(|b| b.overlaps(&want)) {
            return Err(DomainError::SlotUnavailable);
        }
        Ok(())
    }

    /// Every free start on the grid within `[earliest, latest]` for a booking of `len` seconds.
    pub fn free_starts(&self, len: i64, step: i64, earliest: i64, latest: i64) -> Vec<i64> {
        let mut out = Vec::new();
        if step <= 0 || len <= 0 {
            return out;
        }
        for w in &self.open {
            let from = w.start.max(earliest);
            // first grid point at or after `from`
            let offset = (from - self.grid_origin).rem_euclid(step);
            let mut t = if offset == 0 {
                from
            } else {
                from + step - offset
            };
            while t + len <= w.end && t <= latest {
                if self.check(t, len, step).is_ok() {
                    out.push(t);
                }
                t += step;
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// How "any barber" shares out work: among the barbers free for a booking, the fewest bookings
/// that day first, then the lowest id, so work is spread fairly and the choice is stable.
fn rank(barber: BarberId, day: &BarberDay) -> (usize, BarberId) {
    (day.busy.len(), barber)
}

/// Picks the barber for a booking at one start among those who could take it (just one when
/// the client named a barber), fed one barber's day at a time so that no day is kept.
#[derive(Debug, Default)]
pub struct BarberPick {
    best: Option<(usize, BarberId)>,
    refusal: Option<DomainError>,
}

impl BarberPick {
    /// Considers `barber`, whose day is `day`, for `[start, start + len)` on a `step` grid.
    pub fn consider(&mut self, barber: BarberId, day: &BarberDay, start: i64, len: i64, step: i64) {
        match day.check(start, len, step) {
            Ok(()) => {
                let rank = rank(barber, day);
                self.best = Some(self.best.map_or(rank, |best| best.min(rank)));
            }
            // With several barbers, "taken" wins over "outside hours" in the answer: the slot
            // exists, it is full.
            Err(e) if self.refusal.is_none() || e == DomainError::SlotUnavailable => {
                self.refusal = Some(e);
            }
            Err(_) => {}
        }
    }

    /// The barber who gets the booking, or why nobody can take it.
    pub fn chosen(self) -> Result<BarberId, DomainError> {
        match self.best {
            Some((_, barber)) => Ok(barber),
            None => Err(self.refusal.unwrap_or(DomainError::SlotUnavailable)),
        }
    }
}

/// Free starts of several barbers, each offered once, with the barber a booking there would
/// get (ranked as [`BarberPick`] ranks them).
#[derive(Debug, Default)]
pub struct Offers {
    by_start: BTreeMap<i64, (usize, BarberId)>,
}

impl Offers {
    /// Adds `barber`'s free starts for a booking of `len` seconds, from `earliest` on.
    pub fn add(&mut self, barber: BarberId, day: &BarberDay, len: i64, step: i64, earliest: i64) {
        let rank = rank(barber, day);
        for start in day.free_starts(len, step, earliest, i64::MAX) {
            self.by_start
                .entry(start)
                .and_modify(|best| *best = (*best).min(rank))
                .or_insert(rank);
        }
    }

    /// Every start offered, in order, with its barber.
    pub fn into_starts(self) -> impl Iterator<Item = (i64, BarberId)> {
        self.by_start
            .into_iter()
            .map(|(start, (_, barber))| (start, barber))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn available_seconds_are_the_open_windows_less_overlapping_closures_counted_once() {
        let mut day = BarberDay::default();
        day.add_shift(
            Interval::new(0, 8 * 3600),
            &[Interval::new(4 * 3600, 5 * 3600)],
        );
        assert_eq!(
            day.available_seconds(),
            7 * 3600,
            "a break is not available"
        );
        day.closed.push(Interval::new(3600, 2 * 3600));
        day.closed.push(Interval::new(5400, 3 * 3600));
        day.closed.push(Interval::new(-3600, 600));
        assert_eq!(
            day.available_seconds(),
            7 * 3600 - 2 * 3600 - 600,
            "overlapping closures count once, and only inside the windows"
        );
    }
    use super::*;
    use crate::domain::{Shift, Text};

    const H: i64 = 3600;
    const M: i64 = 60;

    fn day() -> BarberDay {
        let mut d = BarberDay::default();
        // 10:00–20:00 with lunch 13:00–14:00
        d.add_shift(
            Interval::new(10 * H, 20 * H),
            &[Interval::new(13 * H, 14 * H)],
        );
        d
    }

    #[test]
    fn breaks_split_the_shift() {
        assert_eq!(
            day().open,
            vec![Interval::new(10 * H, 13 * H), Interval::new(14 * H, 20 * H)]
        );
    }

    #[test]
    fn explains_why_a_start_is_refused() {
        let mut d = day();
        d.busy.push(Interval::new(15 * H, 15 * H + 40 * M));
        d.closed.push(Interval::new(18 * H, 20 * H));
        let len = 30 * M;
        let step = 15 * M;
        assert_eq!(d.check(10 * H, len, step), Ok(()));
        assert_eq!(
            d.check(10 * H + 5 * M, len, step),
            Err(DomainError::Misaligned)
        );
        assert_eq!(d.check(9 * H, len, step), Err(DomainError::OutsideHours));
        assert_eq!(
            d.check(12 * H + 45 * M, len, step),
            Err(DomainError::OutsideHours)
        );
        assert_eq!(
            d.check(14 * H + 45 * M, len, step),
            Err(DomainError::SlotUnavailable)
        );
        assert_eq!(
            d.check(15 * H + 30 * M, len, step),
            Err(DomainError::SlotUnavailable)
        );
        assert_eq!(d.check(15 * H + 45 * M, len, step), Ok(()));
        assert_eq!(d.check(18 * H, len, step), Err(DomainError::Closed));
    }

    #[test]
    fn free_starts_respect_hours_breaks_and_bookings() {
        let mut d = day();
        d.busy.push(Interval::new(10 * H, 11 * H));
        let starts = d.free_starts(45 * M, 15 * M, 0, i64::MAX);
        assert_eq!(starts.first(), Some(&(11 * H)));
        assert!(starts.contains(&(12 * H + 15 * M)));
        assert!(!starts.contains(&(12 * H + 30 * M)), "would run into lunch");
        assert_eq!(starts.last(), Some(&(19 * H + 15 * M)));
        let later = d.free_starts(45 * M, 15 * M, 16 * H + 1, 17 * H);
        assert_eq!(
            later,
            vec![16 * H + 15 * M, 16 * H + 30 * M, 16 * H + 45 * M, 17 * H]
        );
    }

    fn barber(id: u64, shifts: Vec<Shift>) -> Barber {
        Barber {
            id: BarberId(id),
            name: Text::line("name", "Barbero", 80).expect("name"),
            active: true,
            services: Vec::new(),
            shifts,
        }
    }

    fn hm(h: u16, m: u16) -> ClockTime {
        ClockTime::from_hm(h, m).expect("time")
    }

    fn shift(weekday: u8, branch: u64, from: u16, to: u16, breaks: &[(u16, u16)]) -> Shift {
        let breaks = breaks.iter().map(|(s, e)| (hm(*s, 0), hm(*e, 0))).collect();
        Shift::new(weekday, BranchId(branch), hm(from, 0), hm(to, 0), breaks).expect("shift")
    }

    fn closure(scope: ClosureScope, from: i64, to: i64) -> Closure {
        Closure {
            id: crate::domain::ClosureId(1),
            scope,
            start: Timestamp::from_second(from).expect("start"),
            end: Timestamp::from_second(to).expect("end"),
            reason: Text::line("reason", "Feriado", 200).expect("reason"),
        }
    }

    /// Monday 2 June 2025 in Buenos Aires (UTC-3, no daylight saving).
    fn monday() -> LocalDay {
        let tz = time::time_zone("America/Argentina/Buenos_Aires").expect("zone");
        LocalDay::new(jiff::civil::date(2025, 6, 2), &tz).expect("day")
    }

    #[test]
    fn a_local_day_runs_midnight_to_midnight_even_across_a_clock_change() {
        let day = monday();
        assert_eq!(day.midnight, 1_748_833_200, "00:00 -03:00");
        assert_eq!(
            day.whole,
            Interval::new(day.midnight, day.midnight + 24 * H)
        );
        assert_eq!(day.at(hm(10, 30)), day.midnight + 10 * H + 30 * M);
        // New York springs forward on 9 March 2025: a 23-hour day.
        let tz = time::time_zone("America/New_York").expect("zone");
        let short = LocalDay::new(jiff::civil::date(2025, 3, 9), &tz).expect("day");
        assert_eq!(short.whole.end - short.whole.start, 23 * H);
    }

    #[test]
    fn a_scheduled_day_has_the_weekdays_shifts_at_the_branch_and_the_closures_that_touch_it() {
        let day = monday();
        let at = |h: i64| day.midnight + h * H;
        let b = barber(
            7,
            vec![
                shift(1, 1, 9, 13, &[]),
                shift(1, 1, 15, 20, &[(17, 18)]),
                shift(1, 2, 13, 15, &[]), // another branch
                shift(2, 1, 9, 20, &[]),  // Tuesday
            ],
        );
        let closures = [
            closure(ClosureScope::Branch(BranchId(1)), at(10), at(11)),
            closure(ClosureScope::Branch(BranchId(2)), at(12), at(13)),
            closure(ClosureScope::Barber(BarberId(7)), at(19), at(30)),
            closure(ClosureScope::Barber(BarberId(8)), at(9), at(20)),
            closure(ClosureScope::Branch(BranchId(1)), at(24), at(48)), // Tuesday
            closure(ClosureScope::Branch(BranchId(1)), at(-10), at(0)), // ends at midnight
        ];
        let d = BarberDay::scheduled(&day, BranchId(1), &b, &closures);
        assert_eq!(d.grid_origin, day.midnight);
        assert_eq!(
            d.open,
            vec![
                Interval::new(at(9), at(13)),
                Interval::new(at(15), at(17)),
                Interval::new(at(18), at(20)),
            ]
        );
        assert_eq!(
            d.closed,
            vec![Interval::new(at(10), at(11)), Interval::new(at(19), at(30))]
        );
        assert!(d.busy.is_empty(), "bookings are the caller's to add");
    }

    fn with_bookings(n: i64) -> BarberDay {
        let mut d = day();
        for i in 0..n {
            d.busy
                .push(Interval::new(10 * H + i * H, 10 * H + i * H + 30 * M));
        }
        d
    }

    #[test]
    fn any_barber_goes_to_the_free_barber_with_the_fewest_bookings_then_the_lowest_id() {
        let (len, step) = (30 * M, 15 * M);
        let start = 16 * H;
        let mut pick = BarberPick::default();
        pick.consider(BarberId(1), &with_bookings(3), start, len, step);
        pick.consider(BarberId(3), &with_bookings(1), start, len, step);
        pick.consider(BarberId(2), &with_bookings(1), start, len, step);
        assert_eq!(pick.chosen(), Ok(BarberId(2)));
        let mut busy = with_bookings(0);
        busy.busy.push(Interval::new(start, start + H));
        let mut pick = BarberPick::default();
        pick.consider(BarberId(1), &busy, start, len, step);
        pick.consider(BarberId(2), &with_bookings(5), start, len, step);
        assert_eq!(pick.chosen(), Ok(BarberId(2)), "only a free barber gets it");
    }

    #[test]
    fn nobody_free_answers_taken_before_any_other_reason() {
        let (len, step) = (30 * M, 15 * M);
        let mut taken = day();
        taken.busy.push(Interval::new(12 * H, 13 * H));
        let mut pick = BarberPick::default();
        pick.consider(BarberId(1), &BarberDay::default(), 12 * H, len, step);
        pick.consider(BarberId(2), &taken, 12 * H, len, step);
        assert_eq!(pick.chosen(), Err(DomainError::SlotUnavailable));
        let mut closed = day();
        closed.closed.push(Interval::new(0, 24 * H));
        let mut pick = BarberPick::default();
        pick.consider(BarberId(1), &BarberDay::default(), 12 * H, len, step);
        pick.consider(BarberId(2), &closed, 12 * H, len, step);
        assert_eq!(
            pick.chosen(),
            Err(DomainError::OutsideHours),
            "the first reason"
        );
        assert_eq!(
            BarberPick::default().chosen(),
            Err(DomainError::SlotUnavailable)
        );
    }

    #[test]
    fn offers_name_each_start_once_with_the_barber_who_would_get_it() {
        let (len, step) = (60 * M, 60 * M);
        let busier = with_bookings(2); // 10:00 and 11:00 taken
        let mut quieter = with_bookings(1); // 10:00 taken
        quieter.closed.push(Interval::new(14 * H, 20 * H));
        let mut offers = Offers::default();
        offers.add(BarberId(9), &busier, len, step, 0);
        offers.add(BarberId(5), &quieter, len, step, 0);
        let starts: Vec<_> = offers.into_starts().collect();
        assert_eq!(
            starts[..3],
            [
                (11 * H, BarberId(5)),
                (12 * H, BarberId(5)),
                (14 * H, BarberId(9))
            ],
            "12:00 goes to the barber with fewer bookings; 14:00 to the only one open"
        );
        assert_eq!(starts.last(), Some(&(19 * H, BarberId(9))));
        // Every start offered is the one a booking there would get.
        for (start, barber) in &starts {
            let mut pick = BarberPick::default();
            pick.consider(BarberId(9), &busier, *start, len, step);
            pick.consider(BarberId(5), &quieter, *start, len, step);
            assert_eq!(pick.chosen(), Ok(*barber), "at {start}");
        }
    }
}
