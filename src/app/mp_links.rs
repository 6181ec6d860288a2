//! The MercadoPago line of a sale, paid through a link: the desk creates a Checkout Pro
//! preference for that line's amount (shown as a link and a QR), and MercadoPago's
//! notification, fetched and applied by the payments worker like a deposit's, marks it paid.
//!
//! The preference is created outside any write transaction (like a deposit's); the link is
//! then stored with its audit entry. A sale has one live link: asking again returns it, and
//! two desks asking at once send MercadoPago the same `X-Idempotency-Key`, so get the same
//! preference. Only an expired, unpaid link is replaced.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::checkout::require_front_desk;
use super::{Actor, App, AppError};
use crate::domain::DomainError;
use crate::domain::Money;
use crate::domain::caja::mp_link::{self, LinkChange, MpLink, Reported};
use crate::domain::caja::{CajaError, EntryId, EntryKind, PaymentMethod};
use crate::integrations::mercadopago::PreferenceRequest;
use crate::store::payments::RemoteStatus;
use crate::store::{StoreError, Tx, audit, catalog, ledger, mp_links};

/// How long a link can be paid: the client pays at the desk, or later that day from home.
pub const LINK_HOURS: i64 = 24;

fn rule(e: CajaError) -> AppError {
    AppError::Rule(DomainError::Caja(e))
}

/// What a link needs from its sale, read before MercadoPago is called.
struct Due {
    amount: Money,
    title: String,
    existing: Option<MpLink>,
}

/// The sale's MercadoPago amount, refused for a missing, voided or MercadoPago-less sale.
fn due(tx: &impl crate::store::ReadTx, sale: EntryId) -> Result<Due, StoreError> {
    let caja = |e| StoreError::Rule(DomainError::Caja(e));
    let entry = ledger::get(tx, sale)?.ok_or(caja(CajaError::UnknownEntry))?;
    let EntryKind::Sale(s) = &entry.kind else {
        return Err(caja(CajaError::UnknownEntry));
    };
    if ledger::voided_by(tx, sale)?.is_some() {
        return Err(caja(CajaError::AlreadyVoided));
    }
    let amount = Money::sum(
        s.checkout
            .tenders
            .iter()
            .filter(|t| t.method == PaymentMethod::MercadoPago)
            .map(|t| t.amount),
    );
    if amount.centavos() == 0 {
        return Err(caja(CajaError::NoMercadoPagoLine));
    }
    let branch = catalog::load(tx)?
        .branch(entry.branch)
        .map(|b| b.name.as_str().to_owned())
        .unwrap_or_default();
    Ok(Due {
        amount,
        // The payer sees it at MercadoPago: the receipt's number, no names.
        title: format!("{branch} — comprobante N.º {sale}"),
        existing: mp_links::get(tx, sale)?,
    })
}

