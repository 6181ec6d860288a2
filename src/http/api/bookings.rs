//! Availability and the booking life cycle as clients drive it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;

use super::dto::{
    AvailabilityDto, BarberChoiceDto, BookingDto, BookingView, CancelRequest, CreateBookingRequest,
    CreatedBookingDto, ErrorBody, RescheduleRequest, SlotDto,
};
use crate::app::{self, Actor, ManageToken};
use crate::domain::public_id::PublicId;
use crate::domain::time::LocalStamp;
use crate::domain::{BarberId, Booking, DomainError, Email, Phone, ServiceId, Text};
use crate::http::extract::{ApiJson, BearerToken, OptionalJson, PathBooking, PathSlug};
use crate::http::ratelimit::ClientIp;
use crate::http::{ApiError, AppState};
use crate::store::bookings::{self, BarberChoice, ClientBooking, Idempotency};
use crate::store::clients::ClientDetails;
use crate::store::{ReadTx, StoreError, catalog, clients, payments};

const NAME_MAX: usize = 100;
const NOTES_MAX: usize = 1000;
const IDEMPOTENCY_KEY_MAX: usize = 200;

fn invalid(field: &'static str) -> ApiError {
    DomainError::InvalidField {
        field,
        reason: "format",
    }
    .into()
}

fn parse_start(raw: &str) -> Result<Timestamp, ApiError> {
    raw.trim()
        .parse::<Timestamp>()
        .map_err(|_| invalid("start"))
}

fn parse_choice(choice: &BarberChoiceDto) -> Result<BarberChoice, ApiError> {
    match choice {
        BarberChoiceDto::Id(id) => Ok(BarberChoice::Barber(BarberId(*id))),
        BarberChoiceDto::Word(w) if w.eq_ignore_ascii_case("any") => Ok(BarberChoice::Any),
        BarberChoiceDto::Word(w) => w
            .parse()
            .map(|id| BarberChoice::Barber(BarberId(id)))
            .map_err(|_| invalid("barber")),
    }
}

fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<Text>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(Text::multiline(field, s, max)?)),
    }
}

/// Renders a booking with its branch, barber and client, from inside any transaction.
fn view(
    tx: &impl ReadTx,
    booking: &Booking,
    public_id: PublicId,
    public_url: &str,
    token: &str,
) -> Result<BookingDto, StoreError> {
    let branch = catalog::branch(tx, booking.branch)?.ok_or(DomainError::UnknownBranch)?;
    let barber_name = catalog::barber(tx, booking.barber)?
        .map(|b| b.name.to_string())
        .unwrap_or_default();
    let client = clients::get(tx, booking.client)?.ok_or(DomainError::UnknownBooking)?;
    let payment = payments::by_booking(tx, booking.id)?;
    Ok(BookingDto::from(BookingView {
        booking,
        public_id,
        branch: &branch,
        barber_name,
        client: &client,
        public_url,
        token,
        payment: payment.as_ref(),
    }))
}

/// A booking as its client sees it after a change (read after the change committed).
async fn answer(state: &AppState, booking: Booking, token: String) -> Result<BookingDto, ApiError> {
    let public_url = state.public_url.clone();
    let public_id = state.ids.public(booking.id);
    Ok(state
        .store
        .read(move |tx| view(tx, &booking, public_id, &public_url, &token))
        .await?)
}

