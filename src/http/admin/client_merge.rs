//! Merging two records of one person (front desk): `GET /admin/clientes/{id}/unificar?con=`
//! shows both side by side and asks which record to keep; the POST merges them through
//! `app::clients::merge` (one write transaction, audited) and goes to the kept client's
//! page. A merge that would leave the person in two chairs at once is refused with the
//! bookings in the way, each linked to its day in the agenda.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::AdminError;
use super::clients::ClientRow;
use super::session::Current;
use super::view::{self, Flash, Layout};
use crate::app::clients::{self as use_case, Merge};
use crate::domain::catalog::DEFAULT_TZ;
use crate::domain::time::{local_date, time_zone};
use crate::domain::{Booking, Branch, Client, ClientId};
use crate::http::AppState;
use crate::http::extract::PathId;
use crate::store::catalog;

/// One of the two records: the row the search shows, and what the merge weighs.
pub struct Side {
    pub c: ClientRow,
    pub notes: String,
    pub since: String,
    pub bookings: usize,
    pub upcoming: usize,
    /// The one the page suggests keeping.
    pub suggested: bool,
}

/// A pair of bookings in the way: (when and who for each, the agenda link of the first).
pub struct Clash {
    pub kept: String,
    pub other: String,
    pub agenda: String,
}

#[derive(Template)]
#[template(path = "admin/client_merge.html")]
pub struct MergePage {
    pub l: Layout,
    pub id: u64,
    /// The other client's id (the form's `con`).
    pub con: u64,
    pub one_name: String,
    pub other_name: String,
    /// This client, then the other one.
    pub sides: Vec<Side>,
    pub clashes: Vec<Clash>,
}

#[derive(Deserialize, Default)]
pub struct MergeQuery {
    #[serde(default)]
    con: String,
}

/// Which record to suggest keeping: the one WhatsApp reaches (an Argentine mobile form with
/// consent), else the one with more bookings, else the older one.
fn suggest(a: &(Client, Vec<Booking>), b: &(Client, Vec<Booking>)) -> bool {
    let reach = |c: &Client| {
        (
            c.whatsapp_consent && c.phone.is_ar_mobile(),
            c.whatsapp_consent,
        )
    };
    let score = |(c, h): &(Client, Vec<Booking>)| (reach(c), h.len(), std::cmp::Reverse(c.id.0));
    score(a) >= score(b)
}

fn side((c, history): &(Client, Vec<Booking>), now: jiff::Timestamp, suggested: bool) -> Side {
    let tz = time_zone(DEFAULT_TZ).unwrap_or(jiff::tz::TimeZone::UTC);
    Side {
        c: ClientRow::of(c),
        notes: c
            .notes
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        since: view::date(local_date(c.created_at, &tz)),
        bookings: history.len(),
        upcoming: history
            .iter()
            .filter(|b| b.start > now && b.status.is_active())
            .count(),
        suggested,
    }
}

fn other_id(query: &MergeQuery, id: u64) -> Result<u64, AdminError> {
    match query.con.parse::<u64>() {
        Ok(other) if other != id => Ok(other),
        _ => Err(AdminError::BadRequest(
            "Elegí el otro cliente: uno distinto de este.".into(),
        )),
    }
}

