//! La caja at the front desk: Cobrar (a booking or a walk-in) and its comprobante, the
//! daily till, products and stock, barbers' commissions, and the owner's reports. Every
//! change goes through `app::{checkout, till, products, commissions}`; forms carry the CSRF
//! token (checked by the route guard) and answer with post-redirect-get and a flash; a rule
//! refused (a bad amount, a closed till) goes back to the form with its Spanish message.

pub mod checkout;
pub mod commissions;
pub mod mp_link;
pub mod products;
pub mod report_bookings;
pub mod reports;
pub mod svg;
pub mod till;

use axum::response::Response;
use jiff::civil::Date;

use super::AdminError;
use super::view;
use crate::app::AppError;
use crate::domain::caja::parse_pesos;
use crate::domain::{Branch, DomainError, Money};
use crate::store::catalog::Catalog;

/// A branch in a `<select>`.
pub struct BranchOption {
    pub slug: String,
    pub name: String,
    pub selected: bool,
}

/// The branch a page is about: `?branch=slug`, else the first active one.
pub fn pick_branch<'a>(cat: &'a Catalog, slug: &str) -> Result<&'a Branch, AdminError> {
    let b = if slug.is_empty() {
        cat.branches.iter().find(|b| b.active)
    } else {
        cat.branch_by_slug(slug)
    };
    b.ok_or(AdminError::NotFound)
}

pub fn branch_options(cat: &Catalog, selected: &Branch) -> Vec<BranchOption> {
    cat.branches
        .iter()
        .filter(|b| b.active)
        .map(|b| BranchOption {
            slug: b.slug.as_str().to_owned(),
            name: b.name.as_str().to_owned(),
            selected: b.id == selected.id,
        })
        .collect()
}

/// An amount field: empty is zero; otherwise pesos as the desk types them.
pub fn amount(raw: &str) -> Result<Money, DomainError> {
    if raw.trim().is_empty() {
        return Ok(Money::default());
    }
    parse_pesos(raw).map_err(DomainError::Caja)
}

/// A day field (`AAAA-MM-DD`), or `None` when empty.
pub fn day(raw: &str) -> Result<Option<Date>, AdminError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    view::parse_date(raw.trim())
        .map(Some)
        .ok_or_else(|| AdminError::BadRequest(DomainError::InvalidDate.message_es()))
}

/// A form's outcome: a rule goes back to `back` with its message; anything else is an error
/// page (403 for a role that may not, 5xx for the store).
pub fn back_on_rule<T>(
    result: Result<T, AppError>,
    back: &str,
    secure: bool,
    ok: impl FnOnce(T) -> Response,
) -> Result<Response, AdminError> {
    match result {
        Ok(v) => Ok(ok(v)),
        Err(AppError::Rule(rule)) => Ok(view::redirect(back, "error", &rule.message_es(), secure)),
        Err(e) => Err(e.into()),
    }
}

/// A value for a CSV cell: quoted when it holds a separator, a quote or a line break, and
/// prefixed with `'` when a spreadsheet would read it as a formula.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A CSV download (UTF-8 with a BOM, so spreadsheets read the accents).
pub fn csv_response(name: &str, rows: Vec<Vec<String>>) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let mut body = String::from("\u{feff}");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        body.push_str(&cells.join(","));
        body.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Centavos as a CSV number in pesos (`1234.50`, `-5.00`): exact, no grouping.
pub fn csv_pesos(centavos: i64) -> String {
    let sign = if centavos < 0 { "-" } else { "" };
    let a = centavos.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("Corte, barba"), "\"Corte, barba\"");
        assert_eq!(csv_cell("dijo \"hola\""), "\"dijo \"\"hola\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("-5.00"), "-5.00");
        assert_eq!(csv_pesos(-500), "-5.00");
        assert_eq!(csv_pesos(123_450), "1234.50");
    }
}
