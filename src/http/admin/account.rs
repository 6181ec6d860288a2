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
use super::team::{change, public_view};
use super::view::{self, Flash, Layout};
use crate::domain::staff::{NewPassword, Role, StaffId};
use crate::domain::{BarberId, DomainError};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::{StoreError, audit, staff};

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

/// argon2id off the async executor (it is slow on purpose).
pub(super) async fn hash(password: NewPassword) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|e| AdminError::Internal(format!("password hash: {e}")))
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
    let phc = current.user.password_hash.clone();
    let given = form.current;
    let right = tokio::task::spawn_blocking(move || crate::auth::verify_password(&phc, &given))
        .await
        .map_err(|e| AdminError::Internal(format!("password check: {e}")))?;
    if !right {
        state.metrics.login_failures.inc();
        return back("error", "La contraseña actual no es correcta.");
    }
    if form.new != form.confirm {
        return back("error", "Las dos contraseñas nuevas no coinciden.");
    }
    let Ok(new) = NewPassword::parse(&form.new) else {
        return back(
            "error",
            "La contraseña nueva debe tener entre 10 y 128 caracteres.",
        );
    };
    let password_hash = hash(new).await?;
    let now = state.clock.now();
    let ended = state
        .store
        .write(move |txn| {
            let id = current.user.id;
            let ended =
                staff::set_password(txn, id, password_hash, Some(&current.token_hash), now)?;
            audit::record(txn, change(&current, "staff.password_change", id), now)?;
            Ok(ended)
        })
        .await?;
    let text = match ended {
        0 => "Contraseña cambiada.".to_owned(),
        n => format!("Contraseña cambiada; se cerraron tus otras {n} sesiones."),
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
    let password_hash = hash(new).await?;
    let now = state.clock.now();
    let id = StaffId(id);
    let result = state
        .store
        .write(move |txn| {
            let ended = staff::set_password(txn, id, password_hash, None, now)?;
            audit::record(txn, change(&current, "staff.password_reset", id), now)?;
            Ok(ended)
        })
        .await;
    match result {
        Ok(n) => back(
            "ok",
            &format!("Contraseña temporal guardada; se cerraron {n} sesiones de esa cuenta."),
        ),
        Err(StoreError::Rule(DomainError::InvalidField {
            reason: "unknown", ..
        })) => Err(AdminError::NotFound),
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
    let now = state.clock.now();
    let id = StaffId(id);
    let result = state
        .store
        .write(move |txn| {
            if let Some(b) = barber
                && crate::store::catalog::barber(txn, b)?.is_none()
            {
                return Err(DomainError::InvalidField {
                    field: "barber",
                    reason: "required for a barbero",
                }
                .into());
            }
            let (before, after) = staff::set_role(txn, id, role, barber, now)?;
            let change = audit::Change {
                before: audit::json(public_view(&before)),
                after: audit::json(public_view(&after)),
                ..change(&current, "staff.role", id)
            };
            audit::record(txn, change, now)?;
            Ok(after)
        })
        .await;
    match result {
        Ok(after) => back(
            "ok",
            &format!(
                "{} ahora es {}.",
                after.name.as_str(),
                after.role.label_es()
            ),
        ),
        Err(StoreError::Rule(DomainError::InvalidField {
            reason: "last owner",
            ..
        })) => back(
            "error",
            "Tiene que quedar al menos un dueño activo: nombrá otro antes de cambiar este rol.",
        ),
        Err(StoreError::Rule(DomainError::InvalidField {
            field: "barber", ..
        })) => back("error", "Una cuenta de barbero necesita el barbero que es."),
        Err(StoreError::Rule(DomainError::InvalidField {
            reason: "unknown", ..
        })) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
