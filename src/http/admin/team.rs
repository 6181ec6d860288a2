//! Owner pages: the team (accounts, roles, deactivate, log out everywhere) and the audit log.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::staff::{self as use_case, NewMember};
use crate::app::{AppError, privacy, sessions};
use crate::domain::staff::{NewPassword, Role, StaffId, staff_email};
use crate::domain::{DomainError, Text};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::{StoreError, staff};

pub struct MemberRow {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub role: String,
    /// `owner`, `recepcion` or `barbero`, for the role form.
    pub role_code: &'static str,
    pub barber: Option<u64>,
    pub active: bool,
    pub sessions: usize,
    pub me: bool,
}

#[derive(Template)]
#[template(path = "admin/team.html")]
pub struct TeamPage {
    pub l: Layout,
    pub members: Vec<MemberRow>,
    /// (id, name) of every barber, for a barbero account.
    pub barbers: Vec<(u64, String)>,
}

/// `GET /admin/equipo`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let me = current.user.id;
    let members = state
        .store
        .read(move |tx| {
            staff::all(tx)?
                .into_iter()
                .map(|u| {
                    Ok(MemberRow {
                        id: u.id.0,
                        name: u.name.as_str().to_owned(),
                        email: u.email.as_str().to_owned(),
                        role: u.role.label_es().to_owned(),
                        role_code: match u.role {
                            Role::Owner => "owner",
                            Role::Recepcion => "recepcion",
                            Role::Barbero => "barbero",
                        },
                        barber: u.barber.map(|b| b.0),
                        active: u.active,
                        sessions: staff::session_count(tx, u.id)?,
                        me: u.id == me,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await?;
    let barbers = state
        .store
        .read(crate::store::catalog::barbers)
        .await?
        .into_iter()
        .filter(|b| b.active)
        .map(|b| (b.id.0, b.name.as_str().to_owned()))
        .collect();
    let l = Layout::for_user("Equipo", &current, "equipo", flash);
    let page = TeamPage {
        l,
        members,
        barbers,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `POST /admin/equipo/{id}/logout-everywhere`: ends every session of the account.
pub async fn logout_everywhere(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
) -> Result<Response, AdminError> {
    let ended = match sessions::end_all(&state, &current.actor(), StaffId(id)).await {
        Ok(n) => n,
        Err(e) if use_case::is_unknown(&e) => return Err(AdminError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let text = format!("Se cerraron {ended} sesiones.");
    Ok(view::redirect(
        "/admin/equipo",
        "ok",
        &text,
        state.admin.secure_cookies,
    ))
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

/// `POST /admin/equipo/{id}/active`: activates or deactivates an account.
pub async fn set_active(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    axum::extract::Form(form): axum::extract::Form<ActiveForm>,
) -> Result<Response, AdminError> {
    let active = form.active == "1";
    let secure = state.admin.secure_cookies;
    match use_case::set_active(&state, &current.actor(), StaffId(id), active).await {
        Ok(_) => {
            let text = if active {
                "Cuenta activada."
            } else {
                "Cuenta desactivada; sus sesiones se cerraron."
            };
            Ok(view::redirect("/admin/equipo", "ok", text, secure))
        }
        Err(AppError::Rule(DomainError::InvalidField {
            reason: "last owner",
            ..
        })) => Ok(view::redirect(
            "/admin/equipo",
            "error",
            "No se puede desactivar al único dueño activo.",
            secure,
        )),
        Err(e) if use_case::is_unknown(&e) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}

pub use super::audit_log::audit_page;

/// `GET /admin/auditoria/export.jsonl`: the whole log as JSON lines, oldest first (the export
/// itself is audited as `audit.export`).
pub async fn audit_export(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
) -> Result<Response, AdminError> {
    let lines = privacy::export_audit_log(&state, &current.actor()).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/x-ndjson"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"auditoria.jsonl\"",
            ),
        ],
        lines,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct NewMemberForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    barber: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/equipo`: creates an account with the initial password the owner typed.
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    axum::extract::Form(form): axum::extract::Form<NewMemberForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = |kind, text: &str| Ok(view::redirect("/admin/equipo", kind, text, secure));
    let Ok(email) = staff_email(&form.email) else {
        return back("error", "El e-mail no es válido.");
    };
    let Ok(name) = Text::line("name", &form.name, 80) else {
        return back("error", "Escribí el nombre (hasta 80 caracteres).");
    };
    let Some(role) = Role::parse(&form.role) else {
        return back("error", "Elegí un rol.");
    };
    let barber = form.barber.parse::<u64>().ok().map(crate::domain::BarberId);
    let barber = if role == Role::Barbero { barber } else { None };
    let Ok(password) = NewPassword::parse(&form.password) else {
        return back(
            "error",
            "La contraseña inicial debe tener entre 10 y 128 caracteres.",
        );
    };
    let new = NewMember {
        email,
        name,
        role,
        barber,
        password,
    };
    match use_case::create(&state, &current.actor(), new).await {
        Ok(user) => back("ok", &format!("Cuenta creada: {}.", user.email.as_str())),
        Err(AppError::Rule(DomainError::InvalidField { field: "email", .. })) => {
            back("error", "Ya existe una cuenta con ese e-mail.")
        }
        Err(AppError::Rule(
            DomainError::InvalidField {
                field: "barber", ..
            }
            | DomainError::UnknownBarber(_),
        )) => back("error", "Una cuenta de barbero necesita elegir su barbero."),
        Err(e) => Err(e.into()),
    }
}
