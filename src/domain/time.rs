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
    LocalStamp::new(ts, tz).as_str().to_owned()
}

/// An instant written as RFC 3339 in a zone's local time with its offset
/// (`2026-12-01T10:00:00-03:00`), held inline: an availability answer writes two per offered
/// slot, and `format!` with a `String` each showed in its profile.
#[derive(Clone, Copy)]
pub struct LocalStamp {
    len: u8,
    buf: [u8; 40],
}

impl LocalStamp {
    pub fn new(ts: Timestamp, tz: &TimeZone) -> Self {
        let mut stamp = Self {
            len: 0,
            buf: [0; 40],
        };
        let offset = tz.to_offset(ts);
        let dt = offset.to_datetime(ts);
        let secs = offset.seconds();
        if (0..=9999).contains(&dt.year()) && secs % 60 == 0 {
            let minutes = secs.unsigned_abs() / 60;
            let sign = if secs < 0 { b'-' } else { b'+' };
            let fields = [
                (dt.year().unsigned_abs().into(), 4, b'-'),
                (dt.month().unsigned_abs().into(), 2, b'-'),
                (dt.day().unsigned_abs().into(), 2, b'T'),
                (dt.hour().unsigned_abs().into(), 2, b':'),
                (dt.minute().unsigned_abs().into(), 2, b':'),
                (dt.second().unsigned_abs().into(), 2, sign),
                (minutes / 60, 2, b':'),
            ];
            for (value, width, then) in fields {
                stamp.push_digits(value, width);
                stamp.push(then);
            }
            stamp.push_digits(minutes % 60, 2);
        } else {
            // Years outside 0..=9999 and offsets with seconds (old LMT) take strftime's path.
            use std::fmt::Write;
            let zoned = ts.to_zoned(tz.clone());
            if write!(stamp, "{}", zoned.strftime("%Y-%m-%dT%H:%M:%S%:z")).is_err() {
                stamp.len = 0;
                let _ = write!(stamp, "{}", ts);
            }
        }
        stamp
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators, or whole `str`s, are ever written.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }

    fn push(&mut self, byte: u8) {
        self.buf[usize::from(self.len)] = byte;
        self.len += 1;
    }

    /// `value` zero-padded to `width` digits (`value < 10^width`).
    fn push_digits(&mut self, value: u32, width: u32) {
        for place in (0..width).rev() {
            // `value / 10^place % 10` is below 10.
            self.push(b'0' + (value / 10u32.pow(place) % 10) as u8);
        }
    }
}

impl std::fmt::Write for LocalStamp {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let start = usize::from(self.len);
        let end = start + s.len();
        let room = self.buf.get_mut(start..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = u8::try_from(end).map_err(|_| std::fmt::Error)?;
        Ok(())
    }
}

impl std::fmt::Display for LocalStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for LocalStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for LocalStamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
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
