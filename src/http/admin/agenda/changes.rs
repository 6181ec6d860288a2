//! The changes the front desk makes from the agenda: check-in, completed and no-show, notes,
//! cancel and reschedule, each through its use case in `app::bookings`. Each redirects back
//! to the booking's day with a flash message; a refusal by a rule is the message.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;

use crate::app::AppError;
use crate::app::bookings::{self as use_case, Changed, StatusChange};
use crate::domain::{Booking, BookingId, DomainError, Text, time};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::{AdminError, view};
use crate::http::extract::PathId;
use crate::store::bookings::{self as store_bookings, BarberChoice};
use crate::store::{ReadTx, StoreError, catalog};

/// The agenda URL of a booking's day at `branch`.
fn day_url(branch: &crate::domain::Branch, b: &Booking) -> String {
    let date = time::local_date(b.start, &branch.tz());
    format!("/admin/agenda?branch={}&date={date}", branch.slug.as_str())
}

/// The agenda URL of a booking's branch and day.
fn agenda_url(tx: &impl ReadTx, b: &Booking) -> Result<String, StoreError> {
    let branch = catalog::branch(tx, b.branch)?.ok_or(DomainError::UnknownBranch)?;
    Ok(day_url(&branch, b))
}

/// Back to the booking's day with `done`, or with the rule that refused the change. An
/// unknown booking is the 404 page; another barber's booking, the 403 page.
async fn finish(
    state: &AppState,
    id: BookingId,
    result: Result<Changed, AppError>,
    done: impl FnOnce(&Changed) -> String,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    match result {
        Ok(changed) => {
            let to = day_url(&changed.branch, &changed.after);
            let mut text = done(&changed);
            let moved_or_cancelled = changed.before.start != changed.after.start
                || changed.after.status == crate::domain::BookingStatus::Cancelled;
            if moved_or_cancelled {
                text.push_str(&whatsapp_notice(state, &changed).await?);
            }
            Ok(view::redirect(&to, "ok", &text, secure))
        }
        Err(AppError::Rule(DomainError::UnknownBooking)) => Err(AdminError::NotFound),
        Err(AppError::Rule(rule)) => {
            let back = state
                .store
                .read(move |tx| {
                    let b = store_bookings::get(tx, id)?.ok_or(DomainError::UnknownBooking)?;
                    agenda_url(tx, &b)
                })
                .await?;
            Ok(view::redirect(&back, "error", &rule.message_es(), secure))
        }
        Err(e) => Err(e.into()),
    }
}

/// ` Le avisamos a Juan por WhatsApp.` when the change queued a message to the client (they
/// accepted WhatsApp), else empty: the desk knows whether to call.
async fn whatsapp_notice(state: &AppState, changed: &Changed) -> Result<String, AdminError> {
    let client = changed.after.client;
    let found = state
        .store
        .read(move |tx| crate::store::clients::get(tx, client))
        .await?;
    Ok(match found {
        Some(c) if c.whatsapp_consent => {
            format!(" Le avisamos a {} por WhatsApp.", c.name.as_str())
        }
        _ => String::new(),
    })
}

#[derive(Deserialize)]
pub struct StatusForm {
    to: String,
    /// `1` when the no-show was confirmed (the form asks; nothing is marked on one click).
    #[serde(default)]
    confirm: String,
}

/// `POST /admin/bookings/{id}/status` (`to` = `checked_in`, `completed` or `no_show`).
/// A barbero may change only their own bookings.
pub async fn set_status(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<StatusForm>,
) -> Result<Response, AdminError> {
    let (to, done) = match form.to.as_str() {
        "checked_in" => (StatusChange::CheckIn, "Llegada registrada."),
        "completed" => (StatusChange::Complete, "Turno terminado."),
        "no_show" => (StatusChange::NoShow, "Marcado como ausente."),
        _ => return Err(AdminError::BadRequest("Acción desconocida.".into())),
    };
    let id = BookingId(id);
    if to == StatusChange::NoShow && form.confirm != "1" {
        return back_with(&state, id, "Confirmá que el cliente no vino.").await;
    }
    let result = use_case::set_status(&state, &current.actor(), id, to).await;
    finish(&state, id, result, |_| done.to_owned()).await
}

