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

/// Largest photo upload form (`app::photos::MAX_UPLOAD_BYTES` and room for the other fields).
pub const MAX_UPLOAD_FORM_BYTES: usize = crate::app::photos::MAX_UPLOAD_BYTES + 64 * 1024;

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
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let boundary = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
        .map(|b| {
            b.split(';')
                .next()
                .unwrap_or(b)
                .trim_matches('"')
                .to_owned()
        });
    let limit = if boundary.is_some() {
        MAX_UPLOAD_FORM_BYTES
    } else {
        MAX_FORM_BYTES
    };
    let Ok(bytes) = to_bytes(body, limit).await else {
        let why = if boundary.is_some() {
            crate::app::photos::PhotoRefused::TooLarge.message_es()
        } else {
            "El formulario es demasiado grande.".into()
        };
        return AdminError::BadRequest(why).into_response();
    };
    let from_header = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let from_form = match &boundary {
        Some(boundary) => csrf_part(&bytes, boundary),
        None if is_form => csrf_field(&bytes),
        None => None,
    };
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

/// The `csrf` part of a multipart form: the first part named `csrf` (the forms put it
/// before the file), its value up to the next boundary.
fn csrf_part(body: &[u8], boundary: &str) -> Option<String> {
    let delimiter = format!("\r\n--{boundary}");
    let head = b"name=\"csrf\"";
    let at = body.windows(head.len()).position(|w| w == head)?;
    let rest = &body[at..];
    let start = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let value = &rest[start..];
    let end = value
        .windows(delimiter.len())
        .position(|w| w == delimiter.as_bytes())?;
    let token = std::str::from_utf8(&value[..end]).ok()?;
    (token.len() <= 200).then(|| token.to_owned())
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
    fn the_csrf_part_of_a_multipart_form_is_found() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc+d\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--XyZ--\r\n";
        assert_eq!(csrf_part(body, "XyZ"), Some("abc+d".into()));
        assert_eq!(csrf_part(b"--XyZ\r\n\r\n--XyZ--", "XyZ"), None);
    }

    #[test]
    fn the_csrf_field_is_found_among_others() {
        assert_eq!(csrf_field(b"a=1&csrf=abc%2Bd&b=2"), Some("abc+d".into()));
        assert_eq!(csrf_field(b"a=1"), None);
    }
}
