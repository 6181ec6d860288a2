//! Staff sessions on requests: finding the session behind the cookie, the guards of each
//! router group, and the CSRF check of every request that is not a GET.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;

use super::{AdminError, cookies};
use crate::app::{Actor, Staff};
use crate::auth;
use crate::domain::staff::StaffUser;
use crate::http::AppState;
use crate::http::ratelimit::{ClientIp, StaffIdentity};
use crate::store::staff;

/// The logged-in account of this request (in the request's extensions).
#[derive(Debug, Clone)]
pub struct Current {
    pub user: StaffUser,
    /// The CSRF token of the session, for the forms of the page.
    pub csrf: String,
    /// SHA-256 of the session cookie (to end this session).
    pub token_hash: String,
    /// The client's address, for the audit log.
    pub ip: Option<String>,
}

impl Current {
    /// This staff member, as the use cases take them.
    pub fn actor(&self) -> Actor {
        Actor::Staff(Staff::new(&self.user, self.ip.clone()))
    }
}

/// A session's `last_seen` is rewritten at most this often (one write per minute per user,
/// not per request); the idle timeout is therefore exact to within a minute.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// Finds the session of `/admin` requests that carry a session cookie and puts [`Current`]
/// and the rate limiter's [`StaffIdentity`] into the request. Never refuses anything itself:
/// the guards do.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/admin") {
        return next.run(req).await;
    }
    let Some(token) = cookies::get(req.headers(), cookies::SESSION) else {
        return next.run(req).await;
    };
    let hash = auth::token_hash(token);
    let now = state.clock.now();
    let limits = state.admin.sessions;
    let lookup = {
        let hash = hash.clone();
        state
            .store
            .read(move |tx| staff::session(tx, &hash, now, &limits))
            .await
    };
    match lookup {
        Ok(Some((session, user))) => {
            if now.duration_since(session.last_seen) >= TOUCH_EVERY
                && let Err(e) = crate::app::sessions::touch(&state, hash.clone()).await
            {
                tracing::warn!(error = %e, "cannot record session activity");
            }
            req.extensions_mut()
                .insert(StaffIdentity(user.email.as_str().to_owned()));
            req.extensions_mut().insert(Current {
                user,
                csrf: session.csrf,
                token_hash: hash,
                ip: None,
            });
        }
        Ok(None) => {}
        Err(e) => return AdminError::from(e).into_response(),
    }
    next.run(req).await
}

/// Any logged-in account.
pub async fn require_staff(req: Request, next: Next) -> Response {
    guard(req, next, |_| true).await
}

/// Owner or recepción.
pub async fn require_front_desk(req: Request, next: Next) -> Response {
    guard(req, next, |u| u.role.runs_front_desk()).await
}

/// Owner only.
pub async fn require_owner(req: Request, next: Next) -> Response {
    guard(req, next, |u| u.role.is_owner()).await
}

/// Largest form the admin accepts (the CSRF check reads the body before the handler).
const MAX_FORM_BYTES: usize = 64 * 1024;

async fn guard(req: Request, next: Next, allowed: impl Fn(&StaffUser) -> bool) -> Response {
    let Some(current) = req.extensions().get::<Current>().cloned() else {
        return AdminError::LoginRequired.into_response();
    };
    if !allowed(&current.user) {
        return AdminError::Forbidden.into_response();
    }
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0.to_string());
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(Current {
        ip,
        ..current.clone()
    });
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    // State-changing: the form must carry this session's CSRF token (or the header, for
    // scripts). The body is read here and handed on unchanged.
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return AdminError::BadRequest("El formulario es demasiado grande.".into()).into_response();
    };
    let from_header = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_form = if is_form { csrf_field(&bytes) } else { None };
    let ok = from_header
        .or(from_form)
        .is_some_and(|t| auth::tokens_equal(&t, &current.csrf));
    if !ok {
        tracing::info!(user = %current.user.email.as_str(), "admin: CSRF token missing or wrong");
        return AdminError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The `csrf` field of a URL-encoded form.
fn csrf_field(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_field_is_found_among_others() {
        assert_eq!(csrf_field(b"a=1&csrf=abc%2Bd&b=2"), Some("abc+d".into()));
        assert_eq!(csrf_field(b"a=1"), None);
    }
}
