//! The clients' booking pages over real HTTPS: every step, bad input, the manage link, and a
//! walk-through in headless Chromium at 375 px.

mod browser;
mod calendar;
mod deposit;
mod flow;
mod keep;
mod manage;
mod photos;

use barberpro::domain::{Booking, BookingId};
use barberpro::store::bookings;
use reqwest::StatusCode;

pub use crate::admin::{Browser, Page};
use crate::helpers::{Id, TUESDAY, TestApp, at};

/// The form fields of a booking of `services` with `barber` at `hhmm` on Tuesday.
pub fn form(
    key: &str,
    services: &[&str],
    barber: &str,
    hhmm: &str,
    name: &str,
    phone: &str,
) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = services
        .iter()
        .map(|s| ("services".to_owned(), (*s).to_owned()))
        .collect();
    for (k, v) in [
        ("key", key),
        ("barber", barber),
        ("name", name),
        ("phone", phone),
        ("whatsapp", "1"),
    ] {
        f.push((k.to_owned(), v.to_owned()));
    }
    f.push(("start".to_owned(), at(TUESDAY, hhmm)));
    f
}

pub async fn post_form(b: &mut Browser, path: &str, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(path, &pairs).await
}

/// The value of the first `name="{name}"` field of the page.
pub fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {body}"))
        + marker.len();
    let end = body[start..].find('"').expect("closing quote") + start;
    body[start..end].to_owned()
}

/// (id, token) from a redirect to `/turnos/{id}?token=…&aviso=…` (a public id).
pub fn manage_target(app: &TestApp, location: &str) -> (Id, String) {
    let rest = location
        .strip_prefix("/turnos/")
        .unwrap_or_else(|| panic!("not a manage link: {location}"));
    let (id, query) = rest.split_once('?').expect("a query");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    let token = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .expect("a token");
    (app.id_named(id), token)
}

pub async fn booking(app: &TestApp, id: u64) -> Option<Booking> {
    app.store
        .read(move |tx| bookings::get(tx, BookingId(id)))
        .await
        .expect("read")
}

pub async fn count(app: &TestApp) -> u64 {
    app.store.read(bookings::count).await.expect("count")
}

/// Books 10:00 on Tuesday with Martín through the pages; returns (id, token).
pub async fn book_through_pages(app: &TestApp, b: &mut Browser, hhmm: &str) -> (Id, String) {
    let page = post_form(
        b,
        "/reservar/palermo",
        &form(
            &format!("k-{hhmm}"),
            &["1"],
            "1",
            hhmm,
            "Ana Gómez",
            "011 15-2345-6001",
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    manage_target(app, &page.location)
}

/// An HTML page in Spanish, not the JSON API's error body, and never a 500.
#[track_caller]
pub fn assert_html_page(page: &Page, status: u16, needle: &str) {
    assert_eq!(page.status.as_u16(), status, "{}", page.body);
    assert!(
        page.body.starts_with("<!doctype html>") && page.body.contains("lang=\"es-AR\""),
        "not an es-AR page: {}",
        page.body
    );
    assert!(
        page.body.contains(needle),
        "{needle:?} missing from: {}",
        page.body
    );
}
