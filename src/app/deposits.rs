//! Deposits: the MercadoPago service and what the worker does with it.
//!
//! [`Deposits`] holds the MercadoPago client and the settings; a booking's use case creates
//! its Checkout Pro preference right after the booking commits (never inside the write
//! transaction). The worker (`jobs::payments`) wakes every `payments.worker_interval_ms`, or at once
//! when a webhook or a cancellation queues work, and runs [`run_once`]:
//!
//! 1. notifications due: `GET /v1/payments/{id}` (never the webhook's body), then
//!    [`apply_remote`]; a 404 (payment not visible yet) or a 429/5xx is
//!    retried later with backoff, up to `notification_max_attempts`;
//! 2. deposits due: an unpaid hold that ended expires and cancels its booking
//!    ([`expire_hold`], `payment_expired`); a preference that failed is retried; a refund is (re)sent with
//!    its fixed `X-Idempotency-Key`.
//!
//! Where a deposit's change moves its booking, both happen here, in one write transaction:
//! `store::bookings` decides a deposit's fate when a booking changes, so `store::payments`
//! does not change bookings back (no cycle between them).
//!
//! All of it lives in the database (`mp_notifications`, `idx_payment_work`), so a restart
//! resumes where the last run stopped; an apply is idempotent, so doing a step twice after a
//! crash changes nothing twice.

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;

use super::App;
use crate::config::{PaymentsConfig, Secret};
use crate::domain::caja::LinkChange;
use crate::domain::notice::Template;
use crate::domain::{
    Booking, BookingStatus, DepositPolicy, Payment, PaymentId, PaymentState, Text,
};
use crate::integrations::mercadopago::{self, MpError, PreferenceRequest};
use crate::store::payments::{self as store_payments, Applied, RemoteStatus};
use crate::store::{StoreError, Tx, audit, bookings, clients, outbox};

/// Deposits are on: the MercadoPago client, the webhook secret and the policies.
pub struct Deposits {
    pub client: mercadopago::Client,
    pub config: PaymentsConfig,
    webhook_secret: Secret,
    /// Wakes the worker before its next tick.
    pub wake: Notify,
}

impl std::fmt::Debug for Deposits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deposits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Reads a secret from a file (trimmed); empty or unreadable is an error naming the file.
fn read_secret(path: &std::path::Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(value))
}

impl Deposits {
    /// `None` when `payments.enabled` is false; otherwise reads the secret files.
    pub fn load(config: &PaymentsConfig) -> Result<Option<Self>, String> {
        if !config.enabled {
            return Ok(None);
        }
        let token_file = config
            .access_token_file
            .as_deref()
            .ok_or("payments.access_token_file is not set")?;
        let secret_file = config
            .webhook_secret_file
            .as_deref()
            .ok_or("payments.webhook_secret_file is not set")?;
        let token = read_secret(token_file)?;
        let webhook_secret = read_secret(secret_file)?;
        let client = mercadopago::Client::new(mercadopago::Settings::from_config(config, token))?;
        tracing::info!(base_url = %config.api_base_url, hold_minutes = config.hold_minutes,
            "deposits through MercadoPago are on");
        Ok(Some(Self {
            client,
            config: config.clone(),
            webhook_secret,
            wake: Notify::new(),
        }))
    }

    /// The deposit rule for an online booking at a branch.
    pub fn request_for(&self, branch_slug: &str) -> bookings::DepositRequest {
        bookings::DepositRequest {
            policy: self.policy_for(branch_slug),
            hold: SignedDuration::from_mins(i64::from(self.config.hold_minutes)),
        }
    }

    pub fn policy_for(&self, branch_slug: &str) -> DepositPolicy {
        self.config.policy_for(branch_slug)
    }

    /// Checks a webhook's `X-Signature` against our secret and clock.
    pub fn verify_webhook(
        &self,
        header: Option<&str>,
        data_id: Option<&str>,
        request_id: Option<&str>,
        now: Timestamp,
    ) -> Result<(), mercadopago::signature::SignatureError> {
        mercadopago::signature::verify(
            self.webhook_secret.expose().as_bytes(),
            header,
            data_id,
            request_id,
            now.as_second(),
            self.config.webhook_tolerance_secs,
        )
    }
}

