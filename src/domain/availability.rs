//! Which start times are free for one barber on one day, and why a given start is not.
//!
//! Offering slots and accepting a booking use the same check ([`BarberDay::check`]), so every
//! slot offered can be booked, and nothing can be booked that would not have been offered.

use jiff::Timestamp;

use super::DomainError;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
