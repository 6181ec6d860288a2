//! La caja: checkouts, voids, the till, products, commissions and reports, through the use
//! cases (`property.rs`) and the admin's pages and forms (`pages.rs`, `forms.rs`).

mod browser;
mod categories;
mod forms;
mod mercadopago;
mod migration;
mod mp_revenue;
mod pages;
mod products;
mod property;
mod receipt;
mod reports;

use barberpro::app::{Actor, Staff};
use barberpro::domain::BarberId;
use barberpro::domain::Money;
use barberpro::domain::caja::{PaymentMethod, Tender};
use barberpro::domain::staff::{Role, StaffId};

pub fn staff(role: Role, barber: Option<u64>) -> Actor {
    Actor::Staff(Staff {
        id: StaffId(99),
        email: format!("{}@barberpro.test", role.as_str()),
        role,
        barber: barber.map(BarberId),
        ip: None,
    })
}

pub fn money(c: i64) -> Money {
    Money::from_centavos(c).expect("a valid amount")
}

pub fn tender(method: PaymentMethod, c: i64) -> Tender {
    Tender {
        method,
        amount: money(c),
    }
}
