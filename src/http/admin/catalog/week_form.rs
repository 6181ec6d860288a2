//! The week editor's form as typed: seven days, each with whether the barber works, from
//! and to, and its breaks (`d{n}_works`, `d{n}_start`, `d{n}_end`, repeated
//! `d{n}_break_start`/`d{n}_break_end`), the branch, what the hours were when the editor was
//! opened (`visto`), and the button pressed. Shown back as typed when a day is wrong.

use crate::app::catalog::WeekView;
use crate::domain::time::ClockTime;
use crate::domain::week::{DayHours, Week};

pub(super) use crate::http::format::WEEKDAYS as DAY_NAMES;

/// A day of the editor as typed (shown back as typed when something is wrong).
#[derive(Debug, Clone, Default)]
pub struct DayForm {
    /// ISO weekday, 1 = lunes.
    pub n: u8,
    pub name: &'static str,
    pub works: bool,
    pub start: String,
    pub end: String,
    /// (from, to) as typed; empty pairs are extra rows to fill in.
    pub breaks: Vec<(String, String)>,
    pub error: Option<String>,
    /// "También trabaja en BarberPro Belgrano de 10:00 a 20:00."
    pub elsewhere: Vec<String>,
}

impl DayForm {
    fn blank(n: u8) -> Self {
        Self {
            n,
            name: DAY_NAMES[usize::from(n - 1)],
            ..Self::default()
        }
    }

    /// The breaks with something typed in them.
    fn typed_breaks(&self) -> impl Iterator<Item = &(String, String)> {
        self.breaks
            .iter()
            .filter(|(a, z)| !a.trim().is_empty() || !z.trim().is_empty())
    }
}

/// What the POST asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Preview,
    Save,
    Edit,
    Copy(u8),
    AddBreak(u8),
}

/// The editor's form: the seven days, the branch, and what the hours were when the editor
/// was opened.
pub(super) struct WeekForm {
    pub branch: u64,
    pub seen: String,
    pub days: Vec<DayForm>,
    pub action: Action,
}

impl WeekForm {
    pub(super) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut days: Vec<DayForm> = (1..=7).map(DayForm::blank).collect();
        let mut form = Self {
            branch: 0,
            seen: String::new(),
            days: Vec::new(),
            action: Action::Preview,
        };
        let mut break_ends: Vec<Vec<String>> = vec![Vec::new(); 7];
        let day = |n: &str| n.parse::<usize>().ok().filter(|n| (1..=7).contains(n));
        for (k, v) in pairs {
            match k.as_str() {
                "sucursal" => form.branch = v.parse().unwrap_or(0),
                "visto" => form.seen = v.clone(),
                "guardar" => form.action = Action::Save,
                "editar" => form.action = Action::Edit,
                "copiar" => form.action = day(v).map_or(Action::Edit, |d| Action::Copy(d as u8)),
                "pausa" => form.action = day(v).map_or(Action::Edit, |d| Action::AddBreak(d as u8)),
                _ => {
                    let Some((d, field)) = k
                        .strip_prefix('d')
                        .and_then(|rest| rest.split_once('_'))
                        .and_then(|(d, field)| Some((day(d)? - 1, field)))
                    else {
                        continue;
                    };
                    let target = &mut days[d];
                    match field {
                        "works" => target.works = v == "1",
                        "start" => target.start = v.trim().to_owned(),
                        "end" => target.end = v.trim().to_owned(),
                        "break_start" => target.breaks.push((v.trim().to_owned(), String::new())),
                        "break_end" => break_ends[d].push(v.trim().to_owned()),
                        _ => {}
                    }
                }
            }
        }
        for (day, ends) in days.iter_mut().zip(break_ends) {
            for (i, end) in ends.into_iter().enumerate() {
                match day.breaks.get_mut(i) {
                    Some(pair) => pair.1 = end,
                    None => day.breaks.push((String::new(), end)),
                }
            }
        }
        form.days = days;
        form
    }

    /// The week the form describes, or `None` with each wrong day's message set.
    pub(super) fn parse(&mut self) -> Option<Week> {
        let mut week = Week::default();
        let mut ok = true;
        for (day, slot) in self.days.iter_mut().zip(week.days.iter_mut()) {
            if !day.works {
                continue;
            }
            match parse_day(day) {
                Ok(hours) => *slot = Some(hours),
                Err(message) => {
                    day.error = Some(message.to_owned());
                    ok = false;
                }
            }
        }
        ok.then_some(week)
    }

    /// Copies day `from`'s hours and breaks, as typed, to every other day that is worked.
    pub(super) fn copy(&mut self, from: u8) {
        let Some(source) = self.days.get(usize::from(from) - 1).cloned() else {
            return;
        };
        let breaks: Vec<(String, String)> = source.typed_breaks().cloned().collect();
        for day in self.days.iter_mut().filter(|d| d.works && d.n != from) {
            day.start = source.start.clone();
            day.end = source.end.clone();
            day.breaks = breaks.clone();
        }
    }
}