/// When to retry a durable step after `attempts` failures: 5 s doubling up to an hour, or
/// what MercadoPago's `Retry-After` asked for.
fn retry_at(now: Timestamp, attempts: u32, error: &MpError) -> Timestamp {
    let asked = match error {
        MpError::Retryable {
            retry_after: Some(d),
            ..
        } => Some(SignedDuration::try_from(*d).unwrap_or(SignedDuration::from_hours(1))),
        _ => None,
    };
    let backoff = SignedDuration::from_secs(5 * (1i64 << attempts.min(10)))
        .min(SignedDuration::from_hours(1));
    now.saturating_add(asked.unwrap_or(backoff)).unwrap_or(now)
}

/// Creates the Checkout Pro preference of an unpaid deposit and stores its link. On failure
/// the deposit stays `awaiting_preference` and the worker retries (429/5xx) until the hold
/// ends; a 4xx is not retried and the hold simply expires.
pub async fn create_preference(
    app: &App,
    deposits: &Deposits,
    payment: Payment,
) -> Result<Payment, StoreError> {
    if payment.state != PaymentState::AwaitingPreference {
        return Ok(payment);
    }
    let booking_id = payment.booking;
    let (booking, client) = app
        .store
        .read(move |tx| {
            let b =
                bookings::get(tx, booking_id)?.ok_or(crate::domain::DomainError::UnknownBooking)?;
            let c = clients::get(tx, b.client)?;
            Ok((b, c))
        })
        .await?;
    let now = app.clock.now();
    let public = app.public_url.as_ref();
    let req = PreferenceRequest {
        item_id: format!("booking-{}", booking.id.0),
        reference: booking.id.0.to_string(),
        // The payer sees it at MercadoPago: no internal id in it.
        title: format!("Seña del turno — {}", booking.service_names()),
        amount: payment.amount,
        payer_name: client.map(|c| c.name.to_string()).unwrap_or_default(),
        notification_url: format!("{public}/webhooks/mercadopago"),
        // No manage token here: MercadoPago must not learn it.
        // The client's browser comes back here: the public id, like every client link.
        back_url: format!("{public}/turnos/{}", app.ids.public(booking.id)),
        expires_from: now,
        expires_to: payment.hold_until,
    };
    let key = format!(
        "barberpro-preference-{}-{}",
        payment.id,
        payment.created_at.as_second()
    );
    let id = payment.id;
    match deposits.client.create_preference(&req, &key).await {
        Ok(created) => {
            let stored = app
                .store
                .write(move |txn| {
                    store_payments::preference_created(txn, id, created.id, created.init_point, now)
                })
                .await?;
            Ok(stored.unwrap_or(payment))
        }
        Err(e) => {
            tracing::warn!(payment = %id, error = %e, "cannot create the MercadoPago preference");
            let retry = matches!(e, MpError::Retryable { .. } | MpError::Decode(_))
                .then(|| retry_at(now, payment.attempts, &e));
            let message = e.to_string();
            app.store
                .write(move |txn| store_payments::step_failed(txn, id, message, retry, now))
                .await?;
            deposits.wake.notify_one();
            Ok(app
                .store
                .read(move |tx| store_payments::get(tx, id))
                .await?
                .unwrap_or(payment))
        }
    }
}

/// Ends an unpaid hold whose time is up, in one write transaction: the deposit expires and
/// its booking, still unpaid, is cancelled (`payment_expired`), freeing its slot. Returns the
/// booking if it was cancelled.
pub fn expire_hold(txn: &Tx, id: PaymentId, now: Timestamp) -> Result<Option<Booking>, StoreError> {
    let Some(p) = store_payments::expire(txn, id, now)? else {
        return Ok(None);
    };
    match bookings::get(txn, p.booking)? {
        Some(b) if b.status == BookingStatus::PendingPayment => {
            // No "booking cancelled" message: the client was never told it was confirmed.
            let reason = Text::line("reason", store_payments::EXPIRED_REASON, 200)?;
            let after =
                bookings::set_status(txn, b.id, BookingStatus::Cancelled, Some(reason), now)?;
            audit_booking(txn, "booking.payment_expired", &b, &after, now)?;
            Ok(Some(after))
        }
        _ => Ok(None),
    }
}

