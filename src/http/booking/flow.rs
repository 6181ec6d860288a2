//! The booking walk-through: branches → services → barber → day and slot → details → booked.
//! Each step is a GET whose query string carries the choices so far; the last is a POST
//! through `app::bookings::book_online` with a hidden idempotency key.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use super::details::*;
use super::pick::{self, Picker};
use super::selection::*;
use super::view::{self, Field, Layout, Private};
use super::{PageError, PagePath};
use super::{branch, confirm};
use crate::app::{self, AppError};
use crate::domain::payment::DepositPolicy;
use crate::domain::time::local_date;
use crate::domain::{Barber, Branch, DomainError, Money};
use crate::http::AppState;
use crate::http::format::{long_date, time as fmt_time};
use crate::http::ratelimit::ClientIp;
use crate::store::bookings::{self, BarberChoice, ClientBooking, Idempotency};
use crate::store::{ReadTx, StoreError, catalog};

#[derive(Template)]
#[template(path = "public/branches.html")]
pub struct BranchesPage {
    pub l: Layout,
    pub branches: Vec<BranchInfo>,
}

/// `GET /`: the open branches where somebody works (a branch just created, before any
/// barber has hours there, would offer nothing).
pub async fn branches(State(state): State<AppState>) -> Result<Response, PageError> {
    let open = state
        .store
        .read(|tx| {
            let mut open = Vec::new();
            for b in catalog::branches(tx)? {
                if b.active && !catalog::barbers_at(tx, b.id)?.is_empty() {
                    open.push(BranchInfo::from(&b));
                }
            }
            Ok(open)
        })
        .await?;
    let page = BranchesPage {
        l: Layout::step("Reservá tu turno", 1),
        branches: open,
    };
    view::html(StatusCode::OK, &page, Private::No)
}

// ---- Step 1: services ----

#[derive(Template)]
#[template(path = "public/services.html")]
pub struct ServicesPage {
    pub l: Layout,
    pub branch: BranchInfo,
    /// Photos, opening hours, barbers: the branch's page around the services form.
    pub about: branch::About,
    pub services: Vec<Choice>,
    pub barber: String,
    pub error: Option<String>,
}

fn services_page(
    tx: &impl ReadTx,
    branch: &Branch,
    sel: &Selection,
    error: Option<String>,
) -> Result<ServicesPage, StoreError> {
    let offered = catalog::services_at(tx, branch.id)?;
    let about = branch::about(tx, branch, &catalog::barbers_at(tx, branch.id)?, &offered)?;
    let services = offered
        .iter()
        .map(|s| Choice {
            value: s.id.0.to_string(),
            label: s.name.as_str().to_owned(),
            detail: format!("{} min · {}", s.duration_minutes, s.price),
            checked: sel.services.contains(&s.id.0),
        })
        .collect();
    Ok(ServicesPage {
        l: Layout::step("Elegí los servicios", 2),
        branch: BranchInfo::from(branch),
        about,
        services,
        barber: sel.barber.clone(),
        error,
    })
}

/// `GET /reservar/{slug}`: the branch's services.
pub async fn services(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let sel = Selection::from_pairs(&pairs);
    let page = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            services_page(tx, &branch, &sel, None)
        })
        .await?;
    view::html(StatusCode::OK, &page, Private::No)
}

// ---- Step 2: barber ----

#[derive(Template)]
#[template(path = "public/barber.html")]
pub struct BarberPage {
    pub l: Layout,
    pub branch: BranchInfo,
    pub sel: Selection,
    pub summary: Summary,
    pub barbers: Vec<Choice>,
    pub error: Option<String>,
}

/// The page a step answers with: its own, or an earlier step's with the reason it went back.
enum Step {
    Services(Box<ServicesPage>),
    Barber(Box<BarberPage>),
    Slot(Box<SlotPage>),
    Details(Box<DetailsPage>),
}

impl Step {
    fn has_error(&self) -> bool {
        match self {
            Self::Services(p) => p.error.is_some(),
            Self::Barber(p) => p.error.is_some(),
            Self::Slot(p) => p.error.is_some() || p.p.error.is_some(),
            Self::Details(p) => p.has_errors(),
        }
    }

