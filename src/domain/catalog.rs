//! The chain's catalogue: branches, barbers and their weekly hours, services, closures.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::time::{ClockTime, at, day_start};
use super::{DomainError, Money, Phone, Text};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use id_type;

id_type!(
    /// Identifies a branch.
    BranchId
);
id_type!(
    /// Identifies a barber.
    BarberId
);
id_type!(
    /// Identifies a service.
    ServiceId
);
id_type!(
    /// Identifies a closure or a barber's time off.
    ClosureId
);

/// A URL-safe branch name: lowercase ASCII letters, digits and inner hyphens, 1–40 chars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Read back (JSON, a stored row) through [`Slug::parse`].
impl TryFrom<String> for Slug {
    type Error = DomainError;

    fn try_from(raw: String) -> Result<Self, DomainError> {
        Self::parse(&raw)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::InvalidField {
                field: "slug",
                reason: "invalid slug",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A slug made from a name: `Villa Crespo Ñuñoa` → `villa-crespo-nunoa`. Letters lose
    /// their accents, anything else becomes one hyphen; `None` if nothing usable is left.
    pub fn from_name(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            let plain = match c {
                'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
                'ú' | 'ù' | 'û' | 'ü' => 'u',
                'ñ' => 'n',
                'ç' => 'c',
                c => c,
            };
            if plain.is_ascii_lowercase() || plain.is_ascii_digit() {
                out.push(plain);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.truncate(40);
        Self::parse(out.trim_end_matches('-')).ok()
    }
}

/// A branch of the chain. Its time zone shows and interprets every local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub id: BranchId,
    pub slug: Slug,
    pub name: Text,
    pub address: Text,
    pub phone: Option<Phone>,
    /// IANA name, checked against the tz database on construction.
    pub time_zone: String,
    pub active: bool,
}

impl Branch {
    /// The branch's time zone. Validated when the branch was created, so a failure here
    /// means the tz database lost a zone: fall back to Buenos Aires rather than fail.
    pub fn tz(&self) -> jiff::tz::TimeZone {
        super::time::time_zone(&self.time_zone)
            .or_else(|_| super::time::time_zone(DEFAULT_TZ))
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// Argentina's time zone, the default everywhere.
pub const DEFAULT_TZ: &str = "America/Argentina/Buenos_Aires";

/// Something a barber does: a haircut, a beard trim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: Text,
    pub duration_minutes: u16,
    /// Time blocked after the service (cleaning, preparation); not billed.
    pub buffer_minutes: u16,
    pub price: Money,
    pub active: bool,
    /// A category for commission rules ("Cortes", "Barba"); rows written before it read `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Text>,
}

impl Service {
    pub fn validate_durations(duration: u16, buffer: u16) -> Result<(), DomainError> {
        if !(5..=480).contains(&duration) || buffer > 120 {
            return Err(DomainError::InvalidField {
                field: "duration_minutes",
                reason: "format",
            });
        }
        Ok(())
    }
}

/// One weekday's work at one branch, with breaks (lunch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// ISO weekday: Monday = 1 … Sunday = 7.
    pub weekday: u8,
    pub branch: BranchId,
    pub start: ClockTime,
    pub end: ClockTime,
    #[serde(default)]
    pub breaks: Vec<(ClockTime, ClockTime)>,
}

impl Shift {
    /// A shift whose breaks lie inside it and whose times are in order.
    pub fn new(
        weekday: u8,
        branch: BranchId,
        start: ClockTime,
        end: ClockTime,
        breaks: Vec<(ClockTime, ClockTime)>,
    ) -> Result<Self, DomainError> {
        let bad = DomainError::InvalidField {
            field: "shift",
            reason: "format",
        };
        if !(1..=7).contains(&weekday) || start >= end {
            return Err(bad);
        }
        if breaks
            .iter()
            .any(|(bs, be)| bs >= be || *bs < start || *be > end)
        {
            return Err(bad);
        }
        Ok(Self {
            weekday,
            branch,
            start,
            end,
            breaks,
        })
    }
}

/// A barber, the services they do, and where and when they work.
impl Shift {
    /// Whether `[from, to)` (minutes after local midnight) lies inside the shift and clear of
    /// its breaks.
    pub fn holds(&self, from: i64, to: i64) -> bool {
        from >= self.start.minutes()
            && to <= self.end.minutes()
            && self
                .breaks
                .iter()
                .all(|(bs, be)| to <= bs.minutes() || from >= be.minutes())
    }

    /// Whether two shifts of one barber on the same weekday overlap.
    pub fn overlaps(&self, other: &Shift) -> bool {
        self.weekday == other.weekday
            && self.start.minutes() < other.end.minutes()
            && other.start.minutes() < self.end.minutes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barber {
    pub id: BarberId,
    pub name: Text,
    pub active: bool,
    pub services: Vec<ServiceId>,
    pub shifts: Vec<Shift>,
}

impl Barber {
    pub fn works_at(&self, branch: BranchId) -> bool {
        self.active && self.shifts.iter().any(|s| s.branch == branch)
    }

    pub fn does_all(&self, services: &[ServiceId]) -> bool {
        services.iter().all(|s| self.services.contains(s))
    }

    /// The shifts on an ISO weekday at a branch.
    pub fn shifts_on(&self, weekday: u8, branch: BranchId) -> impl Iterator<Item = &Shift> {
        self.shifts
            .iter()
            .filter(move |s| s.weekday == weekday && s.branch == branch)
    }
}

/// Who a closure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ClosureScope {
    /// The whole branch is closed (a holiday).
    Branch(BranchId),
    /// One barber is off (time off, wherever they would work).
    Barber(BarberId),
}

/// A period in which nobody (or one barber) takes bookings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub id: ClosureId,
    pub scope: ClosureScope,
    pub start: Timestamp,
    pub end: Timestamp,
    pub reason: Text,
}

/// When a closure applies, as the owner says it: in the branch's local time, either whole
/// days or part of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureSpan {
    /// From the start of `from` to the end of `to` (inclusive).
    Days { from: Date, to: Date },
    /// `[from, to)` on one day; `to` may be 24:00.
    Hours {
        date: Date,
        from: ClockTime,
        to: ClockTime,
    },
}

impl ClosureSpan {
    /// The closure's instants `[start, end)` in `tz`, or why the span is not one: the last
    /// day before the first, or the end not after the start.
    pub fn instants(&self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), DomainError> {
        let backwards = DomainError::InvalidField {
            field: "closure",
            reason: "ends before it starts",
        };
        match *self {
            Self::Days { from, to } => {
                if to < from {
                    return Err(backwards);
                }
                let after = to.tomorrow().map_err(|_| DomainError::InvalidDate)?;
                Ok((day_start(from, tz)?, day_start(after, tz)?))
            }
            Self::Hours { date, from, to } => {
                if to <= from {
                    return Err(backwards);
                }
                Ok((at(date, from, tz)?, at(date, to, tz)?))
            }
        }
    }

