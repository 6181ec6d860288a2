//! What every page shares: the layout's data, flash messages, es-AR formatting of dates and
//! times, and rendering.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::session::Current;
use super::{AdminError, assets, cookies};

/// The data of `templates/admin/base.html`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// The logged-in account's name (empty on public pages) and role label.
    pub user_name: String,
    pub user_role: String,
    pub front_desk: bool,
    pub owner: bool,
    /// The session's CSRF token, for every form on the page.
    pub csrf: String,
    /// Which navigation entry is the current page.
    pub nav: &'static str,
    pub flash: Option<FlashMsg>,
    pub css: String,
    pub js: String,
}

impl Layout {
    /// A page without a logged-in account (login, setup, errors).
    pub fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            user_name: String::new(),
            user_role: String::new(),
            front_desk: false,
            owner: false,
            csrf: String::new(),
            nav: "",
            flash: None,
            css: assets::url("admin.css"),
            js: assets::url("admin.js"),
        }
    }

    pub fn for_user(title: &str, current: &Current, nav: &'static str, flash: Flash) -> Self {
        let u = &current.user;
        Self {
            user_name: u.name.as_str().to_owned(),
            user_role: u.role.label_es().to_owned(),
            front_desk: u.role.runs_front_desk(),
            owner: u.role.is_owner(),
            csrf: current.csrf.clone(),
            nav,
            flash: flash.0,
            ..Self::bare(title)
        }
    }

    pub fn with_flash(mut self, flash: Flash) -> Self {
        self.flash = flash.0;
        self
    }
}

/// A one-shot message shown on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashMsg {
    /// `ok` or `error` (a CSS class).
    pub kind: &'static str,
    pub text: String,
}

/// The flash message the previous POST left, if any (read from its cookie).
#[derive(Debug, Clone, Default)]
pub struct Flash(pub Option<FlashMsg>);

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let msg = cookies::get(&parts.headers, cookies::FLASH).and_then(|raw| {
            let kind = match raw.as_bytes().first()? {
                b'o' => "ok",
                b'e' => "error",
                _ => return None,
            };
            let bytes = URL_SAFE_NO_PAD.decode(&raw[1..]).ok()?;
            let text = String::from_utf8(bytes).ok()?;
            Some(FlashMsg { kind, text })
        });
        Ok(Self(msg))
    }
}

/// Renders a page; if it showed a flash message, the message's cookie is deleted.
pub fn render<T: Template>(
    page: &T,
    layout: &Layout,
    secure: bool,
) -> Result<Response, AdminError> {
    let html = page.render()?;
    let mut response = Html(html).into_response();
    if layout.flash.is_some() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear(cookies::FLASH, secure));
    }
    Ok(response)
}

/// 303 See Other to `to`, leaving a flash message for the page there.
pub fn redirect(to: &str, kind: &'static str, text: &str, secure: bool) -> Response {
    let prefix = if kind == "ok" { "o" } else { "e" };
    let value = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(text.as_bytes()));
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(cookies::FLASH, &value, Some(120), secure),
    );
    response
}

const WEEKDAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];

/// `02/03/2027`.
pub fn date(d: Date) -> String {
    d.strftime("%d/%m/%Y").to_string()
}

/// A date as a form sends it: `2027-03-02` (a date input) or `02/03/2027` (typed, where the
/// browser offers a plain text box).
pub fn parse_date(raw: &str) -> Option<Date> {
    let raw = raw.trim();
    if let Ok(d) = raw.parse::<Date>() {
        return Some(d);
    }
    let mut parts = raw.split('/');
    let (Some(d), Some(m), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if y.len() != 4 {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

/// `martes 02/03/2027`.
pub fn long_date(d: Date) -> String {
    let weekday = WEEKDAYS[usize::from(d.weekday().to_monday_zero_offset().unsigned_abs())];
    format!("{weekday} {}", date(d))
}

/// `14:30`, in the branch's zone.
pub fn time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

/// `02/03/2027 14:30`, in the branch's zone.
pub fn date_time(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone())
        .strftime("%d/%m/%Y %H:%M")
        .to_string()
}

/// The error page.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct ErrorPage {
    pub l: Layout,
    pub status: u16,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_es_ar() {
        let d = Date::constant(2027, 3, 2);
        assert_eq!(date(d), "02/03/2027");
        assert_eq!(long_date(d), "martes 02/03/2027");
        let tz = TimeZone::get("America/Argentina/Buenos_Aires").expect("tz");
        let ts: Timestamp = "2027-03-02T17:05:00Z".parse().expect("ts");
        assert_eq!(time(ts, &tz), "14:05");
        assert_eq!(date_time(ts, &tz), "02/03/2027 14:05");
    }

    #[test]
    fn form_dates_are_read_as_iso_or_dd_mm_yyyy() {
        let d = Date::constant(2027, 3, 2);
        for raw in ["2027-03-02", "02/03/2027", " 2/3/2027 "] {
            assert_eq!(parse_date(raw), Some(d), "{raw:?}");
        }
        for bad in [
            "",
            "31/02/2027",
            "03/02/27",
            "2027/03/02",
            "02/03/2027/1",
            "mañana",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
