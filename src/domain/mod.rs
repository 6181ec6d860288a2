//! Pure booking rules and validated types. No I/O: this module knows nothing about redb,
//! axum, JSON wire formats or the clock (callers pass `now`).

pub mod availability;
pub mod booking;
/// La caja: checkouts, the ledger, the till, products, commissions.
pub mod caja;
pub mod calendar;
pub mod catalog;
pub mod client;
pub mod error;
pub mod money;
pub mod notice;
pub mod payment;
pub mod phone;
/// The opaque booking id clients see.
pub mod public_id;
pub mod staff;
pub mod text;
pub mod time;
pub mod token;
pub mod week;

pub use availability::{BarberDay, BarberPick, Interval, LocalDay, Offers};
pub use booking::{BookedService, Booking, BookingId, BookingRules, BookingSource, BookingStatus};
pub use catalog::{
    Barber, BarberId, Branch, BranchId, Closure, ClosureId, ClosureScope, ClosureSpan, Service,
    ServiceId, Shift, Slug,
};
pub use client::{ANONYMISED_NAME, Client, ClientId, Email};
pub use error::DomainError;
pub use money::Money;
pub use payment::{
    DepositKind, DepositPolicy, Payment, PaymentEvent, PaymentId, PaymentState, RefundReason,
};
pub use phone::{Phone, PhoneReading};
pub use text::Text;
