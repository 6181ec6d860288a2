//! A barber's weekly hours at one branch, as the week editor shows and saves them: for each
//! weekday, whether they work and from when to when, with any number of breaks. Saving
//! replaces the barber's shifts at that branch and keeps those at other branches.

use super::catalog::{Barber, BranchId, Shift};
use super::time::ClockTime;

/// One working day: from `start` to `end`, with breaks inside, sorted and apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayHours {
    pub start: ClockTime,
    pub end: ClockTime,
    pub breaks: Vec<(ClockTime, ClockTime)>,
}

/// Why a day's hours are not hours, in the owner's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayProblem {
    /// The end is not after the start.
    Backwards,
    /// A break that ends before it starts, lies outside the day or overlaps another one.
    Break,
}

impl DayProblem {
    pub fn message_es(self) -> &'static str {
        match self {
            Self::Backwards => "El horario termina antes de empezar.",
            Self::Break => {
                "Cada pausa va dentro del horario, termina después de empezar y no se pisa con \
                 otra."
            }
        }
    }
}

impl DayHours {
    /// Checks the day (breaks are sorted here).
    pub fn new(
        start: ClockTime,
        end: ClockTime,
        mut breaks: Vec<(ClockTime, ClockTime)>,
    ) -> Result<Self, DayProblem> {
        if end <= start {
            return Err(DayProblem::Backwards);
        }
        breaks.sort();
        let inside = breaks
            .iter()
            .all(|(a, z)| a < z && *a >= start && *z <= end);
        let apart = breaks.windows(2).all(|w| w[0].1 <= w[1].0);
        if !inside || !apart {
            return Err(DayProblem::Break);
        }
        Ok(Self { start, end, breaks })
    }
}

/// A barber's week at one branch: `days[0]` is Monday, `days[6]` Sunday; `None` is a day off
/// there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Week {
    pub days: [Option<DayHours>; 7],
}

/// Why a week cannot be saved as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeekProblem {
    /// On this ISO weekday the hours overlap the barber's hours at another branch.
    Overlap { weekday: u8, other: BranchId },
}

impl Week {
    /// The barber's week at `branch` as it is. Several shifts of one day at the branch read
    /// as one day with the gaps between them as breaks (the same bookable time).
    pub fn of(barber: &Barber, branch: BranchId) -> Self {
        let mut week = Self::default();
        for (i, day) in week.days.iter_mut().enumerate() {
            let weekday = (i + 1) as u8;
            let mut shifts: Vec<&Shift> = barber.shifts_on(weekday, branch).collect();
            shifts.sort_by_key(|s| s.start);
            let (Some(first), Some(last)) = (shifts.first(), shifts.last()) else {
                continue;
            };
            let mut breaks = Vec::new();
            for (n, s) in shifts.iter().enumerate() {
                breaks.extend(s.breaks.iter().copied());
                if let Some(next) = shifts.get(n + 1)
                    && s.end < next.start
                {
                    breaks.push((s.end, next.start));
                }
            }
            breaks.sort();
            *day = Some(DayHours {
                start: first.start,
                end: last.end,
                breaks,
            });
        }
        week
    }

    /// The shift of ISO `weekday` at `branch`, if the barber works that day.
    pub fn shift(&self, weekday: u8, branch: BranchId) -> Option<Shift> {
        let day = self
            .days
            .get(usize::from(weekday).checked_sub(1)?)?
            .as_ref()?;
        Some(Shift {
            weekday,
            branch,
            start: day.start,
            end: day.end,
            breaks: day.breaks.clone(),
        })
    }

