//! What the front desk does with a deposit: send a refund MercadoPago refused once more.

use serde_json::json;

use super::{Actor, App, AppError};
use crate::domain::PaymentId;
use crate::store::{audit, payments};

/// Queues deposit `id`'s refund again, audited as `payment.refund_retry` (the state before and
/// after), and wakes the deposits worker to send it. An unknown deposit is `UnknownBooking`;
/// a deposit whose refund cannot be retried, the rule that says why.
pub async fn retry_refund(app: &App, actor: &Actor, id: PaymentId) -> Result<(), AppError> {
    let now = app.clock.now();
    let entry = actor.change("payment.refund_retry", "payment", Some(id.0));
    app.store
        .write(move |txn| {
            let (before, after) = payments::retry_refund(txn, id, &entry.actor_email, now)?;
            let entry = audit::Change {
                before: audit::json(json!({"state": before.state.as_str()})),
                after: audit::json(json!({"state": after.state.as_str()})),
                ..entry
            };
            audit::record(txn, entry, now)
        })
        .await?;
    if let Some(deposits) = &app.payments {
        deposits.wake.notify_one();
    }
    Ok(())
}
