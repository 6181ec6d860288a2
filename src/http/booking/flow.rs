//! The booking walk-through: branches → services → barber → day and slot → details → booked.
//! Each step is a GET whose query string carries the choices so far; the last is a POST
//! through `app::bookings::book_online` with a hidden idempotency key.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::pick::{self, Picker, SlotChoice, Target};
use super::view::{self, Field, Layout, Private};
use super::{PageError, PagePath};
use crate::app::{self, AppError};
use crate::domain::payment::DepositPolicy;
use crate::domain::time::local_date;
use crate::domain::{
    Barber, BarberId, Branch, DomainError, Email, Money, Phone, Service, ServiceId, Text,
};
use crate::http::AppState;
use crate::http::format::{long_date, time as fmt_time};
use crate::store::bookings::{BarberChoice, ClientBooking, Idempotency};
use crate::store::clients::ClientDetails;
use crate::store::{ReadTx, StoreError, catalog};

const NAME_MAX: usize = 100;
const KEY_MAX: usize = 100;

/// The choices made so far, as the query string (or form) carries them.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub services: Vec<u64>,
    /// `any` or a barber id.
    pub barber: String,
    pub date: String,
    pub start: String,
}

impl Selection {
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut s = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                // A value that is not a number can only come from an edited URL: it becomes
                // an id no service has, which the services step then refuses.
                "services" => s.services.push(v.trim().parse().unwrap_or(0)),
                "barber" => s.barber = v.trim().to_owned(),
                "date" => s.date = v.trim().to_owned(),
                "start" => s.start = v.trim().to_owned(),
                _ => {}
            }
        }
        if s.barber.is_empty() {
            s.barber = "any".into();
        }
        s
    }

    /// `services=1&services=3&barber=any`: the choices up to the barber.
    pub fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .services
            .iter()
            .map(|s| ("services", s.to_string()))
            .collect();
        pairs.push(("barber", self.barber.clone()));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The slot step's address for these choices.
    fn target(&self, branch: &Branch) -> Target {
        let mut hidden: Vec<(String, String)> = self
            .services
            .iter()
            .map(|s| ("services".to_owned(), s.to_string()))
            .collect();
        hidden.push(("barber".into(), self.barber.clone()));
        Target {
            action: format!("/reservar/{}/horario", branch.slug.as_str()),
            hidden,
        }
    }

    fn ids(&self) -> Vec<ServiceId> {
        self.services.iter().map(|s| ServiceId(*s)).collect()
    }

    /// The barber choice, if it is `any` or a number.
    fn choice(&self) -> Option<BarberChoice> {
        if self.barber == "any" {
            return Some(BarberChoice::Any);
        }
        self.barber
            .parse()
            .ok()
            .map(|id| BarberChoice::Barber(BarberId(id)))
    }
}

/// A branch as the pages show it.
pub struct BranchInfo {
    pub slug: String,
    pub name: String,
    pub address: String,
    pub phone: String,
}

