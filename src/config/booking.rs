//! `[booking]`: the rules clients book by (slot grid, notice, horizon, cut-off).

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::domain::BookingRules;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingConfig {
    pub slot_step_minutes: u16,
    pub min_notice_minutes: u32,
    pub horizon_days: u16,
    pub cancel_cutoff_hours: u16,
    /// A repeated Idempotency-Key replays its booking for this many hours, then is forgotten.
    pub idempotency_ttl_hours: u16,
    /// Links made before public booking ids carried the internal number: a client's URL may
    /// still name a booking by it until this day starts (in `locale.time_zone`); from then
    /// on a number is "not found".
    pub numeric_ids_until: jiff::civil::Date,
}

/// About 90 days after the release that brought public booking ids.
pub const NUMERIC_IDS_UNTIL: jiff::civil::Date = jiff::civil::date(2027, 3, 8);

impl Default for BookingConfig {
    fn default() -> Self {
        let r = BookingRules::default();
        Self {
            slot_step_minutes: r.slot_step_minutes,
            min_notice_minutes: r.min_notice_minutes,
            horizon_days: r.horizon_days,
            cancel_cutoff_hours: r.cancel_cutoff_hours,
            idempotency_ttl_hours: 24,
            numeric_ids_until: NUMERIC_IDS_UNTIL,
        }
    }
}

impl BookingConfig {
    /// The domain's rules.
    pub fn rules(&self) -> BookingRules {
        BookingRules {
            slot_step_minutes: self.slot_step_minutes,
            min_notice_minutes: self.min_notice_minutes,
            horizon_days: self.horizon_days,
            cancel_cutoff_hours: self.cancel_cutoff_hours,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let step = self.slot_step_minutes;
        if !(5..=120).contains(&step) || !(60 % step == 0 || step.is_multiple_of(60)) {
            return invalid(
                "booking.slot_step_minutes",
                "must divide an hour (5, 10, 15, 20, 30, 60)",
            );
        }
        if self.horizon_days == 0 || self.horizon_days > 366 {
            return invalid("booking.horizon_days", "must be between 1 and 366");
        }
        if self.min_notice_minutes > 60 * 24 * 30 {
            return invalid("booking.min_notice_minutes", "must be at most 30 days");
        }
        if self.cancel_cutoff_hours > 24 * 30 {
            return invalid("booking.cancel_cutoff_hours", "must be at most 720");
        }
        if !(1..=24 * 30).contains(&self.idempotency_ttl_hours) {
            return invalid("booking.idempotency_ttl_hours", "must be between 1 and 720");
        }
        Ok(())
    }
}
