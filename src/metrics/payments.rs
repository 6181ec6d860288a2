//! Deposits (MercadoPago) by state and refunds by outcome, with their amounts in centavos.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::registry::Registry;

use super::Metrics;
use crate::domain::{Money, PaymentState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

impl Metrics {
    /// Every state and outcome exists from the start (at 0).
    pub(super) fn register_payments(&self, r: &mut Registry) {
        for state in PaymentState::ALL {
            let status = state.as_str();
            let _ = self.payments.get_or_create(&StatusLabels { status });
            let _ = self.payments_amount.get_or_create(&StatusLabels { status });
        }
        for status in ["requested", "approved", "failed"] {
            let _ = self.refunds.get_or_create(&StatusLabels { status });
            let _ = self.refunds_amount.get_or_create(&StatusLabels { status });
        }
        r.register(
            "barberpro_payments",
            "Deposits (MercadoPago) reaching each state",
            self.payments.clone(),
        );
        r.register(
            "barberpro_payments_amount_centavos",
            "Sum of the deposits reaching each state, in ARS centavos",
            self.payments_amount.clone(),
        );
        r.register(
            "barberpro_refunds",
            "Deposit refunds by outcome (requested, approved, failed)",
            self.refunds.clone(),
        );
        r.register(
            "barberpro_refunds_amount_centavos",
            "Sum of the deposit refunds by outcome, in ARS centavos",
            self.refunds_amount.clone(),
        );
    }

    /// A deposit reached `state` (counted after the change is committed).
    pub fn payment_state(&self, state: PaymentState, amount: Money) {
        let labels = StatusLabels {
            status: state.as_str(),
        };
        self.payments.get_or_create(&labels).inc();
        self.payments_amount
            .get_or_create(&labels)
            .inc_by(u64::try_from(amount.centavos()).unwrap_or(0));
    }

    fn refund(&self, status: &'static str, amount: Money) {
        let labels = StatusLabels { status };
        self.refunds.get_or_create(&labels).inc();
        self.refunds_amount
            .get_or_create(&labels)
            .inc_by(u64::try_from(amount.centavos()).unwrap_or(0));
    }

    /// A refund is sent to MercadoPago for the first time.
    pub fn refund_requested(&self, amount: Money) {
        self.refund("requested", amount);
    }

    /// MercadoPago accepted (or refused for good) a refund.
    pub fn refund_done(&self, approved: bool, amount: Money) {
        self.refund(if approved { "approved" } else { "failed" }, amount);
    }
}
