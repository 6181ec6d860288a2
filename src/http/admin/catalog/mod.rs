//! Catálogo: branches, services, barbers with their weekly hours, closures and time off. The
//! front desk reads it; the owner creates and edits branches, services and barbers, sets
//! weekly hours (the week editor, `week`, through `app::catalog`), and adds or removes
//! closures (whole days or part of one). A change that would strand future bookings (a
//! service taken off while booked, a closure over booked time, hours that no longer hold a
//! booking) is refused with the list of the bookings in the way (`app::booked`; the week
//! editor shows them before saving); every change is audited in its own write transaction.
//! Services, branches and closures change through their use cases (`app::services`,
//! `app::branches`, `app::closures`).
//!
//! This file holds the page, the shared helpers and the services; `branches`, `barbers`,
//! `closures` and `week` hold the rest.

mod barbers;
mod branches;
mod closures;
mod photos;
mod week;
mod week_form;

pub use barbers::{create_barber, set_barber_services};
pub use branches::{create_branch, update_branch};
pub use closures::{add_closure, delete_closure};
pub use photos::{delete_branch_photo, upload_barber_photo, upload_branch_photo};
pub use week::{week_page, week_post};

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::booked::InTheWay;
use crate::app::{AppError, services};
use crate::domain::catalog::DEFAULT_TZ;
use crate::domain::time::time_zone;
use crate::domain::{
    BarberId, BranchId, ClosureScope, ClosureSpan, DomainError, Money, ServiceId, Text,
};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::catalog;
use crate::store::photos::{self as store_photos, Owner};

const WEEKDAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];

pub struct BranchRow {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub address: String,
    pub phone: String,
    pub time_zone: String,
    pub active: bool,
    /// The deposit this branch asks for (`[payments]` in barberpro.toml).
    pub deposit: String,
    /// Its photos (ids), oldest first.
    pub photos: Vec<u64>,
}

pub struct ServiceRow {
    pub id: u64,
    pub name: String,
    pub duration: u16,
    pub buffer: u16,
    pub price: String,
    /// The price as typed in the form: `8000` or `8000,50`.
    pub price_input: String,
    pub active: bool,
    pub category: String,
}

pub struct BarberRow {
    pub id: u64,
    pub name: String,
    pub active: bool,
    pub services: String,
    pub service_ids: Vec<u64>,
    pub hours: Vec<String>,
    /// The portrait (the latest photo), if any.
    pub photo: Option<u64>,
}

pub struct ClosureRow {
    pub id: u64,
    pub scope: String,
    /// `02/03/2027 (todo el día)`, `… al …`, or `02/03/2027 de 14:00 a 16:30`.
    pub when: String,
    /// Part of a day (not whole days).
    pub partial: bool,
    pub reason: String,
}

pub struct Option_ {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "admin/catalog.html")]
pub struct CatalogPage {
    pub l: Layout,
    pub can_edit: bool,
    pub branches: Vec<BranchRow>,
    pub services: Vec<ServiceRow>,
    pub barbers: Vec<BarberRow>,
    pub closures: Vec<ClosureRow>,
    pub branch_options: Vec<Option_>,
    pub barber_options: Vec<Option_>,
    /// The new-branch form's time zones.
    pub zone_options: Vec<Option_>,
}

fn input_price(m: Money) -> String {
    let c = m.centavos();
    if c % 100 == 0 {
        (c / 100).to_string()
    } else {
        format!("{},{:02}", c / 100, c % 100)
    }
}

/// `8000`, `8.000`, `8000,50` or `$ 8.000,50` → centavos.
fn parse_price(raw: &str) -> Option<Money> {
    let cleaned: String = raw
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    let (pesos, cents) = match cleaned.split_once(',') {
        Some((p, c)) if c.len() <= 2 && !c.is_empty() => (p, format!("{c:0<2}")),
        Some(_) => return None,
        None => (cleaned.as_str(), "00".to_owned()),
    };
    if pesos.is_empty() || !pesos.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let total = pesos
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents.parse::<i64>().ok()?)?;
    Money::from_centavos(total).ok()
}

