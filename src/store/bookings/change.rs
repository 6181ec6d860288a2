//! Changing a booking: reschedule, cancel, status changes and their undo, notes. Each loads
//! the booking, checks, then writes the row, its index entries and the messages it calls for
//! in the caller's write transaction; a change that decides a deposit's fate (cancelled,
//! no-show, an undone no-show) tells `store::payments` in that same transaction.

use crate::store::engine::WriteTransaction;
use jiff::Timestamp;

use super::availability::{place, resolve_services};
use super::index::{agenda_overlaps, index_insert, index_remove};
use super::{Actor, BarberChoice, get, ts};
use crate::domain::booking;
use crate::domain::{
    Booking, BookingId, BookingRules, BookingStatus, Branch, DomainError, Interval, ServiceId, Text,
};
use crate::store::{StoreError, Tx, catalog, codec, outbox, payments, tables};

fn load_for_change(txn: &WriteTransaction, id: BookingId) -> Result<(Booking, Branch), StoreError> {
    let booking = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let branch = catalog::branch(txn, booking.branch)?.ok_or(DomainError::UnknownBranch)?;
    Ok((booking, branch))
}

/// Moves a booking to a new start (and barber, or "any"), under every booking rule.
pub fn reschedule(
    txn: &Tx,
    id: BookingId,
    start: Timestamp,
    choice: BarberChoice,
    actor: Actor,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Booking, StoreError> {
    let (old, branch) = load_for_change(txn, id)?;
    if !old.status.is_reschedulable() {
        return Err(DomainError::InvalidTransition {
            from: old.status.as_str(),
            to: "rescheduled",
        }
        .into());
    }
    if actor == Actor::Client {
        rules.client_may_change(old.start, now)?;
    }
    // The booked services, as the catalogue has them now (durations may have changed).
    let ids: Vec<ServiceId> = old.services.iter().map(|s| s.id).collect();
    let catalog = catalog::load(txn)?;
    let services = resolve_services(&catalog, branch.id, &ids)?;
    let (barber, work, busy) = place(
        &txn.open_table(tables::BARBER_BOOKINGS)?,
        &catalog,
        &branch,
        &services,
        choice,
        start,
        now,
        rules,
        Some(id),
    )?;
    let s = start.as_second();
    let overlaps = agenda_overlaps(
        &txn.open_table(tables::CLIENT_BOOKINGS)?,
        old.client.0,
        Interval::new(s, s + work),
        Some(id),
    )?;
    if overlaps {
        return Err(DomainError::ClientOverlap.into());
    }
    index_remove(txn, &old)?;
    let booking = Booking {
        barber,
        start,
        end: ts(s + work)?,
        busy_until: ts(s + busy)?,
        updated_at: now,
        ..old.clone()
    };
    save_changed(txn, &old, booking, now)
}

/// Cancels a booking (the client only before the cut-off), freeing its slot.
pub fn cancel(
    txn: &Tx,
    id: BookingId,
    reason: Option<Text>,
    actor: Actor,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<Booking, StoreError> {
    let (old, _) = load_for_change(txn, id)?;
    let before_cutoff = rules.client_may_change(old.start, now).is_ok();
    if actor == Actor::Client {
        // An already-cancelled booking answers "invalid transition", not "too late".
        if old.status.can_become(BookingStatus::Cancelled) {
            rules.client_may_change(old.start, now)?;
        }
    }
    let cancelled = Change {
        to: BookingStatus::Cancelled,
        reason,
        refund_deposit: before_cutoff,
        undoable_until: None,
    };
    change_status(txn, old, cancelled, now)
}

/// Moves a booking along its status machine (check-in, completed, no-show, cancelled).
/// A cancellation through here refunds a paid deposit; [`cancel`] applies the cut-off.
pub fn set_status(
    txn: &Tx,
    id: BookingId,
    to: BookingStatus,
    reason: Option<Text>,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let change = Change {
        to,
        reason,
        refund_deposit: true,
        undoable_until: None,
    };
    change_status(txn, old, change, now)
}

/// The front desk's status change (check-in, completed, no-show): on time only (see
/// [`BookingStatus::check_timing`]), and undoable for [`booking::UNDO_WINDOW`].
pub fn desk_status(
    txn: &Tx,
    id: BookingId,
    to: BookingStatus,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    old.status.transition(to)?;
    to.check_timing(old.start, now)?;
    let change = Change {
        to,
        reason: None,
        refund_deposit: true,
        undoable_until: now.checked_add(booking::UNDO_WINDOW).ok(),
    };
    change_status(txn, old, change, now)
}

/// Undoes the front desk's last status change while it may be undone. A booking that held
/// its slot again (an undone no-show) is checked against the agendas first; a deposit kept
/// for the no-show is paid again.
pub fn undo_status(txn: &Tx, id: BookingId, now: Timestamp) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let target = old
        .status
        .undo_target()
        .filter(|_| old.undoable_until.is_some_and(|until| now <= until))
        .ok_or(DomainError::NothingToUndo)?;
    if !old.status.is_active() && target.is_active() {
        let s = old.start.as_second();
        let barber = Interval::new(s, old.busy_until.as_second());
        if agenda_overlaps(
            &txn.open_table(tables::BARBER_BOOKINGS)?,
            old.barber.0,
            barber,
            Some(id),
        )? {
            return Err(DomainError::SlotUnavailable.into());
        }
        let client = Interval::new(s, old.end.as_second());
        if agenda_overlaps(
            &txn.open_table(tables::CLIENT_BOOKINGS)?,
            old.client.0,
            client,
            Some(id),
        )? {
            return Err(DomainError::ClientOverlap.into());
        }
        payments::no_show_undone(txn, id, now)?;
    }
    let booking = Booking {
        status: target,
        undoable_until: None,
        updated_at: now,
        ..old.clone()
    };
    save_changed(txn, &old, booking, now)
}

/// A status change as [`change_status`] applies it.
struct Change {
    to: BookingStatus,
    reason: Option<Text>,
    /// A cancellation before the cut-off refunds a paid deposit.
    refund_deposit: bool,
    /// Until when the front desk may undo it (`None`: not undoable).
    undoable_until: Option<Timestamp>,
}

/// The status change of `old`, and what it means for the deposit, in one transaction:
/// cancelled before the cut-off refunds it, after the cut-off or on a no-show it is kept.
fn change_status(
    txn: &Tx,
    old: Booking,
    change: Change,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    let id = old.id;
    let status = old.status.transition(change.to)?;
    // Checked first, written after: a refused change writes nothing.
    match change.to {
        BookingStatus::Cancelled => {
            payments::booking_cancelled(txn, id, change.refund_deposit, now)?
        }
        BookingStatus::NoShow => payments::booking_no_show(txn, id, now)?,
        _ => {}
    }
    let booking = Booking {
        status,
        cancel_reason: change.reason.or(old.cancel_reason.clone()),
        undoable_until: change.undoable_until,
        updated_at: now,
        ..old.clone()
    };
    save_changed(txn, &old, booking, now)
}

/// Writes a changed booking, its index entries (an entry of the same start is replaced in
/// place) and the message its client gets about the change.
fn save_changed(
    txn: &Tx,
    old: &Booking,
    booking: Booking,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    codec::put(
        &mut txn.open_table(tables::BOOKINGS)?,
        booking.id.0,
        &booking,
    )?;
    index_insert(txn, &booking)?;
    outbox::booking_changed(txn, Some(old), &booking, now)?;
    Ok(booking)
}

/// Replaces a booking's notes (front desk or its barber; any status: a note after the visit
/// is useful too). Returns the booking as it is now.
pub fn set_notes(
    txn: &WriteTransaction,
    id: BookingId,
    notes: Option<Text>,
    now: Timestamp,
) -> Result<Booking, StoreError> {
    let old = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    let booking = Booking {
        notes,
        updated_at: now,
        ..old
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    Ok(booking)
}
