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
use crate::domain::ClientId;
use crate::domain::notice::Template;
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::outbox::{self, Message};
use crate::store::{audit, clients};

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
                let client = clients::get(tx, m.client)?
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

fn change(current: &Current, action: &'static str, entity: &'static str, id: u64) -> audit::Change {
    audit::Change {
        actor: Some(current.user.id),
        actor_email: current.user.email.as_str().to_owned(),
        ip: current.ip.clone(),
        action,
        entity,
        entity_id: Some(id),
        before: None,
        after: None,
    }
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
    let now = state.clock.now();
    let result = state
        .store
        .write(move |txn| {
            let m = outbox::retry(txn, id, now)?;
            let mut entry = change(&current, "message.retry", "message", id);
            entry.after = audit::snapshot(&m);
            audit::record(txn, entry, now)?;
            Ok(m)
        })
        .await;
    match result {
        Ok(_) if to_page => Ok(view::redirect(
            "/admin/mensajes",
            "ok",
            "Se reintenta el envío ahora.",
            secure,
        )),
        Ok(m) => Ok(Json(m).into_response()),
        Err(crate::store::StoreError::Rule(rule)) if to_page => Ok(view::redirect(
            "/admin/mensajes",
            "error",
            &rule.message_es(),
            secure,
        )),
        Err(crate::store::StoreError::Rule(crate::domain::DomainError::UnknownMessage)) => {
            Err(AdminError::NotFound)
        }
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
    let now = state.clock.now();
    let consent = form.consent;
    state
        .store
        .write(move |txn| {
            let before = clients::get(txn, ClientId(id))?;
            let after = clients::set_whatsapp_consent(txn, ClientId(id), consent, now)?;
            let action = if consent {
                "client.whatsapp_opt_in"
            } else {
                "client.whatsapp_opt_out"
            };
            let mut entry = change(&current, action, "client", id);
            entry.before = before.as_ref().and_then(audit::snapshot);
            entry.after = audit::snapshot(&after);
            audit::record(txn, entry, now)
        })
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Rule(crate::domain::DomainError::UnknownClient) => {
                AdminError::NotFound
            }
            other => other.into(),
        })?;
    Ok(Redirect::to(&format!("/admin/clientes/{id}")).into_response())
}
