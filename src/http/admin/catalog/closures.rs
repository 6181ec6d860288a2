//! Catálogo's closures and time off: added unless bookings are in the way, removed at will.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;

use super::{change, list};
use crate::domain::time::day_start;
use crate::domain::{BarberId, BranchId, Closure, ClosureId, ClosureScope, DomainError, Text};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;
use crate::store::{StoreError, audit, bookings, catalog};

#[derive(Deserialize)]
pub struct ClosureForm {
    branch: String,
    #[serde(default)]
    barber: String,
    from: String,
    to: String,
    reason: String,
}

/// `POST /admin/catalogo/cierres` (owner): closes a branch, or gives a barber time off, for
/// whole days `from`..=`to`, unless bookings are in the way.
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
    let (Ok(from), Ok(to)) = (
        form.from.trim().parse::<jiff::civil::Date>(),
        form.to.trim().parse::<jiff::civil::Date>(),
    ) else {
        return bad("Elegí las fechas de inicio y fin.");
    };
    if to < from {
        return bad("La fecha de fin es anterior a la de inicio.");
    }
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
    let now = state.clock.now();
    let actor = current.clone();
    let result = state
        .store
        .write(move |txn| {
            let branch =
                catalog::branch(txn, BranchId(branch_id))?.ok_or(DomainError::UnknownBranch)?;
            let tz = branch.tz();
            let start = day_start(from, &tz)?;
            let end = day_start(to.tomorrow().map_err(|_| DomainError::InvalidDate)?, &tz)?;
            let scope = match barber {
                Some(id) => {
                    catalog::barber(txn, id)?.ok_or(DomainError::UnknownBarber(id.0))?;
                    ClosureScope::Barber(id)
                }
                None => ClosureScope::Branch(branch.id),
            };
            let mut booked = Vec::new();
            for b in catalog::barbers(txn)? {
                if barber.is_some_and(|id| id != b.id) {
                    continue;
                }
                booked.extend(
                    bookings::active_of_barber(txn, b.id, start, end)?
                        .into_iter()
                        .filter(|x| barber.is_some() || x.branch == branch.id),
                );
            }
            if !booked.is_empty() {
                booked.sort_by_key(|b| b.start);
                return Ok(Err(list(txn, &booked)?));
            }
            let closure = catalog::insert_closure(
                txn,
                Closure {
                    id: ClosureId(0),
                    scope,
                    start,
                    end,
                    reason,
                },
            )?;
            let entry = audit::Change {
                after: audit::snapshot(&closure),
                ..change(&actor, "closure.create", "closure", closure.id.0)
            };
            audit::record(txn, entry, now)?;
            Ok(Ok(()))
        })
        .await;
    match result {
        Ok(Ok(())) => Ok(view::redirect(back, "ok", "Cierre agregado.", secure)),
        Ok(Err(booked)) => bad(&format!(
            "No se puede cerrar: hay turnos en esas fechas ({booked}). Cancelalos o cambialos \
             primero."
        )),
        Err(StoreError::Rule(DomainError::UnknownBranch | DomainError::UnknownBarber(_))) => {
            bad("La sucursal o el barbero no existe.")
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
    let secure = state.admin.secure_cookies;
    let now = state.clock.now();
    let entry = change(&current, "closure.delete", "closure", id);
    let removed = state
        .store
        .write(move |txn| {
            let Some(before) = catalog::delete_closure(txn, ClosureId(id))? else {
                return Ok(false);
            };
            let entry = audit::Change {
                before: audit::snapshot(&before),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(true)
        })
        .await?;
    if !removed {
        return Err(AdminError::NotFound);
    }
    Ok(view::redirect(
        "/admin/catalogo",
        "ok",
        "Cierre eliminado.",
        secure,
    ))
}
