//! New bookings for walk-ins and phone calls: find the client by phone (or create one), pick
//! services and a barber (or "cualquiera"), see the free slots, book (`app::bookings::
//! book_at_desk`): the clients' rules except the minimum notice ([`front_desk_rules`]), the
//! same invariant.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;

use super::AdminError;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::bookings::front_desk_rules;
use crate::app::{self, Actor, AppError, Staff};
use crate::domain::{BarberId, BookingSource, Email, Phone, PhoneReading, ServiceId, Text, time};
use crate::http::AppState;
use crate::store::bookings::{self as store_bookings, BarberChoice, NewBooking};
use crate::store::clients::{self, ClientDetails};
use crate::store::{StoreError, catalog};

/// The fields of the new-booking form, as typed (the page shows them back).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub branch: String,
    pub date: String,
    pub phone: String,
    pub name: String,
    pub email: String,
    pub services: Vec<u64>,
    /// `any` or a barber id.
    pub barber: String,
    /// `walk_in` or `phone`.
    pub source: String,
    pub notes: String,
    pub whatsapp: bool,
    /// "¿Es un celular?" for a number that reads both ways: `si`, `no` or empty.
    pub celular: String,
    pub start: String,
    /// `HH:MM` chosen on the agenda (a free cell): that slot is the one offered first.
    pub hora: String,
}

