//! Staff accounts: the owner (or `barberpro admin create-user`) creates one, changes its role,
//! activates or deactivates it, sets a temporary password; every member changes their own
//! password. Every change is audited with the account as [`public_view`] shows it, never a
//! password; a new password ends the account's other sessions. The last active owner stays
//! an active owner (the store refuses it: `InvalidField { reason: "last owner" }`).

use super::{Actor, App, AppError};
use crate::domain::staff::{NewPassword, Role, StaffId, StaffUser};
use crate::domain::{BarberId, DomainError, Email, Text};
use crate::store::{StoreError, audit, catalog, staff};

/// An account as the audit log shows it: everything but the password hash.
pub fn public_view(user: &StaffUser) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "barber": user.barber,
        "active": user.active,
    })
}

/// argon2id off the async executor (it is slow on purpose).
pub(super) async fn hash(password: NewPassword) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|e| blocking_failed("password hash", e))
}

/// Whether `given` is the password of `phc`, checked off the async executor.
pub(super) async fn verify(phc: Option<String>, given: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || crate::auth::verify_or_waste_time(phc.as_deref(), &given))
        .await
        .map_err(|e| blocking_failed("password check", e))
}

fn blocking_failed(context: &str, e: tokio::task::JoinError) -> AppError {
    AppError::Store(StoreError::Io {
        context: context.to_owned(),
        source: std::io::Error::other(e),
    })
}

/// The "unknown account" refusal of `store::staff`.
fn unknown() -> DomainError {
    DomainError::InvalidField {
        field: "staff",
        reason: "unknown",
    }
}

/// A new account as asked for (a barbero account names its barber, and only one does).
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub name: Text,
    pub role: Role,
    pub barber: Option<BarberId>,
    /// The initial password (the owner tells the member, who changes it).
    pub password: NewPassword,
}

/// Creates an account, audited as `staff.create`. A taken e-mail is
/// `InvalidField { field: "email" }`; a barbero without a barber (or anyone else with one)
/// `InvalidField { field: "barber" }`, an unknown barber `UnknownBarber`.
pub async fn create(app: &App, actor: &Actor, new: NewMember) -> Result<StaffUser, AppError> {
    let NewMember {
        email,
        name,
        role,
        barber,
        password,
    } = new;
    let new = staff::NewStaff {
        email,
        name,
        role,
        barber,
        password_hash: hash(password).await?,
    };
    let now = app.clock.now();
    let actor = actor.clone();
    let user = app
        .store
        .write(move |txn| {
            let user = staff::create(txn, new, now)?;
            let entry = audit::Change {
                after: audit::json(public_view(&user)),
                ..actor.change("staff.create", "staff", Some(user.id.0))
            };
            audit::record(txn, entry, now)?;
            Ok(user)
        })
        .await?;
    Ok(user)
}

/// Activates or deactivates account `id` (deactivating ends its sessions), audited as
/// `staff.activate` / `staff.deactivate` with the account before and after.
pub async fn set_active(
    app: &App,
    actor: &Actor,
    id: StaffId,
    active: bool,
) -> Result<StaffUser, AppError> {
    let now = app.clock.now();
    let action = if active {
        "staff.activate"
    } else {
        "staff.deactivate"
    };
    let entry = actor.change(action, "staff", Some(id.0));
    let after = app
        .store
        .write(move |txn| {
            let (before, after) = staff::set_active(txn, id, active, now)?;
            let entry = audit::Change {
                before: audit::json(public_view(&before)),
                after: audit::json(public_view(&after)),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(after)
        })
        .await?;
    Ok(after)
}

/// Changes account `id`'s role (and, for a barbero, the barber it is), audited as
/// `staff.role` with the account before and after. An unknown barber, or none for a barbero,
/// is `InvalidField { field: "barber" }`.
pub async fn set_role(
    app: &App,
    actor: &Actor,
    id: StaffId,
    role: Role,
    barber: Option<BarberId>,
) -> Result<StaffUser, AppError> {
    let now = app.clock.now();
    let entry = actor.change("staff.role", "staff", Some(id.0));
    let after = app
        .store
        .write(move |txn| {
            if let Some(b) = barber
                && catalog::barber(txn, b)?.is_none()
            {
                return Err(DomainError::InvalidField {
                    field: "barber",
                    reason: "required for a barbero",
                }
                .into());
            }
            let (before, after) = staff::set_role(txn, id, role, barber, now)?;
            let entry = audit::Change {
                before: audit::json(public_view(&before)),
                after: audit::json(public_view(&after)),
                ..entry
            };
            audit::record(txn, entry, now)?;
            Ok(after)
        })
        .await?;
    Ok(after)
}

/// A staff member's new password for their own account, once `current` (their present
/// password) checks out; a wrong one is `Forbidden` (and counted as a failed login). Every
/// other session of the account ends, not `keep` (this one's token hash). Audited as
/// `staff.password_change`; returns how many sessions ended.
pub async fn change_own_password(
    app: &App,
    actor: &Actor,
    keep: String,
    current: String,
    new: NewPassword,
) -> Result<usize, AppError> {
    let id = actor.staff().ok_or(AppError::Forbidden)?.id;
    let phc = app
        .store
        .read(move |tx| staff::get(tx, id))
        .await?
        .ok_or(unknown())?
        .password_hash;
    if !verify(Some(phc), current).await? {
        app.metrics.login_failures.inc();
        return Err(AppError::Forbidden);
    }
    let password_hash = hash(new).await?;
    let now = app.clock.now();
    let entry = actor.change("staff.password_change", "staff", Some(id.0));
    let ended = app
        .store
        .write(move |txn| {
            let ended = staff::set_password(txn, id, password_hash, Some(&keep), now)?;
            audit::record(txn, entry, now)?;
            Ok(ended)
        })
        .await?;
    Ok(ended)
}

/// A temporary password for account `id`, set by the owner; every session of the account
/// ends. Audited as `staff.password_reset`; returns how many sessions ended.
pub async fn reset_password(
    app: &App,
    actor: &Actor,
    id: StaffId,
    new: NewPassword,
) -> Result<usize, AppError> {
    let password_hash = hash(new).await?;
    let now = app.clock.now();
    let entry = actor.change("staff.password_reset", "staff", Some(id.0));
    let ended = app
        .store
        .write(move |txn| {
            let ended = staff::set_password(txn, id, password_hash, None, now)?;
            audit::record(txn, entry, now)?;
            Ok(ended)
        })
        .await?;
    Ok(ended)
}

/// Whether `e` is the store's "unknown account" (the admin's 404).
pub fn is_unknown(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Rule(DomainError::InvalidField {
            field: "staff",
            reason: "unknown"
        })
    )
}
