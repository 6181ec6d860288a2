//! Cobrar: the checkout form for a booking (`?turno=ID`, reached from the agenda) or a
//! walk-in (`?branch=slug`), its POST, and the comprobante (a printable receipt, not a fiscal
//! invoice).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

use super::{AdminError, BranchOption, amount, back_on_rule, branch_options, pick_branch};
use crate::app::checkout::{self, ChargeRequest};
use crate::domain::caja::mp_link::line_paid_at;
use crate::domain::caja::{EntryId, EntryKind, PaymentMethod, ProductId, Tender, format_signed};
use crate::domain::{BarberId, BookingId, DomainError, ServiceId};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::http::extract::PathId;
use crate::store::{bookings, catalog, clients, ledger, payments, products};

#[derive(Deserialize, Default)]
pub struct CobrarQuery {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    turno: Option<u64>,
}

pub struct Choice {
    pub id: u64,
    pub name: String,
    pub price: String,
    pub checked: bool,
}

pub struct ProductChoice {
    pub id: u64,
    pub name: String,
    pub price: String,
    pub stock: u64,
}

pub struct MethodField {
    pub field: String,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "admin/caja_cobrar.html")]
pub struct CobrarPage {
    pub l: Layout,
    pub branches: Vec<BranchOption>,
    pub branch_slug: String,
    pub booking: Option<u64>,
    pub client: String,
    /// Whether the client already accepted WhatsApp messages: the receipt box starts ticked.
    pub whatsapp_consent: bool,
    pub deposit: String,
    pub barbers: Vec<Choice>,
    pub services: Vec<Choice>,
    pub products: Vec<ProductChoice>,
    pub methods: Vec<MethodField>,
}

/// `GET /admin/caja/cobrar`: the checkout form.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<CobrarQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let asked = q.branch.clone();
    let (cat, booking, client, deposit, stock) = state
        .store
        .read(move |tx| {
            let cat = catalog::load(tx)?;
            let booking = match q.turno {
                Some(id) => Some(
                    bookings::get(tx, BookingId(id))?
                        .ok_or(crate::store::StoreError::Rule(DomainError::UnknownBooking))?,
                ),
                None => None,
            };
            let client = match &booking {
                Some(b) => clients::get(tx, b.client)?
                    .map(|c| (c.name.as_str().to_owned(), c.whatsapp_consent)),
                None => None,
            };
            let deposit = match &booking {
                Some(b) => payments::by_booking(tx, b.id)?
                    .filter(|p| {
                        matches!(
                            p.state,
                            crate::domain::PaymentState::Approved
                                | crate::domain::PaymentState::Kept
                        )
                    })
                    .map(|p| p.amount),
                None => None,
            };
            let slug = match &booking {
                Some(b) => cat
                    .branch(b.branch)
                    .map(|x| x.slug.as_str().to_owned())
                    .unwrap_or_default(),
                None => q.branch.clone(),
            };
            let branch = cat
                .branch_by_slug(&slug)
                .or_else(|| cat.branches.iter().find(|b| b.active))
                .map(|b| b.id);
            let stock = match branch {
                Some(b) => products::stock_at(tx, b)?,
                None => Vec::new(),
            };
            Ok((cat, booking, client, deposit, stock))
        })
        .await?;
    let branch = match &booking {
        Some(b) => cat.branch(b.branch).ok_or(AdminError::NotFound)?,
        None => pick_branch(&cat, &asked)?,
    };
    let chosen: Vec<ServiceId> = booking
        .as_ref()
        .map(|b| b.services.iter().map(|s| s.id).collect())
        .unwrap_or_default();
    let page = CobrarPage {
        l: Layout::for_user("Cobrar", &current, "caja", flash),
        branches: branch_options(&cat, branch),
        branch_slug: branch.slug.as_str().to_owned(),
        booking: booking.as_ref().map(|b| b.id.0),
        whatsapp_consent: client.as_ref().is_some_and(|c| c.1),
        client: client.map(|c| c.0).unwrap_or_default(),
        deposit: deposit.map(|d| d.to_string()).unwrap_or_default(),
        barbers: cat
            .barbers_at(branch.id)
            .map(|b| Choice {
                id: b.id.0,
                name: b.name.as_str().to_owned(),
                price: String::new(),
                checked: booking.as_ref().is_some_and(|x| x.barber == b.id),
            })
            .collect(),
        services: cat
            .services
            .iter()
            .filter(|s| s.active || chosen.contains(&s.id))
            .map(|s| Choice {
                id: s.id.0,
                name: s.name.as_str().to_owned(),
                price: s.price.to_string(),
                checked: chosen.contains(&s.id),
            })
            .collect(),
        products: stock
            .into_iter()
            .filter(|(p, _)| p.active)
            .map(|(p, n)| ProductChoice {
                id: p.id.0,
                name: p.name.as_str().to_owned(),
                price: p.price.to_string(),
                stock: n,
            })
            .collect(),
        methods: PaymentMethod::ALL
            .iter()
            .map(|m| MethodField {
                field: format!("pago_{}", m.as_str()),
                label: m.label_es(),
            })
            .collect(),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// The checkout form's fields (services and products repeat).
#[derive(Default)]
struct Fields {
    branch: String,
    booking: Option<u64>,
    barber: Option<u64>,
    services: Vec<u64>,
    products: Vec<(u64, String)>,
    discount: String,
    reason: String,
    tip: String,
    tenders: Vec<(PaymentMethod, String)>,
    send_receipt: bool,
}

impl Fields {
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, DomainError> {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "branch" => f.branch = v,
                "turno" => f.booking = v.parse().ok(),
                "barber" => f.barber = v.parse().ok(),
                "servicio" => f.services.extend(v.parse::<u64>().ok()),
                "descuento" => f.discount = v,
                "motivo_descuento" => f.reason = v,
                "propina" => f.tip = v,
                "comprobante_whatsapp" => f.send_receipt = v == "1",
                k if k.starts_with("producto_") => {
                    if let Ok(id) = k["producto_".len()..].parse() {
                        f.products.push((id, v));
                    }
                }
                k if k.starts_with("pago_") => {
                    if let Some(m) = PaymentMethod::parse(&k["pago_".len()..]) {
                        f.tenders.push((m, v));
                    }
                }
                _ => {}
            }
        }
        Ok(f)
    }
}

