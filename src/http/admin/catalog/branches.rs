//! Catálogo's branches: the owner adds one or changes its details.

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;

use super::{booked_ahead, change, list};
use crate::domain::{BarberId, BranchId, DomainError, Phone, Text};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;
use crate::store::{StoreError, audit, catalog};

use serde::Deserialize;

#[derive(Deserialize)]
pub struct BranchForm {
    name: String,
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    active: String,
}

/// `POST /admin/catalogo/sucursales/{id}` (owner): name, address, phone, open or not. A
/// branch with bookings ahead is not closed for online booking until they are dealt with.
pub async fn update_branch(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<BranchForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let bad = |text: &str| Ok(view::redirect(back, "error", text, secure));
    let (Ok(name), Ok(address)) = (
        Text::line("name", form.name.trim(), 100),
        Text::line("address", form.address.trim(), 200),
    ) else {
        return bad("El nombre y la dirección no pueden estar vacíos ni ser tan largos.");
    };
    let phone = match form.phone.trim() {
        "" => None,
        raw => match Phone::parse(raw) {
            Ok(p) => Some(p),
            Err(e) => return bad(&e.message_es()),
        },
    };
    let active = form.active == "1";
    let now = state.clock.now();
    let entry = change(&current, "branch.update", "branch", id);
    let result = state
        .store
        .write(move |txn| {
            let current = catalog::branch(txn, BranchId(id))?.ok_or(DomainError::UnknownBranch)?;
            if current.active && !active {
                let barbers: Vec<BarberId> = catalog::barbers(txn)?.iter().map(|b| b.id).collect();
                let booked = booked_ahead(txn, &barbers, now, |b| b.branch == current.id)?;
                if !booked.is_empty() {
                    return Ok(Err(list(txn, &booked)?));
                }
            }
            let updated = crate::domain::Branch {
                name,
                address,
                phone,
                active,
                ..current
            };
            let Some((before, after)) = catalog::update_branch(txn, updated)? else {
                return Err(DomainError::UnknownBranch.into());
            };
            let entry = audit::Change {
                before: audit::snapshot(&before),
                after: audit::snapshot(&after),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(Ok(()))
        })
        .await;
    match result {
        Ok(Ok(())) => Ok(view::redirect(back, "ok", "Sucursal actualizada.", secure)),
        Ok(Err(booked)) => bad(&format!(
            "No se puede desactivar: tiene turnos por delante ({booked}). Cancelalos o \
             cambialos primero."
        )),
        Err(StoreError::Rule(DomainError::UnknownBranch)) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
