//! The changes the front desk makes from the agenda: check-in, completed and no-show, notes,
//! cancel and reschedule. Each redirects back to the booking's day with a flash message.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;

use crate::domain::{Booking, BookingId, BookingStatus, DomainError, Text, time};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::{AdminError, view};
use crate::http::extract::PathId;
use crate::store::bookings::{self as store_bookings, Actor};
use crate::store::{ReadTx, StoreError, audit, catalog, payments};

/// A booking as the audit log keeps it (without the manage token's hash).
pub fn booking_view(b: &Booking) -> Option<Box<serde_json::value::RawValue>> {
    audit::booking_snapshot(b)
}

/// The agenda URL of a booking's branch and day.
fn agenda_url(tx: &impl ReadTx, b: &Booking) -> Result<String, StoreError> {
    let branch = catalog::branch(tx, b.branch)?.ok_or(DomainError::UnknownBranch)?;
    let date = time::local_date(b.start, &branch.tz());
    Ok(format!(
        "/admin/agenda?branch={}&date={date}",
        branch.slug.as_str()
    ))
}

#[derive(Deserialize)]
pub struct StatusForm {
    to: String,
}

/// The outcome of a change made from the agenda: where to go back, and what to say.
type Outcome = Result<(String, &'static str, String), StoreError>;

/// Redirects back to the booking's agenda with a flash message; rule violations become the
/// message, not an error page.
fn finish(outcome: Outcome, secure: bool) -> Result<Response, AdminError> {
    match outcome {
        Ok((to, kind, text)) => Ok(view::redirect(&to, kind, &text, secure)),
        Err(StoreError::Rule(DomainError::UnknownBooking)) => Err(AdminError::NotFound),
        Err(StoreError::Rule(DomainError::InvalidField { field: "role", .. })) => {
            Err(AdminError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

fn audit_change(
    current: &Current,
    action: &'static str,
    before: &Booking,
    after: &Booking,
) -> audit::Change {
    audit::Change {
        actor: Some(current.user.id),
        actor_email: current.user.email.as_str().to_owned(),
        ip: current.ip.clone(),
        action,
        entity: "booking",
        entity_id: Some(before.id.0),
        before: booking_view(before),
        after: booking_view(after),
    }
}

/// `POST /admin/bookings/{id}/status` (`to` = `checked_in`, `completed` or `no_show`).
/// A barbero may change only their own bookings.
pub async fn set_status(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<StatusForm>,
) -> Result<Response, AdminError> {
    let (to, action, done) = match form.to.as_str() {
        "checked_in" => (
            BookingStatus::CheckedIn,
            "booking.check_in",
            "Llegada registrada.",
        ),
        "completed" => (
            BookingStatus::Completed,
            "booking.complete",
            "Turno terminado.",
        ),
        "no_show" => (
            BookingStatus::NoShow,
            "booking.no_show",
            "Marcado como ausente.",
        ),
        _ => return Err(AdminError::BadRequest("Acción desconocida.".into())),
    };
    let now = state.clock.now();
    let outcome = state
        .store
        .write(move |txn| {
            let id = BookingId(id);
            let before = booking_for(txn, &current, id)?;
            let back = agenda_url(txn, &before)?;
            let deposit_before = payments::by_booking(txn, id)?.map(|p| p.state);
            match store_bookings::set_status(txn, id, to, None, now) {
                Ok(after) => {
                    audit::record(txn, audit_change(&current, action, &before, &after), now)?;
                    let deposit = (deposit_before, payments::by_booking(txn, id)?);
                    Ok(((back, "ok", done.to_owned()), deposit))
                }
                Err(StoreError::Rule(rule)) => {
                    Ok(((back, "error", rule.message_es()), (None, None)))
                }
                Err(e) => Err(e),
            }
        })
        .await
        .map(|(outcome, (before, after))| {
            crate::app::deposits::after_booking_change(&state, before, after);
            outcome
        });
    finish(outcome, state.admin.secure_cookies)
}

#[derive(Deserialize)]
pub struct NotesForm {
    #[serde(default)]
    notes: String,
}

/// The booking `id`, if this account may change it: the front desk any, a barbero their own.
fn booking_for(txn: &impl ReadTx, current: &Current, id: BookingId) -> Result<Booking, StoreError> {
    let booking = store_bookings::get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
    if !current.user.role.runs_front_desk() && current.user.barber != Some(booking.barber) {
        return Err(DomainError::InvalidField {
            field: "role",
            reason: "not your booking",
        }
        .into());
    }
    Ok(booking)
}

/// `POST /admin/bookings/{id}/notes`: replaces the booking's notes (front desk, or the
/// booking's own barber); empty clears them.
pub async fn set_notes(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<NotesForm>,
) -> Result<Response, AdminError> {
    let notes = match form.notes.trim() {
        "" => None,
        raw => Some(
            Text::multiline("notes", raw, 500)
                .map_err(|e| AdminError::BadRequest(e.message_es()))?,
        ),
    };
    let now = state.clock.now();
    let outcome = state
        .store
        .write(move |txn| {
            let id = BookingId(id);
            let before = booking_for(txn, &current, id)?;
            let back = agenda_url(txn, &before)?;
            let after = store_bookings::set_notes(txn, id, notes, now)?;
            audit::record(
                txn,
                audit_change(&current, "booking.notes", &before, &after),
                now,
            )?;
            Ok((back, "ok", "Nota guardada.".to_owned()))
        })
        .await;
    finish(outcome, state.admin.secure_cookies)
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
}

/// `POST /admin/bookings/{id}/cancel` with a reason (front desk only).
pub async fn cancel(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<CancelForm>,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let rules = state.rules;
    let reason = form.reason;
    let outcome = state
        .store
        .write(move |txn| {
            let id = BookingId(id);
            let before = store_bookings::get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
            let back = agenda_url(txn, &before)?;
            let Ok(reason) = Text::line("reason", &reason, 200) else {
                return Ok((
                    (
                        back,
                        "error",
                        "Escribí el motivo de la cancelación (hasta 200 caracteres).".into(),
                    ),
                    (None, None),
                ));
            };
            let deposit_before = payments::by_booking(txn, id)?.map(|p| p.state);
            match store_bookings::cancel(txn, id, Some(reason), Actor::Staff, now, &rules) {
                Ok(after) => {
                    audit::record(
                        txn,
                        audit_change(&current, "booking.cancel", &before, &after),
                        now,
                    )?;
                    let deposit = (deposit_before, payments::by_booking(txn, id)?);
                    Ok(((back, "ok", "Turno cancelado.".to_owned()), deposit))
                }
                Err(StoreError::Rule(rule)) => {
                    Ok(((back, "error", rule.message_es()), (None, None)))
                }
                Err(e) => Err(e),
            }
        })
        .await
        .map(|(outcome, (before, after))| {
            crate::app::deposits::after_booking_change(&state, before, after);
            outcome
        });
    finish(outcome, state.admin.secure_cookies)
}

#[derive(Deserialize)]
pub struct RescheduleForm {
    /// `YYYY-MM-DD`.
    #[serde(default)]
    date: String,
    /// `HH:MM`, local to the branch.
    #[serde(default)]
    time: String,
    /// `same` (keep the barber) or `any`.
    #[serde(default)]
    barber: String,
}

/// `POST /admin/bookings/{id}/reschedule` (front desk): moves a booking through
/// `store::bookings::reschedule` with `Actor::Staff` (no client cut-off; every other rule and
/// the invariant apply).
pub async fn reschedule(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<RescheduleForm>,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let rules = state.rules;
    let outcome = state
        .store
        .write(move |txn| {
            let id = BookingId(id);
            let before = store_bookings::get(txn, id)?.ok_or(DomainError::UnknownBooking)?;
            let branch = catalog::branch(txn, before.branch)?.ok_or(DomainError::UnknownBranch)?;
            let back = agenda_url(txn, &before)?;
            let when = form
                .date
                .parse::<Date>()
                .ok()
                .zip(form.time.parse::<crate::domain::time::ClockTime>().ok());
            let Some((date, clock)) = when else {
                return Ok((back, "error", "Elegí la nueva fecha y hora.".to_owned()));
            };
            let start = time::at(date, clock, &branch.tz())?;
            let choice = if form.barber == "any" {
                store_bookings::BarberChoice::Any
            } else {
                store_bookings::BarberChoice::Barber(before.barber)
            };
            match store_bookings::reschedule(txn, id, start, choice, Actor::Staff, now, &rules) {
                Ok(after) => {
                    audit::record(
                        txn,
                        audit_change(&current, "booking.reschedule", &before, &after),
                        now,
                    )?;
                    let to = agenda_url(txn, &after)?;
                    let text = format!(
                        "Turno reprogramado para el {} a las {}.",
                        view::date(date),
                        view::time(after.start, &branch.tz())
                    );
                    Ok((to, "ok", text))
                }
                Err(StoreError::Rule(rule)) => Ok((back, "error", rule.message_es())),
                Err(e) => Err(e),
            }
        })
        .await;
    finish(outcome, state.admin.secure_cookies)
}