/// Reads the form into a charge request (amounts and quantities checked here, the rest by
/// `app::checkout::charge`).
fn request(f: &Fields, branch: crate::domain::BranchId) -> Result<ChargeRequest, DomainError> {
    let mut products = Vec::new();
    for (id, raw) in &f.products {
        let raw = raw.trim();
        if raw.is_empty() || raw == "0" {
            continue;
        }
        let qty: u32 = raw
            .parse()
            .map_err(|_| DomainError::Caja(crate::domain::caja::CajaError::InvalidQuantity))?;
        products.push((ProductId(*id), qty));
    }
    let mut tenders = Vec::new();
    for (method, raw) in &f.tenders {
        let a = amount(raw)?;
        if a.centavos() > 0 {
            tenders.push(Tender {
                method: *method,
                amount: a,
            });
        }
    }
    let discount = amount(&f.discount)?;
    Ok(ChargeRequest {
        branch,
        booking: f.booking.map(BookingId),
        barber: f.barber.map(BarberId),
        client: None,
        services: f.services.iter().map(|s| ServiceId(*s)).collect(),
        products,
        discount: (discount.centavos() > 0).then(|| (discount, f.reason.clone())),
        tip: amount(&f.tip)?,
        tenders,
        send_receipt: f.send_receipt && f.booking.is_some(),
    })
}

/// `POST /admin/caja/cobrar`: charges, then shows the comprobante.
pub async fn charge(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let f = Fields::from_pairs(pairs).map_err(|e| AdminError::BadRequest(e.message_es()))?;
    let back = match f.booking {
        Some(id) => format!("/admin/caja/cobrar?turno={id}"),
        None => format!("/admin/caja/cobrar?branch={}", urlencode(&f.branch)),
    };
    let cat = state.store.read(catalog::load).await?;
    let branch = match f.booking {
        Some(id) => {
            state
                .store
                .read(move |tx| bookings::get(tx, BookingId(id)))
                .await?
                .ok_or(AdminError::NotFound)?
                .branch
        }
        None => pick_branch(&cat, &f.branch)?.id,
    };
    let req = match request(&f, branch) {
        Ok(r) => r,
        Err(rule) => return Ok(view::redirect(&back, "error", &rule.message_es(), secure)),
    };
    let result = checkout::charge(&state, &current.actor(), req).await;
    let whatsapp = if f.send_receipt && f.booking.is_some() {
        " El comprobante sale por WhatsApp."
    } else {
        ""
    };
    back_on_rule(result, &back, secure, |e| {
        let total = match &e.kind {
            EntryKind::Sale(s) => s.checkout.total.to_string(),
            _ => String::new(),
        };
        view::redirect(
            &format!("/admin/caja/comprobante/{}", e.id),
            "ok",
            &format!("Cobro registrado: {total}.{whatsapp}"),
            secure,
        )
    })
}

