//! What a client chose so far (branch, services, barber, day, slot) as the query string
//! carries it, and the summaries the steps show.

use super::pick::Target;
use crate::domain::{Barber, BarberId, Branch, DomainError, Money, Service, ServiceId};
use crate::store::bookings::BarberChoice;
use crate::store::{ReadTx, StoreError, catalog};

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
    pub(super) fn target(&self, branch: &Branch) -> Target {
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

    pub(super) fn ids(&self) -> Vec<ServiceId> {
        self.services.iter().map(|s| ServiceId(*s)).collect()
    }

    /// The barber choice, if it is `any` or a number.
    pub(super) fn choice(&self) -> Option<BarberChoice> {
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
    /// In local form (`011 4833-1234`); empty when the branch has none.
    pub phone: String,
    /// `tel:+541148331234`.
    pub phone_href: String,
    /// A map search for the address.
    pub map_href: String,
}

impl From<&Branch> for BranchInfo {
    fn from(b: &Branch) -> Self {
        let query = serde_urlencoded::to_string([
            ("api", "1"),
            (
                "query",
                &format!("{}, {}", b.name.as_str(), b.address.as_str()),
            ),
        ])
        .unwrap_or_default();
        Self {
            slug: b.slug.as_str().to_owned(),
            name: b.name.as_str().to_owned(),
            address: b.address.as_str().to_owned(),
            phone: b.phone.as_ref().map(|p| p.national()).unwrap_or_default(),
            phone_href: b
                .phone
                .as_ref()
                .map(|p| format!("tel:{}", p.as_e164()))
                .unwrap_or_default(),
            map_href: format!("https://www.google.com/maps/search/?{query}"),
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
    pub(super) fn of(services: &[Service]) -> Self {
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
pub(super) type Resolved = Result<(Vec<Service>, Vec<Barber>), String>;

/// The chosen services, checked against the branch's offer, and the barbers who do them all.
/// `Err` is the Spanish reason, for the services step.
pub(super) fn resolve(
    tx: &impl ReadTx,
    branch: &Branch,
    sel: &Selection,
) -> Result<Resolved, StoreError> {
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
