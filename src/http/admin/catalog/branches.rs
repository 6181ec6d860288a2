//! Catálogo's branches: the owner adds one or changes its details. Both forms go through
//! [`BranchForm::details`]; only a new branch takes a slug and a time zone, which stay fixed
//! afterwards (the slug is in every link already sent and names the branch's deposit policy,
//! and the time zone gives the weekly hours and every booking their local time).

use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Option_, refused};
use crate::app::AppError;
use crate::app::branches::{self, Details};
use crate::domain::catalog::DEFAULT_TZ;
use crate::domain::time::time_zone;
use crate::domain::{Branch, BranchId, DomainError, Phone, Slug, Text};
use crate::http::AppState;
use crate::http::admin::AdminError;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::extract::PathId;

/// The time zones the new-branch form offers (Argentina's, then the neighbours'). Any
/// tz-database name is accepted; these are the likely ones.
const ZONES: [(&str, &str); 14] = [
    (DEFAULT_TZ, "Buenos Aires, CABA y la mayor parte del país"),
    ("America/Argentina/Cordoba", "Córdoba"),
    ("America/Argentina/Mendoza", "Mendoza"),
    ("America/Argentina/Salta", "Salta"),
    ("America/Argentina/Jujuy", "Jujuy"),
    ("America/Argentina/Tucuman", "Tucumán"),
    ("America/Argentina/San_Juan", "San Juan"),
    ("America/Argentina/San_Luis", "San Luis"),
    ("America/Argentina/Rio_Gallegos", "Santa Cruz"),
    ("America/Argentina/Ushuaia", "Tierra del Fuego"),
    ("America/Montevideo", "Uruguay"),
    ("America/Santiago", "Chile"),
    ("America/Asuncion", "Paraguay"),
    ("America/Sao_Paulo", "Brasil (São Paulo)"),
];

/// The new-branch form's time-zone choices, the default first.
pub fn zone_options() -> Vec<Option_> {
    ZONES
        .iter()
        .map(|(value, label)| Option_ {
            value: (*value).to_owned(),
            label: format!("{label} ({value})"),
        })
        .collect()
}

/// Every field may be missing: a missing one is explained like an empty one.
#[derive(Deserialize)]
pub struct BranchForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    active: String,
    /// New branches only; empty: made from the name.
    #[serde(default)]
    slug: String,
    /// New branches only; empty: Buenos Aires.
    #[serde(default)]
    time_zone: String,
}

impl BranchForm {
    /// Name, address, phone and whether it takes bookings, or what is wrong (in Spanish).
    fn details(&self) -> Result<Details, String> {
        let name = Text::line("name", self.name.trim(), 100)
            .map_err(|_| "Escribí el nombre de la sucursal (hasta 100 caracteres).".to_owned())?;
        let address = Text::line("address", self.address.trim(), 200).map_err(|_| {
            "Escribí la dirección de la sucursal (hasta 200 caracteres).".to_owned()
        })?;
        let phone = match self.phone.trim() {
            "" => None,
            raw => Some(Phone::parse(raw).map_err(|e| e.message_es())?),
        };
        Ok(Details {
            name,
            address,
            phone,
            active: self.active == "1",
        })
    }

    /// A new branch's slug (typed, or made from the name) and time zone.
    fn identity(&self, name: &Text) -> Result<(Slug, String), String> {
        let slug = match self.slug.trim() {
            "" => Slug::from_name(name.as_str()).ok_or_else(|| {
                "Escribí la dirección web de la sucursal: minúsculas sin acentos, números y \
                 guiones, por ejemplo «villa-crespo»."
                    .to_owned()
            })?,
            raw => Slug::parse(raw).map_err(|_| {
                format!(
                    "La dirección web «{raw}» no sirve: van minúsculas sin acentos, números y \
                     guiones (no al principio ni al final), hasta 40 caracteres; por ejemplo \
                     «villa-crespo»."
                )
            })?,
        };
        let zone = match self.time_zone.trim() {
            "" => DEFAULT_TZ,
            raw => raw,
        };
        // Geographic tz-database names only: a fixed offset (`UTC-3`, `Etc/GMT+3`) would miss
        // the daylight-saving changes a government may decide.
        if !zone.contains('/') || zone.starts_with("Etc/") || time_zone(zone).is_err() {
            return Err(format!(
                "La zona horaria «{zone}» no sirve: elegila de la lista, por ejemplo {DEFAULT_TZ}."
            ));
        }
        Ok((slug, zone.to_owned()))
    }
}

/// `POST /admin/catalogo/sucursales` (owner): a new branch. It takes bookings once a barber
/// has hours there (until then the clients' pages do not list it); its deposit policy is
/// `[payments]`'s default unless barberpro.toml names its slug.
pub async fn create_branch(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(form): Form<BranchForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let bad = |text: &str| Ok(view::redirect(back, "error", text, secure));
    let details = match form.details() {
        Ok(d) => d,
        Err(text) => return bad(&text),
    };
    let (slug, time_zone) = match form.identity(&details.name) {
        Ok(pair) => pair,
        Err(text) => return bad(&text),
    };
    let branch = Branch {
        id: BranchId(0),
        slug,
        name: details.name,
        address: details.address,
        phone: details.phone,
        time_zone,
        active: details.active,
    };
    let taken = branch.slug.as_str().to_owned();
    match branches::create(&state, &current.actor(), branch).await {
        Ok(created) => {
            let text = format!(
                "Sucursal creada: {} (/{}). Aparece en la página de reservas cuando un barbero \
                 tenga horario ahí (Barberos y horarios → Cambiar un día).",
                created.name.as_str(),
                created.slug.as_str()
            );
            Ok(view::redirect(back, "ok", &text, secure))
        }
        Err(AppError::Rule(DomainError::InvalidField { field: "slug", .. })) => bad(&format!(
            "Ya hay una sucursal con la dirección web «{taken}». Elegí otra."
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/catalogo/sucursales/{id}` (owner): name, address, phone, open or not. A
/// branch with bookings ahead is not closed for online booking until they are dealt with.
pub async fn update_branch(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<BranchForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let back = "/admin/catalogo";
    let bad = |text: &str| Ok(view::redirect(back, "error", text, secure));
    let details = match form.details() {
        Ok(d) => d,
        Err(text) => return bad(&text),
    };
    match branches::update(&state, &current.actor(), BranchId(id), details).await {
        Ok(Ok(_)) => Ok(view::redirect(back, "ok", "Sucursal actualizada.", secure)),
        Ok(Err(found)) => refused(
            &current,
            "No se puede desactivar la sucursal: tiene turnos por delante.",
            &found,
            back,
            secure,
        ),
        Err(AppError::Rule(DomainError::UnknownBranch)) => Err(AdminError::NotFound),
        Err(e) => Err(e.into()),
    }
}
