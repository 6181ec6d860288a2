//! What one day of the booking calendar says when it offers no slot: nobody works (closed),
//! the branch is closed for a reason (a holiday), or every start is taken (full). Pure: the
//! caller hands it the barbers' scheduled days and the branch's closures.

use super::availability::{BarberDay, Interval};

/// One day of the calendar, as the client's day picker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayState {
    /// `n` free starts.
    Free(usize),
    /// No barber who could take the booking works that day.
    Closed,
    /// A closure of the branch covers every working hour; its reason ("Navidad").
    Holiday(String),
    /// The chosen barber(s) are off that day (time off covers their hours).
    Off,
    /// Working hours, all taken (or already past for today).
    Full,
}

impl DayState {
    /// Why a day with no free start has none: `days` are the candidates' days before their
    /// bookings' effect is counted (their `open` windows and `closed` spans), `branch_closures`
    /// the branch's closures touching the day with their reasons.
    pub fn without_slots(days: &[BarberDay], branch_closures: &[(Interval, &str)]) -> Self {
        let open: Vec<Interval> = days.iter().flat_map(|d| d.open.iter().copied()).collect();
        if open.is_empty() {
            return Self::Closed;
        }
        if let Some((_, reason)) = branch_closures
            .iter()
            .find(|(c, _)| open.iter().all(|w| c.contains(w)))
        {
            return Self::Holiday((*reason).to_owned());
        }
        let off = days.iter().all(|d| {
            d.open
                .iter()
                .all(|w| d.closed.iter().any(|c| c.contains(w)))
        });
        if off { Self::Off } else { Self::Full }
    }

    /// The word the picker shows under the day ("cerrado", "completo", "feriado: Navidad").
    pub fn label_es(&self) -> String {
        match self {
            Self::Free(1) => "1 horario".into(),
            Self::Free(n) => format!("{n} horarios"),
            Self::Closed => "cerrado".into(),
            // A closure named just "Feriado" is not said twice.
            Self::Holiday(reason) if reason.trim().eq_ignore_ascii_case("feriado") => {
                "feriado".into()
            }
            Self::Holiday(reason) => format!("feriado: {reason}"),
            Self::Off => "no atiende".into(),
            Self::Full => "completo".into(),
        }
    }

    pub fn is_free(&self) -> bool {
        matches!(self, Self::Free(n) if *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn working(from: i64, to: i64) -> BarberDay {
        let mut d = BarberDay::default();
        d.add_shift(Interval::new(from * H, to * H), &[]);
        d
    }

    #[test]
    fn a_day_without_slots_says_why() {
        assert_eq!(
            DayState::without_slots(&[BarberDay::default()], &[]),
            DayState::Closed
        );
        assert_eq!(DayState::without_slots(&[], &[]), DayState::Closed);
        let holiday = [(Interval::new(0, 24 * H), "Navidad")];
        assert_eq!(
            DayState::without_slots(&[working(10, 20), BarberDay::default()], &holiday),
            DayState::Holiday("Navidad".into())
        );
        let morning = [(Interval::new(0, 12 * H), "Inventario")];
        assert_eq!(
            DayState::without_slots(&[working(10, 20)], &morning),
            DayState::Full,
            "a closure of part of the day is not the day's reason"
        );
        let mut off = working(10, 20);
        off.closed.push(Interval::new(0, 24 * H));
        assert_eq!(DayState::without_slots(&[off], &[]), DayState::Off);
    }

    #[test]
    fn labels_are_spanish() {
        assert_eq!(DayState::Free(1).label_es(), "1 horario");
        assert_eq!(DayState::Free(12).label_es(), "12 horarios");
        assert_eq!(DayState::Full.label_es(), "completo");
        assert_eq!(
            DayState::Holiday("Navidad".into()).label_es(),
            "feriado: Navidad"
        );
        assert_eq!(DayState::Holiday("Feriado".into()).label_es(), "feriado");
    }
}