    /// The barber's shifts once this week replaces those at `branch` (the other branches'
    /// stay), sorted by weekday and start; refused where a day overlaps another branch's.
    pub fn apply(&self, barber: &Barber, branch: BranchId) -> Result<Vec<Shift>, WeekProblem> {
        let mut shifts: Vec<Shift> = barber
            .shifts
            .iter()
            .filter(|s| s.branch != branch)
            .cloned()
            .collect();
        for weekday in 1..=7u8 {
            let Some(new) = self.shift(weekday, branch) else {
                continue;
            };
            if let Some(other) = shifts.iter().find(|s| s.overlaps(&new)) {
                return Err(WeekProblem::Overlap {
                    weekday,
                    other: other.branch,
                });
            }
            shifts.push(new);
        }
        shifts.sort_by_key(|s| (s.weekday, s.start, s.branch));
        Ok(shifts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::BarberId;
    use crate::domain::text::Text;

    fn t(s: &str) -> ClockTime {
        s.parse().expect("time")
    }

    fn barber(shifts: Vec<Shift>) -> Barber {
        Barber {
            id: BarberId(1),
            name: Text::from_static("Martín"),
            active: true,
            services: vec![],
            shifts,
        }
    }

    fn shift(weekday: u8, branch: u64, a: &str, z: &str, breaks: &[(&str, &str)]) -> Shift {
        let breaks = breaks.iter().map(|(x, y)| (t(x), t(y))).collect();
        Shift::new(weekday, BranchId(branch), t(a), t(z), breaks).expect("shift")
    }

    #[test]
    fn a_week_round_trips_through_the_editor_with_every_break() {
        let martin = barber(vec![
            shift(2, 1, "10:00", "20:00", &[("13:00", "14:00")]),
            shift(
                6,
                1,
                "10:00",
                "18:00",
                &[("13:00", "14:00"), ("16:00", "16:15")],
            ),
            shift(4, 2, "10:00", "20:00", &[]),
        ]);
        let week = Week::of(&martin, BranchId(1));
        assert!(week.days[0].is_none(), "no Monday at branch 1");
        assert!(week.days[3].is_none(), "Thursday is at branch 2");
        assert_eq!(
            week.days[5].as_ref().map(|d| d.breaks.len()),
            Some(2),
            "both Saturday breaks"
        );
        let shifts = week.apply(&martin, BranchId(1)).expect("no overlap");
        let mut before = martin.shifts.clone();
        before.sort_by_key(|s| (s.weekday, s.start, s.branch));
        assert_eq!(shifts, before, "saving the week unchanged changes nothing");
    }

    #[test]
    fn changing_one_end_keeps_the_day_s_breaks() {
        let martin = barber(vec![shift(6, 1, "10:00", "18:00", &[("13:00", "14:00")])]);
        let mut week = Week::of(&martin, BranchId(1));
        if let Some(day) = week.days[5].as_mut() {
            day.end = t("19:00");
        }
        let shifts = week.apply(&martin, BranchId(1)).expect("valid");
        assert_eq!(
            shifts,
            vec![shift(6, 1, "10:00", "19:00", &[("13:00", "14:00")])]
        );
    }

    #[test]
    fn two_shifts_of_one_day_read_as_one_day_with_a_break() {
        let b = barber(vec![
            shift(3, 1, "15:00", "20:00", &[]),
            shift(3, 1, "09:00", "12:00", &[("10:00", "10:15")]),
        ]);
        let week = Week::of(&b, BranchId(1));
        assert_eq!(
            week.days[2],
            Some(DayHours {
                start: t("09:00"),
                end: t("20:00"),
                breaks: vec![(t("10:00"), t("10:15")), (t("12:00"), t("15:00"))],
            })
        );
    }

    #[test]
    fn a_day_that_overlaps_another_branch_is_refused() {
        let nicolas = barber(vec![shift(4, 2, "10:00", "20:00", &[])]);
        let mut week = Week::default();
        week.days[3] = Some(DayHours::new(t("09:00"), t("12:00"), vec![]).expect("valid"));
        assert_eq!(
            week.apply(&nicolas, BranchId(1)),
            Err(WeekProblem::Overlap {
                weekday: 4,
                other: BranchId(2)
            })
        );
    }

    #[test]
    fn a_day_s_breaks_are_inside_it_apart_and_sorted() {
        assert_eq!(
            DayHours::new(t("20:00"), t("10:00"), vec![]),
            Err(DayProblem::Backwards)
        );
        for breaks in [
            vec![(t("09:00"), t("11:00"))],
            vec![(t("14:00"), t("13:00"))],
            vec![(t("13:00"), t("14:00")), (t("13:30"), t("15:00"))],
        ] {
            assert_eq!(
                DayHours::new(t("10:00"), t("20:00"), breaks.clone()),
                Err(DayProblem::Break),
                "{breaks:?}"
            );
        }
        let sorted = DayHours::new(
            t("10:00"),
            t("20:00"),
            vec![(t("16:00"), t("16:30")), (t("13:00"), t("14:00"))],
        )
        .expect("valid");
        assert_eq!(sorted.breaks[0], (t("13:00"), t("14:00")));
    }
}
