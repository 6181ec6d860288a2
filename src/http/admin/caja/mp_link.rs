//! The MercadoPago line on the comprobante: a button that creates its payment link, then the
//! link and its QR (an SVG drawn here, no JavaScript) while it waits, and its state — paid
//! once MercadoPago's notification says so (`app::mp_links`).

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use qrcode::QrCode;
use qrcode::render::svg;

use super::{AdminError, back_on_rule};
use crate::app::mp_links;
use crate::domain::Money;
use crate::domain::caja::{EntryId, MpLink};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;

/// What the comprobante shows of a sale's MercadoPago line.
pub struct MpView {
    pub amount: String,
    pub state: String,
    pub paid: bool,
    /// The link to pay, while it can be paid (empty otherwise).
    pub url: String,
    /// The same link as an inline `<svg>` QR.
    pub qr: String,
    /// The desk may create a link: none yet, or the last one expired unpaid.
    pub can_create: bool,
}

/// The MercadoPago block for a sale whose MercadoPago line is `amount` (none without one).
/// Without MercadoPago configured and no link, there is nothing to show beyond the receipt.
pub fn view(
    amount: Money,
    link: Option<&MpLink>,
    configured: bool,
    voided: bool,
    now: Timestamp,
) -> Option<MpView> {
    if amount.centavos() == 0 || (!configured && link.is_none()) {
        return None;
    }
    let live = link.filter(|l| !l.is_paid() && !l.is_expired(now));
    let url = live.map(|l| l.url.clone()).unwrap_or_default();
    Some(MpView {
        amount: amount.to_string(),
        state: match link {
            Some(l) => mp_links::state_es(l, now),
            None => "Sin link de pago".to_owned(),
        },
        paid: link.is_some_and(MpLink::is_paid),
        qr: if url.is_empty() {
            String::new()
        } else {
            qr_svg(&url)
        },
        url,
        can_create: configured && !voided && link.is_none_or(|l| l.is_expired(now)),
    })
}

/// `url` as a QR code in an `<svg>` element ready to inline (empty if it does not fit one).
pub fn qr_svg(url: &str) -> String {
    let Ok(code) = QrCode::new(url.as_bytes()) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The renderer writes a standalone file: drop the XML declaration to inline it in HTML.
    let Some(at) = image.find("<svg") else {
        return String::new();
    };
    format!(
        "<svg role=\"img\" aria-label=\"Código QR del link de pago\"{}",
        &image[at + "<svg".len()..]
    )
}

/// `POST /admin/caja/comprobante/{id}/mercadopago`: creates (or shows again) the link, back
/// to the comprobante.
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = format!("/admin/caja/comprobante/{id}");
    let result = mp_links::create_link(&state, &current.actor(), EntryId(id)).await;
    back_on_rule(result, &back, secure, |l| {
        view::redirect(
            &back,
            "ok",
            &format!("Link de MercadoPago por {} listo.", l.amount),
            secure,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_an_inline_svg_qr() {
        let svg = qr_svg("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1-2");
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains("<path"), "the modules are drawn");
    }
}
