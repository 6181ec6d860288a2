//! Accounts after they exist: every staff member changes their own password ("Mi cuenta");
//! the owner changes a member's role or sets a new temporary password. Every change is
//! audited (never the password), and a new password ends the account's other sessions.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::AppError;
use crate::app::staff as use_case;
use crate::domain::staff::{NewPassword, Role, StaffId};
use crate::domain::{BarberId, DomainError};
use crate::http::AppState;
use crate::http::extract::PathId;

#[derive(Template)]
#[template(path = "admin/account.html")]
pub struct AccountPage {
    pub l: Layout,
    pub email: String,
    pub role: String,
}

/// `GET /admin/cuenta`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let page = AccountPage {
        email: current.user.email.as_str().to_owned(),
        role: current.user.role.label_es().to_owned(),
        l: Layout::for_user("Mi cuenta", &current, "cuenta", flash),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /admin/cuenta/clave`: the current password, then the new one twice. This session
/// stays; the account's other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = |kind, text: &str| Ok(view::redirect("/admin/cuenta", kind, text, secure));
    if form.new != form.confirm {
        return back("error", "Las dos contraseñas nuevas no coinciden.");
    }
    let Ok(new) = NewPassword::parse(&form.new) else {
        return back(
            "error",
            "La contraseña nueva debe tener entre 10 y 128 caracteres.",
        );
    };
    let keep = current.token_hash.clone();
    let result =
        use_case::change_own_password(&state, &current.actor(), keep, form.current, new).await;
    let text = match result {
        Ok(0) => "Contraseña cambiada.".to_owned(),
        Ok(n) => format!("Contraseña cambiada; se cerraron tus otras {n} sesiones."),
        Err(AppError::Forbidden) => {
            return back("error", "La contraseña actual no es correcta.");
        }
        Err(e) => return Err(e.into()),
    };
    back("ok", &text)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// `POST /admin/equipo/{id}/clave` (owner): a new temporary password for a member; their
/// sessions end. The owner tells them, and they change it under "Mi cuenta".
pub async fn reset_password(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<ResetForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = |kind, text: &str| Ok(view::redirect("/admin/equipo", kind, text, secure));
    let Ok(new) = NewPassword::parse(&form.password) else {
        return back(
            "error",
            "La contraseña temporal debe tener entre 10 y 128 caracteres.",
        );
    };
    match use_case::reset_password(&state, &current.actor(), StaffId(id), new).await {
        Ok(n) => back(
            "ok",
            &format!("Contraseña temporal guardada; se cerraron {n} sesiones de esa cuenta."),
        ),
        Err(e) if use_case::is_unknown(&e) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    barber: String,
}

/// `POST /admin/equipo/{id}/rol` (owner): changes a member's role; the last active owner
/// stays owner.
pub async fn set_role(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<RoleForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = |kind, text: &str| Ok(view::redirect("/admin/equipo", kind, text, secure));
    let Some(role) = Role::parse(&form.role) else {
        return back("error", "Elegí un rol.");
    };
    let barber = form.barber.parse::<u64>().ok().map(BarberId);
    let result = use_case::set_role(&state, &current.actor(), StaffId(id), role, barber).await;
    match result {
        Ok(after) => back(
            "ok",
            &format!(
                "{} ahora es {}.",
                after.name.as_str(),
                after.role.label_es()
            ),
        ),
        Err(AppError::Rule(DomainError::InvalidField {
            reason: "last owner",
            ..
        })) => back(
            "error",
            "Tiene que quedar al menos un dueño activo: nombrá otro antes de cambiar este rol.",
        ),
        Err(AppError::Rule(DomainError::InvalidField {
            field: "barber", ..
        })) => back("error", "Una cuenta de barbero necesita el barbero que es."),
        Err(e) if use_case::is_unknown(&e) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
