//! Making a booking: every check first (the Idempotency-Key, the catalogue, [`place`], the
//! client's own agenda), then the writes — the row, its two index entries, the deposit, the
//! key, the messages — in the caller's write transaction. A refused request wrote nothing.

use std::sync::Arc;

use jiff::Timestamp;

use super::availability::{place, resolve_services};
use super::index::{
    agenda_overlaps, idempotent_booking, index_entries, no_shows, remember_idempotency,
};
use super::{Created, Idempotency, NewBooking, get, ts};
use crate::domain::token::{self, TokenKey};
use crate::domain::{
    BookedService, Booking, BookingId, BookingRules, BookingStatus, DomainError, Interval, Money,
};
use crate::store::catalog::{self, Catalog};
use crate::store::clients;
use crate::store::{StoreError, Tx, codec, mail, next_id, outbox, payments, tables};

/// Creates a booking, or replays the one made earlier with the same Idempotency-Key and body.
pub fn create(
    txn: &Tx,
    req: NewBooking,
    now: Timestamp,
    rules: &BookingRules,
    keys: &TokenKey,
    idempotency: Option<Idempotency>,
) -> Result<Created, StoreError> {
    create_in(txn, catalog::load(txn)?, req, now, rules, keys, idempotency)
}

/// [`create`] against `catalog`, the catalogue as `txn` sees it (read once per booking).
pub(super) fn create_in(
    txn: &Tx,
    catalog: Arc<Catalog>,
    req: NewBooking,
    now: Timestamp,
    rules: &BookingRules,
    keys: &TokenKey,
    idempotency: Option<Idempotency>,
) -> Result<Created, StoreError> {
    if let Some(idem) = &idempotency
        && let Some(id) = idempotent_booking(txn, idem)?
    {
        let booking = get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
        let client = clients::get(txn, booking.client)?.ok_or(DomainError::UnknownClient)?;
        return Ok(Created {
            booking,
            token: keys.issue(id),
            replayed: true,
            client,
            new_client: false,
            payment: payments::by_booking(txn, id)?,
            catalog,
        });
    }

    let branch = catalog
        .branch(req.branch)
        .filter(|b| b.active)
        .ok_or(DomainError::UnknownBranch)?;
    let services = resolve_services(&catalog, branch.id, &req.services)?;
    let mut by_barber = txn.open_table(tables::BARBER_BOOKINGS)?;
    let mut by_client = txn.open_table(tables::CLIENT_BOOKINGS)?;
    let (barber, work, busy) = place(
        &by_barber, &catalog, branch, &services, req.barber, req.start, now, rules, None,
    )?;
    let start = req.start.as_second();
    let mut no_shows = 0;
    let details = req.client.normalised();
    let existing = clients::by_phone(txn, &details.phone)?;
    if let Some(existing) = &existing {
        let want = Interval::new(start, start + work);
        if agenda_overlaps(&by_client, existing.id.0, want, None)? {
            return Err(DomainError::ClientOverlap.into());
        }
        if req.deposit.is_some() {
            no_shows = self::no_shows(txn, &by_client, existing.id.0)?;
        }
    }
    let total = Money::sum(services.iter().map(|s| s.price));
    let deposit = req
        .deposit
        .and_then(|d| Some((d.policy.deposit_for(total, no_shows)?, d.hold)));

    // Every check passed: from here on, only writes.
    let new_client = existing.is_none();
    let client = clients::upsert_found(txn, existing, details, now)?;
    let id = BookingId(next_id(txn, "booking")?);
    let token = keys.issue(id);
    let booking = Booking {
        id,
        branch: branch.id,
        barber,
        client: client.id,
        total,
        services: services
            .into_iter()
            .map(|s| BookedService {
                id: s.id,
                name: s.name,
                duration_minutes: s.duration_minutes,
                price: s.price,
            })
            .collect(),
        start: req.start,
        end: ts(start + work)?,
        busy_until: ts(start + busy)?,
        status: BookingStatus::initial(req.source, deposit.is_some(), req.start, now),
        source: req.source,
        notes: req.notes,
        cancel_reason: None,
        manage_token_hash: token::hash(&token),
        created_at: now,
        updated_at: now,
        undoable_until: None,
    };
    codec::put(&mut txn.open_table(tables::BOOKINGS)?, id.0, &booking)?;
    index_entries(&mut by_barber, &mut by_client, &booking)?;
    drop((by_barber, by_client));
    let payment = match deposit {
        Some((amount, hold)) => Some(payments::open(txn, &booking, amount, hold, now)?),
        None => None,
    };
    if let Some(idem) = idempotency {
        remember_idempotency(txn, idem, id, now)?;
    }
    outbox::booking_changed(txn, None, &booking, now)?;
    mail::booking_created(txn, &booking, now)?;
    Ok(Created {
        booking,
        token,
        replayed: false,
        client,
        new_client,
        payment,
        catalog,
    })
}
