//! What every booking page shares: the layout's data, field errors, and rendering with the
//! headers private pages need.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::PageError;
use crate::http::assets;

/// The data of `templates/public/base.html`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub css: String,
    pub js: String,
    /// "Paso 2 de 5" (0 = no step shown).
    pub step: u8,
}

/// How many steps the booking walk-through has.
pub const STEPS: u8 = 5;

impl Layout {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            css: assets::url("public.css"),
            js: assets::url("public.js"),
            step: 0,
        }
    }

    pub fn step(title: &str, step: u8) -> Self {
        Self {
            step,
            ..Self::new(title)
        }
    }

    pub fn steps(&self) -> u8 {
        STEPS
    }
}

/// Whether a page shows something only its link's holder may see (the manage token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Private {
    No,
    /// `Cache-Control: no-store`, `Referrer-Policy: no-referrer`, `X-Robots-Tag: noindex`.
    Yes,
}

/// Renders `page` with `status`.
pub fn html<T: Template>(
    status: StatusCode,
    page: &T,
    private: Private,
) -> Result<Response, PageError> {
    let mut response = (status, Html(page.render()?)).into_response();
    if private == Private::Yes {
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    Ok(response)
}

/// 303 See Other to `to`; private, since `to` may carry the manage token.
pub fn see_other(to: &str) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    see_other_private_headers(response.headers_mut());
    response
}

/// `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: what a response carrying (or
/// leading to) a manage token needs.
pub fn see_other_private_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// A form field's value as typed and its error, if any (shown next to the field).
#[derive(Debug, Clone, Default)]
pub struct Field {
    pub value: String,
    pub error: Option<String>,
}

impl Field {
    pub fn new(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            error: None,
        }
    }

    pub fn invalid(&self) -> bool {
        self.error.is_some()
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "public/error.html")]
pub struct ErrorPage {
    pub l: Layout,
    pub status: u16,
    pub message: String,
}