/// Returns the sale's live MercadoPago link, creating one (audited `ledger.mp_link`) when it
/// has none or its last one expired unpaid. Front desk only.
pub async fn create_link(app: &App, actor: &Actor, sale: EntryId) -> Result<MpLink, AppError> {
    require_front_desk(actor)?;
    let Some(mp) = app.payments.clone() else {
        return Err(rule(CajaError::MercadoPagoOff));
    };
    let now = app.clock.now();
    let d = app.store.read(move |tx| due(tx, sale)).await?;
    let previous = match d.existing {
        Some(l) if !l.is_expired(now) => return Ok(l),
        Some(l) => l.created_at.as_second(),
        None => 0,
    };
    let public = app.public_url.as_ref();
    let reference = mp_link::reference(sale);
    let expires_at = now
        .saturating_add(SignedDuration::from_hours(LINK_HOURS))
        .unwrap_or(now);
    let req = PreferenceRequest {
        item_id: reference.clone(),
        reference,
        title: d.title,
        amount: d.amount,
        payer_name: String::new(),
        notification_url: format!("{public}/webhooks/mercadopago"),
        // The client's phone lands on the chain's home page after paying.
        back_url: format!("{public}/"),
        expires_from: now,
        expires_to: expires_at,
    };
    // The same key for every desk asking for this sale's link until it expires.
    let key = format!("barberpro-caja-{sale}-{previous}");
    let created = mp.client.create_preference(&req, &key).await.map_err(|e| {
        tracing::warn!(sale = %sale, error = %e, "cannot create the MercadoPago link");
        rule(CajaError::MercadoPagoUnavailable)
    })?;
    let base = actor.change("ledger.mp_link", "ledger", Some(sale.0));
    let link = app
        .store
        .write(move |txn| {
            // Checked again: the sale may have been voided, or another desk stored a link.
            let d = due(txn, sale)?;
            if let Some(l) = d.existing.filter(|l| !l.is_expired(now)) {
                return Ok(l);
            }
            let branch = ledger::get(txn, sale)?
                .map(|e| e.branch)
                .ok_or(StoreError::Rule(DomainError::Caja(CajaError::UnknownEntry)))?;
            let link = MpLink {
                sale,
                branch,
                amount: d.amount,
                preference_id: created.id,
                url: created.init_point,
                created_at: now,
                expires_at,
                paid: None,
                last_status: None,
            };
            mp_links::put(txn, &link)?;
            let a = audit::Change {
                after: audit::json(json!({
                    "amount": link.amount.centavos(),
                    "preference": link.preference_id,
                    "expires_at": link.expires_at.to_string(),
                })),
                ..base
            };
            audit::record(txn, a, now)?;
            Ok(link)
        })
        .await?;
    Ok(link)
}

/// What a notification did to a sale's link.
pub struct Notified {
    pub change: LinkChange,
    pub link: MpLink,
    /// The sale was voided before its link was paid: the money is owed back to the client,
    /// and it is not revenue.
    pub refund_due: bool,
}

/// Applies what MercadoPago said about a payment of sale `sale`'s link, idempotently, inside
/// the worker's write transaction; the first approved payment of its amount marks it paid
/// (audited `ledger.mp_paid` by the system, saying whether the sale was voided by then).
/// `None` when the sale has no link.
pub fn apply_remote(
    txn: &Tx,
    sale: EntryId,
    remote: &RemoteStatus,
    now: Timestamp,
) -> Result<Option<Notified>, StoreError> {
    let Some(mut link) = mp_links::get(txn, sale)? else {
        return Ok(None);
    };
    let change = link.apply(
        &Reported {
            mp_payment_id: remote.mp_payment_id,
            status: &remote.status,
            centavos: remote.amount_centavos,
            currency: &remote.currency,
        },
        now,
    );
    if matches!(change, LinkChange::Paid | LinkChange::Noted) {
        mp_links::put(txn, &link)?;
    }
    let refund_due = change == LinkChange::Paid && ledger::voided_by(txn, sale)?.is_some();
    if change == LinkChange::Paid {
        let a = audit::Change {
            after: audit::json(json!({
                "amount": link.amount.centavos(),
                "mp_payment": remote.mp_payment_id,
                "refund_due": refund_due,
            })),
            ..audit::Change::by(audit::SYSTEM, "ledger.mp_paid", "ledger", Some(sale.0))
        };
        audit::record(txn, a, now)?;
    }
    Ok(Some(Notified {
        change,
        link,
        refund_due,
    }))
}

/// A link's state in Spanish, for the desk.
pub fn state_es(link: &MpLink, now: Timestamp) -> String {
    match (&link.paid, link.is_expired(now)) {
        (Some(p), _) => format!("Pagado por MercadoPago (pago N.º {})", p.mp_payment_id),
        (None, true) => "Vencido sin pagar".to_owned(),
        (None, false) => match link.last_status.as_deref() {
            Some("rejected") => "Pago rechazado: el cliente puede intentar de nuevo".to_owned(),
            _ => "Pendiente de pago".to_owned(),
        },
    }
}
