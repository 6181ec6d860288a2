//! WhatsApp messages for the front desk: the dead letters (messages WhatsApp refused, or that
//! failed too many times) with a retry action, and a client's opt-out. A page
//! (`/admin/mensajes`) and the same in JSON for scripts; every change is audited.

use askama::Template as Page;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use serde::{Deserialize, Serialize};

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::{AppError, messages};
use crate::domain::notice::Template;
use crate::domain::{ClientId, DomainError};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::outbox::{self, Message};
use crate::store::{bookings, clients};

#[derive(Serialize)]
pub struct Outbox {
    /// Messages queued or in flight.
    pub depth: u64,
    /// Seconds the oldest due message has waited.
    pub oldest_due_age_secs: i64,
    pub dead_letters: Vec<Message>,
}

/// `GET /admin/mensajes.json`: the outbox's depth and its dead letters, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Outbox>, AdminError> {
    let now = state.clock.now();
    let (depth, oldest, dead_letters) = state
        .store
        .read(move |tx| {
            let (depth, oldest) = outbox::depth(tx, now)?;
            Ok((depth, oldest, outbox::dead_letters(tx)?))
        })
        .await?;
    Ok(Json(Outbox {
        depth,
        oldest_due_age_secs: oldest.as_secs(),
        dead_letters,
    }))
}

pub struct DeadRow {
    pub id: u64,
    pub template: &'static str,
    pub booking: u64,
    pub client: String,
    pub attempts: u32,
    pub error: String,
    pub when: String,
}

#[derive(Page)]
#[template(path = "admin/messages.html")]
pub struct MessagesPage {
    pub l: Layout,
    pub depth: u64,
    pub oldest_minutes: i64,
    pub dead: Vec<DeadRow>,
}

fn template_es(t: Template) -> &'static str {
    match t {
        Template::BookingConfirmed => "Turno confirmado",
        Template::BookingCancelled => "Turno cancelado",
        Template::BookingRescheduled => "Turno reprogramado",
        Template::Reminder => "Recordatorio",
        Template::DepositReceived => "Seña recibida",
        Template::Receipt => "Comprobante",
    }
}

/// `GET /admin/mensajes`: the outbox at a glance and its dead letters, each with a retry.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let (depth, oldest, dead) = state
        .store
        .read(move |tx| {
            let (depth, oldest) = outbox::depth(tx, now)?;
            let mut rows = Vec::new();
            for m in outbox::dead_letters(tx)? {
                // The booking's client: a merge moves bookings, not queued messages, and the
                // record a message was queued for may be gone.
                let owner = bookings::get(tx, m.booking)?.map_or(m.client, |b| b.client);
                let client = clients::get(tx, owner)?
                    .map(|c| c.name.as_str().to_owned())
                    .unwrap_or_default();
                rows.push((m, client));
            }
            Ok((depth, oldest, rows))
        })
        .await?;
    let tz = &state.admin.system.time_zone;
    let dead = dead
        .into_iter()
        .map(|(m, client)| DeadRow {
            id: m.id,
            template: template_es(m.template),
            booking: m.booking.0,
            client,
            attempts: m.attempts,
            error: m.last_error.or(m.reason).unwrap_or_default(),
            when: view::date_time(m.updated_at, tz),
        })
        .collect();
    let page = MessagesPage {
        l: Layout::for_user("Mensajes", &current, "mensajes", flash),
        depth,
        oldest_minutes: oldest.as_secs() / 60,
        dead,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize, Default)]
pub struct RetryForm {
    /// `page`: answer the form on `/admin/mensajes` (redirect with a message); else JSON.
    #[serde(default)]
    back: String,
}

/// `POST /admin/mensajes/{id}/reintentar`: a dead letter gets a fresh set of attempts now.
pub async fn retry(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<RetryForm>,
) -> Result<Response, AdminError> {
    let to_page = form.back == "page";
    let secure = state.admin.secure_cookies;
    match messages::retry(&state, &current.actor(), id).await {
        Ok(_) if to_page => Ok(view::redirect(
            "/admin/mensajes",
            "ok",
            "Se reintenta el envío ahora.",
            secure,
        )),
        Ok(m) => Ok(Json(m).into_response()),
        Err(AppError::Rule(rule)) if to_page => Ok(view::redirect(
            "/admin/mensajes",
            "error",
            &rule.message_es(),
            secure,
        )),
        Err(AppError::Rule(DomainError::UnknownMessage)) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ConsentForm {
    /// `true` (opt in) or `false` (opt out).
    consent: bool,
}

/// `POST /admin/clientes/{id}/whatsapp`: records the client's consent; without it nothing is
/// queued and queued messages are dropped. Back to the client's page.
pub async fn set_consent(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<ConsentForm>,
) -> Result<Response, AdminError> {
    match messages::set_consent(&state, &current.actor(), ClientId(id), form.consent).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/clientes/{id}")).into_response()),
        Err(AppError::Rule(DomainError::UnknownClient)) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
