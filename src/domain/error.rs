//! The domain's error type: every way a request can break a booking rule.

use thiserror::Error;

/// A broken rule. Each variant has a stable machine code (see [`DomainError::code`]); the
/// HTTP layer maps them to statuses and Spanish messages in one place.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A text field is empty, too long, or holds control characters.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    /// The phone number cannot be read as an Argentine (or international) number.
    #[error("invalid phone number")]
    InvalidPhone,
    /// The e-mail address is not plausible.
    #[error("invalid e-mail address")]
    InvalidEmail,
    /// A money amount is negative or absurdly large.
    #[error("invalid amount")]
    InvalidAmount,
    /// No branch with that slug or id.
    #[error("unknown branch")]
    UnknownBranch,
    /// No active service with that id at this branch.
    #[error("unknown service {0}")]
    UnknownService(u64),
    /// No active barber with that id at this branch.
    #[error("unknown barber {0}")]
    UnknownBarber(u64),
    /// No booking with that id.
    #[error("unknown booking")]
    UnknownBooking,
    /// The manage token does not belong to the booking.
    #[error("invalid manage token")]
    InvalidToken,
    /// The barber does not do every chosen service.
    #[error("the barber does not offer every chosen service")]
    ServiceNotOffered,
    /// No services chosen, the same one twice, or too many.
    #[error("invalid service selection")]
    InvalidServiceSelection,
    /// The requested start lies in the past.
    #[error("the slot is in the past")]
    InThePast,
    /// The requested start is sooner than the minimum notice.
    #[error("the slot is sooner than the minimum notice")]
    TooSoon,
    /// The requested start is beyond the booking horizon.
    #[error("the slot is beyond the booking horizon")]
    BeyondHorizon,
    /// The requested start is not on the slot grid.
    #[error("the start is not on the slot grid")]
    Misaligned,
    /// The branch is closed or the barber is off that day.
    #[error("closed")]
    Closed,
    /// The slot is outside the barber's working hours or in a break.
    #[error("outside working hours")]
    OutsideHours,
    /// Another active booking holds the slot.
    #[error("slot unavailable")]
    SlotUnavailable,
    /// The client already holds an overlapping active booking.
    #[error("the client already has a booking at that time")]
    ClientOverlap,
    /// The status change is not allowed from the current status.
    #[error("transition from {from} to {to} not allowed")]
    InvalidTransition {
        from: &'static str,
        to: &'static str,
    },
    /// A status change the front desk asked for before its time (arrival too early,
    /// completion or no-show before the start).
    #[error("too early for {to}")]
    TooEarly { to: &'static str },
    /// There is no status change to undo, or its time to be undone has passed.
    #[error("nothing to undo")]
    NothingToUndo,
    /// The client-side cancel/reschedule window has closed.
    #[error("cancel cut-off passed")]
    CutoffPassed,
    /// An idempotency key was reused with a different request body.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// A date could not be read.
    #[error("invalid date")]
    InvalidDate,
    /// No client has that id or phone.
    #[error("unknown client")]
    UnknownClient,
    /// The client's personal data was erased; the record cannot change any more.
    #[error("client anonymised")]
    ClientAnonymised,
    /// No outbox message with that id.
    #[error("unknown message")]
    UnknownMessage,
    /// Only a message that failed for good (a dead letter) can be retried.
    #[error("the message is not a dead letter")]
    NotDeadLetter,
    /// A rule of la caja (checkouts, the till, products, commissions).
    #[error(transparent)]
    Caja(#[from] super::caja::CajaError),
}

impl DomainError {
    /// The stable, English, machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidField { .. } => "invalid_field",
            Self::InvalidPhone => "invalid_phone",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidAmount => "invalid_amount",
            Self::UnknownBranch => "unknown_branch",
            Self::UnknownService(_) => "unknown_service",
            Self::UnknownBarber(_) => "unknown_barber",
            Self::UnknownBooking => "booking_not_found",
            Self::InvalidToken => "invalid_token",
            Self::ServiceNotOffered => "service_not_offered",
            Self::InvalidServiceSelection => "invalid_service_selection",
            Self::InThePast => "in_the_past",
            Self::TooSoon => "too_soon",
            Self::BeyondHorizon => "beyond_horizon",
            Self::Misaligned => "slot_misaligned",
            Self::Closed => "closed",
            Self::OutsideHours => "outside_working_hours",
            Self::SlotUnavailable => "slot_unavailable",
            Self::ClientOverlap => "client_overlap",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::CutoffPassed => "cancel_cutoff_passed",
            Self::TooEarly { .. } => "status_too_early",
            Self::NothingToUndo => "nothing_to_undo",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::InvalidDate => "invalid_date",
            Self::UnknownClient => "client_not_found",
            Self::ClientAnonymised => "client_anonymised",
            Self::UnknownMessage => "message_not_found",
            Self::NotDeadLetter => "message_not_failed",
            Self::Caja(e) => e.code(),
        }
    }

    /// A message for people, in Spanish (es-AR).
    pub fn message_es(&self) -> String {
        match self {
            Self::InvalidField { field, reason } => {
                format!("El campo «{field}» no es válido: {}.", reason_es(reason))
            }
            Self::InvalidPhone => "El teléfono no es válido. Ejemplo: 011 15-2345-6789.".into(),
            Self::InvalidEmail => "El correo electrónico no es válido.".into(),
            Self::InvalidAmount => "El importe no es válido.".into(),
            Self::UnknownBranch => "La sucursal no existe.".into(),
            Self::UnknownService(id) => format!("El servicio {id} no existe en esta sucursal."),
            Self::UnknownBarber(id) => format!("El barbero {id} no existe en esta sucursal."),
            Self::UnknownBooking => "El turno no existe.".into(),
            Self::InvalidToken => {
                "El enlace o el código para gestionar el turno no es válido.".into()
            }
            Self::ServiceNotOffered => {
                "El barbero elegido no realiza todos los servicios elegidos.".into()
            }
            Self::InvalidServiceSelection => "Elegí entre uno y cinco servicios distintos.".into(),
            Self::InThePast => "El horario elegido ya pasó.".into(),
            Self::TooSoon => {
                "El horario elegido está demasiado cerca; elegí uno más adelante.".into()
            }
            Self::BeyondHorizon => "Todavía no se puede reservar tan adelante.".into(),
            Self::Misaligned => "El horario elegido no es un horario de turno válido.".into(),
            Self::Closed => {
                "La sucursal o el barbero no atiende en ese horario (cierre o franco).".into()
            }
            Self::OutsideHours => "El horario elegido está fuera del horario de atención.".into(),
            Self::SlotUnavailable => "El horario elegido ya no está disponible.".into(),
            Self::ClientOverlap => "Ya tenés un turno en ese horario.".into(),
            // Rescheduling is not a status: say what it is, not "from X to unknown".
            Self::InvalidTransition {
                from,
                to: "rescheduled",
            } => format!(
                "El turno está «{}»: ya no se puede reprogramar.",
                super::booking::status_label_es(from)
            ),
            Self::InvalidTransition { from, to } if from == to => format!(
                "El turno ya está «{}».",
                super::booking::status_label_es(from)
            ),
            Self::InvalidTransition { from, to } => format!(
                "El turno no puede pasar de «{}» a «{}».",
                super::booking::status_label_es(from),
                super::booking::status_label_es(to)
            ),
            Self::TooEarly { to: "checked_in" } => format!(
                "Todavía es temprano: la llegada se registra desde {} minutos antes del turno.",
                super::booking::ARRIVAL_WINDOW.as_mins()
            ),
            Self::TooEarly { to } => format!(
                "El turno todavía no empezó: «{}» se marca desde su hora de inicio.",
                super::booking::status_label_es(to)
            ),
            Self::NothingToUndo => format!(
                "No hay un cambio de estado para deshacer (se puede hasta {} minutos después).",
                super::booking::UNDO_WINDOW.as_mins()
            ),
            Self::CutoffPassed => {
                "Ya no se puede cancelar ni reprogramar en línea; comunicate con la barbería."
                    .into()
            }
            Self::IdempotencyKeyReused => {
                "La clave de idempotencia ya se usó con otra solicitud.".into()
            }
            Self::InvalidDate => "La fecha no es válida (formato AAAA-MM-DD).".into(),
            Self::UnknownClient => "El cliente no existe.".into(),
            Self::ClientAnonymised => {
                "Los datos de este cliente fueron eliminados; ya no se pueden modificar.".into()
            }
            Self::UnknownMessage => "El mensaje no existe.".into(),
            Self::NotDeadLetter => "Solo se puede reintentar un mensaje que falló.".into(),
            Self::Caja(e) => e.message_es(),
        }
    }
}

fn reason_es(reason: &str) -> &'static str {
    match reason {
        "empty" => "no puede estar vacío",
        "too long" => "es demasiado largo",
        "control characters" => "contiene caracteres no permitidos",
        "invalid slug" => "solo admite minúsculas, números y guiones",
        "invalid time zone" => "la zona horaria no existe",
        _ => "tiene un formato incorrecto",
    }
}
