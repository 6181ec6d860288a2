//! Wall-clock helpers: times of day, local days and their instants.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::DomainError;

/// A time of day in minutes after local midnight (`0..=1440`), written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(u16);

impl ClockTime {
    pub fn from_hm(hour: u16, minute: u16) -> Result<Self, DomainError> {
        let m = hour * 60 + minute;
        if minute < 60 && m <= 24 * 60 {
            Ok(Self(m))
        } else {
            Err(DomainError::InvalidField {
                field: "time",
                reason: "format",
            })
        }
    }

    pub fn minutes(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<String> for ClockTime {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ClockTime> for String {
    fn from(t: ClockTime) -> String {
        t.to_string()
    }
}

impl std::str::FromStr for ClockTime {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = DomainError::InvalidField {
            field: "time",
            reason: "format",
        };
        let (h, m) = s.split_once(':').ok_or(bad.clone())?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad);
        }
        let h: u16 = h.parse().map_err(|_| bad.clone())?;
        let m: u16 = m.parse().map_err(|_| bad.clone())?;
        Self::from_hm(h, m)
    }
}

impl std::fmt::Display for ClockTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Looks a time zone up in the tz database (never a fixed offset).
pub fn time_zone(name: &str) -> Result<TimeZone, DomainError> {
    TimeZone::get(name).map_err(|_| DomainError::InvalidField {
        field: "time_zone",
        reason: "invalid time zone",
    })
}

/// The instant of local midnight starting `date` in `tz`.
pub fn day_start(date: Date, tz: &TimeZone) -> Result<Timestamp, DomainError> {
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|_| DomainError::InvalidDate)
}

/// The instant of `time` (minutes after midnight) on `date` in `tz`. 24:00 is next midnight.
pub fn at(date: Date, time: ClockTime, tz: &TimeZone) -> Result<Timestamp, DomainError> {
    let midnight = date
        .to_zoned(tz.clone())
        .map_err(|_| DomainError::InvalidDate)?;
    midnight
        .checked_add(time.minutes().minutes())
        .map(|z| z.timestamp())
        .map_err(|_| DomainError::InvalidDate)
}

/// The local calendar date of an instant.
pub fn local_date(ts: Timestamp, tz: &TimeZone) -> Date {
    ts.to_zoned(tz.clone()).date()
}

/// ISO weekday, Monday = 1 … Sunday = 7.
pub fn iso_weekday(date: Date) -> u8 {
    date.weekday().to_monday_one_offset() as u8
}

/// Formats an instant in a zone as RFC 3339 with the zone's offset (`…T10:00:00-03:00`).
pub fn rfc3339_local(ts: Timestamp, tz: &TimeZone) -> String {
    // Formatted by hand: strftime's parser showed in profiles (two per offered slot). Years
    // outside 0..=9999 and offsets with seconds (old LMT) take strftime's own path.
    let offset = tz.to_offset(ts);
    let dt = offset.to_datetime(ts);
    let secs = offset.seconds();
    if !(0..=9999).contains(&dt.year()) || secs % 60 != 0 {
        return ts
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let minutes = secs.unsigned_abs() / 60;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_local_matches_strftime() {
        let zones = [
            "America/Argentina/Buenos_Aires",
            "UTC",
            "Asia/Kolkata",
            "Europe/Madrid",
        ];
        let instants = [
            0,
            1_764_000_000,
            1_780_000_123,
            -2_000_000_000,
            253_402_200_000,
        ];
        for name in zones {
            let tz = time_zone(name).unwrap();
            for s in instants {
                let ts = Timestamp::from_second(s).unwrap();
                let slow = ts
                    .to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string();
                assert_eq!(rfc3339_local(ts, &tz), slow, "{name} {s}");
            }
        }
    }

    #[test]
    fn buenos_aires_is_utc_minus_three_from_the_tz_database() {
        let tz = time_zone("America/Argentina/Buenos_Aires").unwrap();
        let date = Date::new(2026, 12, 1).unwrap();
        let ts = at(date, "10:30".parse().unwrap(), &tz).unwrap();
        assert_eq!(rfc3339_local(ts, &tz), "2026-12-01T10:30:00-03:00");
        assert_eq!(ts.to_string(), "2026-12-01T13:30:00Z");
    }

    #[test]
    fn clock_times_parse_strictly() {
        assert_eq!("09:05".parse::<ClockTime>().unwrap().minutes(), 545);
        assert_eq!("24:00".parse::<ClockTime>().unwrap().minutes(), 1440);
        for bad in ["9:05", "24:01", "12:60", "ab:cd", "", "12:3"] {
            assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
        }
    }
}