impl Fields {
    /// From URL-encoded pairs; `services` may repeat.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "branch" => f.branch = v,
                "date" => f.date = v,
                "phone" => f.phone = v,
                "name" => f.name = v,
                "email" => f.email = v,
                "services" => f.services.extend(v.parse::<u64>().ok()),
                "barber" => f.barber = v,
                "source" => f.source = v,
                "notes" => f.notes = v,
                "whatsapp" => f.whatsapp = v == "1",
                "celular" => f.celular = v,
                "start" => f.start = v,
                "hora" => f.hora = v,
                _ => {}
            }
        }
        f
    }

    fn barber_choice(&self) -> BarberChoice {
        match self.barber.parse::<u64>() {
            Ok(id) => BarberChoice::Barber(BarberId(id)),
            Err(_) => BarberChoice::Any,
        }
    }

    fn source(&self) -> BookingSource {
        if self.source == "phone" {
            BookingSource::Phone
        } else {
            BookingSource::WalkIn
        }
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

pub struct SlotChoice {
    /// RFC 3339 start.
    pub value: String,
    pub time: String,
    pub barber: String,
    /// Checked: the time chosen on the agenda, else the first.
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin/booking_new.html")]
pub struct NewBookingPage {
    pub l: Layout,
    pub f: Fields,
    pub branches: Vec<Choice>,
    pub services: Vec<Choice>,
    pub barbers: Vec<Choice>,
    /// The client the phone belongs to, if known.
    pub client: Option<String>,
    /// Nobody has the number, which reads both as a mobile and as a landline: the form asks.
    pub ask_mobile: bool,
    pub errors: Vec<String>,
    /// Whether slots were asked for (services and date given).
    pub searched: bool,
    pub slots: Vec<SlotChoice>,
    pub date_label: String,
    /// Who holds the slot a refused booking wanted, with links to move or cancel them.
    pub in_the_way: Vec<super::agenda::InTheWay>,
}

/// `GET /admin/bookings/new?branch=&date=&phone=&services=1&services=3&barber=any`.
pub async fn new_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(pairs): Query<Vec<(String, String)>>,
    flash: Flash,
) -> Result<Response, AdminError> {
    form_page(
        &state,
        current,
        Fields::from_pairs(pairs),
        flash,
        None,
        None,
    )
    .await
}

/// `POST /admin/bookings/new`: the same page, searched from the form. The phone travels in the
/// body, never in the URL (it is personal data in logs and the browser's history).
pub async fn new_page_search(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    flash: Flash,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    form_page(
        &state,
        current,
        Fields::from_pairs(pairs),
        flash,
        None,
        None,
    )
    .await
}

/// The new-booking form for `f`; with `refused`, the reason a booking was not made, shown
/// above the form as typed (422), and with `wanted` (the barber and start it asked for) the
/// bookings holding that time.
async fn form_page(
    state: &AppState,
    current: Current,
    mut f: Fields,
    flash: Flash,
    refused: Option<String>,
    wanted: Option<(BarberId, Timestamp)>,
) -> Result<Response, AdminError> {
    if f.barber.is_empty() {
        f.barber = "any".into();
    }
    let now = state.clock.now();
    let rules = front_desk_rules(state.rules);
    let who = current.clone();
    // A write: finding a client by phone shows their name, which is logged as a view.
    let actor = Actor::Staff(Staff::new(&who.user, who.ip.clone()));
    let page = app::views::read_logged(state, &actor, move |tx, seen| {
        let branches: Vec<_> = catalog::branches(tx)?
            .into_iter()
            .filter(|b| b.active)
            .collect();
        let Some(branch) = branches
            .iter()
            .find(|b| b.slug.as_str() == f.branch)
            .or(branches.first())
            .cloned()
        else {
            return Ok(None);
        };
        let tz = branch.tz();
        let mut errors = Vec::new();
        let date = if f.date.is_empty() {
            time::local_date(now, &tz)
        } else {
            match f.date.parse::<Date>() {
                Ok(d) => d,
                Err(_) => {
                    errors.push("La fecha no es válida.".to_owned());
                    time::local_date(now, &tz)
                }
            }
        };
        let mut client = None;
        let mut ask_mobile = false;
        if !f.phone.trim().is_empty() {
            match Phone::parse(&f.phone) {
                Ok(phone) => {
                    if let Some(found) = clients::by_phone(tx, &phone)? {
                        seen.push("client.view", "client", Some(found.id.0), None);
                        client = Some(found.name.as_str().to_owned());
                    } else {
                        ask_mobile = matches!(
                            PhoneReading::read(&f.phone),
                            Ok(PhoneReading::Ambiguous { .. })
                        );
                    }
                }
                Err(e) => errors.push(e.message_es()),
            }
        }
        let services = catalog::services_at(tx, branch.id)?;
        let barbers = catalog::barbers_at(tx, branch.id)?;
        let searched = !f.services.is_empty() && errors.is_empty();
        let mut slots = Vec::new();
        if searched {
            let ids: Vec<ServiceId> = f.services.iter().map(|s| ServiceId(*s)).collect();
            match store_bookings::availability(
                tx,
                &branch,
                date,
                &ids,
                f.barber_choice(),
                now,
                &rules,
            ) {
                Ok(found) => {
                    slots = found
                        .into_iter()
                        .map(|s| SlotChoice {
                            value: time::rfc3339_local(s.start, &tz),
                            time: view::time(s.start, &tz),
                            barber: barbers
                                .iter()
                                .find(|b| b.id == s.barber)
                                .map(|b| b.name.as_str().to_owned())
                                .unwrap_or_default(),
                            checked: false,
                        })
                        .collect();
                    let chosen = slots.iter().position(|s| s.time == f.hora);
                    if !f.hora.is_empty() && chosen.is_none() {
                        errors.push(format!(
                            "Las {} no están libres para esos servicios: elegí otro horario.",
                            f.hora
                        ));
                    }
                    if let Some(s) = slots.get_mut(chosen.unwrap_or(0)) {
                        s.checked = true;
                    }
                }
                Err(StoreError::Rule(rule)) => errors.push(rule.message_es()),
                Err(e) => return Err(e),
            }
        }
        let mut in_the_way = Vec::new();
        if let Some((barber, start)) = wanted {
            let minutes: i64 = services
                .iter()
                .filter(|s| f.services.contains(&s.id.0))
                .map(|s| i64::from(s.duration_minutes))
                .sum();
            let from = start.as_second();
            let span = (from, from + minutes.max(1) * 60);
            let day = time::local_date(start, &tz);
            let skip = crate::domain::BookingId(0);
            in_the_way = super::agenda::holders(tx, &branch, day, barber, span, skip, seen)?;
        }
        let mut f = f;
        f.branch = branch.slug.as_str().to_owned();
        f.date = date.to_string();
        Ok(Some(NewBookingPage {
            l: Layout::bare("Nuevo turno"),
            branches: branches
                .iter()
                .map(|b| Choice {
                    value: b.slug.as_str().to_owned(),
                    label: b.name.as_str().to_owned(),
                    checked: b.id == branch.id,
                })
                .collect(),
            services: services
                .iter()
                .map(|s| Choice {
                    value: s.id.0.to_string(),
                    label: format!(
                        "{} ({} min, {})",
                        s.name.as_str(),
                        s.duration_minutes,
                        s.price
                    ),
                    checked: f.services.contains(&s.id.0),
                })
                .collect(),
            barbers: barbers
                .iter()
                .map(|b| Choice {
                    value: b.id.0.to_string(),
                    label: b.name.as_str().to_owned(),
                    checked: f.barber == b.id.0.to_string(),
                })
                .collect(),
            client,
            ask_mobile,
            errors,
            searched,
            slots,
            date_label: view::long_date(date),
            in_the_way,
            f,
        }))
    })
    .await?;
    let Some(mut page) = page else {
        return Err(AdminError::BadRequest("No hay sucursales activas.".into()));
    };
    page.l = Layout::for_user("Nuevo turno", &current, "nuevo", flash);
    let status = refused.is_some();
    page.errors.extend(refused);
    let mut response = view::render(&page, &page.l, state.admin.secure_cookies)?;
    if status {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// The number the form means: the mobile when WhatsApp was accepted; for one that reads both
/// as a mobile and as a landline, what "¿Es un celular?" answered, else the form of the
/// client who already has it (`known`); otherwise the form asks.
fn client_phone(f: &Fields, known: Option<Phone>) -> Result<Phone, String> {
    let reading = PhoneReading::read(&f.phone).map_err(|e| e.message_es())?;
    if f.whatsapp {
        return Ok(reading.for_whatsapp());
    }
    let answer = match f.celular.as_str() {
        "si" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    reading.settle(answer).or(known).ok_or_else(|| {
        "¿Es un celular? El número puede ser un celular o un fijo: elegí cuál es.".to_owned()
    })
}

/// Reads the booking request out of the form, or says (in Spanish) what is wrong.
fn parse_request(
    f: &Fields,
    branch: crate::domain::BranchId,
    known: Option<Phone>,
) -> Result<NewBooking, String> {
    let phone = client_phone(f, known)?;
    let name_raw = if f.name.trim().is_empty() {
        "Cliente"
    } else {
        f.name.as_str()
    };
    let name = Text::line("name", name_raw, 80).map_err(|e| e.message_es())?;
    let email = match f.email.trim() {
        "" => None,
        raw => Some(Email::parse(raw).map_err(|e| e.message_es())?),
    };
    let notes = match f.notes.trim() {
        "" => None,
        raw => Some(Text::multiline("notes", raw, 500).map_err(|e| e.message_es())?),
    };
    let start: Timestamp = f
        .start
        .parse()
        .map_err(|_| "Elegí uno de los horarios libres.".to_owned())?;
    Ok(NewBooking {
        branch,
        services: f.services.iter().map(|s| ServiceId(*s)).collect(),
        barber: f.barber_choice(),
        start,
        client: ClientDetails {
            name,
            phone,
            email,
            whatsapp_consent: f.whatsapp,
        },
        source: f.source(),
        notes,
        deposit: None,
    })
}

/// `POST /admin/bookings`: books through `app::bookings::book_at_desk`, then back to the agenda
/// (or to the form, with the reason, if a rule refused it).
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let f = Fields::from_pairs(pairs);
    let secure = state.admin.secure_cookies;
    let slug = f.branch.clone();
    let typed = Phone::parse(&f.phone).ok();
    let (branch, known) = state
        .store
        .read(move |tx| {
            let known = match &typed {
                Some(p) => clients::by_phone(tx, p)?.map(|c| c.phone),
                None => None,
            };
            Ok((catalog::branch_by_slug(tx, &slug)?, known))
        })
        .await?;
    let req = match parse_request(&f, branch.id, known) {
        Ok(req) => req,
        Err(message) => {
            return form_page(&state, current, f, Flash::default(), Some(message), None).await;
        }
    };
    let wanted = match req.barber {
        BarberChoice::Barber(barber) => Some((barber, req.start)),
        BarberChoice::Any => None,
    };
    let actor = Actor::Staff(Staff::new(&current.user, current.ip.clone()));
    let result = app::bookings::book_at_desk(&state, &actor, req)
        .await
        .map(|created| {
            let barber = created.catalog.barber(created.booking.barber).cloned();
            (created.booking, barber)
        });
    match result {
        Ok((booking, barber)) => {
            let tz = branch.tz();
            let date = time::local_date(booking.start, &tz);
            let text = format!(
                "Turno creado: {} {} con {}.",
                view::date(date),
                view::time(booking.start, &tz),
                barber
                    .map(|b| b.name.as_str().to_owned())
                    .unwrap_or_default()
            );
            let to = format!("/admin/agenda?branch={}&date={date}", branch.slug.as_str());
            Ok(view::redirect(&to, "ok", &text, secure))
        }
        Err(AppError::Rule(rule)) => {
            let message = Some(rule.message_es());
            form_page(&state, current, f, Flash::default(), message, wanted).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_services_are_all_kept() {
        let pairs = vec![
            ("services".to_owned(), "1".to_owned()),
            ("services".to_owned(), "3".to_owned()),
            ("barber".to_owned(), "any".to_owned()),
            ("phone".to_owned(), "011 15-2345-6789".to_owned()),
        ];
        let f = Fields::from_pairs(pairs);
        assert_eq!(f.services, vec![1, 3]);
        assert_eq!(f.barber_choice(), BarberChoice::Any);
    }
}
