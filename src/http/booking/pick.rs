//! The day-and-slot picker shared by booking and rescheduling: the next days as links, a date
//! field for later ones, and the free slots of the chosen day from
//! `store::bookings::availability` (the API's own function).

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;

use crate::domain::time::{local_date, rfc3339_local};
use crate::domain::{BookingRules, Branch, DomainError, ServiceId};
use crate::http::format::{date as fmt_date, long_date, time as fmt_time};
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

pub struct DayChoice {
    /// The day's link.
    pub href: String,
    pub weekday: &'static str,
    /// `dd/MM/yyyy`.
    pub label: String,
    pub current: bool,
}

pub struct SlotChoice {
    /// RFC 3339 with the branch's offset.
    pub value: String,
    /// `HH:MM`.
    pub time: String,
    pub barber: String,
    pub checked: bool,
}

/// Everything the picker shows.
pub struct Picker {
    pub target: Target,
    pub days: Vec<DayChoice>,
    /// The chosen day, `YYYY-MM-DD`, and as words ("martes 02/03/2027").
    pub date: String,
    pub date_label: String,
    /// Bounds of the date field.
    pub min: String,
    pub max: String,
    pub slots: Vec<SlotChoice>,
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
    let listed: Vec<Date> = (0..DAYS_SHOWN)
        .filter_map(|n| today.checked_add(n.days()).ok())
        .filter(|d| *d <= last)
        .collect();
    let mut error = None;
    let mut found = None;
    let date = match date_raw.trim() {
        "" => {
            let mut first = today;
            for d in &listed {
                let slots = bookings::availability(tx, branch, *d, services, choice, now, rules)?;
                if !slots.is_empty() {
                    first = *d;
                    found = Some(slots);
                    break;
                }
            }
            first
        }
        raw => match raw.parse::<Date>().ok().filter(|_| raw.len() == 10) {
            Some(d) => d,
            None => {
                error = Some("La fecha no es válida. Elegí un día de la lista.".to_owned());
                today
            }
        },
    };
    let slots = match found {
        Some(slots) => slots,
        None if error.is_some() => Vec::new(),
        None => match bookings::availability(tx, branch, date, services, choice, now, rules) {
            Ok(slots) => slots,
            Err(StoreError::Rule(rule)) if is_date_error(&rule) => {
                error = Some(rule.message_es());
                Vec::new()
            }
            Err(e) => return Err(e),
        },
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
    let days = listed
        .iter()
        .map(|d| DayChoice {
            href: target.href(*d),
            weekday: weekday(*d),
            label: fmt_date(*d),
            current: *d == date,
        })
        .collect();
    Ok(Picker {
        target,
        days,
        date: date.to_string(),
        date_label: long_date(date),
        min: today.to_string(),
        max: last.to_string(),
        slots,
        error,
    })
}
