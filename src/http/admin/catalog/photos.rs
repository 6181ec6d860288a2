//! Catálogo's photos: a branch's (several, shown on its booking page) and a barber's (one
//! portrait: a new one replaces it). The upload is a multipart form (`photo`, plus the `csrf`
//! field the guard checks); `app::photos` checks, scales and stores it. A file that is not a
//! photo, or one too big, comes back as the page's error message.

use axum::Extension;
use axum::extract::{Multipart, Path, State};
use axum::response::Response;

use crate::app::photos::{self, MAX_UPLOAD_BYTES, PhotoRefused};
use crate::domain::{BarberId, BranchId};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;
use crate::store::photos::Owner;

const BACK: &str = "/admin/catalogo";

/// The `photo` part of the form; `Err` when the form is not one.
async fn photo_part(mut form: Multipart) -> Result<Vec<u8>, PhotoRefused> {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("photo") {
            return match field.bytes().await {
                Ok(bytes) if bytes.len() > MAX_UPLOAD_BYTES => Err(PhotoRefused::TooLarge),
                Ok(bytes) => Ok(bytes.to_vec()),
                Err(_) => Err(PhotoRefused::TooLarge),
            };
        }
    }
    Err(PhotoRefused::Empty)
}

async fn upload(
    state: &AppState,
    current: &Current,
    owner: Owner,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let bytes = match form {
        Ok(form) => photo_part(form).await,
        Err(_) => Err(PhotoRefused::Empty),
    };
    let outcome = match bytes {
        Ok(bytes) => photos::add(state, &current.actor(), owner, bytes).await?,
        Err(refused) => Err(refused),
    };
    Ok(match outcome {
        Ok(_) => view::redirect(BACK, "ok", "Foto cargada.", secure),
        Err(refused) => view::redirect(BACK, "error", &refused.message_es(), secure),
    })
}

/// `POST /admin/catalogo/sucursales/{id}/fotos` (owner, multipart): one more branch photo.
pub async fn upload_branch_photo(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AdminError> {
    upload(&state, &current, Owner::Branch(BranchId(id)), form).await
}

/// `POST /admin/catalogo/barberos/{id}/foto` (owner, multipart): the barber's portrait.
pub async fn upload_barber_photo(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AdminError> {
    upload(&state, &current, Owner::Barber(BarberId(id)), form).await
}

/// `POST /admin/catalogo/sucursales/{id}/fotos/{photo}/borrar` (owner): takes a photo off.
pub async fn delete_branch_photo(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Path((branch, photo)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let (Ok(branch), Ok(photo)) = (branch.parse::<u64>(), photo.parse::<u64>()) else {
        return Err(AdminError::NotFound);
    };
    let owner = Owner::Branch(BranchId(branch));
    Ok(
        if photos::remove(&state, &current.actor(), owner, photo).await? {
            view::redirect(BACK, "ok", "Foto quitada.", secure)
        } else {
            view::redirect(BACK, "error", "Esa foto ya no estaba.", secure)
        },
    )
}
