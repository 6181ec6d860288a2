//! Background work started by `startup`, stopped by the shutdown token.

/// Sends due outbox messages to WhatsApp, with retries and dead letters.
pub mod outbox;
