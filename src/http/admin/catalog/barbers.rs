//! Catálogo's barbers: a new barber and the services they do (their weekly hours: `week`),
//! through `app::catalog`.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;

use super::refused;
use crate::app::AppError;
use crate::app::catalog::{self as use_case, ServicesRefused};
use crate::domain::{BarberId, DomainError, ServiceId, Text};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;

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
    let created = use_case::create_barber(&state, &current.actor(), name, services).await?;
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
    let result =
        use_case::set_barber_services(&state, &current.actor(), BarberId(id), services).await;
    match result {
        Ok(Ok(())) => Ok(view::redirect(
            back,
            "ok",
            "Servicios del barbero guardados.",
            secure,
        )),
        Ok(Err(ServicesRefused::UnknownService)) => Ok(view::redirect(
            back,
            "error",
            "Algún servicio no existe.",
            secure,
        )),
        Ok(Err(ServicesRefused::Booked(found))) => refused(
            &current,
            "No se puede quitar el servicio: el barbero lo tiene en turnos por delante.",
            &found,
            back,
            secure,
        ),
        Err(AppError::Rule(DomainError::UnknownBarber(_))) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
