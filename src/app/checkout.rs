//! Cobrar: charge a booking or a walk-in, and void (anular) a sale. Each is one write
//! transaction with its audit entry; the counters follow the commit.
//!
//! Roles: the front desk (owner, recepción) charges and voids; recepción voids only sales of
//! the branch's current till day (not yet closed), the owner any day's.

use jiff::civil::Date;
use serde_json::json;

use super::{Actor, App, AppError};
use crate::domain::caja::mp_link::line_paid_at;
use crate::domain::caja::{
    CajaError, Checkout, Discount, Draft, Entry, EntryId, EntryKind, PaymentMethod, ProductId,
    ProductLine, Sale, ServiceLine, Tender,
};
use crate::domain::staff::{Role, StaffId};
use crate::domain::{
    BarberId, BookingId, BookingStatus, BranchId, ClientId, DomainError, Money, PaymentState,
    ServiceId, Text,
};
use crate::store::ledger::{self, Stamp};
use crate::store::{
    ReadTx, StoreError, audit, catalog, commissions, mp_links, payments, products, till,
};

/// What the desk asks to charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub branch: BranchId,
    /// The booking charged; its barber, client and deposit come with it.
    pub booking: Option<BookingId>,
    /// The barber of a walk-in (a booking's own barber otherwise).
    pub barber: Option<BarberId>,
    pub client: Option<ClientId>,
    pub services: Vec<ServiceId>,
    pub products: Vec<(ProductId, u32)>,
    /// The discount and its reason as typed.
    pub discount: Option<(Money, String)>,
    pub tip: Money,
    pub tenders: Vec<Tender>,
    /// Send the comprobante to the booking's client by WhatsApp: the client agreed at the
    /// desk, so their consent is recorded (Ley 25.326) if it was not already.
    pub send_receipt: bool,
}

