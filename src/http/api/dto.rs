//! Wire types of the JSON API. Requests refuse unknown fields; responses show local times
//! in RFC 3339 with the branch's offset and money both as centavos and formatted es-AR.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::public_id::PublicId;
use crate::domain::time::{LocalStamp, rfc3339_local};
use crate::domain::{Barber, Booking, Branch, Client, Payment, Service};

/// The error body every failure carries.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `slot_unavailable`.
    pub code: String,
    /// Human message in Spanish (es-AR).
    pub message: String,
    /// Technical detail for developers, when there is one.
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BranchDto {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub address: String,
    /// E.164.
    pub phone: Option<String>,
    /// IANA time zone.
    pub time_zone: String,
}

impl From<&Branch> for BranchDto {
    fn from(b: &Branch) -> Self {
        Self {
            id: b.id.0,
            slug: b.slug.as_str().to_owned(),
            name: b.name.to_string(),
            address: b.address.to_string(),
            phone: b.phone.as_ref().map(|p| p.to_string()),
            time_zone: b.time_zone.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceDto {
    pub id: u64,
    pub name: String,
    pub duration_minutes: u16,
    /// Minutes blocked after the service.
    pub buffer_minutes: u16,
    /// ARS centavos.
    pub price_centavos: i64,
    /// e.g. `$ 12.500,00`.
    pub price_display: String,
}

impl From<&Service> for ServiceDto {
    fn from(s: &Service) -> Self {
        Self {
            id: s.id.0,
            name: s.name.to_string(),
            duration_minutes: s.duration_minutes,
            buffer_minutes: s.buffer_minutes,
            price_centavos: s.price.centavos(),
            price_display: s.price.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BarberDto {
    pub id: u64,
    pub name: String,
    /// Ids of the services this barber does.
    pub services: Vec<u64>,
}

impl From<&Barber> for BarberDto {
    fn from(b: &Barber) -> Self {
        Self {
            id: b.id.0,
            name: b.name.to_string(),
            services: b.services.iter().map(|s| s.0).collect(),
        }
    }
}

/// One free slot. Written straight from the catalogue and the slot's instants: an answer holds
/// hundreds.
#[derive(Serialize, ToSchema)]
pub struct SlotDto<'a> {
    /// RFC 3339 with the branch's offset, e.g. `2026-12-01T10:00:00-03:00`.
    #[schema(value_type = String, format = DateTime)]
    pub start: LocalStamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: LocalStamp,
    pub barber_id: u64,
    pub barber_name: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct AvailabilityDto<'a> {
    pub branch: &'a str,
    #[schema(format = Date)]
    pub date: String,
    pub services: Vec<u64>,
    pub slots: Vec<SlotDto<'a>>,
}

/// A barber id, or `"any"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BarberChoiceDto {
    Id(u64),
    Word(String),
}

/// Described as exactly what is accepted: a non-negative integer or the string `"any"`.
impl utoipa::PartialSchema for BarberChoiceDto {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
        };
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["any"])),
            )
            .description(Some("A barber id, or \"any\""))
            .into()
    }
}

impl ToSchema for BarberChoiceDto {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// One line: no control characters, not blank; at most 100 characters once trimmed.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// Argentine or international number, as people write it (`011 15-2345-6789`,
    /// `+54 9 11 2345-6789`, `+34 612 345 678`): at most 32 characters, and a number that
    /// exists in its country's numbering plan (Google libphonenumber's rules), else 422
    /// `invalid_phone`. No pattern could say which numbers exist.
    #[schema(min_length = 1, max_length = 32, example = "011 15-2345-6789")]
    pub phone: String,
    /// An address with one `@` and a dot in its domain, no spaces; `null` or `""`: none.
    #[schema(
        max_length = 254,
        pattern = "^(|\\s*[^\\s@\\x00-\\x1f\\x7f-\\x9f]+@[^\\s@.\\x00-\\x1f\\x7f-\\x9f][^\\s@\\x00-\\x1f\\x7f-\\x9f]*\\.[^\\s@\\x00-\\x1f\\x7f-\\x9f]*[^\\s@.\\x00-\\x1f\\x7f-\\x9f]\\s*)$",
        nullable,
        example = "ana@example.com.ar"
    )]
    pub email: Option<String>,
    /// Whether the client agrees to WhatsApp confirmations and reminders.
    #[serde(default)]
    pub whatsapp_consent: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBookingRequest {
    /// Branch slug.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        example = "palermo"
    )]
    pub branch: String,
    /// One to five different service ids, done back to back in this order.
    #[schema(min_items = 1, max_items = 5, example = json!([1, 3]))]
    pub services: Vec<u64>,
    /// A barber id or `"any"`.
    pub barber: BarberChoiceDto,
    /// RFC 3339 with an offset, e.g. `2026-12-01T10:00:00-03:00`.
    #[schema(format = DateTime)]
    pub start: String,
    pub client: ClientInput,
    /// Up to 1000 characters (line breaks and tabs allowed); `null` or blank: none.
    #[schema(
        max_length = 1000,
        nullable,
        pattern = "^([ \\t\\n\\r]*|[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*)$"
    )]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The new start, RFC 3339 with an offset.
    #[schema(format = DateTime)]
    pub start: String,
    /// A barber id or `"any"`; omitted or `null`: the same barber.
    #[schema(nullable)]
    pub barber: Option<BarberChoiceDto>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Up to 1000 characters (line breaks and tabs allowed); `null` or blank: none.
    #[schema(
        max_length = 1000,
        nullable,
        pattern = "^([ \\t\\n\\r]*|[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*)$"
    )]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BookedServiceDto {
    pub id: u64,
    pub name: String,
    pub duration_minutes: u16,
    pub price_centavos: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BookingDto {
    /// The booking's public id: 22 characters, opaque (it says nothing about other bookings).
    #[schema(value_type = String, min_length = 22, max_length = 22,
             pattern = "^[A-Za-z0-9_-]{21}[AQgw]$", example = "q3Vb0dYk2H1sQ9xWmT4aAg")]
    pub id: PublicId,
    #[schema(value_type = BookingStatusDoc)]
    pub status: String,
    pub branch: String,
    pub barber_id: u64,
    pub barber_name: String,
    pub services: Vec<BookedServiceDto>,
    /// RFC 3339 with the branch's offset.
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub total_centavos: i64,
    pub total_display: String,
    pub client_name: String,
    pub client_phone: String,
    #[schema(value_type = BookingSourceDoc)]
    pub source: String,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The client's private page to see, cancel or reschedule this booking.
    pub manage_url: String,
    /// The deposit, when the booking needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentDto>,
}

