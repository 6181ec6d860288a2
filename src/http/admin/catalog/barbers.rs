//! Catálogo's barbers: a new barber, the services they do, their weekly hours.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;

use super::{booked_ahead, change, list};
use crate::domain::time::ClockTime;
use crate::domain::{BarberId, BranchId, DomainError, ServiceId, Shift, Text};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;
use crate::store::{ReadTx, StoreError, audit, catalog};

#[derive(Deserialize)]
pub struct HoursForm {
    branch: String,
    weekday: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    break_start: String,
    #[serde(default)]
    break_end: String,
    /// `1`: the barber does not work that day at that branch.
    #[serde(default)]
    off: String,
}

/// `POST /admin/catalogo/barberos/{id}/horario` (owner): a barber's hours on one weekday at
/// one branch (with one optional break), or none. Refused when a future booking would fall
/// outside the new hours, or when they overlap the barber's hours at another branch.
pub async fn set_hours(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<HoursForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let bad = |text: &str| Ok(view::redirect(back, "error", text, secure));
    let (Ok(branch_id), Ok(weekday)) = (form.branch.parse::<u64>(), form.weekday.parse::<u8>())
    else {
        return bad("Elegí la sucursal y el día.");
    };
    let shift = if form.off == "1" {
        None
    } else {
        let (Ok(start), Ok(end)) = (
            form.start.trim().parse::<ClockTime>(),
            form.end.trim().parse::<ClockTime>(),
        ) else {
            return bad("Escribí el horario como HH:MM, por ejemplo 10:00 y 20:00.");
        };
        let breaks = match (form.break_start.trim(), form.break_end.trim()) {
            ("", "") => vec![],
            (a, z) => match (a.parse::<ClockTime>(), z.parse::<ClockTime>()) {
                (Ok(a), Ok(z)) => vec![(a, z)],
                _ => return bad("Escribí la pausa como HH:MM, o dejala vacía."),
            },
        };
        match Shift::new(weekday, BranchId(branch_id), start, end, breaks) {
            Ok(shift) => Some(shift),
            Err(_) => {
                return bad(
                    "El horario no es válido: el fin va después del inicio y la pausa, dentro.",
                );
            }
        }
    };
    if !(1..=7).contains(&weekday) {
        return bad("Elegí el día.");
    }
    let now = state.clock.now();
    let actor = current.clone();
    let result = state
        .store
        .write(move |txn| {
            let branch =
                catalog::branch(txn, BranchId(branch_id))?.ok_or(DomainError::UnknownBranch)?;
            let barber =
                catalog::barber(txn, BarberId(id))?.ok_or(DomainError::UnknownBarber(id))?;
            let mut shifts: Vec<Shift> = barber
                .shifts
                .iter()
                .filter(|s| !(s.weekday == weekday && s.branch == branch.id))
                .cloned()
                .collect();
            if let Some(new) = &shift {
                if shifts.iter().any(|s| s.overlaps(new)) {
                    return Ok(Err(
                        "Ese horario se superpone con el que tiene en otra sucursal ese día."
                            .to_owned(),
                    ));
                }
                shifts.push(new.clone());
            }
            shifts.sort_by_key(|s| (s.weekday, s.start, s.branch));
            let tz = branch.tz();
            let stranded = booked_ahead(txn, &[barber.id], now, |b| {
                if b.branch != branch.id {
                    return false;
                }
                let start = b.start.to_zoned(tz.clone());
                if crate::domain::time::iso_weekday(start.date()) != weekday {
                    return false;
                }
                let from = i64::from(start.hour()) * 60 + i64::from(start.minute());
                let to = from + (b.busy_until.as_second() - b.start.as_second()) / 60;
                !shift.as_ref().is_some_and(|s| s.holds(from, to))
            })?;
            if !stranded.is_empty() {
                return Ok(Err(format!(
                    "No se puede: quedarían turnos fuera del horario ({}). Cancelalos o \
                     cambialos primero.",
                    list(txn, &stranded)?
                )));
            }
            let updated = crate::domain::Barber { shifts, ..barber };
            let Some((before, after)) = catalog::update_barber(txn, updated)? else {
                return Err(DomainError::UnknownBarber(id).into());
            };
            // Hours only: the audit log names people by id, never by name.
            let entry = change(&actor, "barber.hours", "barber", id);
            audit::record(txn, entry.between(&before.shifts, &after.shifts), now)?;
            Ok(Ok(()))
        })
        .await;
    match result {
        Ok(Ok(())) => Ok(view::redirect(back, "ok", "Horario actualizado.", secure)),
        Ok(Err(why)) => bad(&why),
        Err(StoreError::Rule(DomainError::UnknownBarber(_))) => Err(AdminError::NotFound),
        Err(StoreError::Rule(DomainError::UnknownBranch)) => bad("La sucursal no existe."),
        Err(e) => Err(e.into()),
    }
}

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
