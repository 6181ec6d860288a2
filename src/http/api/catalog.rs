//! Branches, services and barbers, as clients see them.

use axum::Json;
use axum::extract::State;

use super::dto::{BarberDto, BranchDto, ErrorBody, ServiceDto};
use crate::http::extract::PathSlug;
use crate::http::{ApiError, AppState};
use crate::store::catalog;

/// The chain's open branches.
#[utoipa::path(get, path = "/api/v1/branches", tag = "catalogue",
    responses((status = 200, body = [BranchDto])))]
pub async fn list_branches(
    State(state): State<AppState>,
) -> Result<Json<Vec<BranchDto>>, ApiError> {
    let branches = state.store.read(catalog::branches).await?;
    Ok(Json(
        branches
            .iter()
            .filter(|b| b.active)
            .map(BranchDto::from)
            .collect(),
    ))
}

/// The services a branch offers (those at least one of its barbers does).
#[utoipa::path(get, path = "/api/v1/branches/{slug}/services", tag = "catalogue",
    params(("slug" = String, Path, description = "Branch slug")),
    responses((status = 200, body = [ServiceDto]), (status = 404, body = ErrorBody)))]
pub async fn list_services(
    State(state): State<AppState>,
    PathSlug(slug): PathSlug,
) -> Result<Json<Vec<ServiceDto>>, ApiError> {
    let services = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            catalog::services_at(tx, branch.id)
        })
        .await?;
    Ok(Json(services.iter().map(ServiceDto::from).collect()))
}

/// The barbers working at a branch.
#[utoipa::path(get, path = "/api/v1/branches/{slug}/barbers", tag = "catalogue",
    params(("slug" = String, Path, description = "Branch slug")),
    responses((status = 200, body = [BarberDto]), (status = 404, body = ErrorBody)))]
pub async fn list_barbers(
    State(state): State<AppState>,
    PathSlug(slug): PathSlug,
) -> Result<Json<Vec<BarberDto>>, ApiError> {
    let barbers = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            catalog::barbers_at(tx, branch.id)
        })
        .await?;
    Ok(Json(barbers.iter().map(BarberDto::from).collect()))
}
