//! What MercadoPago said about a payment (`GET /v1/payments/{id}`), applied to its deposit.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;

use super::{by_booking, save, start_refund};
use crate::domain::{BookingId, Payment, PaymentState, RefundReason};
use crate::store::StoreError;

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
    /// Approved with the right amount: the booking is to be confirmed.
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

/// Applies what MercadoPago says about a payment to its deposit, idempotently. A deposit
/// approved here ([`Applied::Confirmed`], the one place one is) confirms its booking: the
/// caller does that in the same transaction (`app::deposits::apply_remote`).
pub fn apply_remote(
    txn: &WriteTransaction,
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
