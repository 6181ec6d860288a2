//! The MercadoPago notifications still to act on (`mp_notifications`): a webhook is recorded
//! durably and answered; the worker fetches the payment it names, with retries.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::store::{ReadTx, StoreError, tables};

/// A webhook we still have to act on: fetch the payment, then apply it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    /// When to (re)try the fetch, Unix seconds.
    pub due: i64,
    pub attempts: u32,
    pub received_at: Timestamp,
}

/// Records a notification for a MercadoPago payment (a replay of a pending one only makes
/// it due now).
pub fn enqueue_notification(
    txn: &WriteTransaction,
    mp_payment_id: u64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::MP_NOTIFICATIONS)?;
    let existing: Option<Notification> = match table.get(mp_payment_id)? {
        Some(v) => Some(decode_notification(v.value())?),
        None => None,
    };
    let n = match existing {
        Some(n) => Notification {
            due: n.due.min(now.as_second()),
            ..n
        },
        None => Notification {
            due: now.as_second(),
            attempts: 0,
            received_at: now,
        },
    };
    let bytes = encode_notification(&n)?;
    table.insert(mp_payment_id, bytes.as_slice())?;
    Ok(())
}

/// Notifications whose fetch is due.
pub fn due_notifications(
    tx: &impl ReadTx,
    now: Timestamp,
) -> Result<Vec<(u64, Notification)>, StoreError> {
    let table = tx.table(tables::MP_NOTIFICATIONS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (id, v) = row?;
        let n = decode_notification(v.value())?;
        if n.due <= now.as_second() {
            out.push((id.value(), n));
        }
    }
    Ok(out)
}

/// How many notifications wait to be fetched (for /metrics).
pub fn pending_notifications(tx: &impl ReadTx) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    Ok(tx.table(tables::MP_NOTIFICATIONS)?.len()?)
}

/// The notification was handled (or given up on).
pub fn notification_done(txn: &WriteTransaction, mp_payment_id: u64) -> Result<(), StoreError> {
    txn.open_table(tables::MP_NOTIFICATIONS)?
        .remove(mp_payment_id)?;
    Ok(())
}

/// The fetch failed: try again at `retry_at`. Returns the attempts so far.
pub fn notification_retry(
    txn: &WriteTransaction,
    mp_payment_id: u64,
    retry_at: Timestamp,
) -> Result<u32, StoreError> {
    let mut table = txn.open_table(tables::MP_NOTIFICATIONS)?;
    let Some(mut n) = (match table.get(mp_payment_id)? {
        Some(v) => Some(decode_notification(v.value())?),
        None => None,
    }) else {
        return Ok(0);
    };
    n.attempts += 1;
    n.due = retry_at.as_second();
    let bytes = encode_notification(&n)?;
    table.insert(mp_payment_id, bytes.as_slice())?;
    Ok(n.attempts)
}

fn decode_notification(bytes: &[u8]) -> Result<Notification, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        table: "mp_notifications".into(),
        source,
    })
}

fn encode_notification(n: &Notification) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(n).map_err(|source| StoreError::Corrupt {
        table: "mp_notifications".into(),
        source,
    })
}
