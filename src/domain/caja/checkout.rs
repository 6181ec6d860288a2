//! A checkout (cobro): the services done and products sold, a discount with its reason, the
//! tip, the deposit already paid, and how the rest was paid. [`Checkout::new`] is the only way
//! to make one, so a `Checkout` always adds up:
//!
//! * subtotal = services + products (unit price × quantity);
//! * total = subtotal − discount + tip (the discount never exceeds the subtotal; the tip is
//!   never discounted);
//! * deposit credited = min(deposit paid online, total); due = total − deposit credited;
//! * the payments (each above zero) add up to exactly what is due.
//!
//! The discount is spread over the lines in proportion to their amounts, to the centavo, by
//! largest remainder ([`allocate`]); commissions are computed on what each line brought in.

use serde::{Deserialize, Serialize};

use super::{CajaError, ProductId};
use crate::domain::{Money, ServiceId, Text};

/// How a client paid. (A deposit paid online is credited apart: [`Checkout::deposit`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Efectivo,
    Debito,
    Credito,
    Transferencia,
    MercadoPago,
}

impl PaymentMethod {
    pub const ALL: [Self; 5] = [
        Self::Efectivo,
        Self::Debito,
        Self::Credito,
        Self::Transferencia,
        Self::MercadoPago,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Efectivo => "efectivo",
            Self::Debito => "debito",
            Self::Credito => "credito",
            Self::Transferencia => "transferencia",
            Self::MercadoPago => "mercado_pago",
        }
    }

    pub fn label_es(self) -> &'static str {
        match self {
            Self::Efectivo => "Efectivo",
            Self::Debito => "Débito",
            Self::Credito => "Crédito",
            Self::Transferencia => "Transferencia",
            Self::MercadoPago => "MercadoPago",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

/// A service done, at the price charged (the catalogue's, taken when charged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLine {
    pub service: ServiceId,
    pub name: Text,
    pub price: Money,
}

/// Units of a product sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductLine {
    pub product: ProductId,
    pub name: Text,
    pub unit_price: Money,
    pub qty: u32,
}

impl ProductLine {
    pub const MAX_QTY: u32 = 999;

    pub fn amount(&self) -> i64 {
        self.unit_price.centavos() * i64::from(self.qty)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub amount: Money,
    pub reason: Text,
}

/// One payment of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    pub method: PaymentMethod,
    pub amount: Money,
}

/// What the desk entered, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub services: Vec<ServiceLine>,
    pub products: Vec<ProductLine>,
    pub discount: Option<Discount>,
    pub tip: Money,
    /// The booking's deposit, approved online (zero for a walk-in).
    pub deposit: Money,
    pub tenders: Vec<Tender>,
}

/// A checkout that adds up (see the module's rules). Stored inside its ledger entry and never
/// changed afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    pub services: Vec<ServiceLine>,
    pub products: Vec<ProductLine>,
    pub discount: Option<Discount>,
    pub tip: Money,
    /// The deposit credited (at most the total).
    pub deposit: Money,
    pub tenders: Vec<Tender>,
    pub subtotal: Money,
    pub total: Money,
}

impl Checkout {
    pub fn new(d: Draft) -> Result<Self, CajaError> {
        if d.services.is_empty() && d.products.is_empty() {
            return Err(CajaError::NothingCharged);
        }
        if d.products
            .iter()
            .any(|p| p.qty == 0 || p.qty > ProductLine::MAX_QTY)
        {
            return Err(CajaError::InvalidQuantity);
        }
        let subtotal: i64 = d.services.iter().map(|s| s.price.centavos()).sum::<i64>()
            + d.products.iter().map(ProductLine::amount).sum::<i64>();
        let subtotal = Money::from_centavos(subtotal).map_err(|_| CajaError::TooLarge)?;
        let discount = d.discount.as_ref().map_or(0, |x| x.amount.centavos());
        if discount > subtotal.centavos() {
            return Err(CajaError::DiscountOverTotal);
        }
        let total = Money::from_centavos(subtotal.centavos() - discount + d.tip.centavos())
            .map_err(|_| CajaError::TooLarge)?;
        let deposit = d.deposit.min(total);
        let due = total.centavos() - deposit.centavos();
        if d.tenders.iter().any(|t| t.amount.centavos() == 0) {
            return Err(CajaError::ZeroPayment);
        }
        let paid: i64 = d.tenders.iter().map(|t| t.amount.centavos()).sum();
        if paid != due {
            return Err(CajaError::PaymentsDontAddUp { paid, due });
        }
        Ok(Self {
            services: d.services,
            products: d.products,
            discount: d.discount.filter(|x| x.amount.centavos() > 0),
            tip: d.tip,
            deposit,
            tenders: d.tenders,
            subtotal,
            total,
        })
    }

