//! Background work, each job driven by the application's [`crate::http::Clock`] and resumed
//! from the database after a restart.

/// Deposits: MercadoPago preferences, notifications, hold expiry and refunds.
pub mod payments;
