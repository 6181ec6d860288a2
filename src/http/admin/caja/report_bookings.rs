//! The owner's reports on bookings (`/admin/reportes/{ocupacion,asistencia,clientes}`):
//! occupancy per barber, no-show and cancellation rates, new and returning clients; the same
//! filters as Reportes, a bar chart (SVG) per table and every table as CSV
//! (`/admin/reportes/{informe}/{tabla}.csv`).

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::reports::{ReportQuery, filter_of};
use super::{AdminError, BranchOption, csv_response, svg};
use crate::app::reports::Filter;
use crate::app::reports::bookings::{self, BookingReport, ClientMix, Outcomes};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::admin::view::{Flash, Layout};
use crate::store::catalog::{self, Catalog};

/// One table: display cells, CSV cells (plain numbers), and the charted value per row.
pub struct Grid {
    pub key: &'static str,
    pub title: &'static str,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub chart: String,
    csv: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "admin/reportes_turnos.html")]
pub struct BookingReportPage {
    pub l: Layout,
    pub key: &'static str,
    pub heading: &'static str,
    pub explain: &'static str,
    pub from: String,
    pub to: String,
    pub branches: Vec<BranchOption>,
    pub barbers: Vec<(u64, String, bool)>,
    pub query: String,
    pub facts: Vec<(&'static str, &'static str, String)>,
    pub tables: Vec<Grid>,
}

/// Which report: its address, heading and what it counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Occupancy,
    Attendance,
    Clients,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Self::Occupancy => "ocupacion",
            Self::Attendance => "asistencia",
            Self::Clients => "clientes",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Self::Occupancy => "Ocupación",
            Self::Attendance => "Ausencias y cancelaciones",
            Self::Clients => "Clientes nuevos y recurrentes",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Self::Occupancy => {
                "Tiempo reservado (turnos no cancelados ni ausentes, con su margen) sobre el tiempo disponible (horario semanal de hoy, sin pausas ni cierres)."
            }
            Self::Attendance => {
                "Cancelación: turnos cancelados sobre todos los del período. Ausencia: turnos marcados «no vino» sobre los que ya empezaron y no se cancelaron."
            }
            Self::Clients => {
                "Clientes con algún turno del período que no se canceló ni quedó ausente. Nuevo: su primer turno en la cadena es del período; recurrente: ya tenía uno antes."
            }
        }
    }
}

/// Tenths of a percent as es-AR (`12,5 %`), `—` without a base.
fn percent(v: Option<i64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{},{} %", v / 10, v % 10))
}

fn percent_csv(v: Option<i64>) -> String {
    v.map_or_else(String::new, |v| format!("{}.{}", v / 10, v % 10))
}

/// Seconds as hours with one decimal (`12,5 h`), rounded half up.
fn hours(secs: i64) -> String {
    let tenths = (secs + 180) / 360;
    format!("{},{} h", tenths / 10, tenths % 10)
}