    /// 409 for a `conflict`, 422 when the page shows a problem, else 200.
    fn render(self, conflict: bool) -> Result<Response, PageError> {
        let status = if conflict {
            StatusCode::CONFLICT
        } else if self.has_error() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        match self {
            Self::Services(p) => view::html(status, p.as_ref(), Private::No),
            Self::Barber(p) => view::html(status, p.as_ref(), Private::No),
            Self::Slot(p) => view::html(status, p.as_ref(), Private::No),
            // Its GET is private (it may show «ya reservaste» with the manage link, and Back
            // must ask the server again); a POST's answer may be kept for Back, where the
            // script asks the server again (`again`), instead of a resubmission prompt.
            Self::Details(p) if p.posted => {
                let mut response = view::html(status, p.as_ref(), Private::No)?;
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    axum::http::HeaderValue::from_static("private, max-age=0"),
                );
                Ok(response)
            }
            Self::Details(p) => view::html(status, p.as_ref(), Private::Yes),
        }
    }
}

fn back_to_services(
    tx: &impl ReadTx,
    branch: &Branch,
    sel: &Selection,
    why: String,
) -> Result<Step, StoreError> {
    Ok(Step::Services(Box::new(services_page(
        tx,
        branch,
        sel,
        Some(why),
    )?)))
}

fn barber_page(
    tx: &impl ReadTx,
    branch: &Branch,
    sel: &Selection,
    error: Option<String>,
) -> Result<Step, StoreError> {
    let (services, barbers) = match resolve(tx, branch, sel)? {
        Ok(found) => found,
        Err(why) => return back_to_services(tx, branch, sel, why),
    };
    Ok(Step::Barber(Box::new(BarberPage {
        l: Layout::step("Elegí barbero", 3),
        branch: BranchInfo::from(branch),
        summary: Summary::of(&services),
        barbers: barbers
            .iter()
            .map(|b| Choice {
                value: b.id.0.to_string(),
                label: b.name.as_str().to_owned(),
                detail: String::new(),
                checked: sel.barber == b.id.0.to_string(),
            })
            .collect(),
        sel: sel.clone(),
        error,
    })))
}

/// `GET /reservar/{slug}/barbero?services=…`: a barber, or "cualquiera".
pub async fn barber(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let sel = Selection::from_pairs(&pairs);
    let step = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            barber_page(tx, &branch, &sel, None)
        })
        .await?;
    step.render(false)
}

// ---- Step 3: day and slot ----

#[derive(Template)]
#[template(path = "public/slot.html")]
pub struct SlotPage {
    pub l: Layout,
    pub branch: BranchInfo,
    pub sel: Selection,
    pub summary: Summary,
    pub barber_label: String,
    pub p: Picker,
    pub error: Option<String>,
}

/// The barber's name, or "Cualquiera"; `None` if the choice is not one of `barbers`.
fn barber_label(sel: &Selection, barbers: &[Barber]) -> Option<String> {
    match sel.choice()? {
        BarberChoice::Any => Some("Cualquiera".into()),
        BarberChoice::Barber(id) => barbers
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.name.as_str().to_owned()),
    }
}

fn slot_page(
    tx: &impl ReadTx,
    branch: &Branch,
    sel: &Selection,
    error: Option<String>,
    now: Timestamp,
    state_rules: &crate::domain::BookingRules,
) -> Result<Step, StoreError> {
    let (services, barbers) = match resolve(tx, branch, sel)? {
        Ok(found) => found,
        Err(why) => {
            return back_to_services(tx, branch, sel, why);
        }
    };
    let (Some(choice), Some(label)) = (sel.choice(), barber_label(sel, &barbers)) else {
        let why = "Elegí un barbero de la lista, o «Cualquiera».".to_owned();
        return barber_page(tx, branch, sel, Some(why));
    };
    let checked = sel.start.parse::<Timestamp>().ok();
    let target = sel.target(branch);
    let p = pick::build(
        tx,
        branch,
        &sel.ids(),
        choice,
        &sel.date,
        checked,
        target,
        now,
        state_rules,
    )?;
    Ok(Step::Slot(Box::new(SlotPage {
        l: Layout::step("Elegí día y horario", 4),
        branch: BranchInfo::from(branch),
        summary: Summary::of(&services),
        barber_label: label,
        sel: sel.clone(),
        p,
        error,
    })))
}

/// `GET /reservar/{slug}/horario?services=…&barber=…&date=…`: days and free slots.
pub async fn slot(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let sel = Selection::from_pairs(&pairs);
    let (now, rules) = (state.clock.now(), state.rules);
    let step = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            slot_page(tx, &branch, &sel, None, now, &rules)
        })
        .await?;
    step.render(false)
}

