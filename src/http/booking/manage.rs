//! The private manage page of a booking, `/turnos/{id}?token=…` (the link the API's
//! `manage_url` and the confirmation page give): see the booking, cancel it, or move it to
//! another free slot, before the cut-off (`booking.cancel_cutoff_hours`). A wrong or forged
//! token answers 404, like an unknown id.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;

use super::pick::{self, Picker, Target};
use super::selection::BranchInfo;
use super::view::{self, Layout, Private};
use super::{PageError, PagePath};
use crate::app::{self, Actor, AppError, ManageToken};
use crate::domain::booking::status_label_es;
use crate::domain::public_id::PublicId;
use crate::domain::time::local_date;
use crate::domain::{
    BarberId, Booking, BookingId, BookingRules, BookingStatus, Branch, DomainError, ServiceId, Text,
};
use crate::http::AppState;
use crate::http::extract::booking_in_path;
use crate::http::format::{long_date, time as fmt_time};
use crate::store::bookings::{self, BarberChoice};
use crate::store::{ReadTx, StoreError, catalog, clients, payments};

const REASON_MAX: usize = 500;

/// The fields the manage pages read from a query string or a form.
#[derive(Debug, Clone, Default)]
struct Params {
    token: String,
    notice: String,
    date: String,
    barber: String,
    start: String,
    reason: String,
    /// `aprobado`, `pendiente` or `rechazado`: MercadoPago sent the client back here.
    paid: String,
}

impl Params {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut p = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "token" => p.token = v.trim().to_owned(),
                "aviso" => p.notice = v.clone(),
                "date" => p.date = v.trim().to_owned(),
                "barber" => p.barber = v.trim().to_owned(),
                "start" => p.start = v.trim().to_owned(),
                "reason" => p.reason = v.clone(),
                "pago" => p.paid = v.trim().to_owned(),
                _ => {}
            }
        }
        p
    }
}

/// The booking the path names, and its public id (what links to it say). A segment that
/// names none is looked up all the same (`NO_BOOKING`) and answers 404 like a wrong token.
fn booking_id(state: &AppState, raw: &str) -> (BookingId, PublicId) {
    let id = booking_in_path(state, raw);
    (id, state.ids.public(id))
}

/// A one-line message for `?aviso=…` after a change (a fixed list: nothing typed is echoed).
fn notice(code: &str) -> Option<&'static str> {
    match code {
        "reservado" => Some("¡Listo! Tu turno quedó reservado."),
        "cancelado" => Some("Tu turno quedó cancelado."),
        "reprogramado" => Some("Listo: cambiamos tu turno al nuevo horario."),
        _ => None,
    }
}

/// A booking as its client sees it.
pub struct Shown {
    /// The public id, as the page's links carry it.
    pub id: PublicId,
    pub status: &'static str,
    pub status_label: &'static str,
    pub when: String,
    pub end: String,
    pub barber: String,
    pub services: Vec<(String, String)>,
    pub total: String,
    pub client: String,
    pub branch: BranchInfo,
    /// Whether the client may still cancel or move it (status and cut-off).
    pub changeable: bool,
    /// The deposit, when one is asked: (state label, amount, Checkout Pro link if payable).
    pub deposit: Option<(String, String, Option<String>)>,
    /// While the deposit is unpaid: what to do and by when.
    pub pay_notice: Option<String>,
    /// Why not, when it is active but too close.
    pub too_late: bool,
    pub active: bool,
    /// What "Compartir por WhatsApp" sends: when and where, never the private link.
    pub share_text: String,
    /// A confirmation e-mail was queued for it.
    pub emailed: bool,
}

