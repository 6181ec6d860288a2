//! Deposits: one `Payment` per booking that needs one, its state machine, the work queue of
//! the payments worker (`idx_payment_work`) and the MercadoPago notifications still to fetch.
//!
//! Nothing here talks to MercadoPago: the worker calls it outside any transaction and brings
//! back what it learnt (`RemoteStatus`, a preference, a refund) to apply here. Every apply
//! re-reads the current row inside the write transaction and moves only along
//! [`PaymentState::can_become`], so a duplicate or out-of-order notification changes nothing.

use jiff::{SignedDuration, Timestamp};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{ReadTx, StoreError, Tx, audit, bookings, codec, next_id, tables};
use crate::domain::{
    Booking, BookingId, BookingStatus, DomainError, Money, Payment, PaymentId, PaymentState,
    RefundReason, Text,
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

/// A booking changed by the deposit's fate, in the audit log (actor `system`).
fn audit_booking(
    txn: &WriteTransaction,
    action: &'static str,
    before: &Booking,
    after: &Booking,
    now: Timestamp,
) -> Result<(), StoreError> {
    let change = audit::Change {
        before: audit::booking_snapshot(before),
        after: audit::booking_snapshot(after),
        ..audit::Change::by(audit::SYSTEM, action, "booking", Some(after.id.0))
    };
    audit::record(txn, change, now)
}

/// Ends an unpaid hold whose time is up: the deposit expires and the booking is cancelled
/// (`payment_expired`), freeing its slot. Returns the booking if it was cancelled.
pub fn expire(txn: &Tx, id: PaymentId, now: Timestamp) -> Result<Option<Booking>, StoreError> {
    let Some(mut p) = get(txn, id)? else {
        return Ok(None);
    };
    if !p.state.is_unpaid() || p.hold_until > now {
        return Ok(None);
    }
    p.transition(PaymentState::Expired, now, "venció la reserva sin pago")?;
    save(txn, &p, None)?;
    match bookings::get(txn, p.booking)? {
        Some(b) if b.status == BookingStatus::PendingPayment => {
            // No "booking cancelled" message: the client was never told it was confirmed.
            let reason = Text::line("reason", EXPIRED_REASON, 200)?;
            let after =
                bookings::set_status(txn, b.id, BookingStatus::Cancelled, Some(reason), now)?;
            audit_booking(txn, "booking.payment_expired", &b, &after, now)?;
            Ok(Some(after))
        }
        _ => Ok(None),
    }
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
    let Some(mut p) = by_booking(txn, booking)? else {
        return Ok(());
    };
    if p.state == PaymentState::Approved {
        p.transition(PaymentState::Kept, now, "ausente: la seña queda")?;
        save(txn, &p, None)?;
    }
    Ok(())
}

/// An undone no-show: a deposit kept for it counts as paid again.
pub(crate) fn no_show_undone(
    txn: &WriteTransaction,
    booking: BookingId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(mut p) = by_booking(txn, booking)? else {
        return Ok(());
    };
    if p.state == PaymentState::Kept {
        p.transition(
            PaymentState::Approved,
            now,
            "ausencia deshecha: la seña vuelve a contar",
        )?;
        save(txn, &p, None)?;
    }
    Ok(())
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

/// What `GET /v1/payments/{id}` said, as far as we act on it.
#[derive(Debug, Clone)]
pub struct RemoteStatus {
    pub mp_payment_id: u64,
    pub status: String,
    pub status_detail: Option<String>,
    /// `external_reference`: our booking id.
    pub external_reference: Option<String>,
    pub amount_centavos: i64,
    pub currency: String,
}

/// What applying a fetched payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Approved with the right amount: the booking is confirmed.
    Confirmed(Payment),
    /// Approved after the hold expired: a refund is queued.
    LateApproval(Payment),
    /// MercadoPago reports the payment refunded.
    Refunded(Payment),
    /// A new status was recorded (pending, rejected, …) without changing the deposit.
    Noted(Payment),
    /// Approved, but not for the deposit's amount or in pesos: nothing confirmed.
    Mismatch(Payment),
    /// Already applied: nothing changed.
    Unchanged,
    /// Not a deposit of ours (unknown reference).
    Unknown,
}

/// Applies what MercadoPago says about a payment, idempotently.
pub fn apply_remote(
    txn: &Tx,
    remote: &RemoteStatus,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let Some(booking) = remote
        .external_reference
        .as_deref()
        .and_then(|r| r.trim().parse::<u64>().ok())
    else {
        return Ok(Applied::Unknown);
    };
    let Some(mut p) = by_booking(txn, BookingId(booking))? else {
        return Ok(Applied::Unknown);
    };
    let mp = remote.mp_payment_id;
    let other_payment = p.mp_payment_id.is_some_and(|known| known != mp);
    match remote.status.as_str() {
        "approved" => {
            if remote.amount_centavos != p.amount.centavos() || remote.currency != "ARS" {
                let note = format!(
                    "pago {mp} aprobado por {} {} — no coincide con la seña de {}",
                    remote.amount_centavos, remote.currency, p.amount
                );
                if p.events.iter().any(|e| e.what == note) {
                    return Ok(Applied::Unchanged);
                }
                p.note(now, note);
                save(txn, &p, None)?;
                return Ok(Applied::Mismatch(p));
            }
            if other_payment && !p.state.is_unpaid() {
                let note = format!("otro pago aprobado ({mp}) para la misma seña: revisar");
                if p.events.iter().any(|e| e.what == note) {
                    return Ok(Applied::Unchanged);
                }
                p.note(now, note);
                save(txn, &p, None)?;
                return Ok(Applied::Noted(p));
            }
            match p.state {
                s if s.is_unpaid() => {
                    p.mp_payment_id = Some(mp);
                    p.mp_status = Some(remote.status.clone());
                    p.transition(PaymentState::Approved, now, format!("pago {mp} aprobado"))?;
                    save(txn, &p, None)?;
                    if let Some(mut b) = bookings::get(txn, p.booking)? {
                        if b.status == BookingStatus::PendingPayment {
                            // Queues the "booking confirmed" message and the reminders.
                            let confirmed = bookings::set_status(
                                txn,
                                b.id,
                                BookingStatus::Confirmed,
                                None,
                                now,
                            )?;
                            audit_booking(txn, "booking.deposit_paid", &b, &confirmed, now)?;
                            b = confirmed;
                        }
                        // The single place a deposit is approved: its message is queued here,
                        // in this transaction.
                        super::outbox::enqueue_with(
                            txn,
                            crate::domain::notice::Template::DepositReceived,
                            &b,
                            now,
                            now,
                            vec![p.amount.to_string()],
                        )?;
                    }
                    Ok(Applied::Confirmed(p))
                }
                PaymentState::Expired => {
                    p.mp_payment_id = Some(mp);
                    p.mp_status = Some(remote.status.clone());
                    p.note(now, format!("pago {mp} aprobado después del vencimiento"));
                    start_refund(&mut p, RefundReason::LateApproval, now)?;
                    save(txn, &p, Some(now))?;
                    Ok(Applied::LateApproval(p))
                }
                _ => Ok(Applied::Unchanged),
            }
        }
        "refunded" | "charged_back" if !other_payment && p.mp_payment_id.is_some() => {
            if p.state.can_become(PaymentState::Refunded) {
                p.mp_status = Some(remote.status.clone());
                p.transition(
                    PaymentState::Refunded,
                    now,
                    format!("MercadoPago informa el pago {mp} como {}", remote.status),
                )?;
                save(txn, &p, None)?;
                Ok(Applied::Refunded(p))
            } else {
                Ok(Applied::Unchanged)
            }
        }
        status => {
            // pending, in_process, rejected, cancelled…: the client may still pay within the
            // hold; only the news is recorded, once. Once paid (or closed), such a status can
            // only be old news arriving out of order: it changes nothing.
            if !p.state.is_unpaid() {
                return Ok(Applied::Unchanged);
            }
            if p.mp_status.as_deref() == Some(status) && p.mp_payment_id == Some(mp) {
                return Ok(Applied::Unchanged);
            }
            p.mp_payment_id = Some(mp);
            p.mp_status = Some(status.to_owned());
            let detail = remote.status_detail.as_deref().unwrap_or("");
            p.note(
                now,
                format!("pago {mp}: {status} {detail}")
                    .trim_end()
                    .to_owned(),
            );
            save(txn, &p, None)?;
            Ok(Applied::Noted(p))
        }
    }
}

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
