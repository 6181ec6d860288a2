//! A client's personal data (Ley 25.326) from the client page: rectification (front desk),
//! the JSON export (front desk; a download) and erasure (owner, after a confirmation page).
//! Every action writes its audit entry in the same write transaction; the entries name the
//! fields that changed, never their values.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::AppError;
use crate::app::privacy::{self, Person};
use crate::domain::{ClientId, DomainError, Email, Text};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::clients::Rectification;

/// What the confirmation word must be, typed by the owner.
pub const CONFIRM_WORD: &str = "BORRAR";

fn page_of(id: u64) -> String {
    format!("/admin/clientes/{id}")
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    notes: String,
}

impl EditForm {
    fn parse(&self) -> Result<Rectification, String> {
        let name = Text::line("name", &self.name, 100)
            .map_err(|_| "Escribí el nombre (hasta 100 caracteres).".to_owned())?;
        let email = match self.email.trim() {
            "" => None,
            e => Some(Email::parse(e).map_err(|e| e.message_es())?),
        };
        let notes = match self.notes.trim() {
            "" => None,
            n => Some(
                Text::multiline("notes", n, 1000)
                    .map_err(|_| "Las notas admiten hasta 1000 caracteres.".to_owned())?,
            ),
        };
        Ok(Rectification { name, email, notes })
    }
}

/// `POST /admin/clientes/{id}`: corrects name, e-mail and notes (consent has its own button).
pub async fn update(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<EditForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = page_of(id);
    let fix = match form.parse() {
        Ok(fix) => fix,
        Err(message) => return Ok(view::redirect(&back, "error", &message, secure)),
    };
    match privacy::rectify(&state, &current.actor(), ClientId(id), fix).await {
        Ok(changed) if changed.is_empty() => {
            Ok(view::redirect(&back, "ok", "No había cambios.", secure))
        }
        Ok(_) => Ok(view::redirect(&back, "ok", "Datos actualizados.", secure)),
        Err(AppError::Rule(rule @ DomainError::ClientAnonymised)) => {
            Ok(view::redirect(&back, "error", &rule.message_es(), secure))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/clientes/{id}/datos.json`: everything held on the client, as a download
/// (audited as `client.export` once read; a read changes nothing, so it needs no shared
/// transaction).
pub async fn export(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
) -> Result<Response, AdminError> {
    let data = privacy::export(&state, &current.actor(), ClientId(id)).await?;
    let body = serde_json::to_vec_pretty(&data)
        .map_err(|e| AdminError::Internal(format!("export: {e}")))?;
    let disposition = format!("attachment; filename=\"cliente-{id}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/client_erase.html")]
pub struct ErasePage {
    pub l: Layout,
    pub id: u64,
    pub name: String,
    pub bookings: usize,
    pub word: &'static str,
}

/// `GET /admin/clientes/{id}/borrar` (owner): what erasing means, and the confirmation form.
pub async fn erase_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    flash: Flash,
) -> Result<Response, AdminError> {
    let (client, bookings) =
        privacy::before_erasing(&state, &current.actor(), ClientId(id)).await?;
    let page = ErasePage {
        l: Layout::for_user("Eliminar datos del cliente", &current, "clientes", flash),
        id,
        name: client.name.as_str().to_owned(),
        bookings,
        word: CONFIRM_WORD,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /admin/clientes/{id}/borrar` (owner): anonymises the client once the confirmation
/// word was typed.
pub async fn erase(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<EraseForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    if form.confirm.trim() != CONFIRM_WORD {
        let again = format!("Para confirmar, escribí {CONFIRM_WORD} en mayúsculas.");
        let to = format!("{}/borrar", page_of(id));
        return Ok(view::redirect(&to, "error", &again, secure));
    }
    let result = privacy::erase(&state, &current.actor(), Person::Id(ClientId(id))).await;
    match result {
        Ok(erased) => {
            let text = format!(
                "Datos personales eliminados. Se conservaron {} turnos para la contabilidad \
                 ({} próximos cancelados).",
                erased.bookings_kept,
                erased.bookings_cancelled.len()
            );
            Ok(view::redirect(&page_of(id), "ok", &text, secure))
        }
        Err(AppError::Rule(rule @ DomainError::ClientAnonymised)) => Ok(view::redirect(
            &page_of(id),
            "error",
            &rule.message_es(),
            secure,
        )),
        Err(e) => Err(e.into()),
    }
}