fn shown(
    tx: &impl ReadTx,
    b: &Booking,
    public_id: PublicId,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<(Shown, Branch), StoreError> {
    let branch = catalog::branch(tx, b.branch)?.ok_or(DomainError::UnknownBranch)?;
    let tz = branch.tz();
    let barber = catalog::barber(tx, b.barber)?
        .map(|x| x.name.as_str().to_owned())
        .unwrap_or_default();
    let client = clients::get(tx, b.client)?
        .map(|c| c.name.as_str().to_owned())
        .unwrap_or_default();
    let deposit = payments::by_booking(tx, b.id)?.map(|p| {
        let payable = (b.status == BookingStatus::PendingPayment)
            .then(|| p.init_point.clone())
            .flatten();
        (p.state.label_es().to_owned(), p.amount.to_string(), payable)
    });
    let pay_notice = payments::by_booking(tx, b.id)?
        .filter(|p| b.status == BookingStatus::PendingPayment && p.state.is_unpaid())
        .map(|p| {
            let due = format!(
                "antes de las {} del {}",
                fmt_time(p.hold_until, &tz),
                long_date(local_date(p.hold_until, &tz))
            );
            match p.init_point {
                Some(_) => format!(
                    "Para confirmar el turno falta pagar la seña ({}) {due}. Si no se paga a \
                     tiempo, el horario se libera.",
                    p.amount
                ),
                None => format!(
                    "Para confirmar el turno falta pagar la seña ({}) {due}. Estamos preparando \
                     el enlace de pago: actualizá esta página en unos minutos.",
                    p.amount
                ),
            }
        });
    let when = format!(
        "{} a las {}",
        long_date(local_date(b.start, &tz)),
        fmt_time(b.start, &tz)
    );
    let share_text = format!(
        "Tengo turno en {} el {when}: {}, {}.",
        branch.name.as_str(),
        branch.address.as_str(),
        BranchInfo::from(&branch).map_href
    );
    let emailed = crate::store::mail::queued_for(tx, b.id)?;
    let open = b.status.is_reschedulable();
    let in_time = rules.client_may_change(b.start, now).is_ok();
    Ok((
        Shown {
            id: public_id,
            status: b.status.as_str(),
            status_label: status_label_es(b.status.as_str()),
            when,
            end: fmt_time(b.end, &tz),
            barber,
            services: b
                .services
                .iter()
                .map(|s| (s.name.as_str().to_owned(), s.price.to_string()))
                .collect(),
            total: b.total.to_string(),
            client,
            branch: BranchInfo::from(&branch),
            changeable: open && in_time,
            deposit,
            pay_notice,
            too_late: open && !in_time,
            active: b.status.is_active() && b.status != BookingStatus::Completed,
            share_text,
            emailed,
        },
        branch,
    ))
}

#[derive(Template)]
#[template(path = "public/manage.html")]
pub struct ManagePage {
    pub l: Layout,
    pub b: Shown,
    pub token: String,
    /// The full private link, to keep.
    pub link: String,
    pub cutoff_hours: u16,
    pub notice: Option<&'static str>,
    pub error: Option<String>,
}

fn manage_page(
    tx: &impl ReadTx,
    (id, public_id): (BookingId, PublicId),
    token: &str,
    public_url: &str,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<ManagePage, StoreError> {
    let booking = bookings::get_authorised(tx, id, token)?;
    let link = crate::http::api::dto::manage_url(public_url, &public_id, token);
    let (b, _) = shown(tx, &booking, public_id, now, rules)?;
    Ok(ManagePage {
        l: Layout::new("Tu turno"),
        link,
        b,
        token: token.to_owned(),
        cutoff_hours: rules.cancel_cutoff_hours,
        notice: None,
        error: None,
    })
}

fn back_to(id: &PublicId, token: &str, what: &str) -> Response {
    let query =
        serde_urlencoded::to_string([("token", token), ("aviso", what)]).unwrap_or_default();
    view::see_other(&format!("/turnos/{id}?{query}"))
}

/// Where MercadoPago sends the client back after Checkout Pro (`/turnos/{id}?pago=…`, no
/// token: the preference's back URLs never carry one). Says what the result means and where
/// to see the booking, the same for every id, so it reveals nothing about any booking.
#[derive(Template)]
#[template(path = "public/payment_return.html")]
pub struct PaymentReturnPage {
    pub l: Layout,
    pub result: &'static str,
    pub message: &'static str,
}

fn payment_return(result: &str) -> Option<PaymentReturnPage> {
    let (result, message) = match result {
        "aprobado" => (
            "approved",
            "¡Gracias! Mercado Pago aprobó tu pago. En unos instantes tu turno queda confirmado.",
        ),
        "pendiente" => (
            "pending",
            "Tu pago quedó pendiente en Mercado Pago. Cuando se acredite, tu turno queda \
             confirmado; si no se acredita a tiempo, el horario se libera.",
        ),
        "rechazado" => (
            "rejected",
            "Mercado Pago no aprobó el pago. Podés intentarlo de nuevo desde el enlace de tu \
             turno, antes de que venza la reserva.",
        ),
        _ => return None,
    };
    Some(PaymentReturnPage {
        l: Layout::new("Pago de la seña"),
        result,
        message,
    })
}

/// `GET /turnos/{id}?token=…`: the booking, with cancel and reschedule while allowed.
pub async fn page(
    State(state): State<AppState>,
    PagePath(raw_id): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = booking_id(&state, &raw_id);
    let p = Params::from_pairs(&pairs);
    if p.token.is_empty()
        && let Some(back) = payment_return(&p.paid)
    {
        return view::html(StatusCode::OK, &back, Private::Yes);
    }
    let (now, rules, public_url) = (state.clock.now(), state.rules, state.public_url.clone());
    let token = p.token.clone();
    let mut page = state
        .store
        .read(move |tx| manage_page(tx, id, &token, &public_url, now, &rules))
        .await?;
    page.notice = match notice(&p.notice) {
        Some(_) if p.notice == "reservado" && page.b.pay_notice.is_some() => {
            Some("Reservamos tu horario: falta pagar la seña para confirmarlo.")
        }
        other => other,
    };
    view::html(StatusCode::OK, &page, Private::Yes)
}

fn form_pairs(
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Params, PageError> {
    match form {
        Ok(Form(pairs)) => Ok(Params::from_pairs(&pairs)),
        Err(_) => Err(PageError::BadRequest(
            "El formulario no llegó completo. Volvé atrás y probá de nuevo.".into(),
        )),
    }
}

/// `POST /turnos/{id}/cancelar` (token in the form): cancels before the cut-off.
pub async fn cancel(
    State(state): State<AppState>,
    PagePath(raw_id): PagePath,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, PageError> {
    let id = booking_id(&state, &raw_id);
    let p = form_pairs(form)?;
    let reason = match p.reason.trim() {
        "" => None,
        raw => Text::multiline("reason", raw, REASON_MAX).ok(),
    };
    let (now, rules) = (state.clock.now(), state.rules);
    let actor = Actor::Client(ManageToken::new(p.token.clone()));
    match app::bookings::cancel(&state, &actor, id.0, reason).await {
        Ok(_) => Ok(back_to(&id.1, &p.token, "cancelado")),
        Err(AppError::Rule(
            rule @ (DomainError::CutoffPassed | DomainError::InvalidTransition { .. }),
        )) => {
            let public_url = state.public_url.clone();
            let token = p.token.clone();
            let mut page = state
                .store
                .read(move |tx| manage_page(tx, id, &token, &public_url, now, &rules))
                .await?;
            page.error = Some(refusal(&rule, &page.b));
            view::html(StatusCode::CONFLICT, &page, Private::Yes)
        }
        Err(e) => Err(e.into()),
    }
}

/// Why a change was refused, in words that say what to do next.
fn refusal(rule: &DomainError, b: &Shown) -> String {
    match rule {
        DomainError::CutoffPassed => {
            let phone = if b.branch.phone.is_empty() {
                String::new()
            } else {
                format!(" al {}", b.branch.phone)
            };
            format!(
                "Ya es tarde para cambiar este turno en línea. Llamá a {}{phone}.",
                b.branch.name
            )
        }
        DomainError::InvalidTransition { .. } => format!(
            "Este turno ya no se puede cambiar: está {}.",
            b.status_label
        ),
        other => other.message_es(),
    }
}

#[derive(Template)]
#[template(path = "public/reschedule.html")]
pub struct ReschedulePage {
    pub l: Layout,
    pub b: Shown,
    pub token: String,
    /// The barber choice: `any` or an id.
    pub barber: String,
    /// The booking's own barber: (id, name).
    pub own_barber: (String, String),
    pub p: Option<Picker>,
    pub error: Option<String>,
    pub cutoff_hours: u16,
}

#[allow(clippy::too_many_arguments)]
fn reschedule_page(
    tx: &impl ReadTx,
    (id, public_id): (BookingId, PublicId),
    params: &Params,
    now: Timestamp,
    rules: &BookingRules,
) -> Result<ReschedulePage, StoreError> {
    let booking = bookings::get_authorised(tx, id, &params.token)?;
    let action = format!("/turnos/{public_id}/reprogramar");
    let (b, branch) = shown(tx, &booking, public_id, now, rules)?;
    let barber = if params.barber == "any" {
        "any".to_owned()
    } else {
        booking.barber.0.to_string()
    };
    let choice = if barber == "any" {
        BarberChoice::Any
    } else {
        BarberChoice::Barber(booking.barber)
    };
    let mut page = ReschedulePage {
        l: Layout::new("Cambiar el turno"),
        own_barber: (booking.barber.0.to_string(), b.barber.clone()),
        token: params.token.clone(),
        barber: barber.clone(),
        p: None,
        error: None,
        cutoff_hours: rules.cancel_cutoff_hours,
        b,
    };
    if !page.b.changeable {
        let why = if page.b.too_late {
            DomainError::CutoffPassed
        } else {
            DomainError::InvalidTransition {
                from: booking.status.as_str(),
                to: "rescheduled",
            }
        };
        page.error = Some(refusal(&why, &page.b));
        return Ok(page);
    }
    let services: Vec<ServiceId> = booking.services.iter().map(|s| s.id).collect();
    let target = Target {
        action,
        hidden: vec![
            ("token".into(), params.token.clone()),
            ("barber".into(), barber),
        ],
    };
    let checked = params.start.parse::<Timestamp>().ok();
    match pick::build(
        tx,
        &branch,
        &services,
        choice,
        &params.date,
        checked,
        target,
        now,
        rules,
    ) {
        Ok(p) => page.p = Some(p),
        // The catalogue changed since the booking (a service or the barber is gone).
        Err(StoreError::Rule(rule)) => page.error = Some(rule.message_es()),
        Err(e) => return Err(e),
    }
    Ok(page)
}

/// The reschedule page, with `error` (if any) instead of its own.
async fn show_reschedule(
    state: AppState,
    id: (BookingId, PublicId),
    params: Params,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (now, rules) = (state.clock.now(), state.rules);
    let mut page = state
        .store
        .read(move |tx| reschedule_page(tx, id, &params, now, &rules))
        .await?;
    let status = if page.error.is_some() && status == StatusCode::OK {
        StatusCode::CONFLICT
    } else if page.p.as_ref().is_some_and(|p| p.error.is_some()) && status == StatusCode::OK {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    if error.is_some() {
        page.error = error;
    }
    view::html(status, &page, Private::Yes)
}

/// `GET /turnos/{id}/reprogramar?token=…&date=…&barber=…`: other free slots.
pub async fn reschedule_page_get(
    State(state): State<AppState>,
    PagePath(raw_id): PagePath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id = booking_id(&state, &raw_id);
    show_reschedule(state, id, Params::from_pairs(&pairs), None, StatusCode::OK).await
}

/// `POST /turnos/{id}/reprogramar` (token, start, barber in the form).
pub async fn reschedule(
    State(state): State<AppState>,
    PagePath(raw_id): PagePath,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, PageError> {
    let id = booking_id(&state, &raw_id);
    let p = form_pairs(form)?;
    let Ok(start) = p.start.parse::<Timestamp>() else {
        let why = Some("Elegí uno de los horarios libres.".to_owned());
        return show_reschedule(state, id, p, why, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let choice = match p.barber.as_str() {
        "any" => Some(BarberChoice::Any),
        other => other
            .parse()
            .ok()
            .map(|n| BarberChoice::Barber(BarberId(n))),
    };
    let actor = Actor::Client(ManageToken::new(p.token.clone()));
    match app::bookings::reschedule(&state, &actor, id.0, start, choice).await {
        Ok(_) => Ok(back_to(&id.1, &p.token, "reprogramado")),
        Err(AppError::Rule(
            rule @ (DomainError::UnknownBooking
            | DomainError::InvalidToken
            | DomainError::UnknownBranch),
        )) => Err(StoreError::Rule(rule).into()),
        // Too late, or no longer movable: the page says so itself, without a picker.
        Err(AppError::Rule(DomainError::CutoffPassed | DomainError::InvalidTransition { .. })) => {
            show_reschedule(state, id, p, None, StatusCode::CONFLICT).await
        }
        Err(AppError::Rule(rule)) => {
            let why = Some(format!("{} Elegí otro horario.", rule.message_es()));
            let mut params = p;
            params.date = start_date(&state, id.0, start).await.unwrap_or_default();
            show_reschedule(state, id, params, why, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The local date of `start` at the booking's branch (to show that day's slots again).
async fn start_date(state: &AppState, id: BookingId, start: Timestamp) -> Option<String> {
    state
        .store
        .read(move |tx| {
            let Some(b) = bookings::get(tx, id)? else {
                return Ok(None);
            };
            Ok(catalog::branch(tx, b.branch)?.map(|br| local_date(start, &br.tz()).to_string()))
        })
        .await
        .ok()
        .flatten()
}
