//! Staff sessions: logging in and out, the one-time setup link that creates the first owner,
//! and ending every session of an account. Sessions and setup links are kept by SHA-256 of
//! their token; the token itself goes only to the browser (or the log, for the link).

use jiff::SignedDuration;

use super::staff::{hash, public_view, verify};
use super::{Actor, App, AppError, Staff};
use crate::auth;
use crate::domain::staff::{NewPassword, Role, Session, SessionLimits, StaffId, StaffUser};
use crate::domain::{DomainError, Email, Text};
use crate::store::{StoreError, audit, staff};

/// A session that started: the account, and the token for its cookie (shown only here).
#[derive(Debug, Clone)]
pub struct Started {
    pub user: StaffUser,
    pub token: String,
}

/// Writes a new session for `user` (sweeping their expired ones) and its `session.login`
/// entry, inside the caller's write transaction; returns its token.
fn start(
    txn: &crate::store::engine::WriteTransaction,
    user: &StaffUser,
    ip: Option<String>,
    limits: &SessionLimits,
    now: jiff::Timestamp,
) -> Result<String, StoreError> {
    let token = auth::random_token();
    let session = Session {
        user: user.id,
        csrf: auth::random_token(),
        created_at: now,
        last_seen: now,
        ip: ip.clone(),
    };
    staff::sweep_sessions_of(txn, user.id, now, limits)?;
    staff::create_session(txn, &auth::token_hash(&token), &session)?;
    let by = Actor::Staff(Staff::new(user, ip));
    audit::record(
        txn,
        by.change("session.login", "staff", Some(user.id.0)),
        now,
    )?;
    Ok(token)
}

/// Logs in with `email` (lowercase) and `password` from `ip`. An unknown account, a wrong
/// password and a deactivated account are all `None`, and take as long (an unknown account
/// verifies against a dummy hash); each counts as a failed login.
pub async fn log_in(
    app: &App,
    email: String,
    password: String,
    ip: Option<String>,
    limits: SessionLimits,
) -> Result<Option<Started>, AppError> {
    let user = app
        .store
        .read(move |tx| staff::by_email(tx, &email))
        .await?;
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let verified = verify(phc, password).await?;
    let user = match user {
        Some(user) if verified && user.active => user,
        _ => {
            tracing::info!("admin: failed login");
            app.metrics.login_failures.inc();
            return Ok(None);
        }
    };
    let now = app.clock.now();
    let token = {
        let user = user.clone();
        app.store
            .write(move |txn| start(txn, &user, ip, &limits, now))
            .await?
    };
    Ok(Some(Started { user, token }))
}

/// Ends the session whose token hashes to `session`, audited as `session.logout`.
pub async fn log_out(app: &App, actor: &Actor, session: String) -> Result<(), AppError> {
    let now = app.clock.now();
    let id = actor.staff().map(|s| s.id.0);
    let entry = actor.change("session.logout", "staff", id);
    app.store
        .write(move |txn| {
            staff::end_session(txn, &session)?;
            audit::record(txn, entry, now)
        })
        .await?;
    Ok(())
}

/// Ends every session of account `id` ("log out everywhere"), audited as
/// `staff.logout_everywhere`; returns how many ended. An unknown account is
/// `InvalidField { field: "staff", reason: "unknown" }`.
pub async fn end_all(app: &App, actor: &Actor, id: StaffId) -> Result<usize, AppError> {
    let now = app.clock.now();
    let entry = actor.change("staff.logout_everywhere", "staff", Some(id.0));
    let ended = app
        .store
        .write(move |txn| {
            staff::get(txn, id)?.ok_or(DomainError::InvalidField {
                field: "staff",
                reason: "unknown",
            })?;
            let n = staff::end_sessions_of(txn, id)?;
            audit::record(txn, entry, now)?;
            Ok(n)
        })
        .await?;
    Ok(ended)
}

/// Records that the session whose token hashes to `session` was just used (its idle timeout
/// starts again).
pub async fn touch(app: &App, session: String) -> Result<(), AppError> {
    let now = app.clock.now();
    app.store
        .write(move |txn| staff::touch_session(txn, &session, now))
        .await?;
    Ok(())
}

/// The first owner, as the setup form asks for them.
#[derive(Debug, Clone)]
pub struct NewOwner {
    pub email: Email,
    pub name: Text,
    pub password: NewPassword,
}

/// Whether the setup link `token` is still good (unused, not expired).
pub async fn setup_link_valid(app: &App, token: &str) -> Result<bool, AppError> {
    let hash = auth::token_hash(token);
    let now = app.clock.now();
    Ok(app
        .store
        .read(move |tx| staff::setup_token_valid(tx, &hash, now))
        .await?)
}

/// Creates the first owner through the setup link `token` and logs them in, in one write
/// transaction that uses up the link (audited as `staff.create` and `session.login`, both by
/// the new owner). `None`: the link is not valid, was used or expired. A taken e-mail is
/// `InvalidField { field: "email" }`.
pub async fn set_up_owner(
    app: &App,
    token: &str,
    owner: NewOwner,
    ip: Option<String>,
    limits: SessionLimits,
) -> Result<Option<Started>, AppError> {
    let new = staff::NewStaff {
        email: owner.email,
        name: owner.name,
        role: Role::Owner,
        barber: None,
        password_hash: hash(owner.password).await?,
    };
    let link = auth::token_hash(token);
    let now = app.clock.now();
    let started = app
        .store
        .write(move |txn| {
            if !staff::take_setup_token(txn, &link, now)? {
                return Ok(None);
            }
            let user = staff::create(txn, new, now)?;
            let by = Actor::Staff(Staff::new(&user, ip.clone()));
            let entry = audit::Change {
                after: audit::json(public_view(&user)),
                ..by.change("staff.create", "staff", Some(user.id.0))
            };
            audit::record(txn, entry, now)?;
            let token = start(txn, &user, ip, &limits, now)?;
            Ok(Some(Started { user, token }))
        })
        .await?;
    Ok(started)
}

/// At start-up: with no active owner, creates a one-time setup link valid for `hours` and
/// logs it (with `app.public_url`). A step of start-up, so a store error as start-up takes it.
pub async fn offer_setup_link(app: &App, hours: u32) -> Result<(), StoreError> {
    if app.store.read(staff::has_active_owner).await? {
        return Ok(());
    }
    let token = auth::random_token();
    let hash = auth::token_hash(&token);
    let expires = app.clock.now() + SignedDuration::from_hours(i64::from(hours));
    app.store
        .write(move |txn| staff::create_setup_token(txn, &hash, expires))
        .await?;
    let link = format!("{}/admin/setup/{token}", app.public_url);
    tracing::warn!(
        %link,
        valid_hours = hours,
        "there is no owner account yet: open this one-time link to create it (or run \
         `barberpro admin create-user --role owner --email …`)"
    );
    Ok(())
}
