//! Messages to clients about their bookings (WhatsApp templates), as pure rules: which
//! template a change calls for, whether a queued message is still worth sending, and the
//! template's parameters. Adding a template is one [`Template`] variant: the compiler then
//! points at every `match` that must learn it (name key, parameters, relevance).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::{Booking, BookingStatus};

/// A message we send. Stored in the outbox by its `snake_case` name: never rename a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    BookingConfirmed,
    BookingCancelled,
    BookingRescheduled,
    Reminder,
    /// The deposit (seña) was paid; a sixth parameter carries the amount.
    DepositReceived,
    /// The comprobante of a booking's checkout, sent when the client agreed at the desk; a
    /// sixth and a seventh parameter carry its number and total.
    Receipt,
}

impl Template {
    pub const ALL: [Template; 6] = [
        Self::BookingConfirmed,
        Self::BookingCancelled,
        Self::BookingRescheduled,
        Self::Reminder,
        Self::DepositReceived,
        Self::Receipt,
    ];

    /// Stable name: metric label, outbox row, configuration key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingConfirmed => "booking_confirmed",
            Self::BookingCancelled => "booking_cancelled",
            Self::BookingRescheduled => "booking_rescheduled",
            Self::Reminder => "reminder",
            Self::DepositReceived => "deposit_received",
            Self::Receipt => "receipt",
        }
    }

    /// Sent as soon as possible after the change that caused it (its commit→send latency is
    /// measured); the others wait for their due time.
    pub fn is_immediate(self) -> bool {
        !matches!(self, Self::Reminder)
    }

    /// Whether a queued message for `booking` should still go out at `now`. `for_start` is
    /// the booking's start when the message was queued: a booking moved since then has
    /// newer messages of its own. `Err` names the (bounded) reason to drop it.
    pub fn still_relevant(
        self,
        booking: &Booking,
        for_start: Timestamp,
        now: Timestamp,
    ) -> Result<(), &'static str> {
        let cancelled = !booking.status.is_active();
        let moved = booking.start != for_start;
        match self {
            Self::BookingCancelled if booking.status == BookingStatus::Cancelled => Ok(()),
            Self::BookingCancelled => Err("booking_not_cancelled"),
            _ if cancelled => Err("booking_cancelled"),
            Self::BookingConfirmed | Self::DepositReceived | Self::Receipt => Ok(()),
            _ if moved => Err("booking_moved"),
            Self::BookingRescheduled => Ok(()),
            Self::Reminder if booking.status != BookingStatus::Confirmed => Err("booking_started"),
            Self::Reminder if now >= booking.start => Err("too_late"),
            Self::Reminder => Ok(()),
        }
    }

    /// The body parameters, in the order the approved template expects them. Every template
    /// takes the same five: client name, services, branch, date (dd/MM/yyyy), time (HH:mm);
    /// values fixed when the message was queued (a deposit's amount) follow them.
    pub fn params(self, ctx: &NoticeContext<'_>) -> Vec<String> {
        let local = ctx.booking.start.to_zoned(ctx.tz.clone());
        let date = local.strftime("%d/%m/%Y").to_string();
        let time = local.strftime("%H:%M").to_string();
        match self {
            Self::BookingConfirmed
            | Self::BookingCancelled
            | Self::BookingRescheduled
            | Self::Reminder
            | Self::DepositReceived
            | Self::Receipt => vec![
                ctx.client_name.to_owned(),
                ctx.booking.service_names(),
                ctx.branch_name.to_owned(),
                date,
                time,
            ],
        }
    }
}

/// What a template's parameters are made of.
pub struct NoticeContext<'a> {
    pub booking: &'a Booking,
    pub client_name: &'a str,
    pub branch_name: &'a str,
    pub tz: &'a TimeZone,
}

/// The messages a booking change calls for, and the start they are about. `old` is the
/// booking before the change (`None` for a new one).
pub fn for_change(old: Option<&Booking>, new: &Booking) -> Vec<Template> {
    use BookingStatus::*;
    let was = old.map(|b| b.status);
    match (was, new.status) {
        (None | Some(PendingPayment), Confirmed) => vec![Template::BookingConfirmed],
        (Some(Confirmed | CheckedIn), Cancelled) => vec![Template::BookingCancelled],
        (Some(Confirmed), Confirmed) if old.is_some_and(|o| o.start != new.start) => {
            vec![Template::BookingRescheduled]
        }
        _ => Vec::new(),
    }
}