/// Applies what MercadoPago says about a payment, idempotently, in one write transaction: the
/// deposit's change and, when this approves it, its booking's confirmation and then the
/// "deposit received" message (the one place a deposit is approved, so the one place that
/// message is queued).
pub fn apply_remote(
    txn: &Tx,
    remote: &RemoteStatus,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let applied = store_payments::apply_remote(txn, remote, now)?;
    if let Applied::Confirmed(p) = &applied
        && let Some(mut b) = bookings::get(txn, p.booking)?
    {
        if b.status == BookingStatus::PendingPayment {
            // Queues the "booking confirmed" message and the reminders.
            let confirmed = bookings::set_status(txn, b.id, BookingStatus::Confirmed, None, now)?;
            audit_booking(txn, "booking.deposit_paid", &b, &confirmed, now)?;
            b = confirmed;
        }
        outbox::enqueue_with(
            txn,
            Template::DepositReceived,
            &b,
            now,
            now,
            vec![p.amount.to_string()],
        )?;
    }
    Ok(applied)
}

/// A booking changed by its deposit's fate, in the audit log (actor `system`).
fn audit_booking(
    txn: &Tx,
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

/// What a booking change (cancellation, no-show) did to its deposit, for metrics and the
/// MercadoPago said payment `mp_id` changed (a verified webhook): the notification is queued
/// durably and the worker woken; the worker fetches the payment itself (never trusting the
/// webhook's body) and applies it.
pub async fn notification_received(
    app: &App,
    deposits: &Deposits,
    mp_id: u64,
) -> Result<(), StoreError> {
    let now = app.clock.now();
    app.store
        .write(move |txn| store_payments::enqueue_notification(txn, mp_id, now))
        .await?;
    deposits.wake.notify_one();
    Ok(())
}

/// worker: call with the deposit's state before the change and the deposit after it.
pub fn after_booking_change(app: &App, before: Option<PaymentState>, after: Option<Payment>) {
    let Some(after) = after else {
        return;
    };
    if before == Some(after.state) {
        return;
    }
    app.metrics.payment_state(after.state, after.amount);
    if after.state == PaymentState::RefundPending
        && let Some(d) = &app.payments
    {
        // The refund goes out now rather than at the next tick.
        d.wake.notify_one();
    }
}

/// One pass over everything due. The same code the worker runs (tests may call it).
pub async fn run_once(app: &App, deposits: &Deposits) -> Result<(), StoreError> {
    let now = app.clock.now();
    let notes = app
        .store
        .read(move |tx| store_payments::due_notifications(tx, now))
        .await?;
    for (mp_id, note) in notes {
        fetch_and_apply(app, deposits, mp_id, note.attempts).await?;
    }
    let now = app.clock.now();
    let due = app
        .store
        .read(move |tx| store_payments::due(tx, now))
        .await?;
    for p in due {
        if p.state.is_unpaid() && p.hold_until <= now {
            expire(app, &p, now).await?;
        } else if p.state == PaymentState::AwaitingPreference {
            create_preference(app, deposits, p).await?;
        } else if p.state == PaymentState::RefundPending {
            refund(app, deposits, p).await?;
        }
    }
    Ok(())
}

async fn expire(app: &App, p: &Payment, now: Timestamp) -> Result<(), StoreError> {
    let id = p.id;
    let cancelled = app
        .store
        .write(move |txn| expire_hold(txn, id, now))
        .await?;
    app.metrics.payment_state(PaymentState::Expired, p.amount);
    if let Some(b) = cancelled {
        tracing::info!(booking = %b.id, payment = %id, "hold expired unpaid; booking cancelled");
        if let Ok(Some(branch)) = app
            .store
            .read(move |tx| crate::store::catalog::branch(tx, b.branch))
            .await
        {
            app.metrics.booking_transition(
                branch.slug.as_str(),
                crate::domain::BookingStatus::Cancelled,
            );
        }
    }
    Ok(())
}

async fn fetch_and_apply(
    app: &App,
    deposits: &Deposits,
    mp_id: u64,
    attempts_before: u32,
) -> Result<(), StoreError> {
    let max = deposits.config.notification_max_attempts;
    match deposits.client.get_payment(mp_id).await {
        Ok(remote) => {
            let rs = RemoteStatus {
                mp_payment_id: remote.id,
                amount_centavos: remote.amount_centavos(),
                status: remote.status,
                status_detail: remote.status_detail,
                external_reference: remote.external_reference,
                currency: remote.currency_id,
            };
            let now = app.clock.now();
            if let Some(sale) = rs
                .external_reference
                .as_deref()
                .and_then(crate::domain::caja::mp_link::parse_reference)
            {
                // A sale's MercadoPago line paid at the desk, not a deposit.
                let (change, paid, refund_due) = app
                    .store
                    .write(move |txn| {
                        let applied = super::mp_links::apply_remote(txn, sale, &rs, now)?;
                        store_payments::notification_done(txn, mp_id)?;
                        // Paid now: the branch's revenue counts the line (after the commit),
                        // unless its sale was voided first (then it is owed back).
                        let paid = match &applied {
                            Some(n) if n.change == LinkChange::Paid && !n.refund_due => {
                                crate::store::catalog::load(txn)?
                                    .branch(n.link.branch)
                                    .map(|b| (b.slug.as_str().to_owned(), n.link.amount.centavos()))
                            }
                            _ => None,
                        };
                        let refund_due = applied.as_ref().is_some_and(|n| n.refund_due);
                        Ok((applied.map(|n| n.change), paid, refund_due))
                    })
                    .await?;
                if refund_due {
                    tracing::warn!(sale = %sale, mp_payment = mp_id, "a voided sale's MercadoPago link was paid: the amount is owed back to the client");
                }
                if let Some((branch, centavos)) = paid {
                    app.metrics.caja.mercadopago_paid(&branch, centavos);
                }
                tracing::info!(sale = %sale, mp_payment = mp_id, ?change, "MercadoPago link notified");
                return Ok(());
            }
            let applied = app
                .store
                .write(move |txn| {
                    let applied = apply_remote(txn, &rs, now)?;
                    store_payments::notification_done(txn, mp_id)?;
                    Ok(applied)
                })
                .await?;
            match applied {
                Applied::Confirmed(p) => {
                    tracing::info!(booking = %p.booking, mp_payment = mp_id, "deposit approved; booking confirmed");
                    app.metrics.payment_state(PaymentState::Approved, p.amount);
                    // The "deposit received" message was queued inside `apply_remote`'s
                    // transaction, with the confirmation.
                }
                Applied::LateApproval(p) => {
                    tracing::warn!(booking = %p.booking, mp_payment = mp_id, "payment approved after the hold expired; refunding");
                    deposits.wake.notify_one();
                }
                Applied::Refunded(p) => app.metrics.payment_state(PaymentState::Refunded, p.amount),
                Applied::Mismatch(p) => {
                    tracing::warn!(booking = %p.booking, mp_payment = mp_id, "approved payment does not match the deposit")
                }
                Applied::Noted(_) | Applied::Unchanged => {}
                Applied::Unknown => {
                    tracing::info!(
                        mp_payment = mp_id,
                        "notified payment is not one of our deposits"
                    )
                }
            }
        }
        Err(e) => {
            let now = app.clock.now();
            let retryable =
                e.is_not_found() || matches!(e, MpError::Retryable { .. } | MpError::Decode(_));
            if retryable && attempts_before + 1 < max {
                let at = retry_at(now, attempts_before, &e);
                tracing::info!(mp_payment = mp_id, error = %e, retry_at = %at, "payment not fetched yet; will retry");
                app.store
                    .write(move |txn| store_payments::notification_retry(txn, mp_id, at))
                    .await?;
            } else {
                tracing::error!(mp_payment = mp_id, error = %e, "giving up on a MercadoPago notification");
                app.store
                    .write(move |txn| store_payments::notification_done(txn, mp_id))
                    .await?;
            }
        }
    }
    Ok(())
}

async fn refund(app: &App, deposits: &Deposits, p: Payment) -> Result<(), StoreError> {
    let (Some(mp_id), Some(key)) = (p.mp_payment_id, p.refund_key.clone()) else {
        return Ok(());
    };
    let id = p.id;
    if p.attempts == 0 {
        app.metrics.refund_requested(p.amount);
    }
    let result = deposits.client.refund(mp_id, None, &key).await;
    let now = app.clock.now();
    match result {
        Ok(r) => {
            app.store
                .write(move |txn| store_payments::refunded(txn, id, r.id, now))
                .await?;
            tracing::info!(payment = %id, refund = r.id, "deposit refunded");
            app.metrics.refund_done(true, p.amount);
            app.metrics.payment_state(PaymentState::Refunded, p.amount);
        }
        Err(e) => {
            let retry = matches!(e, MpError::Retryable { .. } | MpError::Decode(_))
                .then(|| retry_at(now, p.attempts, &e));
            tracing::warn!(payment = %id, error = %e, retrying = retry.is_some(), "refund failed");
            if retry.is_none() {
                app.metrics.refund_done(false, p.amount);
            }
            let message = e.to_string();
            app.store
                .write(move |txn| store_payments::step_failed(txn, id, message, retry, now))
                .await?;
        }
    }
    Ok(())
}
