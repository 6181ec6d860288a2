//! Catálogo's barbers: a new barber and the services they do (their weekly hours: `week`).

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;

use super::{booked_ahead, change, list};
use crate::domain::{BarberId, DomainError, ServiceId, Text};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;
use crate::store::{ReadTx, StoreError, audit, catalog};

/// The ticked services of a barber form (`services=1&services=3`), validated against the
/// catalogue inside the transaction.
fn ticked_services(pairs: &[(String, String)]) -> Vec<ServiceId> {
    let mut ids: Vec<ServiceId> = pairs
        .iter()
        .filter(|(k, _)| k == "services")
        .filter_map(|(_, v)| v.parse::<u64>().ok().map(ServiceId))
        .collect();
    ids.sort_by_key(|s| s.0);
    ids.dedup();
    ids
}

fn known_services(tx: &impl ReadTx, ids: &[ServiceId]) -> Result<bool, StoreError> {
    let all = catalog::services(tx)?;
    Ok(ids.iter().all(|id| all.iter().any(|s| s.id == *id)))
}

/// `POST /admin/catalogo/barberos` (owner): a new barber with a name and the services they
/// do; hours are set per day afterwards (no hours, no bookings).
pub async fn create_barber(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let Ok(name) = Text::line("name", &name, 80) else {
        return Ok(view::redirect(
            back,
            "error",
            "Escribí el nombre del barbero (hasta 80 caracteres).",
            secure,
        ));
    };
    let services = ticked_services(&pairs);
    let now = state.clock.now();
    let created = state
        .store
        .write(move |txn| {
            if !known_services(txn, &services)? {
                return Ok(None);
            }
            let barber = crate::domain::Barber {
                id: BarberId(0),
                name,
                active: true,
                services,
                shifts: Vec::new(),
            };
            let created = catalog::insert_barber(txn, barber)?;
            let entry = audit::Change {
                after: audit::json(serde_json::json!({
                    "services": created.services.iter().map(|s| s.0).collect::<Vec<_>>(),
                })),
                ..change(&current, "barber.create", "barber", created.id.0)
            };
            audit::record(txn, entry, now)?;
            Ok(Some(created))
        })
        .await?;
    match created {
        Some(b) => Ok(view::redirect(
            back,
            "ok",
            &format!(
                "Barbero creado: {}. Cargá sus días y horarios para que reciba turnos.",
                b.name.as_str()
            ),
            secure,
        )),
        None => Ok(view::redirect(
            back,
            "error",
            "Algún servicio no existe.",
            secure,
        )),
    }
}

/// `POST /admin/catalogo/barberos/{id}/servicios` (owner): the services a barber does. A
/// service they still have booked ahead cannot be taken away (the bookings are listed).
pub async fn set_barber_services(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let services = ticked_services(&pairs);
    let now = state.clock.now();
    let result = state
        .store
        .write(move |txn| {
            let Some(before) = catalog::barber(txn, BarberId(id))? else {
                return Err(StoreError::Rule(DomainError::UnknownBarber(id)));
            };
            if !known_services(txn, &services)? {
                return Ok(Err("Algún servicio no existe.".to_owned()));
            }
            let booked = booked_ahead(txn, &[before.id], now, |b| {
                b.services.iter().any(|s| !services.contains(&s.id))
            })?;
            if !booked.is_empty() {
                return Ok(Err(format!(
                    "No se puede quitar: tiene turnos por delante con ese servicio ({}). \
                     Cancelalos o cambialos primero.",
                    list(txn, &booked)?
                )));
            }
            let after = crate::domain::Barber {
                services: services.clone(),
                ..before.clone()
            };
            catalog::update_barber(txn, after)?;
            let ids = |b: &[ServiceId]| serde_json::json!({ "services": b.iter().map(|s| s.0).collect::<Vec<_>>() });
            let entry = audit::Change {
                before: audit::json(ids(&before.services)),
                after: audit::json(ids(&services)),
                ..change(&current, "barber.services", "barber", id)
            };
            audit::record(txn, entry, now)?;
            Ok(Ok(()))
        })
        .await;
    match result {
        Ok(Ok(())) => Ok(view::redirect(
            back,
            "ok",
            "Servicios del barbero guardados.",
            secure,
        )),
        Ok(Err(text)) => Ok(view::redirect(back, "error", &text, secure)),
        Err(StoreError::Rule(DomainError::UnknownBarber(_))) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
