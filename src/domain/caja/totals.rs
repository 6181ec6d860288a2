//! A day's sums of one branch and one barber, as reports read them: kept up to date with
//! every sale and void (in their write transaction), so a year of reports reads a few
//! thousand small rows instead of every entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Entry;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotals {
    /// Sales less voids.
    pub tickets: i64,
    /// Services + products − discounts (what the shop sold; tips apart).
    pub sales: i64,
    pub discounts: i64,
    pub tips: i64,
    /// Deposits credited (paid online before the day).
    pub deposits: i64,
    /// Payment method (`efectivo`…) → centavos received.
    #[serde(default)]
    pub methods: BTreeMap<String, i64>,
    /// Service id → (times done, centavos after discount).
    #[serde(default)]
    pub services: BTreeMap<u64, (i64, i64)>,
    /// Product id → (units, centavos after discount).
    #[serde(default)]
    pub products: BTreeMap<u64, (i64, i64)>,
}

impl DayTotals {
    /// Adds a sale (or subtracts a voided one); other entries change nothing here.
    pub fn add(&mut self, entry: &Entry) {
        let Some((sale, sign)) = entry.signed_sale() else {
            return;
        };
        let c = &sale.checkout;
        self.tickets += sign;
        self.sales += sign * c.sales();
        self.discounts += sign * c.discount_amount();
        self.tips += sign * c.tip.centavos();
        self.deposits += sign * c.deposit.centavos();
        for t in &c.tenders {
            *self
                .methods
                .entry(t.method.as_str().to_owned())
                .or_default() += sign * t.amount.centavos();
        }
        let bases = c.line_bases();
        for (s, base) in c.services.iter().zip(&bases) {
            let e = self.services.entry(s.service.0).or_default();
            e.0 += sign;
            e.1 += sign * base;
        }
        for (p, base) in c.products.iter().zip(&bases[c.services.len()..]) {
            let e = self.products.entry(p.product.0).or_default();
            e.0 += sign * i64::from(p.qty);
            e.1 += sign * base;
        }
    }

    /// Adds another day's (or barber's) totals to these.
    pub fn merge(&mut self, other: &DayTotals) {
        self.tickets += other.tickets;
        self.sales += other.sales;
        self.discounts += other.discounts;
        self.tips += other.tips;
        self.deposits += other.deposits;
        for (k, v) in &other.methods {
            *self.methods.entry(k.clone()).or_default() += v;
        }
        for (k, (n, a)) in &other.services {
            let e = self.services.entry(*k).or_default();
            e.0 += n;
            e.1 += a;
        }
        for (k, (n, a)) in &other.products {
            let e = self.products.entry(*k).or_default();
            e.0 += n;
            e.1 += a;
        }
    }
}
