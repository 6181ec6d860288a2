//! What the client keeps after booking: the `.ics` for their calendar
//! (`/turnos/{id}/calendario.ics?token=…`, private like the manage page), and the
//! «ya reservaste» check: a successful booking leaves a short-lived cookie holding its manage
//! link, so going Back to the details step shows the booking instead of a form sent already.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use super::view::see_other_private_headers;
use super::{PageError, PagePath};
use crate::domain::DomainError;
use crate::domain::public_id::{PublicId, PublicIds};
use crate::domain::time::local_date;
use crate::http::AppState;
use crate::http::extract::booking_in_path;
use crate::http::format::{long_date, time as fmt_time};
use crate::http::ics;
use crate::store::{ReadTx, StoreError, bookings, catalog};

/// The cookie a booking made through the pages leaves: `{public id}.{token}`.
pub const BOOKED: &str = "bp_reservado";
/// Long enough to go Back after booking, short enough not to linger.
const BOOKED_MAX_AGE: i64 = 30 * 60;

/// `Set-Cookie` for the booking just made: only the booking pages' paths, never script.
pub fn booked_cookie(id: &PublicId, token: &str, secure: bool) -> HeaderValue {
    let mut c = format!(
        "{BOOKED}={id}.{token}; Path=/reservar; HttpOnly; SameSite=Lax; Max-Age={BOOKED_MAX_AGE}"
    );
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("bp_invalid=1"))
}

/// The booking already made from this browser for the slot a page shows: its manage link and
/// when it is. `None` unless the cookie's token opens an active booking at `branch` starting
/// at `start`.
pub struct Booked {
    pub href: String,
    pub when: String,
}

pub fn already_booked(
    tx: &impl ReadTx,
    ids: &PublicIds,
    headers: &HeaderMap,
    branch: &crate::domain::Branch,
    start: &str,
) -> Result<Option<Booked>, StoreError> {
    let Some((id, token)) = cookie(headers, BOOKED).and_then(|v| v.split_once('.')) else {
        return Ok(None);
    };
    let (Ok(id), Ok(start)) = (id.parse::<PublicId>(), start.parse::<Timestamp>()) else {
        return Ok(None);
    };
    let Some(booking_id) = ids.booking(&id) else {
        return Ok(None);
    };
    let booking = match bookings::get_authorised(tx, booking_id, token) {
        Ok(b) => b,
        Err(StoreError::Rule(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    if booking.branch != branch.id || booking.start != start || !booking.status.is_active() {
        return Ok(None);
    }
    let tz = branch.tz();
    let query = serde_urlencoded::to_string([("token", token)]).unwrap_or_default();
    Ok(Some(Booked {
        href: format!("/turnos/{id}?{query}"),
        when: format!(
            "{} a las {}",
            long_date(local_date(booking.start, &tz)),
            fmt_time(booking.start, &tz)
        ),
    }))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// `GET /turnos/{id}/calendario.ics?token=…`: the booking as a calendar event.
pub async fn calendar_file(
    State(state): State<AppState>,
    PagePath(raw_id): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = booking_in_path(&state, &raw_id);
    let public_id = state.ids.public(id);
    let token = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let (now, public_url) = (state.clock.now(), state.public_url.clone());
    let body = state
        .store
        .read(move |tx| {
            let b = bookings::get_authorised(tx, id, &token)?;
            let branch = catalog::branch(tx, b.branch)?.ok_or(DomainError::UnknownBranch)?;
            let barber = catalog::barber(tx, b.barber)?
                .map(|x| x.name.as_str().to_owned())
                .unwrap_or_default();
            Ok(ics::booking(
                &b,
                &public_id,
                &branch,
                &barber,
                now,
                &public_url,
            ))
        })
        .await?;
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"turno-barberpro.ics\"",
            ),
        ],
        body,
    )
        .into_response();
    see_other_private_headers(response.headers_mut());
    Ok(response)
}