fn grid(
    key: &'static str,
    title: &'static str,
    head: Vec<&'static str>,
    rows: Vec<(String, Vec<String>, Vec<String>, i64)>,
    chart_label: fn(i64) -> String,
) -> Grid {
    let chart = svg::bars_with(
        title,
        &rows
            .iter()
            .take(40)
            .map(|(l, _, _, v)| (l.clone(), *v))
            .collect::<Vec<_>>(),
        chart_label,
    );
    let mut csv = vec![head.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    csv.extend(rows.iter().map(|(l, _, c, _)| {
        let mut row = vec![l.clone()];
        row.extend(c.iter().cloned());
        row
    }));
    Grid {
        key,
        title,
        head,
        rows: rows
            .into_iter()
            .map(|(l, d, _, _)| {
                let mut row = vec![l];
                row.extend(d);
                row
            })
            .collect(),
        chart,
        csv,
    }
}

fn count_label(v: i64) -> String {
    v.to_string()
}

fn rate_label(v: i64) -> String {
    percent(Some(v))
}

fn barber_name(cat: &Catalog, id: crate::domain::BarberId) -> String {
    cat.barber(id)
        .map_or_else(|| format!("barbero {id}"), |b| b.name.as_str().to_owned())
}

fn outcome_rows<K>(
    rows: impl Iterator<Item = (K, Outcomes)>,
    label: impl Fn(K) -> String,
) -> Vec<(String, Vec<String>, Vec<String>, i64)> {
    rows.map(|(k, o)| {
        let cells = |pct: fn(Option<i64>) -> String| {
            vec![
                o.bookings.to_string(),
                o.cancelled.to_string(),
                pct(o.cancellation_rate()),
                o.due.to_string(),
                o.no_show.to_string(),
                pct(o.no_show_rate()),
            ]
        };
        (
            label(k),
            cells(percent),
            cells(percent_csv),
            o.no_show_rate().unwrap_or(0),
        )
    })
    .collect()
}

fn mix_rows<K>(
    rows: impl Iterator<Item = (K, ClientMix)>,
    label: impl Fn(K) -> String,
) -> Vec<(String, Vec<String>, Vec<String>, i64)> {
    rows.map(|(k, m)| {
        let cells = vec![m.new.to_string(), m.returning.to_string()];
        (label(k), cells.clone(), cells, m.new)
    })
    .collect()
}

/// The facts and tables of one report.
fn build(
    kind: Kind,
    r: &BookingReport,
    cat: &Catalog,
) -> (Vec<(&'static str, &'static str, String)>, Vec<Grid>) {
    const OUTCOME_HEAD: [&str; 6] = [
        "Turnos",
        "Cancelados",
        "% cancelación",
        "Ya debidos",
        "Ausentes",
        "% ausencias",
    ];
    match kind {
        Kind::Occupancy => {
            let rows = r
                .occupancy_by_barber
                .iter()
                .filter(|(_, o)| o.available > 0 || o.booked > 0)
                .map(|(id, o)| {
                    (
                        barber_name(cat, *id),
                        vec![hours(o.available), hours(o.booked), percent(o.rate())],
                        vec![
                            (o.available / 60).to_string(),
                            (o.booked / 60).to_string(),
                            percent_csv(o.rate()),
                        ],
                        o.rate().unwrap_or(0),
                    )
                })
                .collect();
            (
                vec![
                    ("occupancy", "Ocupación", percent(r.occupancy.rate())),
                    ("available", "Disponible", hours(r.occupancy.available)),
                    ("booked", "Reservado", hours(r.occupancy.booked)),
                ],
                vec![grid(
                    "barbero",
                    "Ocupación por barbero",
                    vec![
                        "Barbero/a",
                        "Disponible (min)",
                        "Reservado (min)",
                        "Ocupación %",
                    ],
                    rows,
                    rate_label,
                )],
            )
        }
        Kind::Attendance => {
            let head = |first: &'static str| {
                let mut h = vec![first];
                h.extend(OUTCOME_HEAD);
                h
            };
            let t = &r.total;
            (
                vec![
                    ("bookings", "Turnos", t.bookings.to_string()),
                    ("cancelled", "Cancelados", t.cancelled.to_string()),
                    (
                        "cancellation-rate",
                        "Tasa de cancelación",
                        percent(t.cancellation_rate()),
                    ),
                    ("no-show", "Ausentes", t.no_show.to_string()),
                    (
                        "no-show-rate",
                        "Tasa de ausencias",
                        percent(t.no_show_rate()),
                    ),
                    ("completed", "Completados", t.completed.to_string()),
                ],
                vec![
                    grid(
                        "dia",
                        "Por día (% de ausencias)",
                        head("Día"),
                        outcome_rows(r.by_day.iter().map(|(d, o)| (*d, *o)), |d| d.to_string()),
                        rate_label,
                    ),
                    grid(
                        "sucursal",
                        "Por sucursal (% de ausencias)",
                        head("Sucursal"),
                        outcome_rows(r.by_branch.iter().map(|(b, o)| (*b, *o)), |b| {
                            cat.branch(b)
                                .map_or_else(String::new, |x| x.name.as_str().to_owned())
                        }),
                        rate_label,
                    ),
                    grid(
                        "barbero",
                        "Por barbero (% de ausencias)",
                        head("Barbero/a"),
                        outcome_rows(r.by_barber.iter().map(|(b, o)| (*b, *o)), |b| {
                            barber_name(cat, b)
                        }),
                        rate_label,
                    ),
                ],
            )
        }
        Kind::Clients => {
            let c = &r.clients;
            (
                vec![
                    ("clients", "Clientes", (c.new + c.returning).to_string()),
                    ("new", "Nuevos", c.new.to_string()),
                    ("returning", "Recurrentes", c.returning.to_string()),
                    (
                        "new-rate",
                        "% nuevos",
                        percent(bookings::per_mille(c.new, c.new + c.returning)),
                    ),
                ],
                vec![
                    grid(
                        "dia",
                        "Clientes nuevos por día",
                        vec!["Día", "Nuevos", "Recurrentes"],
                        mix_rows(r.clients_by_day.iter().map(|(d, m)| (*d, *m)), |d| {
                            d.to_string()
                        }),
                        count_label,
                    ),
                    grid(
                        "barbero",
                        "Clientes nuevos por barbero",
                        vec!["Barbero/a", "Nuevos", "Recurrentes"],
                        mix_rows(r.clients_by_barber.iter().map(|(b, m)| (*b, *m)), |b| {
                            barber_name(cat, b)
                        }),
                        count_label,
                    ),
                ],
            )
        }
    }
}