/// `POST /admin/bookings/{id}/undo`: undoes the last status change, for a while after it.
pub async fn undo_status(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
) -> Result<Response, AdminError> {
    let id = BookingId(id);
    let result = use_case::undo_status(&state, &current.actor(), id).await;
    finish(&state, id, result, |c| {
        format!(
            "Cambio deshecho: el turno volvió a «{}».",
            crate::domain::booking::status_label_es(c.after.status.as_str())
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct NotesForm {
    #[serde(default)]
    notes: String,
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
    let id = BookingId(id);
    let result = use_case::set_notes(&state, &current.actor(), id, notes).await;
    finish(&state, id, result, |_| "Nota guardada.".to_owned()).await
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
    let id = BookingId(id);
    let Ok(reason) = Text::line("reason", &form.reason, 200) else {
        let message = "Escribí el motivo de la cancelación (hasta 200 caracteres).";
        return back_with(&state, id, message).await;
    };
    let result = use_case::cancel(&state, &current.actor(), id, Some(reason)).await;
    finish(&state, id, result, |_| "Turno cancelado.".to_owned()).await
}

#[derive(Deserialize)]
pub struct RescheduleForm {
    /// `YYYY-MM-DD`.
    #[serde(default)]
    date: String,
    /// `HH:MM`, local to the branch.
    #[serde(default)]
    time: String,
    /// `same` (keep the barber), `any` or a barber id.
    #[serde(default)]
    barber: String,
    /// One of the slots the move page offered: `HH:MM/barber id` (instead of `time` and
    /// `barber`).
    #[serde(default)]
    slot: String,
    /// `mover`: sent from the move page, which shows a refusal itself.
    #[serde(default)]
    from: String,
}

/// `POST /admin/bookings/{id}/reschedule` (front desk): no client cut-off; every other rule
/// and the invariant apply.
pub async fn reschedule(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<RescheduleForm>,
) -> Result<Response, AdminError> {
    let id = BookingId(id);
    let (time_raw, barber_raw) = match form.slot.split_once('/') {
        Some((t, b)) => (t, b),
        None => (form.time.as_str(), form.barber.as_str()),
    };
    let when = form
        .date
        .parse::<Date>()
        .ok()
        .zip(time_raw.parse::<time::ClockTime>().ok());
    let Some((date, clock)) = when else {
        return back_with(&state, id, "Elegí la nueva fecha y hora.").await;
    };
    let booking = state
        .store
        .read(move |tx| {
            let b = store_bookings::get(tx, id)?.ok_or(DomainError::UnknownBooking)?;
            let branch = catalog::branch(tx, b.branch)?.ok_or(DomainError::UnknownBranch)?;
            Ok((b, branch))
        })
        .await;
    let (before, branch) = match booking {
        Ok(found) => found,
        Err(StoreError::Rule(DomainError::UnknownBooking)) => return Err(AdminError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let start = time::at(date, clock, &branch.tz()).map_err(StoreError::from)?;
    let choice = match barber_raw {
        "any" => BarberChoice::Any,
        raw => BarberChoice::Barber(raw.parse().map_or(before.barber, crate::domain::BarberId)),
    };
    let result = use_case::reschedule(&state, &current.actor(), id, start, Some(choice)).await;
    if form.from == "mover"
        && let Err(AppError::Rule(rule)) = &result
        && *rule != DomainError::UnknownBooking
    {
        let barber = match choice {
            BarberChoice::Barber(b) => b,
            BarberChoice::Any => before.barber,
        };
        let length = before.busy_until.as_second() - before.start.as_second();
        let from = start.as_second();
        let refusal = super::moves::Refusal {
            message: rule.message_es(),
            wanted: Some((barber, from, from + length)),
        };
        let q = super::moves::query(date, barber_raw);
        return super::moves::render(&state, current, id, q, Default::default(), Some(refusal))
            .await;
    }
    finish(&state, id, result, |c| {
        let tz = c.branch.tz();
        format!(
            "Turno reprogramado para el {} a las {}.",
            view::date(time::local_date(c.after.start, &tz)),
            view::time(c.after.start, &tz)
        )
    })
    .await
}

/// Back to the booking's day with an error message of the form's own.
async fn back_with(state: &AppState, id: BookingId, message: &str) -> Result<Response, AdminError> {
    let back = state
        .store
        .read(move |tx| {
            let b = store_bookings::get(tx, id)?.ok_or(DomainError::UnknownBooking)?;
            agenda_url(tx, &b)
        })
        .await;
    match back {
        Ok(back) => Ok(view::redirect(
            &back,
            "error",
            message,
            state.admin.secure_cookies,
        )),
        Err(StoreError::Rule(DomainError::UnknownBooking)) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