    /// How `[start, end)` reads in `tz`: whole days when both ends are local midnights, part
    /// of a day when both fall on the same day (or the end is that day's midnight), else
    /// `None` (a span over several partial days, which the Catálogo does not create).
    pub fn of(start: Timestamp, end: Timestamp, tz: &TimeZone) -> Option<Self> {
        if end <= start {
            return None;
        }
        let (a, z) = (start.to_zoned(tz.clone()), end.to_zoned(tz.clone()));
        let midnight = |d: Date, t: Timestamp| day_start(d, tz).is_ok_and(|m| m == t);
        let clock = |z: &jiff::Zoned| {
            ClockTime::from_hm(
                u16::from(z.hour().unsigned_abs()),
                u16::from(z.minute().unsigned_abs()),
            )
        };
        if midnight(a.date(), start) && midnight(z.date(), end) {
            let to = z.date().yesterday().ok()?;
            return Some(Self::Days { from: a.date(), to });
        }
        let to = if z.date() == a.date() {
            clock(&z).ok()?
        } else if a.date().tomorrow().ok() == Some(z.date()) && midnight(z.date(), end) {
            ClockTime::from_hm(24, 0).ok()?
        } else {
            return None;
        };
        Some(Self::Hours {
            date: a.date(),
            from: clock(&a).ok()?,
            to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ClockTime {
        s.parse().expect("valid time")
    }

    #[test]
    fn slugs_are_url_safe_and_made_from_names() {
        for good in ["palermo", "villa-crespo", "sucursal-2", "a"] {
            assert!(Slug::parse(good).is_ok(), "{good:?}");
        }
        let long = "a".repeat(41);
        for bad in [
            "",
            "Palermo",
            "-palermo",
            "palermo-",
            "villa crespo",
            "ñuñoa",
            &long,
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
        let from = |name: &str| Slug::from_name(name).map(|s| s.as_str().to_owned());
        assert_eq!(from("Villa Crespo"), Some("villa-crespo".into()));
        assert_eq!(
            from("  BarberPro — Ñuñoa (Centro) "),
            Some("barberpro-nunoa-centro".into())
        );
        assert_eq!(from("Güemes 2"), Some("guemes-2".into()));
        assert_eq!(from("¡¿?!"), None);
        let made = from(&"Sucursal muy larga ".repeat(5)).expect("a slug");
        assert!(made.len() <= 40 && !made.ends_with('-'), "{made}");
    }

    #[test]
    fn closure_spans_are_local_and_read_back_the_way_they_were_given() {
        let tz = TimeZone::get(DEFAULT_TZ).expect("zone");
        let d = |s: &str| s.parse::<Date>().expect("date");
        let days = ClosureSpan::Days {
            from: d("2027-03-02"),
            to: d("2027-03-03"),
        };
        let (start, end) = days.instants(&tz).expect("valid");
        assert_eq!(start.to_string(), "2027-03-02T03:00:00Z");
        assert_eq!(end.to_string(), "2027-03-04T03:00:00Z");
        assert_eq!(ClosureSpan::of(start, end, &tz), Some(days));

        let hours = ClosureSpan::Hours {
            date: d("2027-03-02"),
            from: t("14:00"),
            to: t("16:30"),
        };
        let (start, end) = hours.instants(&tz).expect("valid");
        assert_eq!(start.to_string(), "2027-03-02T17:00:00Z");
        assert_eq!(end.to_string(), "2027-03-02T19:30:00Z");
        assert_eq!(ClosureSpan::of(start, end, &tz), Some(hours));
        let evening = ClosureSpan::Hours {
            date: d("2027-03-02"),
            from: t("18:00"),
            to: t("24:00"),
        };
        let (start, end) = evening.instants(&tz).expect("valid");
        assert_eq!(ClosureSpan::of(start, end, &tz), Some(evening));
        // Another zone reads the same instants differently.
        let utc = TimeZone::UTC;
        let (start, end) = hours.instants(&utc).expect("valid");
        assert_eq!(start.to_string(), "2027-03-02T14:00:00Z");
        assert_eq!(end.to_string(), "2027-03-02T16:30:00Z");

        for backwards in [
            ClosureSpan::Days {
                from: d("2027-03-03"),
                to: d("2027-03-02"),
            },
            ClosureSpan::Hours {
                date: d("2027-03-02"),
                from: t("16:00"),
                to: t("14:00"),
            },
            ClosureSpan::Hours {
                date: d("2027-03-02"),
                from: t("14:00"),
                to: t("14:00"),
            },
        ] {
            assert!(backwards.instants(&tz).is_err(), "{backwards:?}");
        }
        // Two partial days are neither form.
        let (a, _) = hours.instants(&tz).expect("valid");
        let z = a + jiff::SignedDuration::from_hours(26);
        assert_eq!(ClosureSpan::of(a, z, &tz), None);
    }

    #[test]
    fn a_shift_holds_what_fits_between_its_ends_and_clear_of_breaks() {
        let shift = Shift::new(
            2,
            BranchId(1),
            t("10:00"),
            t("20:00"),
            vec![(t("13:00"), t("14:00"))],
        )
        .expect("valid shift");
        let m = |s: &str| t(s).minutes();
        assert!(shift.holds(m("10:00"), m("10:35")));
        assert!(shift.holds(m("14:00"), m("20:00")));
        assert!(
            shift.holds(m("12:00"), m("13:00")),
            "ends as the break starts"
        );
        assert!(
            !shift.holds(m("09:45"), m("10:15")),
            "starts before the shift"
        );
        assert!(!shift.holds(m("19:45"), m("20:20")), "ends after the shift");
        assert!(!shift.holds(m("12:45"), m("13:15")), "runs into the break");
        let other = Shift::new(2, BranchId(2), t("19:00"), t("21:00"), vec![]).expect("valid");
        assert!(shift.overlaps(&other));
        let next_day = Shift::new(3, BranchId(2), t("19:00"), t("21:00"), vec![]).expect("valid");
        assert!(!shift.overlaps(&next_day));
    }
}
