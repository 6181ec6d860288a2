//! A booking as an iCalendar file (RFC 5545), for the confirmation page's "Agregar al
//! calendario" and the confirmation e-mail's attachment: one VEVENT whose times are in UTC
//! (`…Z`), so every calendar places it right whatever its own zone, with no VTIMEZONE to get
//! wrong. Lines end in CRLF and are folded at 75 octets; text is escaped.

use jiff::Timestamp;

use crate::domain::public_id::PublicId;
use crate::domain::{Booking, Branch};

/// The calendar file of booking `b` at `branch` with `barber`; its UID holds the public id
/// and the host of `public_url`, so a second download updates the same event.
pub fn booking(
    b: &Booking,
    public_id: &PublicId,
    branch: &Branch,
    barber: &str,
    now: Timestamp,
    public_url: &str,
) -> String {
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or("barberpro")
        .trim_end_matches('/');
    let services: Vec<&str> = b.services.iter().map(|s| s.name.as_str()).collect();
    let summary = format!("{} en {}", services.join(", "), branch.name.as_str());
    let phone = branch
        .phone
        .as_ref()
        .map(|p| format!(" o llamá al {}", p.national()))
        .unwrap_or_default();
    let description = format!(
        "Con {barber}. Total: {}.\nPara cambiarlo o cancelarlo, usá el enlace de tu turno{phone}.",
        b.total
    );
    calendar(&Event {
        uid: format!("turno-{public_id}@{host}"),
        start: b.start,
        end: b.end,
        stamp: now,
        summary: &summary,
        location: &format!("{}, {}", branch.name.as_str(), branch.address.as_str()),
        description: &description,
    })
}

/// What the event says.
pub struct Event<'a> {
    /// A stable id: the same booking downloaded twice updates one event.
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub stamp: Timestamp,
    pub summary: &'a str,
    pub location: &'a str,
    pub description: &'a str,
}

fn utc(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT value escaping: backslash, semicolon, comma and newlines.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (never inside a UTF-8 character), CRLF-terminated.
fn push_folded(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// The calendar file of one event.
pub fn calendar(e: &Event<'_>) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".into(),
        "PRODID:-//BarberPro//Turnos//ES".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}", e.uid),
        format!("DTSTAMP:{}", utc(e.stamp)),
        format!("DTSTART:{}", utc(e.start)),
        format!("DTEND:{}", utc(e.end)),
        format!("SUMMARY:{}", escape(e.summary)),
        format!("LOCATION:{}", escape(e.location)),
        format!("DESCRIPTION:{}", escape(e.description)),
        "STATUS:CONFIRMED".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ] {
        push_folded(&mut out, &line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_crlf_folded_and_escaped() {
        let start: Timestamp = "2027-03-01T10:00:00-03:00".parse().unwrap();
        let long = "Corte clásico, Barba; Afeitado con navaja ".repeat(4);
        let ics = calendar(&Event {
            uid: "booking-7@barberpro".into(),
            start,
            end: start + jiff::SignedDuration::from_mins(30),
            stamp: start,
            summary: &long,
            location: "Av. Santa Fe 3456, CABA",
            description: "Línea 1\nLínea 2",
        });
        assert!(ics.contains("DTSTART:20270301T130000Z\r\n"), "{ics}");
        assert!(ics.contains("LOCATION:Av. Santa Fe 3456\\, CABA\r\n"));
        assert!(ics.contains("DESCRIPTION:Línea 1\\nLínea 2\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            assert!(!line.contains('\n'), "a bare LF in {line:?}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!(
            "SUMMARY:{}",
            long.replace(',', "\\,").replace(';', "\\;")
        )));
    }
}
