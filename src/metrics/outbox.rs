//! The notification outbox and WhatsApp messages: send outcomes, delivery latency, queue depth,
//! recovered messages and delivery statuses.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::http::LATENCY_BUCKETS;
use crate::domain::notice::Template;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub template: &'static str,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub status: &'static str,
}

/// The outbox and WhatsApp messages.
pub struct WhatsAppMetrics {
    /// Send outcomes by template: `sent`, `retried`, `dead`, `skipped`.
    pub messages: Family<MessageLabels, Counter>,
    /// From the commit that queued an immediate message to WhatsApp accepting it.
    pub latency: Histogram,
    /// Messages queued or in flight (sampled at scrape time).
    pub depth: Gauge,
    /// How long the oldest due message has waited, seconds (sampled at scrape time).
    pub oldest_due_age: Gauge,
    /// Messages found in flight at start-up (after a crash; each may be sent twice).
    pub recovered: Counter,
    /// Delivery statuses applied from webhooks.
    pub statuses: Family<DeliveryLabels, Counter>,
}

impl WhatsAppMetrics {
    /// Every template's outcomes and every delivery status exist from the start (at 0).
    pub(super) fn new() -> Self {
        let m = Self {
            messages: Family::default(),
            latency: Histogram::new(LATENCY_BUCKETS),
            depth: Gauge::default(),
            oldest_due_age: Gauge::default(),
            recovered: Counter::default(),
            statuses: Family::default(),
        };
        for template in Template::ALL {
            for status in ["sent", "retried", "dead", "skipped"] {
                let _ = m.messages.get_or_create(&MessageLabels {
                    template: template.as_str(),
                    status,
                });
            }
        }
        for status in ["sent", "delivered", "read", "failed"] {
            let _ = m.statuses.get_or_create(&DeliveryLabels { status });
        }
        m
    }

    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "barberpro_whatsapp_messages",
            "WhatsApp send outcomes by template and status (sent, retried, dead, skipped)",
            self.messages.clone(),
        );
        r.register_with_unit(
            "barberpro_whatsapp_delivery_latency",
            "From the commit that queued a message (not reminders) to WhatsApp accepting it",
            Unit::Seconds,
            self.latency.clone(),
        );
        r.register(
            "barberpro_outbox_depth",
            "Outbox messages queued or in flight (future reminders included)",
            self.depth.clone(),
        );
        r.register_with_unit(
            "barberpro_outbox_oldest_due_age",
            "How long the oldest due outbox message has been waiting",
            Unit::Seconds,
            self.oldest_due_age.clone(),
        );
        r.register(
            "barberpro_outbox_recovered",
            "Messages found in flight at start-up after a crash (each may be sent twice)",
            self.recovered.clone(),
        );
        r.register(
            "barberpro_whatsapp_statuses",
            "Delivery statuses from WhatsApp webhooks applied to messages",
            self.statuses.clone(),
        );
    }

    /// One send outcome.
    pub fn outcome(&self, template: Template, status: &'static str) {
        self.messages
            .get_or_create(&MessageLabels {
                template: template.as_str(),
                status,
            })
            .inc();
    }
}
