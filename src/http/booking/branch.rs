//! What the booking pages say about a branch beyond its services: its photos, opening hours
//! and barbers (with portrait and what they do), shown on the services step, the branch's
//! own page; and `GET /fotos/{id}`, a photo as stored (never changed under its id, so cached
//! for a year).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{PageError, PagePath};
use crate::domain::{Barber, Branch, Service};
use crate::http::AppState;
use crate::store::photos::{self, Owner};
use crate::store::{ReadTx, StoreError};

const DAYS: [&str; 7] = [
    "Lunes",
    "Martes",
    "Miércoles",
    "Jueves",
    "Viernes",
    "Sábado",
    "Domingo",
];

/// A barber as the branch page shows them.
pub struct BarberCard {
    pub name: String,
    pub photo: Option<u64>,
    /// The services they do here, in words.
    pub does: String,
}

/// The branch's photos, hours and barbers.
pub struct About {
    pub photos: Vec<u64>,
    /// (day, "10:00 a 20:00" or "Cerrado").
    pub hours: Vec<(&'static str, String)>,
    pub barbers: Vec<BarberCard>,
}

/// The opening hours of each weekday: from the first barber's start to the last one's end.
fn hours(branch: &Branch, barbers: &[Barber]) -> Vec<(&'static str, String)> {
    (1u8..=7)
        .zip(DAYS)
        .map(|(weekday, day)| {
            let shifts: Vec<_> = barbers
                .iter()
                .flat_map(|b| b.shifts_on(weekday, branch.id))
                .collect();
            let open = shifts.iter().map(|s| s.start).min();
            let close = shifts.iter().map(|s| s.end).max();
            match (open, close) {
                (Some(a), Some(z)) => (day, format!("{a} a {z}")),
                _ => (day, "Cerrado".to_owned()),
            }
        })
        .collect()
}

/// What the branch page shows besides the services form.
pub fn about(
    tx: &impl ReadTx,
    branch: &Branch,
    barbers: &[Barber],
    services: &[Service],
) -> Result<About, StoreError> {
    let mut cards = Vec::with_capacity(barbers.len());
    for b in barbers {
        let does: Vec<&str> = services
            .iter()
            .filter(|s| b.services.contains(&s.id))
            .map(|s| s.name.as_str())
            .collect();
        cards.push(BarberCard {
            name: b.name.as_str().to_owned(),
            photo: photos::of(tx, Owner::Barber(b.id))?.last().copied(),
            does: does.join(", "),
        });
    }
    Ok(About {
        photos: photos::of(tx, Owner::Branch(branch.id))?,
        hours: hours(branch, barbers),
        barbers: cards,
    })
}

/// `GET /fotos/{id}`: a photo; its id never names another, so browsers keep it a year.
pub async fn photo(
    State(state): State<AppState>,
    PagePath(raw): PagePath,
) -> Result<Response, PageError> {
    let id: u64 = raw.parse().map_err(|_| PageError::NotFound)?;
    let bytes = state
        .store
        .read(move |tx| photos::get(tx, id))
        .await?
        .ok_or(PageError::NotFound)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"photo-{id}\"")) {
        h.insert(header::ETAG, etag);
    }
    Ok(response)
}
