//! Bookings' use cases: a client's online booking, the front desk's walk-ins and phone
//! bookings, reschedule, cancel, the status changes and notes.
//!
//! Each change loads the booking, checks that the actor may change it, applies the rule in
//! `store::bookings` and writes its audit entry, all in one write transaction; after the
//! commit it counts the change and tells the deposits worker what happened to the deposit.

use jiff::Timestamp;

use super::{Actor, App, AppError};
use crate::domain::{
    Booking, BookingId, BookingRules, BookingSource, BookingStatus, Branch, DomainError,
    PaymentState, Text,
};
use crate::store::bookings::{self, BarberChoice, ClientBooking, Created, NewBooking};
use crate::store::{ReadTx, StoreError, Tx, audit, catalog, payments};

/// A booking change that committed: the booking before and after, and its branch.
#[derive(Debug, Clone)]
pub struct Changed {
    pub before: Booking,
    pub after: Booking,
    pub branch: Branch,
}

/// The rules the front desk books by: the clients', without the minimum notice (a walk-in is
/// served now). The slot grid, the hours, the horizon and the no-overlap invariant stay.
pub fn front_desk_rules(rules: BookingRules) -> BookingRules {
    BookingRules {
        min_notice_minutes: 0,
        ..rules
    }
}

/// A client's booking (API or booking pages), made durable through the journal. A repeated
/// Idempotency-Key answers the booking it made, counted once.
pub async fn book_online(app: &App, request: ClientBooking) -> Result<Created, AppError> {
    request.client.look_up_ahead();
    let mut created = app.store.book(request).await?;
    if let (Some(deposits), Some(p)) = (app.payments.as_ref(), created.payment.clone())
        && p.state == PaymentState::AwaitingPreference
    {
        // The Checkout Pro link is made after the commit, never inside the write transaction.
        // If MercadoPago fails the booking holds its slot and the worker retries.
        let p = super::deposits::create_preference(app, deposits, p).await?;
        if !created.replayed {
            app.metrics.payment_state(p.state, p.amount);
        }
        created.payment = Some(p);
    }
    if !created.replayed {
        let branch = created
            .catalog
            .branch(created.booking.branch)
            .map(|b| b.slug.as_str().to_owned())
            .unwrap_or_default();
        tracing::info!(booking = created.booking.id.0, %branch, "booking created");
        app.metrics.booking_created(&branch, BookingSource::Online);
        if created.new_client {
            app.metrics.clients_created.inc();
        }
    }
    Ok(created)
}

/// A booking the front desk makes for a walk-in or a phone call (by the front desk's rules).
pub async fn book_at_desk(
    app: &App,
    actor: &Actor,
    request: NewBooking,
) -> Result<Created, AppError> {
    if let Some(staff) = actor.staff()
        && !staff.role.runs_front_desk()
    {
        return Err(AppError::Forbidden);
    }
    let source = request.source;
    request.client.look_up_ahead();
    let now = app.clock.now();
    let (rules, keys) = (front_desk_rules(app.rules), app.tokens.clone());
    let change = actor.change("booking.create", "booking", None);
    let created = app
        .store
        .write(move |txn| {
            let created = bookings::create(txn, request, now, &rules, &keys, None)?;
            let change = audit::Change {
                entity_id: Some(created.booking.id.0),
                after: audit::booking_snapshot(&created.booking),
                ..change
            };
            audit::record(txn, change, now)?;
            Ok(created)
        })
        .await?;
    let branch = created
        .catalog
        .branch(created.booking.branch)
        .map(|b| b.slug.as_str().to_owned())
        .unwrap_or_default();
    tracing::info!(booking = created.booking.id.0, %branch, source = source.as_str(), "booking created");
    app.metrics.booking_created(&branch, source);
    if created.new_client {
        app.metrics.clients_created.inc();
    }
    Ok(created)
}

/// The booking `id`, if `actor` may change it: the client with its manage token, the front
/// desk any booking, a barbero their own; jobs and commands any.
fn authorised(tx: &impl ReadTx, actor: &Actor, id: BookingId) -> Result<Booking, AppError> {
    match actor {
        Actor::Client(token) => Ok(bookings::get_authorised(tx, id, token.expose())?),
        Actor::Staff(staff) => {
            let booking = bookings::get(tx, id)?.ok_or(DomainError::UnknownBooking)?;
            if !staff.role.runs_front_desk() && staff.barber != Some(booking.barber) {
                return Err(AppError::Forbidden);
            }
            Ok(booking)
        }
        Actor::System | Actor::Cli => {
            Ok(bookings::get(tx, id)?.ok_or(DomainError::UnknownBooking)?)
        }
    }
}

/// The store's notion of who asks (the cut-off binds only clients).
fn asker(actor: &Actor) -> bookings::Actor {
    match actor {
        Actor::Client(_) => bookings::Actor::Client,
        _ => bookings::Actor::Staff,
    }
}

/// What a change did, as the transaction saw it: the change and the deposit before and after.
struct Outcome {
    changed: Changed,
    deposit_before: Option<PaymentState>,
    deposit_after: Option<crate::domain::Payment>,
}

