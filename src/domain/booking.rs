//! Bookings and the status machine they follow.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::catalog::id_type;
use super::{BarberId, BranchId, ClientId, DomainError, Money, ServiceId, Text};

id_type!(
    /// Identifies a booking.
    BookingId
);

/// Where a booking is in its life.
///
/// ```text
/// pending_payment ─┬─> confirmed ─┬─> checked_in ──> completed
///                  │              ├─> no_show
///                  └─> cancelled <┴── (checked_in may still be cancelled)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    PendingPayment,
    Confirmed,
    CheckedIn,
    Completed,
    Cancelled,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 6] = [
        Self::PendingPayment,
        Self::Confirmed,
        Self::CheckedIn,
        Self::Completed,
        Self::Cancelled,
        Self::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Confirmed => "confirmed",
            Self::CheckedIn => "checked_in",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    /// The status's code in the barber index (`idx_barber_timeline`, schema 7): stored on
    /// disk, so a code never changes meaning; a new status takes the next free number.
    pub fn code(self) -> u8 {
        match self {
            Self::PendingPayment => 1,
            Self::Confirmed => 2,
            Self::CheckedIn => 3,
            Self::Completed => 4,
            Self::Cancelled => 5,
            Self::NoShow => 6,
        }
    }

    /// The status of a [`code`](Self::code); `None` for a code no status has.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the booking holds its barber's time (and the client's).
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Cancelled | Self::NoShow)
    }

    /// Whether the booking can still be moved to another time.
    pub fn is_reschedulable(self) -> bool {
        matches!(self, Self::PendingPayment | Self::Confirmed)
    }

    /// The legal transitions; everything else is refused.
    pub fn can_become(self, to: BookingStatus) -> bool {
        use BookingStatus::*;
        matches!(
            (self, to),
            (PendingPayment, Confirmed)
                | (PendingPayment, Cancelled)
                | (Confirmed, CheckedIn)
                | (Confirmed, Cancelled)
                | (Confirmed, NoShow)
                | (CheckedIn, Completed)
                | (CheckedIn, Cancelled)
        )
    }

    pub fn transition(self, to: BookingStatus) -> Result<BookingStatus, DomainError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(DomainError::InvalidTransition {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

/// How long before its start a client may be marked as arrived.
pub const ARRIVAL_WINDOW: SignedDuration = SignedDuration::from_mins(30);
/// How long the front desk may undo a status change (a mistaken "no vino", say).
pub const UNDO_WINDOW: SignedDuration = SignedDuration::from_mins(15);

impl BookingStatus {
    /// The first status of a new booking: unpaid while a deposit is due; a walk-in served
    /// now is already in the shop; anything else is confirmed.
    pub fn initial(source: BookingSource, deposit: bool, start: Timestamp, now: Timestamp) -> Self {
        if deposit {
            Self::PendingPayment
        } else if source == BookingSource::WalkIn && arrived_in_time(start, now) {
            Self::CheckedIn
        } else {
            Self::Confirmed
        }
    }

    /// Whether the front desk may move a booking that starts at `start` to `self` at `now`:
    /// arrival from [`ARRIVAL_WINDOW`] before the start; completion and no-show only once it
    /// started (a "no vino" days ahead would free a slot the client still holds).
    pub fn check_timing(self, start: Timestamp, now: Timestamp) -> Result<(), DomainError> {
        let ok = match self {
            Self::CheckedIn => arrived_in_time(start, now),
            Self::Completed | Self::NoShow => now >= start,
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(DomainError::TooEarly { to: self.as_str() })
        }
    }

    /// The status an undone desk change returns to (the machine has one way into each).
    pub fn undo_target(self) -> Option<Self> {
        match self {
            Self::CheckedIn | Self::NoShow => Some(Self::Confirmed),
            Self::Completed => Some(Self::CheckedIn),
            _ => None,
        }
    }
}

fn arrived_in_time(start: Timestamp, now: Timestamp) -> bool {
    start
        .saturating_sub(ARRIVAL_WINDOW)
        .is_ok_and(|from| now >= from)
}

/// Spanish label for a status code, for messages and pages.
pub fn status_label_es(code: &str) -> &'static str {
    match code {
        "pending_payment" => "pendiente de pago",
        "confirmed" => "confirmado",
        "checked_in" => "en el local",
        "completed" => "realizado",
        "cancelled" => "cancelado",
        "no_show" => "ausente",
        _ => "desconocido",
    }
}

/// How the booking reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingSource {
    Online,
    WalkIn,
    Phone,
}

impl BookingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::WalkIn => "walk_in",
            Self::Phone => "phone",
        }
    }
}

/// A service as it was when booked (name and price are kept even if the catalogue changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedService {
    pub id: ServiceId,
    pub name: Text,
    pub duration_minutes: u16,
    pub price: Money,
}