fn parse_day(day: &DayForm) -> Result<DayHours, &'static str> {
    let time = |raw: &str| raw.parse::<ClockTime>();
    let (Ok(start), Ok(end)) = (time(&day.start), time(&day.end)) else {
        return Err("Escribí desde y hasta como HH:MM, por ejemplo 10:00 y 20:00.");
    };
    let mut breaks = Vec::new();
    for (a, z) in day.typed_breaks() {
        match (time(a), time(z)) {
            (Ok(a), Ok(z)) => breaks.push((a, z)),
            _ => return Err("Escribí cada pausa con desde y hasta (HH:MM), o dejala vacía."),
        }
    }
    DayHours::new(start, end, breaks).map_err(|p| p.message_es())
}

/// The editor's days for a week as saved.
pub(super) fn days_of(view: &WeekView) -> Vec<DayForm> {
    (1..=7u8)
        .map(|n| {
            let mut day = DayForm::blank(n);
            if let Some(hours) = &view.week.days[usize::from(n - 1)] {
                day.works = true;
                day.start = hours.start.to_string();
                day.end = hours.end.to_string();
                day.breaks = hours
                    .breaks
                    .iter()
                    .map(|(a, z)| (a.to_string(), z.to_string()))
                    .collect();
            }
            day
        })
        .collect()
}

/// Adds what the barber does elsewhere on each day, and one empty break row to each day.
pub(super) fn finish(days: &mut [DayForm], view: &WeekView) {
    for day in days.iter_mut() {
        day.elsewhere = view
            .elsewhere
            .iter()
            .filter(|(s, _)| s.weekday == day.n)
            .map(|(s, branch)| format!("También trabaja en {branch} de {} a {}.", s.start, s.end))
            .collect();
        let blank = day.breaks.iter().any(|(a, z)| a.is_empty() && z.is_empty());
        if !blank {
            day.breaks.push((String::new(), String::new()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(raw).expect("form")
    }

    #[test]
    fn the_form_reads_every_day_and_every_break_in_order() {
        let mut form = WeekForm::from_pairs(&pairs(
            "sucursal=1&visto=x&d6_works=1&d6_start=10:00&d6_end=18:00\
             &d6_break_start=13:00&d6_break_end=14:00&d6_break_start=16:00&d6_break_end=16:15\
             &d6_break_start=&d6_break_end=&d2_start=10:00&d2_end=20:00",
        ));
        assert_eq!(form.branch, 1);
        assert_eq!(form.action, Action::Preview);
        let week = form.parse().expect("valid");
        let saturday = week.days[5].as_ref().expect("works on Saturday");
        assert_eq!(saturday.breaks.len(), 2);
        assert!(week.days[1].is_none(), "Tuesday is not ticked");
    }

    #[test]
    fn buttons_and_copies() {
        let mut form = WeekForm::from_pairs(&pairs(
            "sucursal=1&d2_works=1&d2_start=10:00&d2_end=20:00&d2_break_start=13:00\
             &d2_break_end=14:00&d3_works=1&d3_start=09:00&d3_end=12:00&copiar=2",
        ));
        assert_eq!(form.action, Action::Copy(2));
        form.copy(2);
        assert_eq!(form.days[2].end, "20:00");
        assert_eq!(form.days[2].breaks, vec![("13:00".into(), "14:00".into())]);
        assert!(!form.days[0].works, "Monday stays off");
        let mut bad = WeekForm::from_pairs(&pairs("d1_works=1&d1_start=10:00&d1_end=9:00"));
        assert!(bad.parse().is_none());
        assert!(bad.days[0].error.is_some());
        assert_eq!(
            WeekForm::from_pairs(&pairs("guardar=1")).action,
            Action::Save
        );
    }
}