/// `GET /admin/catalogo`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let can_edit = current.user.role.is_owner();
    let deposits = state.payments.clone();
    let mut page = state
        .store
        .read(move |tx| {
            let branches = catalog::branches(tx)?;
            let services = catalog::services(tx)?;
            let barbers = catalog::barbers(tx)?;
            let mut closures = catalog::closures(tx)?;
            closures.sort_by_key(|c| (c.start, c.id));
            let tz = time_zone(DEFAULT_TZ)?;
            let branch_name = |id: BranchId| {
                branches
                    .iter()
                    .find(|b| b.id == id)
                    .map(|b| b.name.as_str().to_owned())
                    .unwrap_or_default()
            };
            let barber_name = |id: BarberId| {
                barbers
                    .iter()
                    .find(|b| b.id == id)
                    .map(|b| b.name.as_str().to_owned())
                    .unwrap_or_default()
            };
            Ok(CatalogPage {
                l: Layout::bare("Catálogo"),
                can_edit,
                branches: branches
                    .iter()
                    .map(|b| BranchRow {
                        id: b.id.0,
                        name: b.name.as_str().to_owned(),
                        slug: b.slug.as_str().to_owned(),
                        address: b.address.as_str().to_owned(),
                        phone: b.phone.as_ref().map(|p| p.local()).unwrap_or_default(),
                        time_zone: b.time_zone.clone(),
                        active: b.active,
                        deposit: match &deposits {
                            Some(d) => d.policy_for(b.slug.as_str()).describe_es(),
                            None => "Sin seña (pagos desactivados)".into(),
                        },
                        photos: store_photos::of(tx, Owner::Branch(b.id)).unwrap_or_default(),
                    })
                    .collect(),
                services: services
                    .iter()
                    .map(|s| ServiceRow {
                        id: s.id.0,
                        name: s.name.as_str().to_owned(),
                        duration: s.duration_minutes,
                        buffer: s.buffer_minutes,
                        price: s.price.to_string(),
                        price_input: input_price(s.price),
                        active: s.active,
                        category: s
                            .category
                            .as_ref()
                            .map_or_else(String::new, |c| c.as_str().to_owned()),
                    })
                    .collect(),
                barbers: barbers
                    .iter()
                    .map(|b| BarberRow {
                        id: b.id.0,
                        name: b.name.as_str().to_owned(),
                        active: b.active,
                        services: b
                            .services
                            .iter()
                            .filter_map(|id| services.iter().find(|s| s.id == *id))
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        service_ids: b.services.iter().map(|s| s.0).collect(),
                        hours: b
                            .shifts
                            .iter()
                            .map(|s| {
                                let breaks: Vec<String> =
                                    s.breaks.iter().map(|(a, z)| format!("{a}–{z}")).collect();
                                let day = WEEKDAYS
                                    .get(usize::from(s.weekday).saturating_sub(1))
                                    .copied()
                                    .unwrap_or("?");
                                let pause = if breaks.is_empty() {
                                    String::new()
                                } else {
                                    format!(" (pausa {})", breaks.join(", "))
                                };
                                format!(
                                    "{day} {}–{}{pause} · {}",
                                    s.start,
                                    s.end,
                                    branch_name(s.branch)
                                )
                            })
                            .collect(),
                        photo: store_photos::of(tx, Owner::Barber(b.id))
                            .unwrap_or_default()
                            .last()
                            .copied(),
                    })
                    .collect(),
                closures: closures
                    .iter()
                    .map(|c| {
                        let zone = closures::zone_of(c, &branches, &barbers, &tz);
                        ClosureRow {
                            id: c.id.0,
                            scope: match c.scope {
                                ClosureScope::Branch(b) => {
                                    format!("Sucursal {}", branch_name(b))
                                }
                                ClosureScope::Barber(b) => format!("Barbero {}", barber_name(b)),
                            },
                            when: closures::describe(c.start, c.end, &zone),
                            partial: matches!(
                                ClosureSpan::of(c.start, c.end, &zone),
                                Some(ClosureSpan::Hours { .. })
                            ),
                            reason: c.reason.as_str().to_owned(),
                        }
                    })
                    .collect(),
                branch_options: branches
                    .iter()
                    .filter(|b| b.active)
                    .map(|b| Option_ {
                        value: b.id.0.to_string(),
                        label: b.name.as_str().to_owned(),
                    })
                    .collect(),
                zone_options: branches::zone_options(),
                barber_options: barbers
                    .iter()
                    .filter(|b| b.active)
                    .map(|b| Option_ {
                        value: b.id.0.to_string(),
                        label: b.name.as_str().to_owned(),
                    })
                    .collect(),
            })
        })
        .await?;
    page.l = Layout::for_user("Catálogo", &current, "catalogo", flash);
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// A catalogue change refused for the bookings in the way.
#[derive(Template)]
#[template(path = "admin/refused.html")]
struct RefusedPage {
    l: Layout,
    message: String,
    rows: Vec<InTheWayRow>,
    more: usize,
    back: String,
}

/// One booking in the way, with what the desk can do about it.
struct InTheWayRow {
    id: u64,
    when: String,
    barber: String,
    client: String,
    client_id: u64,
    /// That day's agenda at the booking's card, where it can be cancelled.
    agenda: String,
}

