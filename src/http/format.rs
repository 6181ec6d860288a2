//! es-AR formats of dates and times, the same on the admin's pages and the clients' booking
//! pages: `02/03/2027`, `martes 02/03/2027`, `14:30`, `lun 1 mar 10:32`; and of sizes and
//! durations (`12,3 MB`, `1,5 s`).

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Monday first, as ISO numbers them (`DAYS[n - 1]` for weekday `n`).
pub const WEEKDAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];

/// `02/03/2027`.
pub fn date(d: Date) -> String {
    d.strftime("%d/%m/%Y").to_string()
}

/// A date as a form sends it: `2027-03-02` (a date input) or `02/03/2027` (typed, where the
/// browser offers a plain text box).
pub fn parse_date(raw: &str) -> Option<Date> {
    let raw = raw.trim();
    if let Ok(d) = raw.parse::<Date>() {
        return Some(d);
    }
    let mut parts = raw.split('/');
    let (Some(d), Some(m), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if y.len() != 4 {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

/// `martes 02/03/2027`.
pub fn long_date(d: Date) -> String {
    let weekday = WEEKDAYS[usize::from(d.weekday().to_monday_zero_offset().unsigned_abs())];
    format!("{weekday} {}", date(d))
}

/// `14:30`, in the branch's zone.
pub fn time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

/// `02/03/2027 14:30`, in the branch's zone.
pub fn date_time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone())
        .strftime("%d/%m/%Y %H:%M")
        .to_string()
}

/// `lun 1 mar 10:32`, in the zone: when something happened, in a list of events.
pub fn short_date_time(ts: Timestamp, tz: &TimeZone) -> String {
    const DAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];
    const MONTHS: [&str; 12] = [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
    ];
    let z = ts.to_zoned(tz.clone());
    let day = DAYS[usize::from(z.weekday().to_monday_zero_offset().unsigned_abs())];
    let month = MONTHS[usize::from(z.month().unsigned_abs()).saturating_sub(1) % 12];
    format!("{day} {} {month} {}", z.day(), z.strftime("%H:%M"))
}

/// `martes 2/3 10:00`, in the zone: a booking's time in a sentence.
pub fn weekday_date_time(ts: Timestamp, tz: &TimeZone) -> String {
    let z = ts.to_zoned(tz.clone());
    let day = WEEKDAYS[usize::from(z.weekday().to_monday_zero_offset().unsigned_abs())];
    format!("{day} {}/{} {}", z.day(), z.month(), z.strftime("%H:%M"))
}

/// `12,3 MB` (es-AR decimal comma, powers of 1024).
pub fn bytes_es(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit]).replace('.', ",")
    }
}

/// `1,5 s` or `250 ms`.
pub fn duration_es(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0).replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_bookings_read_the_argentine_way() {
        let tz = TimeZone::get("America/Argentina/Buenos_Aires").expect("tz");
        let ts: Timestamp = "2027-03-01T13:32:00Z".parse().expect("ts");
        assert_eq!(short_date_time(ts, &tz), "lun 1 mar 10:32");
        let ts: Timestamp = "2027-03-02T13:00:00Z".parse().expect("ts");
        assert_eq!(weekday_date_time(ts, &tz), "martes 2/3 10:00");
    }

    #[test]
    fn dates_and_times_are_es_ar() {
        let d = Date::constant(2027, 3, 2);
        assert_eq!(date(d), "02/03/2027");
        assert_eq!(long_date(d), "martes 02/03/2027");
        let tz = TimeZone::get("America/Argentina/Buenos_Aires").expect("tz");
        let ts: Timestamp = "2027-03-02T17:05:00Z".parse().expect("ts");
        assert_eq!(time(ts, &tz), "14:05");
        assert_eq!(date_time(ts, &tz), "02/03/2027 14:05");
    }

    #[test]
    fn form_dates_are_read_as_iso_or_dd_mm_yyyy() {
        let d = Date::constant(2027, 3, 2);
        for raw in ["2027-03-02", "02/03/2027", " 2/3/2027 "] {
            assert_eq!(parse_date(raw), Some(d), "{raw:?}");
        }
        for bad in [
            "",
            "31/02/2027",
            "03/02/27",
            "2027/03/02",
            "02/03/2027/1",
            "mañana",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