    /// What the shop sold: subtotal − discount (the tip is the barber's, not a sale).
    pub fn sales(&self) -> i64 {
        self.subtotal.centavos() - self.discount_amount()
    }

    pub fn discount_amount(&self) -> i64 {
        self.discount.as_ref().map_or(0, |d| d.amount.centavos())
    }

    /// Cash received at the till.
    pub fn cash(&self) -> i64 {
        self.paid_by(PaymentMethod::Efectivo)
    }

    pub fn paid_by(&self, method: PaymentMethod) -> i64 {
        self.tenders
            .iter()
            .filter(|t| t.method == method)
            .map(|t| t.amount.centavos())
            .sum()
    }

    /// What each line brought in after its share of the discount: services first, then
    /// products, in their order.
    pub fn line_bases(&self) -> Vec<i64> {
        let weights: Vec<i64> = self
            .services
            .iter()
            .map(|s| s.price.centavos())
            .chain(self.products.iter().map(ProductLine::amount))
            .collect();
        let shares = allocate(self.discount_amount(), &weights);
        weights.iter().zip(shares).map(|(w, s)| w - s).collect()
    }
}

/// Splits `amount` (≤ the weights' sum) over `weights` in proportion, to the centavo: each
/// gets the floor of its exact share, and the centavos left over go one each to the largest
/// remainders (ties to the earlier line). The shares add up to `amount` and none exceeds its
/// weight.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i64 = weights.iter().sum();
    if total <= 0 || amount <= 0 {
        return vec![0; weights.len()];
    }
    let amount = amount.min(total);
    let exact: Vec<(i64, i64)> = weights
        .iter()
        .map(|w| {
            let num = i128::from(amount) * i128::from(*w);
            let t = i128::from(total);
            ((num / t) as i64, (num % t) as i64)
        })
        .collect();
    let mut shares: Vec<i64> = exact.iter().map(|(q, _)| *q).collect();
    let mut left = amount - shares.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn money(c: i64) -> Money {
        Money::from_centavos(c).unwrap()
    }

    pub fn service(id: u64, price: i64) -> ServiceLine {
        ServiceLine {
            service: ServiceId(id),
            name: Text::from_static("Corte"),
            price: money(price),
        }
    }

    fn product(id: u64, unit: i64, qty: u32) -> ProductLine {
        ProductLine {
            product: ProductId(id),
            name: Text::from_static("Pomada"),
            unit_price: money(unit),
            qty,
        }
    }

    fn cash(c: i64) -> Tender {
        Tender {
            method: PaymentMethod::Efectivo,
            amount: money(c),
        }
    }

    #[test]
    fn a_walk_in_with_a_product_a_tip_and_a_split_payment_adds_up() {
        let c = Checkout::new(Draft {
            services: vec![service(1, 1_000_000)],
            products: vec![product(1, 450_000, 2)],
            discount: Some(Discount {
                amount: money(100_000),
                reason: Text::from_static("cliente frecuente"),
            }),
            tip: money(150_000),
            deposit: money(0),
            tenders: vec![
                cash(1_000_000),
                Tender {
                    method: PaymentMethod::Debito,
                    amount: money(950_000),
                },
            ],
        })
        .expect("adds up");
        assert_eq!(c.subtotal.centavos(), 1_900_000);
        assert_eq!(c.total.centavos(), 1_950_000);
        assert_eq!(c.sales(), 1_800_000);
        assert_eq!(c.cash(), 1_000_000);
        // 100.000 spread over 1.000.000 and 900.000: 52.631,57… and 47.368,42…
        assert_eq!(c.line_bases(), vec![947_368, 852_632]);
    }

    #[test]
    fn the_deposit_is_credited_and_never_more_than_the_total() {
        let d = |deposit, paid| Draft {
            services: vec![service(1, 500_000)],
            deposit: money(deposit),
            tenders: if paid > 0 { vec![cash(paid)] } else { vec![] },
            ..Draft::default()
        };
        assert_eq!(
            Checkout::new(d(200_000, 300_000)).unwrap().deposit,
            money(200_000)
        );
        // A cheaper service than booked: the deposit covers it all, nothing more is due.
        let c = Checkout::new(d(800_000, 0)).unwrap();
        assert_eq!(c.deposit, money(500_000));
        assert_eq!(
            Checkout::new(d(200_000, 500_000)),
            Err(CajaError::PaymentsDontAddUp {
                paid: 500_000,
                due: 300_000
            })
        );
    }

    #[test]
    fn refuses_what_does_not_add_up() {
        let base = || Draft {
            services: vec![service(1, 500_000)],
            tenders: vec![cash(500_000)],
            ..Draft::default()
        };
        assert_eq!(
            Checkout::new(Draft::default()),
            Err(CajaError::NothingCharged)
        );
        let mut over = base();
        over.discount = Some(Discount {
            amount: money(500_001),
            reason: Text::from_static("x"),
        });
        assert_eq!(Checkout::new(over), Err(CajaError::DiscountOverTotal));
        let mut zero = base();
        zero.tenders.push(cash(0));
        assert_eq!(Checkout::new(zero), Err(CajaError::ZeroPayment));
        let mut under = base();
        under.tenders = vec![cash(499_999)];
        assert!(matches!(
            Checkout::new(under),
            Err(CajaError::PaymentsDontAddUp { .. })
        ));
        let mut qty = base();
        qty.products = vec![product(1, 100, 0)];
        assert_eq!(Checkout::new(qty), Err(CajaError::InvalidQuantity));
    }

    #[test]
    fn allocation_rounds_to_the_largest_remainder() {
        // 10 over three equal lines: 4, 3, 3 (the tie goes to the first).
        assert_eq!(allocate(10, &[10, 10, 10]), vec![4, 3, 3]);
        assert_eq!(allocate(10, &[1, 2, 7]), vec![1, 2, 7]);
        assert_eq!(
            allocate(5, &[1, 2, 7]),
            vec![1, 1, 3],
            "0,5 / 1 / 3,5: the tie of halves goes to the first"
        );
        assert_eq!(allocate(0, &[10, 10]), vec![0, 0]);
        assert_eq!(allocate(20, &[10, 10]), vec![10, 10]);
    }

    proptest! {
        /// The shares add up to the discount, none over its line.
        #[test]
        fn allocation_adds_up(weights in prop::collection::vec(0i64..10_000_000, 1..8), pct in 0i64..=100) {
            let total: i64 = weights.iter().sum();
            let amount = total * pct / 100;
            let shares = allocate(amount, &weights);
            prop_assert_eq!(shares.iter().sum::<i64>(), amount);
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0 && s <= w);
            }
        }

        /// Every checkout made: payments + deposit = total = sales + tip, and the line bases
        /// add up to the sales.
        #[test]
        fn a_checkout_always_adds_up(
            prices in prop::collection::vec(1i64..5_000_000, 0..4),
            units in prop::collection::vec((1i64..500_000, 1u32..5), 0..3),
            disc_pct in 0i64..=100,
            tip in 0i64..500_000,
            deposit in 0i64..2_000_000,
            split in prop::collection::vec(1i64..100, 1..4),
        ) {
            let services: Vec<_> = prices.iter().enumerate().map(|(i, p)| service(i as u64, *p)).collect();
            let products: Vec<_> = units.iter().enumerate().map(|(i, (u, q))| product(i as u64, *u, *q)).collect();
            let subtotal: i64 = prices.iter().sum::<i64>() + units.iter().map(|(u, q)| u * i64::from(*q)).sum::<i64>();
            let discount = subtotal * disc_pct / 100;
            let total = subtotal - discount + tip;
            let due = total - deposit.min(total);
            // Split what is due over the methods by the random weights.
            let weight: i64 = split.iter().sum();
            let mut parts: Vec<i64> = split.iter().map(|w| due * w / weight).collect();
            parts[0] += due - parts.iter().sum::<i64>();
            let tenders: Vec<Tender> = parts.iter().enumerate().filter(|(_, a)| **a > 0).map(|(i, a)| Tender {
                method: PaymentMethod::ALL[i % PaymentMethod::ALL.len()],
                amount: money(*a),
            }).collect();
            let made = Checkout::new(Draft {
                services, products,
                discount: Some(Discount { amount: money(discount), reason: Text::from_static("r") }),
                tip: money(tip), deposit: money(deposit), tenders,
            });
            if subtotal == 0 {
                prop_assert_eq!(made, Err(CajaError::NothingCharged));
            } else {
                let c = made.unwrap();
                let paid: i64 = c.tenders.iter().map(|t| t.amount.centavos()).sum();
                prop_assert_eq!(paid + c.deposit.centavos(), c.total.centavos());
                prop_assert_eq!(c.sales() + c.tip.centavos(), c.total.centavos());
                prop_assert_eq!(c.line_bases().iter().sum::<i64>(), c.sales());
            }
        }
    }
}