/// The refusal of a change for the bookings in `found` (409): each named with its client,
/// with links to move it among free slots or cancel it, then back to `back`.
pub(super) fn refused(
    current: &Current,
    message: &str,
    found: &InTheWay,
    back: &str,
    secure: bool,
) -> Result<Response, AdminError> {
    let rows = found
        .listed
        .iter()
        .map(|b| InTheWayRow {
            id: b.id.0,
            when: view::date_time(b.start, &b.tz),
            barber: b.barber.clone(),
            client: b.client_name.clone(),
            client_id: b.client.0,
            agenda: format!(
                "/admin/agenda?branch={}&date={}#booking-{}",
                b.branch,
                b.start.to_zoned(b.tz.clone()).date(),
                b.id.0
            ),
        })
        .collect();
    let page = RefusedPage {
        l: Layout::for_user("Catálogo", current, "catalogo", Flash::default()),
        message: message.to_owned(),
        rows,
        more: found.more,
        back: back.to_owned(),
    };
    let mut response = view::render(&page, &page.l, secure)?;
    *response.status_mut() = axum::http::StatusCode::CONFLICT;
    Ok(response)
}

#[derive(Deserialize)]
pub struct ServiceForm {
    name: String,
    duration: String,
    buffer: String,
    price: String,
    #[serde(default)]
    active: String,
    /// Optional: the category commission rules go by.
    #[serde(default)]
    category: String,
}

impl ServiceForm {
    /// The service the form describes, or what is wrong with it (in Spanish).
    fn parse(&self, id: ServiceId) -> Result<crate::domain::Service, &'static str> {
        let name = Text::line("name", self.name.trim(), 80)
            .map_err(|_| "El nombre del servicio no puede estar vacío ni ser tan largo.")?;
        let (Ok(duration), Ok(buffer)) = (
            self.duration.trim().parse::<u16>(),
            self.buffer.trim().parse::<u16>(),
        ) else {
            return Err("La duración y el margen son minutos enteros.");
        };
        crate::domain::Service::validate_durations(duration, buffer)
            .map_err(|_| "La duración va de 5 a 480 minutos y el margen de 0 a 120.")?;
        let price = parse_price(&self.price)
            .ok_or("El precio no es válido. Ejemplo: 12.500 o 12500,50.")?;
        let category = match self.category.trim() {
            "" => None,
            c => Some(
                Text::line("category", c, 40)
                    .map_err(|_| "La categoría no puede tener más de 40 caracteres.")?,
            ),
        };
        Ok(crate::domain::Service {
            id,
            name,
            duration_minutes: duration,
            buffer_minutes: buffer,
            price,
            active: self.active == "1",
            category,
        })
    }
}

/// `POST /admin/catalogo/servicios` (owner): a new service (no barber does it yet: tick it
/// in each barber's services).
pub async fn create_service(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(form): Form<ServiceForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let service = match form.parse(ServiceId(0)) {
        Ok(s) => s,
        Err(text) => return Ok(view::redirect(back, "error", text, secure)),
    };
    let created = services::create(&state, &current.actor(), service).await?;
    let text = format!(
        "Servicio creado: {}. Marcalo en los barberos que lo hacen.",
        created.name.as_str()
    );
    Ok(view::redirect(back, "ok", &text, secure))
}

/// `POST /admin/catalogo/servicios/{id}` (owner): name, duration, buffer, price, active.
pub async fn update_service(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<ServiceForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let bad = |text: &str| Ok(view::redirect(back, "error", text, secure));
    let service = match form.parse(ServiceId(id)) {
        Ok(s) => s,
        Err(text) => return bad(text),
    };
    match services::update(&state, &current.actor(), service).await {
        Ok(Ok(_)) => Ok(view::redirect(back, "ok", "Servicio actualizado.", secure)),
        Ok(Err(found)) => refused(
            &current,
            "No se puede desactivar el servicio: tiene turnos por delante.",
            &found,
            back,
            secure,
        ),
        Err(AppError::Rule(DomainError::UnknownService(_))) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_the_es_ar_way() {
        let cents = |raw: &str| parse_price(raw).map(Money::centavos);
        assert_eq!(cents("8000"), Some(800_000));
        assert_eq!(cents("8.000"), Some(800_000));
        assert_eq!(cents("$ 12.500,5"), Some(1_250_050));
        assert_eq!(cents("12500,50"), Some(1_250_050));
        for bad in ["", "abc", "-5", "1,234", "12,", "9999999999999999999"] {
            assert_eq!(cents(bad), None, "{bad:?}");
        }
        assert_eq!(
            input_price(Money::from_centavos(1_250_050).expect("valid")),
            "12500,50"
        );
    }
}