/// Runs `apply` on the booking `id` as `actor` in one write transaction, audited as `action`
/// (the booking before and after); then counts a status change and wakes the deposits worker
/// when the deposit moved.
async fn change<F>(
    app: &App,
    actor: &Actor,
    id: BookingId,
    action: &'static str,
    apply: F,
) -> Result<Changed, AppError>
where
    F: FnOnce(&Tx, &Booking, Timestamp, &BookingRules) -> Result<Booking, StoreError>
        + Send
        + 'static,
{
    let now = app.clock.now();
    let rules = app.rules;
    let actor = actor.clone();
    let outcome = app
        .store
        .write(move |txn| {
            let before = match authorised(txn, &actor, id) {
                Ok(b) => b,
                Err(AppError::Store(e)) => return Err(e),
                Err(AppError::Rule(rule)) => return Err(rule.into()),
                // Refused before anything was written.
                Err(forbidden) => return Ok(Err(forbidden)),
            };
            let deposit_before = payments::by_booking(txn, id)?.map(|p| p.state);
            let after = apply(txn, &before, now, &rules)?;
            let change = audit::Change {
                before: audit::booking_snapshot(&before),
                after: audit::booking_snapshot(&after),
                ..actor.change(action, "booking", Some(id.0))
            };
            audit::record(txn, change, now)?;
            let branch = catalog::branch(txn, after.branch)?.ok_or(DomainError::UnknownBranch)?;
            let deposit_after = if deposit_before.is_some() {
                payments::by_booking(txn, id)?
            } else {
                None
            };
            Ok(Ok(Outcome {
                changed: Changed {
                    before,
                    after,
                    branch,
                },
                deposit_before,
                deposit_after,
            }))
        })
        .await??;
    super::deposits::after_booking_change(app, outcome.deposit_before, outcome.deposit_after);
    let Changed {
        before,
        after,
        branch,
    } = &outcome.changed;
    if before.status != after.status {
        app.metrics
            .booking_transition(branch.slug.as_str(), after.status);
    }
    Ok(outcome.changed)
}

/// Moves a booking to `start` (and `choice`: a barber, "any", or `None` for the same one),
/// under every booking rule; a client only before the cut-off.
pub async fn reschedule(
    app: &App,
    actor: &Actor,
    id: BookingId,
    start: Timestamp,
    choice: Option<BarberChoice>,
) -> Result<Changed, AppError> {
    let who = asker(actor);
    change(
        app,
        actor,
        id,
        "booking.reschedule",
        move |txn, before, now, rules| {
            let choice = choice.unwrap_or(BarberChoice::Barber(before.barber));
            bookings::reschedule(txn, before.id, start, choice, who, now, rules)
        },
    )
    .await
}

/// Cancels a booking with an optional reason, freeing its slot; a client only before the
/// cut-off. A deposit is refunded before the cut-off and kept after it. Cancelling a booking
/// that is already cancelled is refused (`invalid_transition`), whoever asks.
pub async fn cancel(
    app: &App,
    actor: &Actor,
    id: BookingId,
    reason: Option<Text>,
) -> Result<Changed, AppError> {
    if let Some(staff) = actor.staff()
        && !staff.role.runs_front_desk()
    {
        return Err(AppError::Forbidden);
    }
    let who = asker(actor);
    change(
        app,
        actor,
        id,
        "booking.cancel",
        move |txn, before, now, rules| bookings::cancel(txn, before.id, reason, who, now, rules),
    )
    .await
}

/// The front desk's status changes (check-in, completed, no-show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    CheckIn,
    Complete,
    NoShow,
}

impl StatusChange {
    pub fn status(self) -> BookingStatus {
        match self {
            Self::CheckIn => BookingStatus::CheckedIn,
            Self::Complete => BookingStatus::Completed,
            Self::NoShow => BookingStatus::NoShow,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::CheckIn => "booking.check_in",
            Self::Complete => "booking.complete",
            Self::NoShow => "booking.no_show",
        }
    }
}

/// Moves a booking along its status machine, on time (arrival from a while before the start,
/// completion and no-show once it started); a barbero only on their own bookings. A no-show
/// keeps a paid deposit. The change can be undone for a while ([`undo_status`]).
pub async fn set_status(
    app: &App,
    actor: &Actor,
    id: BookingId,
    to: StatusChange,
) -> Result<Changed, AppError> {
    change(app, actor, id, to.action(), move |txn, before, now, _| {
        bookings::desk_status(txn, before.id, to.status(), now)
    })
    .await
}

/// Undoes the last status change while it may be undone (`booking.undo` in the audit log):
/// an undone no-show holds its slot again only if nobody took it meanwhile.
pub async fn undo_status(app: &App, actor: &Actor, id: BookingId) -> Result<Changed, AppError> {
    change(
        app,
        actor,
        id,
        "booking.undo",
        move |txn, before, now, _| bookings::undo_status(txn, before.id, now),
    )
    .await
}

/// Replaces a booking's notes (the front desk, or the booking's own barber); `None` clears.
pub async fn set_notes(
    app: &App,
    actor: &Actor,
    id: BookingId,
    notes: Option<Text>,
) -> Result<Changed, AppError> {
    change(
        app,
        actor,
        id,
        "booking.notes",
        move |txn, before, now, _| bookings::set_notes(txn, before.id, notes, now),
    )
    .await
}
