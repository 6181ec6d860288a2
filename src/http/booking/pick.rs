//! The day-and-slot picker shared by booking and rescheduling: a strip of the next fourteen
//! days, a week at a time, each saying what it offers (`store::bookings::calendar`: free
//! slots, or closed, full, a holiday), a date field for later days, the chosen day's free
//! slots, and the next free day when it has none. The slots are those of
//! `store::bookings::availability` (the API's own rules).

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;

use crate::domain::time::{local_date, rfc3339_local};
use crate::domain::{BookingRules, Branch, DomainError, ServiceId};
use crate::http::format::{long_date, time as fmt_time};
use crate::store::bookings::{self, BarberChoice};
use crate::store::{ReadTx, StoreError, catalog};

/// How many days the picker lists as links.
const DAYS_SHOWN: i64 = 14;

const WEEKDAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];

/// Where the picker's day links and date field lead: a path and the query fields that
/// carry the choices so far (the date is added to them).
#[derive(Debug, Clone)]
pub struct Target {
    pub action: String,
    pub hidden: Vec<(String, String)>,
}

impl Target {
    fn href(&self, date: Date) -> String {
        let mut pairs = self.hidden.clone();
        pairs.push(("date".into(), date.to_string()));
        format!(
            "{}?{}",
            self.action,
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// One day of the week strip.
pub struct DayChoice {
    /// The day's link.
    pub href: String,
    pub weekday: &'static str,
    /// `01/03`.
    pub short: String,
    /// What the day offers: "12 horarios", "cerrado", "completo", "feriado: Navidad".
    pub state: String,
    /// Said in full to screen readers: "lunes 01/03/2027, 12 horarios".
    pub aria: String,
    pub free: bool,
    pub current: bool,
    /// The one day of the strip in the Tab order (the chosen one, else the first).
    pub tab_stop: bool,
}

pub struct SlotChoice {
    /// RFC 3339 with the branch's offset.
    pub value: String,
    /// `HH:MM`.
    pub time: String,
    pub barber: String,
    pub checked: bool,
}

/// The next day with free slots, offered when the chosen one has none.
pub struct NextFree {
    pub href: String,
    /// "martes 02/03/2027".
    pub label: String,
}

/// Everything the picker shows.
pub struct Picker {
    pub target: Target,
    /// The listed days, a week (seven days) per row of the strip.
    pub weeks: Vec<Vec<DayChoice>>,
    /// The chosen day, `YYYY-MM-DD`, and as words ("martes 02/03/2027").
    pub date: String,
    pub date_label: String,
    /// Why the chosen day offers nothing ("cerrado", "completo"…), when it is listed.
    pub day_state: Option<String>,
    /// Bounds of the date field.
    pub min: String,
    pub max: String,
    pub slots: Vec<SlotChoice>,
    /// When `slots` is empty: the first later day with free slots, if the horizon has one.
    pub next_free: Option<NextFree>,
    /// Why the day has no slots to offer (a bad or out-of-range date).
    pub error: Option<String>,
}

/// Errors that concern the day picked, shown in the picker; others go back to the caller.
fn is_date_error(e: &DomainError) -> bool {
    matches!(
        e,
        DomainError::InThePast | DomainError::BeyondHorizon | DomainError::InvalidDate
    )
}

fn weekday(d: Date) -> &'static str {
    WEEKDAYS[usize::from(d.weekday().to_monday_zero_offset().unsigned_abs())]
}

/// Builds the picker for `date_raw` (empty: the first day with a free slot among the next
/// ones). `checked` is the start to pre-select, if it is offered.
#[allow(clippy::too_many_arguments)]
pub fn build(
    tx: &impl ReadTx,
    branch: &Branch,
    services: &[ServiceId],
    choice: BarberChoice,
    date_raw: &str,
    checked: Option<Timestamp>,
    target: Target,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Picker, StoreError> {
    let tz = branch.tz();
    let today = local_date(now, &tz);
    let last = rules.last_day(today);
    let listed = days_from(today, last);
    let calendar = bookings::calendar(tx, branch, &listed, services, choice, now, rules)?;
    let mut error = None;
    let date = match date_raw.trim() {
        "" => calendar
            .iter()
            .find(|d| d.state.is_free())
            .map_or(today, |d| d.date),
        raw => match raw.parse::<Date>().ok().filter(|_| raw.len() == 10) {
            Some(d) => d,
            None => {
                error = Some("La fecha no es válida. Elegí un día de la lista.".to_owned());
                today
            }
        },
    };
    let listed_day = calendar.iter().find(|d| d.date == date);
    let slots = match listed_day {
        _ if error.is_some() => Vec::new(),
        Some(day) => day.slots.clone(),
        None => match bookings::availability(tx, branch, date, services, choice, now, rules) {
            Ok(slots) => slots,
            Err(StoreError::Rule(rule)) if is_date_error(&rule) => {
                error = Some(rule.message_es());
                Vec::new()
            }
            Err(e) => return Err(e),
        },
    };
    let next_free = if slots.is_empty() && error.is_none() {
        next_free_day(
            tx, branch, services, choice, now, rules, &calendar, date, last,
        )?
        .map(|d| NextFree {
            href: target.href(d),
            label: long_date(d),
        })
    } else {
        None
    };
    let barbers = catalog::barbers_at(tx, branch.id)?;
    let slots = slots
        .into_iter()
        .map(|s| SlotChoice {
            value: rfc3339_local(s.start, &tz),
            time: fmt_time(s.start, &tz),
            barber: barbers
                .iter()
                .find(|b| b.id == s.barber)
                .map(|b| b.name.as_str().to_owned())
                .unwrap_or_default(),
            checked: Some(s.start) == checked,
        })
        .collect();
    let chosen_listed = listed_day.is_some();
    let days: Vec<DayChoice> = calendar
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let state = d.state.label_es();
            DayChoice {
                href: target.href(d.date),
                weekday: weekday(d.date),
                short: d.date.strftime("%d/%m").to_string(),
                aria: format!("{}, {state}", long_date(d.date)),
                state,
                free: d.state.is_free(),
                current: d.date == date,
                tab_stop: d.date == date || (!chosen_listed && i == 0),
            }
        })
        .collect();
    let mut weeks = Vec::new();
    let mut days = days.into_iter().peekable();
    while days.peek().is_some() {
        weeks.push(days.by_ref().take(7).collect());
    }
    Ok(Picker {
        target,
        weeks,
        date: date.to_string(),
        date_label: long_date(date),
        day_state: listed_day
            .filter(|d| !d.state.is_free())
            .map(|d| d.state.label_es()),
        min: today.to_string(),
        max: last.to_string(),
        slots,
        next_free,
        error,
    })
}

/// The days the strip lists: today and the next ones, up to the horizon.
fn days_from(first: Date, last: Date) -> Vec<Date> {
    (0..DAYS_SHOWN)
        .filter_map(|n| first.checked_add(n.days()).ok())
        .filter(|d| *d <= last)
        .collect()
}

/// The first day after `date` with a free slot: from the strip's calendar, else from later
/// days, two weeks at a time, up to the horizon.
#[allow(clippy::too_many_arguments)]
fn next_free_day(
    tx: &impl ReadTx,
    branch: &Branch,
    services: &[ServiceId],
    choice: BarberChoice,
    now: Timestamp,
    rules: &BookingRules,
    listed: &[bookings::CalendarDay],
    date: Date,
    last: Date,
) -> Result<Option<Date>, StoreError> {
    if let Some(d) = listed.iter().find(|d| d.date > date && d.state.is_free()) {
        return Ok(Some(d.date));
    }
    let mut from = listed.last().map_or(date, |d| d.date).max(date);
    while let Ok(next) = from.tomorrow() {
        if next > last {
            break;
        }
        let dates = days_from(next, last);
        let later = bookings::calendar(tx, branch, &dates, services, choice, now, rules)?;
        if let Some(d) = later.iter().find(|d| d.state.is_free()) {
            return Ok(Some(d.date));
        }
        match dates.last() {
            Some(d) => from = *d,
            None => break,
        }
    }
    Ok(None)
}