/// Free slots for a branch, a date and one or more services, with one barber or any.
#[utoipa::path(get, path = "/api/v1/branches/{slug}/availability", tag = "bookings",
    params(
        ("slug" = String, Path, description = "Branch slug"),
        ("date" = String, Query, format = Date, description = "Local date, YYYY-MM-DD"),
        ("services" = String, Query, pattern = r"^[0-9]{1,19}(,[0-9]{1,19})*$",
         description = "Service ids, comma-separated: 1,2"),
        ("barber" = Option<String>, Query, pattern = r"^([0-9]{1,19}|any)?$",
         description = "A barber id or `any` (default)"),
    ),
    responses((status = 200, body = AvailabilityDto), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn availability(
    State(state): State<AppState>,
    PathSlug(slug): PathSlug,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    // One of ours given twice (`services=1&services=2`) is refused rather than half read.
    let mut query: HashMap<String, String> = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if let Some(known) = ["date", "services", "barber"]
            .into_iter()
            .find(|k| *k == name && query.contains_key(*k))
        {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "El parámetro «{known}» aparece más de una vez; «services» lleva los números separados por comas."
                ),
            ));
        }
        query.insert(name, value);
    }
    let missing = |name: &str| {
        ApiError::bad_request("missing_parameter", format!("Falta el parámetro «{name}»."))
    };
    let date_raw = query.get("date").ok_or_else(|| missing("date"))?;
    let date: Date = date_raw
        .parse()
        .ok()
        .filter(|_| date_raw.len() == 10)
        .ok_or(DomainError::InvalidDate)?;
    let services: Vec<ServiceId> = query
        .get("services")
        .ok_or_else(|| missing("services"))?
        .split(',')
        .map(|s| s.trim().parse().map(ServiceId))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_parameter",
                "«services» debe ser una lista de números separados por comas.",
            )
        })?;
    let choice = match query.get("barber").map(String::as_str) {
        None | Some("") | Some("any") => BarberChoice::Any,
        Some(id) => BarberChoice::Barber(BarberId(id.parse().map_err(|_| {
            ApiError::bad_request("invalid_parameter", "«barber» debe ser un número o «any».")
        })?)),
    };
    let now = state.clock.now();
    let rules = state.rules;
    let ids: Vec<u64> = services.iter().map(|s| s.0).collect();
    let (branch, slots, catalog) = state
        .store
        .read_short(move |tx| {
            let branch = catalog::branch_by_slug(tx, &slug)?;
            let slots = bookings::availability(tx, &branch, date, &services, choice, now, &rules)?;
            Ok((branch, slots, catalog::load(tx)?))
        })
        .await?;
    let tz = branch.tz();
    let names: HashMap<BarberId, &str> = catalog
        .barbers
        .iter()
        .map(|b| (b.id, b.name.as_str()))
        .collect();
    let answer = AvailabilityDto {
        branch: branch.slug.as_str(),
        date: date.to_string(),
        services: ids,
        slots: slots
            .into_iter()
            .map(|s| SlotDto {
                start: LocalStamp::new(s.start, &tz),
                end: LocalStamp::new(s.end, &tz),
                barber_id: s.barber.0,
                barber_name: names.get(&s.barber).copied().unwrap_or_default(),
            })
            .collect(),
    };
    // Serialised here, since the answer borrows the catalogue's names, into a buffer sized for
    // it (~110 bytes a slot): grown from axum's 128 bytes, the reallocations of a 30 KB answer
    // and the large frees showed in the profile.
    let mut body = Vec::with_capacity(256 + 128 * answer.slots.len());
    serde_json::to_writer(&mut body, &answer)
        .map_err(|e| ApiError::Internal(format!("availability answer: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// What the document says of a booking's `{id}`.
const ID_DOC: &str = "The booking's public id (its `id`). Until `booking.numeric_ids_until` \
                      (see the operator's guide) the old numeric ids of links sent before are \
                      read too.";

/// A booking that does not exist answers as a wrong token does (401 `invalid_token`): whoever
/// tries ids learns nothing from the difference.
fn as_wrong_token(e: ApiError) -> ApiError {
    match e {
        ApiError::Rule(DomainError::UnknownBooking) => ApiError::Rule(DomainError::InvalidToken),
        other => other,
    }
}

/// Books a slot. With an `Idempotency-Key`, a retried request returns the same booking.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings",
    request_body = CreateBookingRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]([ -~]{0,198}[!-~])?$",
            description = "Makes retries safe: 1 to 200 visible ASCII characters")),
    responses((status = 201, body = CreatedBookingDto), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    body: ApiJson<CreateBookingRequest>,
) -> Result<(StatusCode, Json<CreatedBookingDto>), ApiError> {
    // A branch that may ask for a deposit starts a MercadoPago preference: the payments tier.
    if let (Some(deposits), Some(Extension(ClientIp(ip)))) = (&state.payments, ip)
        && deposits.policy_for(&body.value.branch).may_ask()
    {
        state.limits.check_payment(ip)?;
    }
    let idempotency = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let key = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_idempotency_key",
                        "El encabezado Idempotency-Key debe tener entre 1 y 200 caracteres visibles.",
                    )
                })?;
            Some(Idempotency {
                key: key.to_owned(),
                request_hash: body.canonical_hash(),
            })
        }
    };
    let req = body.value;
    let client = ClientDetails {
        name: Text::line("client.name", &req.client.name, NAME_MAX)?,
        phone: Phone::parse(&req.client.phone)?,
        email: match req.client.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(Email::parse(e)?),
        },
        whatsapp_consent: req.client.whatsapp_consent,
    };
    let start = parse_start(&req.start)?;
    let barber = parse_choice(&req.barber)?;
    let notes = optional_text("notes", req.notes.as_deref(), NOTES_MAX)?;
    let services: Vec<ServiceId> = req.services.iter().copied().map(ServiceId).collect();
    // The slug is resolved inside the write transaction, from the catalogue it loads anyway:
    // no separate read before queueing. A deposit rule names the slug as the request does.
    let deposit = state.payments.as_ref().map(|d| d.request_for(&req.branch));
    let created = app::bookings::book_online(
        &state,
        ClientBooking {
            branch: req.branch,
            services,
            barber,
            start,
            client,
            notes,
            deposit,
            idempotency,
            rules: state.rules,
            now: state.clock.now(),
        },
    )
    .await?;
    let public_url = state.public_url.clone();
    // The answer is rendered after the commit, off the writer thread, from the catalogue the
    // booking's transaction saw.
    let bookings::Created {
        booking,
        token,
        client,
        payment,
        catalog,
        ..
    } = created;
    let booked_at = catalog
        .branch(booking.branch)
        .ok_or(DomainError::UnknownBranch)?;
    let dto = CreatedBookingDto {
        booking: BookingDto::from(BookingView {
            booking: &booking,
            public_id: state.ids.public(booking.id),
            branch: booked_at,
            barber_name: catalog
                .barber(booking.barber)
                .map(|b| b.name.to_string())
                .unwrap_or_default(),
            client: &client,
            public_url: &public_url,
            token: &token,
            payment: payment.as_ref(),
        }),
        manage_token: token,
    };
    Ok((StatusCode::CREATED, Json(dto)))
}