async fn load(
    state: &AppState,
    current: &Current,
    kind: Kind,
    q: &ReportQuery,
) -> Result<(Filter, BookingReport, std::sync::Arc<Catalog>), AdminError> {
    let cat = state.store.read(catalog::load).await?;
    let filter = filter_of(state, &cat, q)?;
    // Only the clients report needs each client's first booking.
    let clients = kind == Kind::Clients;
    let r = bookings::bookings(state, &current.actor(), filter, clients).await?;
    Ok((filter, r, cat))
}

/// `GET /admin/reportes/{informe}` and `…/{informe}/{tabla}.csv`, one pair per report.
macro_rules! report_routes {
    ($($page:ident, $csv:ident => $kind:expr;)*) => {$(
        pub async fn $page(
            State(state): State<AppState>,
            Extension(current): Extension<Current>,
            Query(q): Query<ReportQuery>,
            flash: Flash,
        ) -> Result<Response, AdminError> {
            page(state, current, $kind, q, flash).await
        }

        pub async fn $csv(
            State(state): State<AppState>,
            Extension(current): Extension<Current>,
            Path(file): Path<String>,
            Query(q): Query<ReportQuery>,
        ) -> Result<Response, AdminError> {
            csv(state, current, $kind, &file, q).await
        }
    )*};
}

report_routes! {
    occupancy, occupancy_csv => Kind::Occupancy;
    attendance, attendance_csv => Kind::Attendance;
    clients, clients_csv => Kind::Clients;
}

/// `GET /admin/reportes/{informe}?desde=&hasta=&branch=&barber=` (the last 30 days by default).
async fn page(
    state: AppState,
    current: Current,
    kind: Kind,
    q: ReportQuery,
    flash: Flash,
) -> Result<Response, AdminError> {
    let (filter, r, cat) = load(&state, &current, kind, &q).await?;
    let (facts, tables) = build(kind, &r, &cat);
    let query = format!(
        "desde={}&hasta={}&branch={}&barber={}",
        filter.from,
        filter.to,
        filter
            .branch
            .and_then(|b| cat.branch(b))
            .map_or("", |b| b.slug.as_str()),
        filter.barber.map_or(String::new(), |b| b.0.to_string()),
    );
    let page = BookingReportPage {
        l: Layout::for_user(kind.heading(), &current, "reportes", flash),
        key: kind.key(),
        heading: kind.heading(),
        explain: kind.explain(),
        from: filter.from.to_string(),
        to: filter.to.to_string(),
        branches: cat
            .branches
            .iter()
            .map(|b| BranchOption {
                slug: b.slug.as_str().to_owned(),
                name: b.name.as_str().to_owned(),
                selected: filter.branch == Some(b.id),
            })
            .collect(),
        barbers: cat
            .barbers
            .iter()
            .map(|b| {
                (
                    b.id.0,
                    b.name.as_str().to_owned(),
                    filter.barber == Some(b.id),
                )
            })
            .collect(),
        query,
        facts,
        tables,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `GET /admin/reportes/{informe}/{tabla}.csv?…`: one table of a report.
async fn csv(
    state: AppState,
    current: Current,
    kind: Kind,
    file: &str,
    q: ReportQuery,
) -> Result<Response, AdminError> {
    let key = file.strip_suffix(".csv").ok_or(AdminError::NotFound)?;
    let (filter, r, cat) = load(&state, &current, kind, &q).await?;
    let t = build(kind, &r, &cat)
        .1
        .into_iter()
        .find(|t| t.key == key)
        .ok_or(AdminError::NotFound)?;
    Ok(csv_response(
        &format!("{}-{}-{}-{}.csv", kind.key(), t.key, filter.from, filter.to),
        t.csv,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_hours_read_the_es_ar_way() {
        assert_eq!(percent(Some(125)), "12,5 %");
        assert_eq!(percent(None), "—");
        assert_eq!(percent_csv(Some(1000)), "100.0");
        assert_eq!(hours(5400), "1,5 h");
        assert_eq!(hours(179), "0,0 h");
        assert_eq!(hours(180), "0,1 h");
    }
}
