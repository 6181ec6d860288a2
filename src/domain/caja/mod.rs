//! La caja, as pure rules: what the front desk charges (a checkout's lines, discount, tip,
//! deposit credit and payment split), amounts typed in pesos, barbers' commissions, the till's
//! expected cash, and the ledger's entries. No I/O; `store::ledger` keeps the entries.
//!
//! Money is integer centavos ([`Money`](super::Money), never negative); differences (a till's
//! surplus or shortfall, a voided line) are signed centavos (`i64`).

pub mod amount;
pub mod checkout;
pub mod commission;
mod error;
pub mod ledger;
pub mod mp_link;
pub mod till;
pub mod totals;

pub use amount::{format_signed, parse_pesos};
pub use checkout::{Checkout, Discount, Draft, PaymentMethod, ProductLine, ServiceLine, Tender};
pub use commission::{CommissionLine, CommissionRules, Rate};
pub use error::CajaError;
pub use ledger::{Advance, CashKind, CashMove, Entry, EntryKind, Sale, Void};
pub use mp_link::{LinkChange, MpLink};
pub use till::{Till, TillClose};
pub use totals::DayTotals;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::catalog::id_type;

id_type!(
    /// Identifies a ledger entry (a sale, a void, a cash movement, an advance).
    EntryId
);
id_type!(
    /// Identifies a product of the chain's catalogue.
    ProductId
);

/// A local day as the index keys sort it: `yyyymmdd` (2027-03-01 → 20270301).
pub fn day_key(d: Date) -> u32 {
    // Years are 1..=9999 in a civil date: the product fits in u32.
    (d.year() as u32) * 10_000 + (d.month() as u32) * 100 + d.day() as u32
}

/// The day a [`day_key`] names, if it names one.
pub fn day_from_key(key: u32) -> Option<Date> {
    let year = i16::try_from(key / 10_000).ok()?;
    Date::new(year, ((key / 100) % 100) as i8, (key % 100) as i8).ok()
}

/// A product the shops sell (pomade, shampoo…): chain-wide name and price; the stock is per
/// branch (`store::products`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub name: super::Text,
    pub price: super::Money,
    /// At or below this many units a branch's stock is shown as low on the desk.
    pub low_stock: u32,
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_keys_sort_like_days_and_read_back() {
        let a = jiff::civil::date(2026, 12, 31);
        let b = jiff::civil::date(2027, 1, 1);
        assert!(day_key(a) < day_key(b));
        assert_eq!(day_key(b), 20270101);
        assert_eq!(day_from_key(day_key(a)), Some(a));
        assert_eq!(day_from_key(20271301), None, "month 13 is no day");
    }
}