// ---- Step 4: the client's details ----

#[allow(clippy::too_many_arguments)]
fn details_page(
    tx: &impl ReadTx,
    branch: &Branch,
    sel: &Selection,
    typed: &Typed,
    now: Timestamp,
    rules: &crate::domain::BookingRules,
    deposit: Option<DepositPolicy>,
) -> Result<Step, StoreError> {
    let (services, barbers) = match resolve(tx, branch, sel)? {
        Ok(found) => found,
        Err(why) => {
            return back_to_services(tx, branch, sel, why);
        }
    };
    let Some(label) = barber_label(sel, &barbers) else {
        return slot_page(tx, branch, sel, None, now, rules);
    };
    let Ok(start) = sel.start.parse::<Timestamp>() else {
        let why = Some("Elegí uno de los horarios libres.".to_owned());
        return slot_page(tx, branch, sel, why, now, rules);
    };
    let tz = branch.tz();
    // "Cualquiera": the barber the slot is offered with, the one the booking will get.
    let label = match sel.choice() {
        Some(BarberChoice::Any) => {
            let date = local_date(start, &tz);
            let offered =
                bookings::availability(tx, branch, date, &sel.ids(), BarberChoice::Any, now, rules)
                    .unwrap_or_default();
            offered
                .iter()
                .find(|s| s.start == start)
                .and_then(|s| barbers.iter().find(|b| b.id == s.barber))
                .map_or(label, |b| format!("{} (por «Cualquiera»)", b.name.as_str()))
        }
        _ => label,
    };
    let key = if valid_key(&typed.key) {
        typed.key.clone()
    } else {
        crate::auth::random_token()
    };
    let date = local_date(start, &tz);
    Ok(Step::Details(Box::new(DetailsPage {
        l: Layout::step("Tus datos", 5),
        branch: BranchInfo::from(branch),
        summary: Summary::of(&services),
        barber_label: label,
        when: format!("{} a las {}", long_date(date), fmt_time(start, &tz)),
        key,
        name: Field::new(&typed.name),
        phone: Field::new(&typed.phone),
        email: Field::new(&typed.email),
        whatsapp: typed.whatsapp,
        ask_mobile: false,
        celular: typed.celular.clone(),
        error: None,
        alternatives: Vec::new(),
        back: format!(
            "/reservar/{}/horario?{}&date={date}",
            branch.slug.as_str(),
            sel.query()
        ),
        again: format!(
            "/reservar/{}/datos?{}&{}",
            branch.slug.as_str(),
            sel.query(),
            serde_urlencoded::to_string([("start", &sel.start)]).unwrap_or_default()
        ),
        posted: false,
        mail: crate::store::mail::enabled(tx)?,
        sel: sel.clone(),
        booked: None,
        deposit: deposit
            .and_then(|d| d.client_notice_es(Money::sum(services.iter().map(|s| s.price)))),
    })))
}

/// `GET /reservar/{slug}/datos?services=…&barber=…&start=…`: name, phone, e-mail, consent;
/// or, when this browser just booked that very slot (Back after booking), «ya reservaste»
/// with the link to the booking.
pub async fn details(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let sel = Selection::from_pairs(&pairs);
    let (now, rules) = (state.clock.now(), state.rules);
    let deposit = state.payments.as_ref().map(|d| d.policy_for(&slug));
    let ids = state.ids.clone();
    let step = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            let mut step =
                details_page(tx, &branch, &sel, &Typed::default(), now, &rules, deposit)?;
            if let Step::Details(page) = &mut step {
                page.booked = confirm::already_booked(tx, &ids, &headers, &branch, &sel.start)?;
            }
            Ok(step)
        })
        .await?;
    step.render(false)
}

// ---- Booking ----

