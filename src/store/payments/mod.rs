//! Deposits: one `Payment` per booking that needs one, its state machine, the work queue of
//! the payments worker (`idx_payment_work`) and the MercadoPago notifications still to fetch.
//!
//! Nothing here talks to MercadoPago: the worker calls it outside any transaction and brings
//! back what it learnt (`RemoteStatus`, a preference, a refund) to apply here. Every apply
//! re-reads the current row inside the write transaction and moves only along
//! [`PaymentState::can_become`], so a duplicate or out-of-order notification changes nothing.
//!
//! `store::bookings` calls this module when a booking's change decides its deposit's fate
//! (opened, cancelled, no-show), in the booking's transaction; this module never calls it.
//! Where a deposit's change moves its booking (a hold that expires cancels it, a payment
//! confirms it), the use case does both in one transaction (`app::deposits`).
//!
//! * `remote`: what MercadoPago said about a payment, applied to its deposit.
//! * `notifications`: the webhooks still to fetch (`mp_notifications`).

mod notifications;
mod remote;

pub use notifications::{
    Notification, due_notifications, enqueue_notification, notification_done, notification_retry,
    pending_notifications,
};
pub use remote::{Applied, RemoteStatus, apply_remote};

use crate::store::engine::WriteTransaction;
use jiff::{SignedDuration, Timestamp};
use redb::ReadableTable;

use super::{ReadTx, StoreError, audit, codec, next_id, tables};
use crate::domain::{
    Booking, BookingId, DomainError, Money, Payment, PaymentId, PaymentState, RefundReason,
};

/// The cancel reason of a booking whose hold expired unpaid.
pub const EXPIRED_REASON: &str = "payment_expired";

pub fn get(tx: &impl ReadTx, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    codec::get(&tx.table(tables::PAYMENTS)?, tables::PAYMENTS, id.0)
}

/// The deposit of a booking, if it needed one.
pub fn by_booking(tx: &impl ReadTx, booking: BookingId) -> Result<Option<Payment>, StoreError> {
    match tx.table(tables::PAYMENT_BY_BOOKING)?.get(booking.0)? {
        Some(id) => get(tx, PaymentId(id.value())),
        None => Ok(None),
    }
}

/// Moves a booking's deposit (if it has one) to another client: the booking moved with a
/// merge of two records of one person (`clients::merge`). The state and the work queue stay.
pub(crate) fn reassign_client(
    txn: &WriteTransaction,
    booking: BookingId,
    to: crate::domain::ClientId,
) -> Result<Option<PaymentId>, StoreError> {
    let Some(mut p) = by_booking(txn, booking)? else {
        return Ok(None);
    };
    p.client = to;
    codec::put(&mut txn.open_table(tables::PAYMENTS)?, p.id.0, &p)?;
    Ok(Some(p.id))
}

/// The newest deposits first, at most `limit`.
pub fn recent(tx: &impl ReadTx, limit: usize) -> Result<Vec<Payment>, StoreError> {
    let table = tx.table(tables::PAYMENTS)?;
    let mut out = Vec::new();
    for row in table.iter()?.rev().take(limit) {
        let (_, v) = row?;
        out.push(codec::decode(tables::PAYMENTS, v.value())?);
    }
    Ok(out)
}

/// Writes the row and keeps its place in the work queue: unpaid deposits are due at
/// `due` (a retry) or at the end of their hold, whichever is first; pending refunds at `due`;
/// everything else leaves the queue.
/// Every change of state is audited here, once for all callers (actor `system`: the
/// MercadoPago webhook, the deposits worker, or the consequence of a booking change).
fn save(txn: &WriteTransaction, p: &Payment, due: Option<Timestamp>) -> Result<(), StoreError> {
    let before = get(txn, p.id)?.map(|old| old.state);
    codec::put(&mut txn.open_table(tables::PAYMENTS)?, p.id.0, p)?;
    if before != Some(p.state) {
        let change = audit::Change {
            before: before.and_then(|s| audit::json(serde_json::json!({ "state": s.as_str() }))),
            after: audit::json(serde_json::json!({
                "state": p.state.as_str(),
                "booking": p.booking.0,
                "amount_centavos": p.amount.centavos(),
            })),
            ..audit::Change::by(audit::SYSTEM, "payment.state", "payment", Some(p.id.0))
        };
        audit::record(txn, change, p.updated_at)?;
    }
    let mut work = txn.open_table(tables::PAYMENT_WORK)?;
    let due = match p.state {
        PaymentState::AwaitingPayment => Some(p.hold_until),
        PaymentState::AwaitingPreference => Some(due.map_or(p.hold_until, |d| d.min(p.hold_until))),
        PaymentState::RefundPending => Some(due.unwrap_or(p.updated_at)),
        _ => None,
    };
    match due {
        Some(at) => {
            work.insert(p.id.0, at.as_second())?;
        }
        None => {
            work.remove(p.id.0)?;
        }
    }
    Ok(())
}