impl From<&Branch> for BranchInfo {
    fn from(b: &Branch) -> Self {
        Self {
            slug: b.slug.as_str().to_owned(),
            name: b.name.as_str().to_owned(),
            address: b.address.as_str().to_owned(),
            phone: b.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

/// The chosen services in a line: names, minutes, total.
pub struct Summary {
    pub names: String,
    pub minutes: i64,
    pub total: String,
}

impl Summary {
    fn of(services: &[Service]) -> Self {
        Self {
            names: services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            minutes: services.iter().map(|s| i64::from(s.duration_minutes)).sum(),
            total: Money::sum(services.iter().map(|s| s.price)).to_string(),
        }
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub detail: String,
    pub checked: bool,
}

/// The chosen services and the barbers who do them all, or why the choice is refused.
type Resolved = Result<(Vec<Service>, Vec<Barber>), String>;

/// The chosen services, checked against the branch's offer, and the barbers who do them all.
/// `Err` is the Spanish reason, for the services step.
fn resolve(tx: &impl ReadTx, branch: &Branch, sel: &Selection) -> Result<Resolved, StoreError> {
    let offered = catalog::services_at(tx, branch.id)?;
    if sel.services.is_empty() {
        return Ok(Err("Elegí al menos un servicio.".into()));
    }
    let mut seen = std::collections::HashSet::new();
    if sel.services.len() > 5 || !sel.services.iter().all(|s| seen.insert(*s)) {
        return Ok(Err(DomainError::InvalidServiceSelection.message_es()));
    }
    let mut chosen = Vec::new();
    for id in &sel.services {
        match offered.iter().find(|s| s.id.0 == *id) {
            Some(s) => chosen.push(s.clone()),
            None => {
                return Ok(Err(
                    "Uno de los servicios elegidos no existe en esta sucursal. \
                                    Elegí de nuevo."
                        .into(),
                ));
            }
        }
    }
    let ids = sel.ids();
    let barbers: Vec<Barber> = catalog::barbers_at(tx, branch.id)?
        .into_iter()
        .filter(|b| b.does_all(&ids))
        .collect();
    if barbers.is_empty() {
        return Ok(Err(
            "Ningún barbero de esta sucursal hace todos esos servicios en el mismo turno. \
             Probá con menos servicios."
                .into(),
        ));
    }
    Ok(Ok((chosen, barbers)))
}

// ---- Step 0: branches ----

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
    let services = catalog::services_at(tx, branch.id)?
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
            Self::Details(p) => view::html(status, p.as_ref(), Private::No),
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

#[derive(Template)]
#[template(path = "public/details.html")]
pub struct DetailsPage {
    pub l: Layout,
    pub branch: BranchInfo,
    pub sel: Selection,
    pub summary: Summary,
    pub barber_label: String,
    /// "martes 02/03/2027 a las 10:00".
    pub when: String,
    /// The hidden idempotency key of this form.
    pub key: String,
    pub name: Field,
    pub phone: Field,
    pub email: Field,
    pub whatsapp: bool,
    /// A problem with the booking as a whole (the slot was taken meanwhile, …).
    pub error: Option<String>,
    /// Other free slots the same day, offered when the chosen one was taken.
    pub alternatives: Vec<SlotChoice>,
    /// The slot step for the same choices (to pick another day).
    pub back: String,
    /// The deposit the branch asks for, told before booking (`[payments]`).
    pub deposit: Option<String>,
}

impl DetailsPage {
    pub fn has_errors(&self) -> bool {
        self.error.is_some() || self.name.invalid() || self.phone.invalid() || self.email.invalid()
    }
}

/// The typed fields of the details form.
#[derive(Debug, Clone, Default)]
struct Typed {
    name: String,
    phone: String,
    email: String,
    whatsapp: bool,
    key: String,
}

impl Typed {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut t = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => t.name = v.clone(),
                "phone" => t.phone = v.clone(),
                "email" => t.email = v.clone(),
                "whatsapp" => t.whatsapp = v == "1",
                "key" => t.key = v.trim().to_owned(),
                _ => {}
            }
        }
        t
    }
}

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
        error: None,
        alternatives: Vec::new(),
        back: format!(
            "/reservar/{}/horario?{}&date={date}",
            branch.slug.as_str(),
            sel.query()
        ),
        sel: sel.clone(),
        deposit: deposit
            .and_then(|d| d.client_notice_es(Money::sum(services.iter().map(|s| s.price)))),
    })))
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= KEY_MAX
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /reservar/{slug}/datos?services=…&barber=…&start=…`: name, phone, e-mail, consent.
pub async fn details(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let sel = Selection::from_pairs(&pairs);
    let (now, rules) = (state.clock.now(), state.rules);
    let deposit = state.payments.as_ref().map(|d| d.policy_for(&slug));
    let step = state
        .store
        .read(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            details_page(tx, &branch, &sel, &Typed::default(), now, &rules, deposit)
        })
        .await?;
    step.render(false)
}

// ---- Booking ----

/// The client's details, validated field by field; `None` when a field is wrong (each
/// wrong field gets its message on `page`).
fn client_details(typed: &Typed, page: &mut DetailsPage) -> Option<ClientDetails> {
    let name = Text::line("name", typed.name.trim(), NAME_MAX);
    if name.is_err() {
        page.name.error = Some(if typed.name.trim().is_empty() {
            "Escribí tu nombre.".into()
        } else {
            "El nombre es demasiado largo o tiene caracteres no permitidos.".into()
        });
    }
    let phone = Phone::parse(&typed.phone);
    if phone.is_err() {
        page.phone.error = Some(if typed.phone.trim().is_empty() {
            "Escribí tu teléfono, con código de área. Ejemplo: 011 15-2345-6789.".into()
        } else {
            DomainError::InvalidPhone.message_es()
        });
    }
    let email = match typed.email.trim() {
        "" => Ok(None),
        raw => Email::parse(raw).map(Some),
    };
    if email.is_err() {
        page.email.error =
            Some("El correo electrónico no es válido. Dejalo vacío si no querés darlo.".into());
    }
    Some(ClientDetails {
        name: name.ok()?,
        phone: phone.ok()?,
        email: email.ok()?,
        whatsapp_consent: typed.whatsapp,
    })
}

/// What the idempotency key is bound to: the whole request, canonically.
fn request_hash(branch: &Branch, sel: &Selection, start: Timestamp, c: &ClientDetails) -> String {
    let canonical = format!(
        "form/v1\n{}\n{:?}\n{}\n{}\n{}\n{}\n{}\n{}",
        branch.id.0,
        sel.services,
        sel.barber,
        start.as_second(),
        c.name.as_str(),
        c.phone.as_e164(),
        c.email.as_ref().map(|e| e.as_str()).unwrap_or(""),
        c.whatsapp_consent
    );
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Whether a refusal is about the slot itself (then other slots that day are offered).
fn slot_problem(rule: &DomainError) -> bool {
    matches!(
        rule,
        DomainError::SlotUnavailable
            | DomainError::TooSoon
            | DomainError::InThePast
            | DomainError::Closed
            | DomainError::OutsideHours
            | DomainError::Misaligned
            | DomainError::BeyondHorizon
    )
}

/// `POST /reservar/{slug}`: books through `app::bookings::book_online`, then shows the booking.
pub async fn create(
    State(state): State<AppState>,
    PagePath(slug): PagePath,
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
        Ok(created) => Ok(view::see_other(&format!(
            "/turnos/{}?token={}&aviso=reservado",
            created.booking.id.0, created.token
        ))),
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