/// `POST /reservar/{slug}`: books through `app::bookings::book_online`, then shows the booking.
pub async fn create(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
    ip: Option<Extension<ClientIp>>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(pairs)) = form else {
        return Err(PageError::BadRequest(
            "El formulario no llegó completo. Volvé atrás y probá de nuevo.".into(),
        ));
    };
    let sel = Selection::from_pairs(&pairs);
    let typed = Typed::from_pairs(&pairs);
    let (now, rules) = (state.clock.now(), state.rules);
    let (sel2, typed2) = (sel.clone(), typed.clone());
    let policy = state.payments.as_ref().map(|d| d.policy_for(&slug));
    // A branch that may ask for a deposit starts a MercadoPago preference: the payments tier.
    if let (Some(p), Some(Extension(ClientIp(ip)))) = (&policy, ip)
        && p.may_ask()
        && let Err(refused) = state.limits.check_payment(ip)
    {
        return Ok(crate::http::ApiError::from(refused).into_response());
    }
    let (branch, step) = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            let step = details_page(tx, &branch, &sel2, &typed2, now, &rules, policy)?;
            Ok((branch, step))
        })
        .await?;
    let mut page = match step {
        Step::Details(page) => page,
        other => return other.render(false),
    };
    page.posted = true;
    let Some(client) = client_details(&typed, &mut page) else {
        return Step::Details(page).render(false);
    };
    let (Some(choice), Ok(start)) = (sel.choice(), sel.start.parse::<Timestamp>()) else {
        return Err(PageError::BadRequest(
            "Elegí uno de los horarios libres.".into(),
        ));
    };
    let idempotency = valid_key(&typed.key).then(|| Idempotency {
        key: format!("form:{}", typed.key),
        request_hash: request_hash(&branch, &sel, start, &client),
    });
    // A deposit, when MercadoPago is configured: the same request the API makes.
    let deposit = state
        .payments
        .as_ref()
        .map(|d| d.request_for(branch.slug.as_str()));
    let request = ClientBooking {
        branch: branch.slug.as_str().to_owned(),
        services: sel.ids(),
        barber: choice,
        start,
        client,
        notes: None,
        deposit,
        idempotency,
        rules,
        now,
    };
    match app::bookings::book_online(&state, request).await {
        Ok(created) => {
            let (id, token) = (state.ids.public(created.booking.id), created.token);
            let mut response =
                view::see_other(&format!("/turnos/{id}?token={token}&aviso=reservado"));
            response.headers_mut().append(
                header::SET_COOKIE,
                confirm::booked_cookie(&id, &token, state.admin.secure_cookies),
            );
            Ok(response)
        }
        Err(AppError::Rule(rule)) if slot_problem(&rule) => {
            page.error = Some(format!(
                "{} Elegí otro horario; tus datos quedan cargados.",
                rule.message_es()
            ));
            let tz = branch.tz();
            let date = local_date(start, &tz).to_string();
            let ids = sel.ids();
            let target = sel.target(&branch);
            let alternatives = state
                .store
                .read(move |tx| {
                    pick::build(tx, &branch, &ids, choice, &date, None, target, now, &rules)
                        .map(|p| p.slots)
                })
                .await?;
            page.alternatives = alternatives;
            Step::Details(page).render(true)
        }
        Err(AppError::Rule(rule @ DomainError::ClientOverlap)) => {
            page.error = Some(format!(
                "{} Si querés cambiarlo, usá el enlace que recibiste al reservar.",
                rule.message_es()
            ));
            Step::Details(page).render(true)
        }
        Err(AppError::Rule(DomainError::IdempotencyKeyReused)) => {
            page.error = Some(
                "Este formulario ya se había enviado con otros datos. Revisalos y confirmá de \
                 nuevo."
                    .into(),
            );
            page.key = crate::auth::random_token();
            Step::Details(page).render(true)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BarberId;

    #[test]
    fn selections_round_trip_through_the_query_string() {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str("services=1&services=3&barber=2&date=2027-03-02")
                .expect("query");
        let sel = Selection::from_pairs(&pairs);
        assert_eq!(sel.services, vec![1, 3]);
        assert_eq!(sel.choice(), Some(BarberChoice::Barber(BarberId(2))));
        let again: Vec<(String, String)> = serde_urlencoded::from_str(&sel.query()).expect("query");
        assert_eq!(Selection::from_pairs(&again).services, vec![1, 3]);
        assert_eq!(Selection::from_pairs(&[]).choice(), Some(BarberChoice::Any));
        let odd = Selection::from_pairs(&[("barber".into(), "x".into())]);
        assert_eq!(
            odd.choice(),
            None,
            "a barber that is neither `any` nor a number"
        );
    }

    #[test]
    fn form_keys_are_short_and_plain() {
        assert!(valid_key(&crate::auth::random_token()));
        for bad in ["", "a b", "<x>", &"k".repeat(KEY_MAX + 1)] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }
}