/// Opens the deposit of a booking just created `pending_payment` (same transaction).
pub(crate) fn open(
    txn: &WriteTransaction,
    booking: &Booking,
    amount: Money,
    hold: SignedDuration,
    now: Timestamp,
) -> Result<Payment, StoreError> {
    let id = PaymentId(next_id(txn, "payment")?);
    let hold_until = now
        .saturating_add(hold)
        .map_err(|_| DomainError::InvalidDate)?;
    let mut p = Payment {
        id,
        booking: booking.id,
        client: booking.client,
        branch: booking.branch,
        amount,
        state: PaymentState::AwaitingPreference,
        hold_until,
        preference_id: None,
        init_point: None,
        mp_payment_id: None,
        mp_status: None,
        refund_reason: None,
        refund_key: None,
        refund_id: None,
        attempts: 0,
        last_error: None,
        events: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    p.note(now, format!("seña de {amount} pedida"));
    txn.open_table(tables::PAYMENT_BY_BOOKING)?
        .insert(booking.id.0, id.0)?;
    // The request that created the booking creates the preference right after the commit;
    // the worker steps in only if that did not happen within half a minute (a crash).
    save(txn, &p, now.checked_add(SignedDuration::from_secs(30)).ok())?;
    Ok(p)
}

/// Deposits the worker must look at now: unpaid ones whose hold ended or whose preference is
/// to be (re)tried, and pending refunds.
pub fn due(tx: &impl ReadTx, now: Timestamp) -> Result<Vec<Payment>, StoreError> {
    let work = tx.table(tables::PAYMENT_WORK)?;
    let mut out = Vec::new();
    for row in work.iter()? {
        let (id, at) = row?;
        if at.value() <= now.as_second()
            && let Some(p) = get(tx, PaymentId(id.value()))?
        {
            out.push(p);
        }
    }
    Ok(out)
}

/// The Checkout Pro preference exists: the client can pay. Does nothing if the deposit moved
/// on meanwhile (expired).
pub fn preference_created(
    txn: &WriteTransaction,
    id: PaymentId,
    preference_id: String,
    init_point: String,
    now: Timestamp,
) -> Result<Option<Payment>, StoreError> {
    let Some(mut p) = get(txn, id)? else {
        return Ok(None);
    };
    if p.state != PaymentState::AwaitingPreference {
        return Ok(Some(p));
    }
    p.preference_id = Some(preference_id);
    p.init_point = Some(init_point);
    p.transition(PaymentState::AwaitingPayment, now, "link de pago creado")?;
    save(txn, &p, None)?;
    Ok(Some(p))
}

/// An outbound step (preference or refund) failed: note it and come back at `retry_at`
/// (a refund refused for good becomes `refund_failed`).
pub fn step_failed(
    txn: &WriteTransaction,
    id: PaymentId,
    error: String,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(mut p) = get(txn, id)? else {
        return Ok(());
    };
    match (p.state, retry_at) {
        (PaymentState::RefundPending, None) => {
            p.transition(
                PaymentState::RefundFailed,
                now,
                format!("MercadoPago rechazó la devolución: {error}"),
            )?;
            p.last_error = Some(error);
        }
        (PaymentState::AwaitingPreference | PaymentState::RefundPending, _) => {
            p.attempts += 1;
            p.last_error = Some(error);
            p.updated_at = now;
        }
        _ => return Ok(()),
    }
    save(txn, &p, retry_at)
}

/// The front desk asks to send a refused refund again (after fixing its cause at
/// MercadoPago). A new idempotency key: the refused attempt is over for MercadoPago too.
pub fn retry_refund(
    txn: &WriteTransaction,
    id: PaymentId,
    who: &str,
    now: Timestamp,
) -> Result<(Payment, Payment), StoreError> {
    let before = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let mut p = before.clone();
    p.refund_key = Some(uuid::Uuid::new_v4().to_string());
    p.transition(
        PaymentState::RefundPending,
        now,
        format!("devolución reintentada por {who}"),
    )?;
    save(txn, &p, Some(now))?;
    Ok((before, p))
}

/// The refund was accepted.
pub fn refunded(
    txn: &WriteTransaction,
    id: PaymentId,
    refund_id: u64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(mut p) = get(txn, id)? else {
        return Ok(());
    };
    if p.state.can_become(PaymentState::Refunded) {
        p.refund_id = Some(refund_id);
        p.transition(
            PaymentState::Refunded,
            now,
            format!("devolución {refund_id} aprobada"),
        )?;
        save(txn, &p, None)?;
    }
    Ok(())
}

/// Expires an unpaid deposit whose hold is over, and returns it; `None` if it is not due
/// (paid meanwhile, or its hold runs on). Its booking's cancellation is the caller's, in the
/// same transaction (`app::deposits::expire_hold`): this module knows deposits, and bookings
/// call it, never the other way round.
pub fn expire(
    txn: &WriteTransaction,
    id: PaymentId,
    now: Timestamp,
) -> Result<Option<Payment>, StoreError> {
    let Some(mut p) = get(txn, id)? else {
        return Ok(None);
    };
    if !p.state.is_unpaid() || p.hold_until > now {
        return Ok(None);
    }
    p.transition(PaymentState::Expired, now, "venció la reserva sin pago")?;
    save(txn, &p, None)?;
    Ok(Some(p))
}

/// A booking was cancelled: a paid deposit is refunded before the cut-off and kept after it;
/// an unpaid one expires (a payment arriving later is refunded). Called by
/// `store::bookings` in the cancelling transaction.
pub(crate) fn booking_cancelled(
    txn: &WriteTransaction,
    booking: BookingId,
    before_cutoff: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(mut p) = by_booking(txn, booking)? else {
        return Ok(());
    };
    match p.state {
        PaymentState::Approved if before_cutoff => {
            start_refund(&mut p, RefundReason::Cancelled, now)?;
        }
        PaymentState::Approved => {
            p.transition(
                PaymentState::Kept,
                now,
                "turno cancelado después del límite: la seña queda",
            )?;
        }
        s if s.is_unpaid() => {
            p.transition(PaymentState::Expired, now, "turno cancelado antes de pagar")?;
        }
        _ => return Ok(()),
    }
    save(txn, &p, Some(now))
}

/// A no-show keeps a paid deposit. Called by `store::bookings` in the same transaction.
pub(crate) fn booking_no_show(
    txn: &WriteTransaction,
    booking: BookingId,
    now: Timestamp,
) -> Result<(), StoreError> {
    move_if(
        txn,
        booking,
        PaymentState::Approved,
        PaymentState::Kept,
        "ausente: la seña queda",
        now,
    )
}

/// An undone no-show: a deposit kept for it counts as paid again.
pub(crate) fn no_show_undone(
    txn: &WriteTransaction,
    booking: BookingId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let note = "ausencia deshecha: la seña vuelve a contar";
    move_if(
        txn,
        booking,
        PaymentState::Kept,
        PaymentState::Approved,
        note,
        now,
    )
}

/// Moves the booking's deposit from `from` to `to` (no work queued), if it has one in `from`.
fn move_if(
    txn: &WriteTransaction,
    booking: BookingId,
    from: PaymentState,
    to: PaymentState,
    note: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    match by_booking(txn, booking)? {
        Some(mut p) if p.state == from => {
            p.transition(to, now, note)?;
            save(txn, &p, None)
        }
        _ => Ok(()),
    }
}

fn start_refund(p: &mut Payment, reason: RefundReason, now: Timestamp) -> Result<(), StoreError> {
    p.refund_reason = Some(reason);
    // Fixed now, reused by every retry: MercadoPago sees one refund however often we ask.
    p.refund_key = Some(uuid::Uuid::new_v4().to_string());
    p.transition(
        PaymentState::RefundPending,
        now,
        format!("devolución pedida: {}", reason.label_es()),
    )?;
    Ok(())
}