/// The front desk (or a command or job): owner and recepción.
pub(crate) fn require_front_desk(actor: &Actor) -> Result<(), AppError> {
    match actor {
        Actor::Staff(s) if s.role.runs_front_desk() => Ok(()),
        Actor::System | Actor::Cli => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

pub(crate) fn require_owner(actor: &Actor) -> Result<(), AppError> {
    match actor {
        Actor::Staff(s) if s.role.is_owner() => Ok(()),
        Actor::Cli => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

pub(crate) fn staff_id(actor: &Actor) -> Option<StaffId> {
    actor.staff().map(|s| s.id)
}

fn rule(e: CajaError) -> StoreError {
    StoreError::Rule(DomainError::Caja(e))
}

/// The local day at `branch` now, and the till day an entry made now counts to.
pub(crate) fn till_day(
    tx: &impl ReadTx,
    branch: BranchId,
    now: jiff::Timestamp,
) -> Result<(Date, Date), StoreError> {
    let cat = catalog::load(tx)?;
    let b = cat
        .branch(branch)
        .ok_or(StoreError::Rule(DomainError::UnknownBranch))?;
    let tz = crate::domain::time::time_zone(&b.time_zone)?;
    let today = crate::domain::time::local_date(now, &tz);
    Ok((today, till::current_day(tx, branch, today)?))
}

/// Charges a booking or a walk-in: the lines at today's catalogue prices, the booking's
/// approved deposit credited, the payments checked to add up, the stock taken, the
/// barber's commission lines computed with their rules now; audited `ledger.sale`.
pub async fn charge(app: &App, actor: &Actor, req: ChargeRequest) -> Result<Entry, AppError> {
    require_front_desk(actor)?;
    let now = app.clock.now();
    let by = staff_id(actor);
    let entry_audit = actor.change("ledger.sale", "ledger", None);
    let consent_audit = actor.change("client.whatsapp_opt_in", "client", None);
    let links_on = app.payments.is_some();
    let (entry, slug) = app
        .store
        .write(move |txn| {
            let cat = catalog::load(txn)?;
            let branch = cat
                .branch(req.branch)
                .ok_or(StoreError::Rule(DomainError::UnknownBranch))?;
            let (mut barber, mut client, mut deposit) = (req.barber, req.client, Money::default());
            let mut booked = None;
            if let Some(id) = req.booking {
                let b = crate::store::bookings::get(txn, id)?
                    .filter(|b| b.branch == req.branch)
                    .ok_or(StoreError::Rule(DomainError::UnknownBooking))?;
                if matches!(b.status, BookingStatus::Cancelled | BookingStatus::NoShow) {
                    return Err(rule(CajaError::NotChargeable));
                }
                barber = Some(barber.unwrap_or(b.barber));
                client = Some(b.client);
                if let Some(p) = payments::by_booking(txn, id)?
                    && matches!(p.state, PaymentState::Approved | PaymentState::Kept)
                {
                    deposit = p.amount;
                }
                booked = Some(b);
            }
            let barber = barber.ok_or(StoreError::Rule(DomainError::UnknownBarber(0)))?;
            if cat.barber(barber).is_none() {
                return Err(StoreError::Rule(DomainError::UnknownBarber(barber.0)));
            }
            let mut services = Vec::new();
            for id in &req.services {
                let s = cat
                    .services
                    .iter()
                    .find(|s| s.id == *id)
                    .ok_or(StoreError::Rule(DomainError::UnknownService(id.0)))?;
                services.push(ServiceLine {
                    service: s.id,
                    name: s.name.clone(),
                    price: s.price,
                });
            }
            let mut lines = Vec::new();
            for (id, qty) in &req.products {
                let p = products::get(txn, *id)?
                    .filter(|p| p.active)
                    .ok_or(rule(CajaError::UnknownProduct))?;
                lines.push(ProductLine {
                    product: p.id,
                    name: p.name,
                    unit_price: p.price,
                    qty: *qty,
                });
            }
            let discount = match req.discount {
                Some((amount, _)) if amount.centavos() == 0 => None,
                Some((amount, reason)) => Some(Discount {
                    amount,
                    reason: Text::line("motivo del descuento", &reason, 200)
                        .map_err(|_| rule(CajaError::DiscountWithoutReason))?,
                }),
                None => None,
            };
            let checkout = Checkout::new(Draft {
                services,
                products: lines,
                discount,
                tip: req.tip,
                deposit,
                tenders: req.tenders,
            })
            .map_err(rule)?;
            let category_of = |id| {
                cat.services
                    .iter()
                    .find(|s| s.id == id)
                    .and_then(|s| s.category.as_ref())
                    .map(|c| c.as_str().to_owned())
            };
            let commissions = commissions::rules(txn, barber)?.lines(&checkout, category_of);
            let (_, day) = till_day(txn, req.branch, now)?;
            let entry = ledger::sell(
                txn,
                Stamp {
                    branch: req.branch,
                    day,
                    at: now,
                    by,
                },
                Sale {
                    booking: req.booking,
                    client,
                    barber,
                    checkout,
                    commissions,
                },
            )?;
            let a = audit::Change {
                entity_id: Some(entry.id.0),
                after: audit::json(sale_summary(&entry)),
                ..entry_audit
            };
            audit::record(txn, a, now)?;
            if let (true, Some(b)) = (req.send_receipt, &booked) {
                let tz = crate::domain::time::time_zone(&branch.time_zone)?;
                let total = receipt_total(&entry, links_on, &tz);
                receipt_by_whatsapp(txn, &consent_audit, b, &entry, total, now)?;
            }
            Ok((entry, branch.slug.as_str().to_owned()))
        })
        .await?;
    if let EntryKind::Sale(s) = &entry.kind {
        // No link exists yet: with MercadoPago on, its line counts once the link is paid.
        let mp_received = line_paid_at(None, links_on, entry.at).is_some();
        app.metrics
            .caja
            .checkout(&slug, &s.checkout, false, mp_received);
    }
    Ok(entry)
}

/// Queues the comprobante for the booking's client, recording first their consent (given at
/// the desk) when they had not given it; the outbox sends nothing when WhatsApp is off.
fn receipt_by_whatsapp(
    txn: &crate::store::Tx,
    consent_audit: &audit::Change,
    b: &crate::domain::Booking,
    entry: &Entry,
    total: String,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let before = crate::store::clients::get(txn, b.client)?
        .ok_or(StoreError::Rule(DomainError::UnknownClient))?;
    if !before.whatsapp_consent {
        let after = crate::store::clients::set_whatsapp_consent(txn, b.client, true, now)?;
        let change = audit::Change {
            entity_id: Some(b.client.0),
            before: audit::snapshot(&before),
            after: audit::snapshot(&after),
            ..consent_audit.clone()
        };
        audit::record(txn, change, now)?;
    }
    crate::store::outbox::enqueue_with(
        txn,
        crate::domain::notice::Template::Receipt,
        b,
        now,
        now,
        vec![entry.id.0.to_string(), total],
    )?;
    Ok(())
}

/// The receipt's total for WhatsApp (its seventh parameter), with the state of a MercadoPago
/// line when there is one: «$ 8.000,00 (MercadoPago $ 3.000,00 pendiente de pago)».
fn receipt_total(entry: &Entry, links_on: bool, tz: &jiff::tz::TimeZone) -> String {
    let EntryKind::Sale(s) = &entry.kind else {
        return String::new();
    };
    let total = s.checkout.total.to_string();
    let mp = s.checkout.paid_by(PaymentMethod::MercadoPago);
    match Money::from_centavos(mp) {
        Ok(m) if mp > 0 => {
            // A sale just made has no link yet.
            let state = crate::domain::caja::mp_link::line_state_es(
                line_paid_at(None, links_on, entry.at),
                tz,
            );
            format!("{total} (MercadoPago {m} {state})")
        }
        _ => total,
    }
}

/// What the audit log keeps of a sale: amounts and ids, no names.
fn sale_summary(e: &Entry) -> serde_json::Value {
    match e.signed_sale() {
        Some((s, _)) => json!({
            "day": e.day.to_string(),
            "booking": s.booking.map(|b| b.0),
            "barber": s.barber.0,
            "total": s.checkout.total.centavos(),
            "tip": s.checkout.tip.centavos(),
            "discount": s.checkout.discount_amount(),
            "deposit": s.checkout.deposit.centavos(),
        }),
        None => json!({"day": e.day.to_string()}),
    }
}

/// Voids sale `id` with a reason: a new entry on today's till day (the cash goes out of it),
/// the stock back, the booking free to be charged again; audited `ledger.void`. Recepción
/// may void only a sale of the current till day; the owner any.
pub async fn void(app: &App, actor: &Actor, id: EntryId, reason: &str) -> Result<Entry, AppError> {
    require_front_desk(actor)?;
    let reason = Text::line("motivo", reason, 200)?;
    let now = app.clock.now();
    let by = staff_id(actor);
    let only_today = matches!(actor.staff().map(|s| s.role), Some(Role::Recepcion));
    let base = actor.change("ledger.void", "ledger", Some(id.0));
    let links_on = app.payments.is_some();
    let done = app
        .store
        .write(move |txn| {
            let original = ledger::get(txn, id)?.ok_or(rule(CajaError::UnknownEntry))?;
            let (_, day) = till_day(txn, original.branch, now)?;
            if only_today && original.day != day {
                return Ok(None);
            }
            let (void, original) = ledger::void(
                txn,
                Stamp {
                    branch: original.branch,
                    day,
                    at: now,
                    by,
                },
                id,
                reason,
            )?;
            let a = audit::Change {
                before: audit::json(sale_summary(&original)),
                after: audit::json(json!({"void": void.id.0, "day": void.day.to_string()})),
                ..base
            };
            audit::record(txn, a, now)?;
            let slug = catalog::load(txn)?
                .branch(void.branch)
                .map(|b| b.slug.as_str().to_owned())
                .unwrap_or_default();
            // Its MercadoPago line is taken back from revenue only if it had counted there.
            let link = mp_links::get(txn, id)?;
            let mp_received = line_paid_at(link.as_ref(), links_on, original.at).is_some();
            Ok(Some((void, slug, mp_received)))
        })
        .await?;
    let (void, slug, mp_received) = done.ok_or(AppError::Forbidden)?;
    if let EntryKind::Void(v) = &void.kind {
        app.metrics
            .caja
            .checkout(&slug, &v.sale.checkout, true, mp_received);
    }
    Ok(void)
}
