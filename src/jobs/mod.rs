//! Background work, each job driven by the application's [`crate::app::Clock`] and resumed
//! from the database after a restart.

/// Deposits: MercadoPago preferences, notifications, hold expiry and refunds.
pub mod payments;

/// Sends due outbox messages to WhatsApp, with retries and dead letters.
pub mod outbox;

/// Sends due confirmation e-mails over SMTP (`[mail]`).
pub mod mail;
