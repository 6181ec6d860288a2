//! Deposits (front desk): every branch's deposit policy and the latest deposits with their
//! MercadoPago payment, refund and history; what needs a person (a refused refund) first.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::{AppError, payments as use_case};
use crate::domain::{DomainError, Payment, PaymentId, PaymentState};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::{catalog, clients, payments};

/// One deposit as the page shows it.
pub struct PaymentRow {
    pub id: u64,
    pub booking: u64,
    pub client_id: u64,
    pub client: String,
    pub amount: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub hold_until: String,
    pub mp_payment: String,
    pub refund: String,
    pub last_error: String,
    pub events: Vec<String>,
    pub needs_attention: bool,
}

pub struct PolicyRow {
    pub branch: String,
    pub policy: String,
}

#[derive(Template)]
#[template(path = "admin/payments.html")]
pub struct PaymentsPage {
    pub l: Layout,
    pub enabled: bool,
    pub hold_minutes: u32,
    pub policies: Vec<PolicyRow>,
    pub rows: Vec<PaymentRow>,
}

/// A deposit's short description for a client's history ("$ 3.600,00 · pagada").
pub fn summary(p: &Payment) -> String {
    format!("{} · {}", p.amount, p.state.label_es())
}

/// `GET /admin/pagos`: policies and the newest 200 deposits.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let (list, branches, names) = state
        .store
        .read(|tx| {
            let list = payments::recent(tx, 200)?;
            let branches = catalog::branches(tx)?;
            let mut names = std::collections::HashMap::new();
            for p in &list {
                if let Some(c) = clients::get(tx, p.client)? {
                    names.insert(p.client, c.name.to_string());
                }
            }
            Ok((list, branches, names))
        })
        .await?;
    let tz = crate::domain::time::time_zone(crate::domain::catalog::DEFAULT_TZ)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let deposits = state.payments.as_ref();
    let policies = branches
        .iter()
        .map(|b| PolicyRow {
            branch: b.name.to_string(),
            policy: match deposits {
                Some(d) => d.policy_for(b.slug.as_str()).describe_es(),
                None => "Sin seña (pagos desactivados)".into(),
            },
        })
        .collect();
    let mut rows: Vec<PaymentRow> = list
        .iter()
        .map(|p| PaymentRow {
            id: p.id.0,
            booking: p.booking.0,
            client_id: p.client.0,
            client: names.get(&p.client).cloned().unwrap_or_default(),
            amount: p.amount.to_string(),
            state: p.state.as_str(),
            state_label: p.state.label_es(),
            hold_until: view::date_time(p.hold_until, &tz),
            mp_payment: p.mp_payment_id.map(|id| id.to_string()).unwrap_or_default(),
            refund: match (p.refund_id, p.refund_reason) {
                (Some(id), _) => format!("n.º {id}"),
                (None, Some(reason)) => reason.label_es().to_owned(),
                _ => String::new(),
            },
            last_error: p.last_error.clone().unwrap_or_default(),
            events: p
                .events
                .iter()
                .map(|e| format!("{} — {}", view::date_time(e.at, &tz), e.what))
                .collect(),
            needs_attention: p.state == PaymentState::RefundFailed,
        })
        .collect();
    // What needs a person first; otherwise newest first.
    rows.sort_by_key(|r| !r.needs_attention);
    let l = Layout::for_user("Señas", &current, "pagos", flash);
    let page = PaymentsPage {
        l,
        enabled: deposits.is_some(),
        hold_minutes: deposits.map_or(0, |d| d.config.hold_minutes),
        policies,
        rows,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `POST /admin/pagos/{id}/reintentar`: sends a refused refund again (front desk), audited in
/// the same transaction.
pub async fn retry_refund(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
) -> Result<Response, AdminError> {
    let (kind, text) = match use_case::retry_refund(&state, &current.actor(), PaymentId(id)).await {
        Ok(()) => (
            "ok",
            "Devolución enviada de nuevo a MercadoPago.".to_owned(),
        ),
        Err(AppError::Rule(DomainError::UnknownBooking)) => return Err(AdminError::NotFound),
        Err(AppError::Rule(rule)) => ("error", rule.message_es()),
        Err(e) => return Err(e.into()),
    };
    Ok(view::redirect(
        "/admin/pagos",
        kind,
        &text,
        state.admin.secure_cookies,
    ))
}
