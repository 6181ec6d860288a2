//! What every admin page shares: the layout's data, flash messages, and rendering; the es-AR
//! formats of dates and times (`crate::http::format`, shared with the booking pages) are
//! re-exported here for the pages.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::session::Current;
use super::{AdminError, cookies};
use crate::http::assets;
pub use crate::http::format::{
    date, date_time, long_date, parse_date, short_date_time, time, weekday_date_time,
};

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

/// The error page.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct ErrorPage {
    pub l: Layout,
    pub status: u16,
    pub message: String,
}