/// A booking, for its client (manage token as bearer).
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, min_length = 22, max_length = 22,
            pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$", description = ID_DOC)),
    security(("manage_token" = [])),
    responses((status = 200, body = BookingDto), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_booking(
    State(state): State<AppState>,
    PathBooking(id): PathBooking,
    BearerToken(token): BearerToken,
) -> Result<Json<BookingDto>, ApiError> {
    let public_url = state.public_url.clone();
    let public_id = state.ids.public(id);
    let dto = state
        .store
        .read(move |tx| {
            let booking = bookings::get_authorised(tx, id, &token)?;
            view(tx, &booking, public_id, &public_url, &token)
        })
        .await
        .map_err(|e| as_wrong_token(e.into()))?;
    Ok(Json(dto))
}

/// Moves a booking to another free slot (before the cut-off).
#[utoipa::path(post, path = "/api/v1/bookings/{id}/reschedule", tag = "bookings",
    params(("id" = String, Path, min_length = 22, max_length = 22,
            pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$", description = ID_DOC)),
    request_body = RescheduleRequest,
    security(("manage_token" = [])),
    responses((status = 200, body = BookingDto), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reschedule(
    State(state): State<AppState>,
    PathBooking(id): PathBooking,
    BearerToken(token): BearerToken,
    body: ApiJson<RescheduleRequest>,
) -> Result<Json<BookingDto>, ApiError> {
    let start = parse_start(&body.value.start)?;
    let choice = body.value.barber.as_ref().map(parse_choice).transpose()?;
    let actor = Actor::Client(ManageToken::new(token.clone()));
    let moved = app::bookings::reschedule(&state, &actor, id, start, choice)
        .await
        .map_err(|e| as_wrong_token(e.into()))?;
    let dto = answer(&state, moved.after, token).await?;
    Ok(Json(dto))
}

/// Cancels a booking (before the cut-off), freeing its slot.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bookings",
    params(("id" = String, Path, min_length = 22, max_length = 22,
            pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$", description = ID_DOC)),
    request_body(content = CancelRequest, description = "Optional: a reason (the body may be left out, never `null`)"),
    security(("manage_token" = [])),
    responses((status = 200, body = BookingDto), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    PathBooking(id): PathBooking,
    BearerToken(token): BearerToken,
    OptionalJson(body): OptionalJson<CancelRequest>,
) -> Result<Json<BookingDto>, ApiError> {
    let reason = optional_text("reason", body.reason.as_deref(), NOTES_MAX)?;
    let actor = Actor::Client(ManageToken::new(token.clone()));
    let cancelled = app::bookings::cancel(&state, &actor, id, reason)
        .await
        .map_err(|e| as_wrong_token(e.into()))?;
    let dto = answer(&state, cancelled.after, token).await?;
    Ok(Json(dto))
}