/// Whether a change schedules reminders for `new`'s start (it was confirmed or moved).
pub fn schedules_reminders(old: Option<&Booking>, new: &Booking) -> bool {
    for_change(old, new)
        .iter()
        .any(|t| matches!(t, Template::BookingConfirmed | Template::BookingRescheduled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BarberId, BookingId, BookingSource, BranchId, ClientId, Money};

    fn booking(status: BookingStatus, start: i64) -> Booking {
        let t = |s| Timestamp::from_second(s).unwrap();
        Booking {
            id: BookingId(1),
            branch: BranchId(1),
            barber: BarberId(1),
            client: ClientId(1),
            services: vec![],
            start: t(start),
            end: t(start + 1800),
            busy_until: t(start + 1800),
            status,
            source: BookingSource::Online,
            notes: None,
            cancel_reason: None,
            total: Money::default(),
            manage_token_hash: String::new(),
            created_at: t(0),
            updated_at: t(0),
            undoable_until: None,
        }
    }

    #[test]
    fn changes_call_for_the_right_messages() {
        use BookingStatus::*;
        let confirmed = booking(Confirmed, 100_000);
        assert_eq!(
            for_change(None, &confirmed),
            vec![Template::BookingConfirmed]
        );
        assert!(for_change(None, &booking(PendingPayment, 100_000)).is_empty());
        assert_eq!(
            for_change(Some(&booking(PendingPayment, 100_000)), &confirmed),
            vec![Template::BookingConfirmed]
        );
        assert_eq!(
            for_change(Some(&confirmed), &booking(Cancelled, 100_000)),
            vec![Template::BookingCancelled]
        );
        assert!(
            for_change(Some(&booking(PendingPayment, 1)), &booking(Cancelled, 1)).is_empty(),
            "an unpaid hold that expires was never confirmed to the client"
        );
        assert_eq!(
            for_change(Some(&confirmed), &booking(Confirmed, 200_000)),
            vec![Template::BookingRescheduled]
        );
        assert!(for_change(Some(&confirmed), &booking(CheckedIn, 100_000)).is_empty());
        assert!(schedules_reminders(None, &confirmed));
        assert!(!schedules_reminders(
            Some(&confirmed),
            &booking(Cancelled, 100_000)
        ));
    }

    #[test]
    fn stale_messages_are_dropped() {
        use BookingStatus::*;
        let start = 100_000;
        let at = |s| Timestamp::from_second(s).unwrap();
        let now = at(start - 7200);
        let ok = booking(Confirmed, start);
        assert_eq!(
            Template::Reminder.still_relevant(&ok, at(start), now),
            Ok(())
        );
        assert_eq!(
            Template::Reminder.still_relevant(&booking(Cancelled, start), at(start), now),
            Err("booking_cancelled")
        );
        assert_eq!(
            Template::Reminder.still_relevant(&ok, at(start - 3600), now),
            Err("booking_moved")
        );
        assert_eq!(
            Template::Reminder.still_relevant(&ok, at(start), at(start)),
            Err("too_late")
        );
        assert_eq!(
            Template::BookingCancelled.still_relevant(&booking(Cancelled, start), at(1), now),
            Ok(())
        );
        assert_eq!(
            Template::BookingConfirmed.still_relevant(&booking(Cancelled, start), at(start), now),
            Err("booking_cancelled")
        );
        assert_eq!(
            Template::BookingRescheduled.still_relevant(&ok, at(start - 900), now),
            Err("booking_moved")
        );
    }

    #[test]
    fn parameters_are_es_ar_dates_and_24h_times() {
        let tz = crate::domain::time::time_zone("America/Argentina/Buenos_Aires").unwrap();
        // 2027-03-02 17:30 UTC = 14:30 in Buenos Aires.
        let b = booking(BookingStatus::Confirmed, 1_804_008_600);
        let ctx = NoticeContext {
            booking: &b,
            client_name: "Juan",
            branch_name: "Palermo",
            tz: &tz,
        };
        let p = Template::Reminder.params(&ctx);
        assert_eq!(p[0], "Juan");
        assert_eq!(p[2], "Palermo");
        assert_eq!(&p[3..], ["02/03/2027", "14:30"]);
    }
}
