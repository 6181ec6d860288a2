//! La caja's business counters: money received by branch and payment method, sales and
//! voids by branch (counted by `app::checkout` after the change commits). A MercadoPago line
//! paid through a link counts when the payments worker marks it paid, not at the sale
//! (`caja::mp_link::line_paid_at`). Counters only grow:
//! a void counts its amounts in `barberpro_revenue_voided_centavos`, so net revenue is the
//! difference of the two rates.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::domain::caja::{Checkout, PaymentMethod};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RevenueLabels {
    pub branch: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CajaBranchLabels {
    pub branch: String,
}

#[derive(Default)]
pub struct CajaMetrics {
    pub revenue: Family<RevenueLabels, Counter>,
    pub revenue_voided: Family<RevenueLabels, Counter>,
    pub sales: Family<CajaBranchLabels, Counter>,
    pub voids: Family<CajaBranchLabels, Counter>,
}

impl CajaMetrics {
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "barberpro_revenue_centavos",
            "Money received at checkout (deposits credited as method \"sena\"), in centavos, by branch and payment method",
            self.revenue.clone(),
        );
        r.register(
            "barberpro_revenue_voided_centavos",
            "Money of voided checkouts, in centavos, by branch and payment method",
            self.revenue_voided.clone(),
        );
        r.register(
            "barberpro_checkouts",
            "Checkouts confirmed, by branch",
            self.sales.clone(),
        );
        r.register(
            "barberpro_checkout_voids",
            "Checkouts voided, by branch",
            self.voids.clone(),
        );
    }

    /// Makes a branch's series exist at 0.
    pub fn init_branch(&self, branch: &str) {
        for m in PaymentMethod::ALL {
            let l = labels(branch, m.as_str());
            let _ = self.revenue.get_or_create(&l);
            let _ = self.revenue_voided.get_or_create(&l);
        }
        let b = CajaBranchLabels {
            branch: branch.to_owned(),
        };
        let _ = self.sales.get_or_create(&b);
        let _ = self.voids.get_or_create(&b);
    }

    /// A checkout confirmed (`voided`: one undone). `mp_received`: its MercadoPago line
    /// counts now (otherwise it counts in [`CajaMetrics::mercadopago_paid`], or never).
    pub fn checkout(&self, branch: &str, c: &Checkout, voided: bool, mp_received: bool) {
        let family = if voided {
            &self.revenue_voided
        } else {
            &self.revenue
        };
        for t in &c.tenders {
            if t.method == PaymentMethod::MercadoPago && !mp_received {
                continue;
            }
            family
                .get_or_create(&labels(branch, t.method.as_str()))
                .inc_by(t.amount.centavos().unsigned_abs());
        }
        if c.deposit.centavos() > 0 {
            family
                .get_or_create(&labels(branch, "sena"))
                .inc_by(c.deposit.centavos().unsigned_abs());
        }
        let b = CajaBranchLabels {
            branch: branch.to_owned(),
        };
        if voided { &self.voids } else { &self.sales }
            .get_or_create(&b)
            .inc();
    }

    /// A sale's MercadoPago line paid through its link: the money arrives now.
    pub fn mercadopago_paid(&self, branch: &str, centavos: i64) {
        self.revenue
            .get_or_create(&labels(branch, PaymentMethod::MercadoPago.as_str()))
            .inc_by(centavos.unsigned_abs());
    }
}

fn labels(branch: &str, method: &str) -> RevenueLabels {
    RevenueLabels {
        branch: branch.to_owned(),
        method: method.to_owned(),
    }
}
