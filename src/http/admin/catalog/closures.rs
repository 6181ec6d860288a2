//! Catálogo's closures and time off, for a branch or one barber: whole days, or a time range
//! within one day in the branch's time zone. Refused while active bookings are in the way
//! (they are listed); removed at will.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::refused;
use crate::app::AppError;
use crate::app::closures::{self, Added, NewClosure};
use crate::domain::time::ClockTime;
use crate::domain::{
    Barber, BarberId, BranchId, Closure, ClosureId, ClosureScope, ClosureSpan, DomainError, Text,
};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;

/// Every field may be missing: a missing one is explained like an empty one.
#[derive(Deserialize)]
pub struct ClosureForm {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    barber: String,
    /// `hours`: part of one day (`day`, `start`, `end`); anything else: whole days (`from`,
    /// `to`).
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    reason: String,
}

impl ClosureForm {
    /// The span the form describes, or what is wrong with it (in Spanish).
    fn span(&self) -> Result<ClosureSpan, &'static str> {
        if self.kind == "hours" {
            let date = view::parse_date(&self.day)
                .ok_or("Elegí el día del cierre (dd/mm/aaaa, por ejemplo 02/03/2027).")?;
            let (Ok(from), Ok(to)) = (
                self.start.trim().parse::<ClockTime>(),
                self.end.trim().parse::<ClockTime>(),
            ) else {
                return Err(
                    "Escribí el horario del cierre como HH:MM (24 h), por ejemplo 14:00 \
                            y 16:30.",
                );
            };
            if to <= from {
                return Err("La hora de fin del cierre tiene que ser posterior a la de inicio.");
            }
            Ok(ClosureSpan::Hours { date, from, to })
        } else {
            let (Some(from), Some(to)) = (view::parse_date(&self.from), view::parse_date(&self.to))
            else {
                return Err("Elegí las fechas de inicio y fin (dd/mm/aaaa).");
            };
            if to < from {
                return Err("La fecha de fin es anterior a la de inicio.");
            }
            Ok(ClosureSpan::Days { from, to })
        }
    }
}

/// The zone a closure is read in: its branch's, or for a barber's time off the zone of the
/// first branch they work at.
pub fn zone_of(
    closure: &Closure,
    branches: &[crate::domain::Branch],
    barbers: &[Barber],
    fallback: &TimeZone,
) -> TimeZone {
    let branch = match closure.scope {
        ClosureScope::Branch(id) => Some(id),
        ClosureScope::Barber(id) => barbers
            .iter()
            .find(|b| b.id == id)
            .and_then(|b| b.shifts.first())
            .map(|s| s.branch),
    };
    branch
        .and_then(|id| branches.iter().find(|b| b.id == id))
        .map_or_else(|| fallback.clone(), crate::domain::Branch::tz)
}

/// `02/03/2027`, `02/03/2027 al 05/03/2027` or `02/03/2027 de 14:00 a 16:30`.
pub fn describe(start: Timestamp, end: Timestamp, tz: &TimeZone) -> String {
    match ClosureSpan::of(start, end, tz) {
        Some(ClosureSpan::Days { from, to }) if from == to => {
            format!("{} (todo el día)", view::date(from))
        }
        Some(ClosureSpan::Days { from, to }) => {
            format!(
                "{} al {} (días completos)",
                view::date(from),
                view::date(to)
            )
        }
        Some(ClosureSpan::Hours { date, from, to }) => {
            format!("{} de {from} a {to}", view::date(date))
        }
        None => format!(
            "{} al {}",
            view::date_time(start, tz),
            view::date_time(end, tz)
        ),
    }
}

/// `POST /admin/catalogo/cierres` (owner): closes a branch, or gives a barber time off, for
/// whole days `from`..=`to` or from `start` to `end` on `day` (the branch's local time),
/// unless active bookings are in the way.
pub async fn add_closure(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(form): Form<ClosureForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let bad = |text: &str| Ok(view::redirect(back, "error", text, secure));
    let Ok(reason) = Text::line("reason", form.reason.trim(), 200) else {
        return bad("Escribí el motivo del cierre (hasta 200 caracteres).");
    };
    let span = match form.span() {
        Ok(span) => span,
        Err(text) => return bad(text),
    };
    let Ok(branch_id) = form.branch.parse::<u64>() else {
        return bad("Elegí la sucursal.");
    };
    let barber = match form.barber.trim() {
        "" | "all" => None,
        raw => match raw.parse::<u64>() {
            Ok(id) => Some(BarberId(id)),
            Err(_) => return bad("Elegí el barbero, o «toda la sucursal»."),
        },
    };
    let new = NewClosure {
        branch: BranchId(branch_id),
        barber,
        span,
        reason,
    };
    let when = match span {
        ClosureSpan::Days { .. } => "en esas fechas",
        ClosureSpan::Hours { .. } => "en ese horario",
    };
    match closures::add(&state, &current.actor(), new).await {
        Ok(Ok(Added { closure, tz })) => Ok(view::redirect(
            back,
            "ok",
            &format!(
                "Cierre agregado: {}.",
                describe(closure.start, closure.end, &tz)
            ),
            secure,
        )),
        Ok(Err(found)) => refused(
            &current,
            &format!("No se puede cerrar: hay turnos {when}."),
            &found,
            back,
            secure,
        ),
        Err(AppError::Rule(DomainError::UnknownBranch | DomainError::UnknownBarber(_))) => {
            bad("La sucursal o el barbero no existe.")
        }
        Err(AppError::Rule(DomainError::InvalidDate)) => {
            bad("Esa fecha u hora no existe en la zona horaria de la sucursal.")
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/catalogo/cierres/{id}/borrar` (owner).
pub async fn delete_closure(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
) -> Result<Response, AdminError> {
    if closures::delete(&state, &current.actor(), ClosureId(id))
        .await?
        .is_none()
    {
        return Err(AdminError::NotFound);
    }
    Ok(view::redirect(
        "/admin/catalogo",
        "ok",
        "Cierre eliminado.",
        state.admin.secure_cookies,
    ))
}