/// An appointment: one barber, one or several services back to back, one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub id: BookingId,
    pub branch: BranchId,
    pub barber: BarberId,
    pub client: ClientId,
    pub services: Vec<BookedService>,
    pub start: Timestamp,
    /// When the last service ends.
    pub end: Timestamp,
    /// When the barber is free again (end plus the services' buffer).
    pub busy_until: Timestamp,
    pub status: BookingStatus,
    pub source: BookingSource,
    pub notes: Option<Text>,
    pub cancel_reason: Option<Text>,
    pub total: Money,
    /// SHA-256 (hex) of the client's manage token; the token itself is never stored.
    pub manage_token_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Until when the front desk may undo the last status change (see [`UNDO_WINDOW`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoable_until: Option<Timestamp>,
}

impl Booking {
    /// The booked services' names, in order, joined for display ("Corte clásico, Barba").
    pub fn service_names(&self) -> String {
        self.services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The busy span of a selection of services: they run back to back, and the barber is blocked
/// afterwards for the longest buffer among them. Returns (service minutes, blocked minutes).
pub fn span_minutes(services: &[(u16, u16)]) -> (i64, i64) {
    let work: i64 = services.iter().map(|(d, _)| i64::from(*d)).sum();
    let buffer = services
        .iter()
        .map(|(_, b)| i64::from(*b))
        .max()
        .unwrap_or(0);
    (work, work + buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingStatus::*;

    #[test]
    fn status_codes_round_trip_and_never_change() {
        // Stored in the barber index: these numbers are a file format.
        let fixed = [
            (PendingPayment, 1),
            (Confirmed, 2),
            (CheckedIn, 3),
            (Completed, 4),
            (Cancelled, 5),
            (NoShow, 6),
        ];
        assert_eq!(
            fixed.len(),
            BookingStatus::ALL.len(),
            "a status has no fixed code"
        );
        for (status, code) in fixed {
            assert_eq!(status.code(), code, "{status:?} changed code");
            assert_eq!(BookingStatus::from_code(code), Some(status));
        }
        assert_eq!(BookingStatus::from_code(0), None);
        assert_eq!(BookingStatus::from_code(7), None);
    }

    #[test]
    fn only_legal_transitions_pass() {
        let legal = [
            (PendingPayment, Confirmed),
            (PendingPayment, Cancelled),
            (Confirmed, CheckedIn),
            (Confirmed, Cancelled),
            (Confirmed, NoShow),
            (CheckedIn, Completed),
            (CheckedIn, Cancelled),
        ];
        for from in BookingStatus::ALL {
            for to in BookingStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn terminal_statuses_free_the_slot() {
        assert!(!Cancelled.is_active());
        assert!(!NoShow.is_active());
        assert!(Completed.is_active());
        assert!(PendingPayment.is_active());
    }

    #[test]
    fn services_run_back_to_back_with_the_longest_buffer_after() {
        assert_eq!(span_minutes(&[(30, 10), (20, 5)]), (50, 60));
        assert_eq!(span_minutes(&[]), (0, 0));
    }
}

/// The chain's booking policy (from the `[booking]` configuration section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRules {
    pub slot_step_minutes: u16,
    pub min_notice_minutes: u32,
    pub horizon_days: u16,
    pub cancel_cutoff_hours: u16,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            slot_step_minutes: 15,
            min_notice_minutes: 60,
            horizon_days: 60,
            cancel_cutoff_hours: 2,
        }
    }
}

impl BookingRules {
    pub fn step_seconds(&self) -> i64 {
        i64::from(self.slot_step_minutes) * 60
    }

    /// The earliest start a booking made `now` may have.
    pub fn earliest(&self, now: Timestamp) -> i64 {
        now.as_second() + i64::from(self.min_notice_minutes) * 60
    }

    /// The last local date open for booking, seen from `today`.
    pub fn last_day(&self, today: jiff::civil::Date) -> jiff::civil::Date {
        today
            .checked_add(jiff::Span::new().days(i64::from(self.horizon_days)))
            .unwrap_or(jiff::civil::Date::MAX)
    }

    /// Refuses a start in the past, sooner than the notice, or beyond the horizon.
    pub fn check_timing(
        &self,
        start: Timestamp,
        now: Timestamp,
        tz: &jiff::tz::TimeZone,
    ) -> Result<(), DomainError> {
        if start <= now {
            return Err(DomainError::InThePast);
        }
        if start.as_second() < self.earliest(now) {
            return Err(DomainError::TooSoon);
        }
        let today = super::time::local_date(now, tz);
        if super::time::local_date(start, tz) > self.last_day(today) {
            return Err(DomainError::BeyondHorizon);
        }
        Ok(())
    }

    /// Whether a client may still cancel or reschedule a booking starting at `start`.
    pub fn client_may_change(&self, start: Timestamp, now: Timestamp) -> Result<(), DomainError> {
        let cutoff = start.as_second() - i64::from(self.cancel_cutoff_hours) * 3600;
        if now.as_second() <= cutoff {
            Ok(())
        } else {
            Err(DomainError::CutoffPassed)
        }
    }
}