/// A booking's deposit (seña). While `status` is `awaiting_payment` the client pays at
/// `init_point` before `expires_at`; `awaiting_preference` means the payment link is still
/// being created (ask again in a few seconds).
#[derive(Serialize, ToSchema)]
pub struct PaymentDto {
    #[schema(value_type = PaymentStatusDoc)]
    pub status: String,
    pub status_label: String,
    pub amount_centavos: i64,
    pub amount_display: String,
    pub currency: String,
    pub init_point: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

impl PaymentDto {
    pub fn new(p: &Payment, tz: &TimeZone) -> Self {
        Self {
            status: p.state.as_str().to_owned(),
            status_label: p.state.label_es().to_owned(),
            amount_centavos: p.amount.centavos(),
            amount_display: p.amount.to_string(),
            currency: "ARS".into(),
            init_point: p.init_point.clone(),
            expires_at: local(p.hold_until, tz),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedBookingDto {
    #[serde(flatten)]
    pub booking: BookingDto,
    /// Secret bearer token for this booking's API calls; shown only to its client.
    pub manage_token: String,
}

/// Everything needed to show a booking.
pub struct BookingView<'a> {
    pub booking: &'a Booking,
    /// The booking's id as its client sees it.
    pub public_id: PublicId,
    pub branch: &'a Branch,
    pub barber_name: String,
    pub client: &'a Client,
    pub public_url: &'a str,
    pub token: &'a str,
    pub payment: Option<&'a Payment>,
}

pub fn manage_url(public_url: &str, id: &PublicId, token: &str) -> String {
    format!("{public_url}/turnos/{id}?token={token}")
}

fn local(ts: Timestamp, tz: &TimeZone) -> String {
    rfc3339_local(ts, tz)
}

impl From<BookingView<'_>> for BookingDto {
    fn from(v: BookingView<'_>) -> Self {
        let tz = v.branch.tz();
        let b = v.booking;
        Self {
            manage_url: manage_url(v.public_url, &v.public_id, v.token),
            id: v.public_id,
            status: b.status.as_str().to_owned(),
            branch: v.branch.slug.as_str().to_owned(),
            barber_id: b.barber.0,
            barber_name: v.barber_name,
            services: b
                .services
                .iter()
                .map(|s| BookedServiceDto {
                    id: s.id.0,
                    name: s.name.to_string(),
                    duration_minutes: s.duration_minutes,
                    price_centavos: s.price.centavos(),
                })
                .collect(),
            start: local(b.start, &tz),
            end: local(b.end, &tz),
            total_centavos: b.total.centavos(),
            total_display: b.total.to_string(),
            client_name: v.client.name.to_string(),
            client_phone: v.client.phone.to_string(),
            source: b.source.as_str().to_owned(),
            notes: b.notes.as_ref().map(|n| n.to_string()),
            cancel_reason: b.cancel_reason.as_ref().map(|n| n.to_string()),
            created_at: local(b.created_at, &tz),
            updated_at: local(b.updated_at, &tz),
            payment: v.payment.map(|p| PaymentDto::new(p, &tz)),
        }
    }
}

/// A booking's status, as the API writes it.
#[derive(ToSchema)]
#[schema(as = BookingStatus)]
#[allow(dead_code, non_camel_case_types)]
pub enum BookingStatusDoc {
    pending_payment,
    confirmed,
    checked_in,
    completed,
    cancelled,
    no_show,
}

/// How a booking was made.
#[derive(ToSchema)]
#[schema(as = BookingSource)]
#[allow(dead_code, non_camel_case_types)]
pub enum BookingSourceDoc {
    online,
    walk_in,
    phone,
}

/// A deposit's state (`awaiting_preference`: the payment link is still being made).
#[derive(ToSchema)]
#[schema(as = PaymentStatus)]
#[allow(dead_code, non_camel_case_types)]
pub enum PaymentStatusDoc {
    awaiting_preference,
    awaiting_payment,
    approved,
    expired,
    refund_pending,
    refunded,
    refund_failed,
    kept,
}