async fn page(
    state: &AppState,
    current: &Current,
    id: u64,
    other: u64,
    clashes: Vec<Clash>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let found = use_case::compare(&state.app, &current.actor(), ClientId(id), ClientId(other))
        .await
        .map_err(AdminError::from)?;
    if found.one.0.is_anonymised() || found.other.0.is_anonymised() {
        return Err(AdminError::BadRequest(
            "Un cliente con los datos eliminados no se unifica.".into(),
        ));
    }
    let now = state.clock.now();
    let first = suggest(&found.one, &found.other);
    let page = MergePage {
        l: Layout::for_user("Unificar clientes", current, "clientes", flash),
        id,
        con: other,
        one_name: found.one.0.name.as_str().to_owned(),
        other_name: found.other.0.name.as_str().to_owned(),
        sides: vec![
            side(&found.one, now, first),
            side(&found.other, now, !first),
        ],
        clashes,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `GET /admin/clientes/{id}/unificar?con={other}`: both records, and which one to keep.
pub async fn merge_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Query(query): Query<MergeQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let other = other_id(&query, id)?;
    page(&state, &current, id, other, Vec::new(), flash).await
}

#[derive(Deserialize, Default)]
pub struct MergeForm {
    #[serde(default)]
    con: String,
    #[serde(default)]
    keep: String,
}

/// "martes 02/03/2027 10:00 · Corte clásico con Martín (turno 7)".
fn describe(b: &Booking, branches: &[Branch], barbers: &[crate::domain::Barber]) -> String {
    let tz = branches
        .iter()
        .find(|x| x.id == b.branch)
        .map(Branch::tz)
        .unwrap_or_else(|| time_zone(DEFAULT_TZ).unwrap_or(jiff::tz::TimeZone::UTC));
    let barber = barbers
        .iter()
        .find(|x| x.id == b.barber)
        .map(|x| x.name.as_str())
        .unwrap_or("");
    format!(
        "{} {} · {} con {barber} (turno {})",
        view::long_date(local_date(b.start, &tz)),
        view::time(b.start, &tz),
        b.service_names(),
        b.id.0
    )
}

/// `POST /admin/clientes/{id}/unificar` (`con`, `keep`): merges the record not kept into the
/// kept one.
pub async fn merge(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(form): Form<MergeForm>,
) -> Result<Response, AdminError> {
    let other = other_id(
        &MergeQuery {
            con: form.con.clone(),
        },
        id,
    )?;
    let keep = match form.keep.parse::<u64>() {
        Ok(k) if k == id || k == other => k,
        _ => {
            return Err(AdminError::BadRequest(
                "Elegí cuál de los dos registros se conserva.".into(),
            ));
        }
    };
    let gone = if keep == id { other } else { id };
    let outcome = use_case::merge(&state.app, &current.actor(), ClientId(keep), ClientId(gone))
        .await
        .map_err(AdminError::from)?;
    let secure = state.admin.secure_cookies;
    match outcome {
        Merge::Done { merged, .. } => {
            let mut text = format!(
                "Clientes unificados: {} turno{} pasaron a este registro.",
                merged.bookings.len(),
                if merged.bookings.len() == 1 { "" } else { "s" }
            );
            if !merged.overlaps_kept.is_empty() {
                text.push_str(&format!(
                    " {} par{} de turnos pasados se superponían; quedaron como estaban.",
                    merged.overlaps_kept.len(),
                    if merged.overlaps_kept.len() == 1 {
                        ""
                    } else {
                        "es"
                    }
                ));
            }
            Ok(view::redirect(
                &format!("/admin/clientes/{keep}"),
                "ok",
                &text,
                secure,
            ))
        }
        Merge::Overlaps(pairs) => {
            let (branches, barbers) = state
                .store
                .read(|tx| Ok((catalog::branches(tx)?, catalog::barbers(tx)?)))
                .await?;
            let clashes = pairs
                .iter()
                .map(|(a, b)| {
                    let slug = branches
                        .iter()
                        .find(|x| x.id == a.branch)
                        .map(|x| (x.slug.as_str().to_owned(), x.tz()));
                    let agenda = match slug {
                        Some((slug, tz)) => format!(
                            "/admin/agenda?branch={slug}&date={}",
                            local_date(a.start, &tz)
                        ),
                        None => "/admin/agenda".to_owned(),
                    };
                    Clash {
                        kept: describe(a, &branches, &barbers),
                        other: describe(b, &branches, &barbers),
                        agenda,
                    }
                })
                .collect();
            let flash = Flash(Some(view::FlashMsg {
                kind: "error",
                text: "No se unificaron: la misma persona quedaría con dos turnos a la vez. \
                       Cancelá o mové uno de cada par y volvé a intentar."
                    .into(),
            }));
            page(&state, &current, id, other, clashes, flash).await
        }
    }
}
