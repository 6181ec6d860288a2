//! Business counters of bookings and clients, by branch (counted after the change commits).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::registry::Registry;

use super::Metrics;
use crate::domain::{BookingSource, BookingStatus};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CreatedLabels {
    pub branch: String,
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    pub branch: String,
    pub status: String,
}

impl Metrics {
    pub(super) fn register_bookings(&self, r: &mut Registry) {
        r.register(
            "barberpro_bookings_created",
            "Bookings created, by branch and source",
            self.bookings_created.clone(),
        );
        r.register(
            "barberpro_booking_transitions",
            "Booking status changes (cancelled, checked_in, completed, no_show), by branch",
            self.booking_transitions.clone(),
        );
        r.register(
            "barberpro_clients_created",
            "New clients (first booking with a phone number)",
            self.clients_created.clone(),
        );
    }

    pub fn booking_created(&self, branch: &str, source: BookingSource) {
        self.bookings_created
            .get_or_create(&CreatedLabels {
                branch: branch.to_owned(),
                source: source.as_str().to_owned(),
            })
            .inc();
    }

    /// A booking moved to `status` (counted after the change is committed).
    pub fn booking_transition(&self, branch: &str, status: BookingStatus) {
        self.booking_transitions
            .get_or_create(&TransitionLabels {
                branch: branch.to_owned(),
                status: status.as_str().to_owned(),
            })
            .inc();
    }

    /// Makes a branch's series exist at 0 (called for every branch at start-up).
    pub fn init_branch(&self, branch: &str) {
        for source in [
            BookingSource::Online,
            BookingSource::WalkIn,
            BookingSource::Phone,
        ] {
            let _ = self.bookings_created.get_or_create(&CreatedLabels {
                branch: branch.to_owned(),
                source: source.as_str().to_owned(),
            });
        }
        for status in [
            BookingStatus::Cancelled,
            BookingStatus::CheckedIn,
            BookingStatus::Completed,
            BookingStatus::NoShow,
        ] {
            let _ = self.booking_transitions.get_or_create(&TransitionLabels {
                branch: branch.to_owned(),
                status: status.as_str().to_owned(),
            });
        }
        self.caja.init_branch(branch);
    }
}