fn urlencode(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

pub struct ReceiptLine {
    pub what: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "admin/caja_comprobante.html")]
pub struct ReceiptPage {
    pub l: Layout,
    pub number: u64,
    pub branch: String,
    pub address: String,
    pub when: String,
    pub client: String,
    pub barber: String,
    pub lines: Vec<ReceiptLine>,
    pub subtotal: String,
    pub discount: String,
    pub discount_reason: String,
    pub tip: String,
    pub deposit: String,
    pub total: String,
    pub payments: Vec<ReceiptLine>,
    pub voided: bool,
    pub branch_slug: String,
    /// The MercadoPago line's link, QR and state (none without such a line).
    pub mp: Option<super::mp_link::MpView>,
}

/// `GET /admin/caja/comprobante/{id}`: the receipt of a sale, ready to print.
pub async fn receipt(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    flash: Flash,
) -> Result<Response, AdminError> {
    let (entry, voided, client, cat, link) = state
        .store
        .read(move |tx| {
            let link = crate::store::mp_links::get(tx, EntryId(id))?;
            let e = ledger::get(tx, EntryId(id))?;
            let voided = ledger::voided_by(tx, EntryId(id))?.is_some();
            let client = match e
                .as_ref()
                .and_then(|e| e.signed_sale())
                .and_then(|(s, _)| s.client)
            {
                Some(c) => clients::get(tx, c)?.map(|c| c.name.as_str().to_owned()),
                None => None,
            };
            Ok((e, voided, client, catalog::load(tx)?, link))
        })
        .await?;
    let entry = entry.ok_or(AdminError::NotFound)?;
    let EntryKind::Sale(sale) = &entry.kind else {
        return Err(AdminError::NotFound);
    };
    let c = &sale.checkout;
    let branch = cat.branch(entry.branch).ok_or(AdminError::NotFound)?;
    let tz = crate::domain::time::time_zone(&branch.time_zone)
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let mut lines: Vec<ReceiptLine> = c
        .services
        .iter()
        .map(|s| ReceiptLine {
            what: s.name.as_str().to_owned(),
            amount: s.price.to_string(),
        })
        .collect();
    lines.extend(c.products.iter().map(|p| ReceiptLine {
        what: format!("{} × {}", p.name.as_str(), p.qty),
        amount: format_signed(p.amount()),
    }));
    let page = ReceiptPage {
        l: Layout::for_user("Comprobante", &current, "caja", flash),
        number: entry.id.0,
        branch: branch.name.as_str().to_owned(),
        address: branch.address.as_str().to_owned(),
        when: view::date_time(entry.at, &tz),
        client: client.unwrap_or_default(),
        barber: cat
            .barber(sale.barber)
            .map(|b| b.name.as_str().to_owned())
            .unwrap_or_default(),
        lines,
        subtotal: c.subtotal.to_string(),
        discount: if c.discount_amount() > 0 {
            format_signed(-c.discount_amount())
        } else {
            String::new()
        },
        discount_reason: c
            .discount
            .as_ref()
            .map(|d| d.reason.as_str().to_owned())
            .unwrap_or_default(),
        tip: if c.tip.centavos() > 0 {
            c.tip.to_string()
        } else {
            String::new()
        },
        deposit: if c.deposit.centavos() > 0 {
            format_signed(-c.deposit.centavos())
        } else {
            String::new()
        },
        total: c.total.to_string(),
        payments: c
            .tenders
            .iter()
            .map(|t| ReceiptLine {
                // A MercadoPago line says whether MercadoPago paid it, and when.
                what: if t.method == PaymentMethod::MercadoPago {
                    let paid = line_paid_at(link.as_ref(), state.payments.is_some(), entry.at);
                    format!(
                        "{} ({})",
                        t.method.label_es(),
                        crate::domain::caja::mp_link::line_state_es(paid, &tz)
                    )
                } else {
                    t.method.label_es().to_owned()
                },
                amount: t.amount.to_string(),
            })
            .collect(),
        voided,
        branch_slug: branch.slug.as_str().to_owned(),
        mp: super::mp_link::view(
            crate::domain::Money::sum(
                c.tenders
                    .iter()
                    .filter(|t| t.method == PaymentMethod::MercadoPago)
                    .map(|t| t.amount),
            ),
            link.as_ref(),
            state.payments.is_some(),
            voided,
            state.clock.now(),
        ),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}
