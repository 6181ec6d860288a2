//! The details step's form: what the client typed, how the phone is read, and the hash that
//! ties an idempotency key to one request.

use super::pick::SlotChoice;
use super::selection::*;
use super::view::{Field, Layout};
use crate::domain::{Branch, DomainError, Email, Phone, PhoneReading, Text};
use crate::store::clients::ClientDetails;
use askama::Template;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

const NAME_MAX: usize = 100;
pub(super) const KEY_MAX: usize = 100;

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
    /// The number reads both as a mobile and as a landline: the page asks "¿Es un celular?".
    pub ask_mobile: bool,
    /// The answer given so far: `si`, `no` or empty.
    pub celular: String,
    /// A problem with the booking as a whole (the slot was taken meanwhile, …).
    pub error: Option<String>,
    /// Other free slots the same day, offered when the chosen one was taken.
    pub alternatives: Vec<SlotChoice>,
    /// The slot step for the same choices (to pick another day).
    pub back: String,
    /// The deposit the branch asks for, told before booking (`[payments]`).
    pub deposit: Option<String>,
    /// This step's GET address, which the script loads instead of a copy restored by Back.
    pub again: String,
    /// Answering the form's POST (a refusal): the script reloads `again` when it is shown
    /// again by Back.
    pub posted: bool,
    /// Confirmation e-mails are on (`[mail]`): the e-mail field says so.
    pub mail: bool,
    /// This browser already booked this slot (Back after booking): shown instead of the form.
    pub booked: Option<super::confirm::Booked>,
}

impl DetailsPage {
    pub fn has_errors(&self) -> bool {
        self.error.is_some() || self.name.invalid() || self.phone.invalid() || self.email.invalid()
    }
}

/// The typed fields of the details form.
#[derive(Debug, Clone, Default)]
pub(super) struct Typed {
    pub(super) name: String,
    pub(super) phone: String,
    pub(super) email: String,
    pub(super) whatsapp: bool,
    /// "¿Es un celular?": `si` or `no`, once asked.
    pub(super) celular: String,
    pub(super) key: String,
}

impl Typed {
    pub(super) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut t = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => t.name = v.clone(),
                "phone" => t.phone = v.clone(),
                "email" => t.email = v.clone(),
                "whatsapp" => t.whatsapp = v == "1",
                "celular" => t.celular = v.clone(),
                "key" => t.key = v.trim().to_owned(),
                _ => {}
            }
        }
        t
    }
}

pub(super) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= KEY_MAX
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The client's details, validated field by field; `None` when a field is wrong (each
/// wrong field gets its message on `page`).
pub(super) fn client_details(typed: &Typed, page: &mut DetailsPage) -> Option<ClientDetails> {
    let name = Text::line("name", typed.name.trim(), NAME_MAX);
    if name.is_err() {
        page.name.error = Some(if typed.name.trim().is_empty() {
            "Escribí tu nombre.".into()
        } else {
            "El nombre es demasiado largo o tiene caracteres no permitidos.".into()
        });
    }
    let phone = client_phone(typed, page);
    if phone.is_err() && page.phone.error.is_none() {
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

/// The number the client means. One written without `9`/`15` reads both as a mobile and as
/// a landline: with WhatsApp consent it is the mobile; otherwise the page asks once "¿Es un
/// celular?" (`Err(None)` with the question and its prompt set on `page`). Whether someone
/// already books with either form is not used here: the answer would tell a stranger who is
/// a client.
pub(super) fn client_phone(
    typed: &Typed,
    page: &mut DetailsPage,
) -> Result<Phone, Option<DomainError>> {
    let reading = PhoneReading::read(&typed.phone).map_err(Some)?;
    if typed.whatsapp {
        return Ok(reading.for_whatsapp());
    }
    if matches!(reading, PhoneReading::Ambiguous { .. }) {
        page.ask_mobile = true;
    }
    let answer = match typed.celular.as_str() {
        "si" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    reading.settle(answer).ok_or_else(|| {
        page.phone.error =
            Some("Ese número puede ser un celular o un fijo: contanos cuál es.".into());
        None
    })
}

/// What the idempotency key is bound to: the whole request, canonically.
pub(super) fn request_hash(
    branch: &Branch,
    sel: &Selection,
    start: Timestamp,
    c: &ClientDetails,
) -> String {
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
pub(super) fn slot_problem(rule: &DomainError) -> bool {
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
