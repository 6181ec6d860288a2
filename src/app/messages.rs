//! WhatsApp messages the front desk acts on: a dead letter (refused by WhatsApp, or failed too
//! many times) sent again, and a client's consent to receive messages. Both audited.

use super::{Actor, App, AppError};
use crate::domain::{Client, ClientId};
use crate::store::outbox::{self, Message};
use crate::store::{audit, clients};

/// Gives dead letter `id` a fresh set of attempts, due now; audited as `message.retry` with
/// the message as queued again. An unknown id is `UnknownMessage`; a message that has not
/// failed for good, `NotDeadLetter`.
pub async fn retry(app: &App, actor: &Actor, id: u64) -> Result<Message, AppError> {
    let now = app.clock.now();
    let entry = actor.change("message.retry", "message", Some(id));
    let message = app
        .store
        .write(move |txn| {
            let m = outbox::retry(txn, id, now)?;
            let entry = audit::Change {
                after: audit::snapshot(&m),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(m)
        })
        .await?;
    Ok(message)
}

/// Records client `id`'s consent to WhatsApp messages (without it nothing is queued, and
/// queued messages are dropped); audited as `client.whatsapp_opt_in` / `_opt_out` with the
/// client before and after. An unknown client is `UnknownClient`.
pub async fn set_consent(
    app: &App,
    actor: &Actor,
    id: ClientId,
    consent: bool,
) -> Result<Client, AppError> {
    let now = app.clock.now();
    let action = if consent {
        "client.whatsapp_opt_in"
    } else {
        "client.whatsapp_opt_out"
    };
    let entry = actor.change(action, "client", Some(id.0));
    let client = app
        .store
        .write(move |txn| {
            let before = clients::get(txn, id)?;
            let after = clients::set_whatsapp_consent(txn, id, consent, now)?;
            let entry = audit::Change {
                before: before.as_ref().and_then(audit::snapshot),
                after: audit::snapshot(&after),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(after)
        })
        .await?;
    Ok(client)
}

/// WhatsApp's delivery statuses for sent messages (a verified webhook), applied in one
/// transaction; each status a message actually moved to is counted.
pub async fn delivery_statuses(
    app: &App,
    updates: Vec<(String, outbox::Delivery, Option<String>)>,
) -> Result<(), AppError> {
    if updates.is_empty() {
        return Ok(());
    }
    let now = app.clock.now();
    let applied = app
        .store
        .write(move |txn| {
            let mut applied = Vec::new();
            for (wamid, delivery, error) in updates {
                if outbox::apply_delivery(txn, &wamid, delivery, error, now)? {
                    applied.push(delivery);
                }
            }
            Ok(applied)
        })
        .await?;
    for delivery in applied {
        app.metrics
            .whatsapp
            .statuses
            .get_or_create(&crate::metrics::DeliveryLabels {
                status: delivery.as_str(),
            })
            .inc();
    }
    Ok(())
}
