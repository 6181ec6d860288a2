//! Reportes (`/admin/reportes`, owner): revenue by day, branch, barber, service and payment
//! method, the average ticket and the top products, filterable by dates, branch and barber;
//! bar charts drawn here as SVG (no JavaScript); every table as CSV
//! (`/admin/reportes/{tabla}.csv`).

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use jiff::ToSpan;
use serde::Deserialize;

use super::{AdminError, BranchOption, csv_pesos, csv_response, day, svg};
use crate::app::reports::{self, Filter, Revenue};
use crate::domain::caja::{PaymentMethod, ProductId, format_signed};
use crate::domain::{BarberId, ServiceId};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view;
use crate::http::admin::view::{Flash, Layout};
use crate::store::catalog::{self, Catalog};
use crate::store::products;

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    #[serde(default)]
    pub desde: String,
    #[serde(default)]
    pub hasta: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub barber: String,
}

/// One table of a report: (label, count, centavos) rows.
pub struct Table {
    pub key: &'static str,
    pub title: &'static str,
    pub count: &'static str,
    pub rows: Vec<(String, i64, i64)>,
}

pub struct TableView {
    pub key: &'static str,
    pub title: &'static str,
    pub count: &'static str,
    pub rows: Vec<(String, i64, String)>,
    pub chart: String,
}

#[derive(Template)]
#[template(path = "admin/reportes.html")]
pub struct ReportsPage {
    pub l: Layout,
    pub from: String,
    pub to: String,
    pub branches: Vec<BranchOption>,
    pub barbers: Vec<(u64, String, bool)>,
    pub query: String,
    pub tickets: i64,
    pub sales: String,
    pub tips: String,
    pub discounts: String,
    pub average: String,
    /// MercadoPago lines charged but not paid yet (apart from «cobrado»).
    pub mp_pending: String,
    pub tables: Vec<TableView>,
}

pub(super) fn filter_of(
    state: &AppState,
    cat: &Catalog,
    q: &ReportQuery,
) -> Result<Filter, AdminError> {
    let today = crate::domain::time::local_date(state.clock.now(), &state.admin.system.time_zone);
    let to = day(&q.hasta)?.unwrap_or(today);
    let from = day(&q.desde)?.unwrap_or_else(|| to.checked_sub(29.days()).unwrap_or(to));
    let branch = if q.branch.is_empty() {
        None
    } else {
        Some(
            cat.branch_by_slug(&q.branch)
                .ok_or(AdminError::NotFound)?
                .id,
        )
    };
    let barber = match q.barber.parse::<u64>() {
        Ok(id) => Some(cat.barber(BarberId(id)).ok_or(AdminError::NotFound)?.id),
        Err(_) => None,
    };
    Ok(Filter {
        from,
        to,
        branch,
        barber,
    })
}

fn tables(r: &Revenue, cat: &Catalog, product_names: &[(ProductId, String)]) -> Vec<Table> {
    let service_name = |id: u64| {
        cat.services
            .iter()
            .find(|s| s.id == ServiceId(id))
            .map_or_else(|| format!("servicio {id}"), |s| s.name.as_str().to_owned())
    };
    let product_name = |id: u64| {
        product_names
            .iter()
            .find(|(p, _)| p.0 == id)
            .map_or_else(|| format!("producto {id}"), |(_, n)| n.clone())
    };
    let mut services: Vec<(String, i64, i64)> = r
        .total
        .services
        .iter()
        .map(|(id, (n, a))| (service_name(*id), *n, *a))
        .collect();
    services.sort_by_key(|r| std::cmp::Reverse(r.2));
    let mut prods: Vec<(String, i64, i64)> = r
        .total
        .products
        .iter()
        .map(|(id, (n, a))| (product_name(*id), *n, *a))
        .collect();
    prods.sort_by_key(|r| std::cmp::Reverse(r.2));
    vec![
        Table {
            key: "dia",
            title: "Ventas por día",
            count: "Cobros",
            rows: r
                .by_day
                .iter()
                .map(|(d, t)| (d.to_string(), t.tickets, t.sales))
                .collect(),
        },
        Table {
            key: "sucursal",
            title: "Ventas por sucursal",
            count: "Cobros",
            rows: r
                .by_branch
                .iter()
                .map(|(b, t)| {
                    let name = cat
                        .branch(*b)
                        .map_or_else(String::new, |x| x.name.as_str().to_owned());
                    (name, t.tickets, t.sales)
                })
                .collect(),
        },
        Table {
            key: "barbero",
            title: "Ventas por barbero",
            count: "Cobros",
            rows: r
                .by_barber
                .iter()
                .map(|(b, t)| {
                    let name = cat
                        .barber(*b)
                        .map_or_else(String::new, |x| x.name.as_str().to_owned());
                    (name, t.tickets, t.sales)
                })
                .collect(),
        },
        Table {
            key: "servicio",
            title: "Servicios más vendidos",
            count: "Veces",
            rows: services,
        },
        Table {
            key: "metodo",
            title: "Cobrado por medio de pago",
            count: "",
            // MercadoPago counts what it paid; what it has not paid yet is a row apart.
            rows: PaymentMethod::ALL
                .iter()
                .map(|m| {
                    let got = r.total.methods.get(m.as_str()).copied().unwrap_or(0);
                    let pending = if *m == PaymentMethod::MercadoPago {
                        r.mp_pending
                    } else {
                        0
                    };
                    (m.label_es().to_owned(), 0, got - pending)
                })
                .chain([
                    (MP_PENDING.to_owned(), 0, r.mp_pending),
                    ("Seña (pagada antes)".to_owned(), 0, r.total.deposits),
                ])
                .collect(),
        },
        Table {
            key: "producto",
            title: "Productos más vendidos",
            count: "Unidades",
            rows: prods,
        },
    ]
}

/// The row of MercadoPago lines charged but not paid yet.
const MP_PENDING: &str = "MercadoPago pendiente de pago";

async fn load(
    state: &AppState,
    current: &Current,
    q: &ReportQuery,
) -> Result<
    (
        Filter,
        Revenue,
        std::sync::Arc<Catalog>,
        Vec<(ProductId, String)>,
    ),
    AdminError,
> {
    let (cat, names) = state
        .store
        .read(|tx| {
            let names = products::all(tx)?
                .into_iter()
                .map(|p| (p.id, p.name.as_str().to_owned()))
                .collect();
            Ok((catalog::load(tx)?, names))
        })
        .await?;
    let filter = filter_of(state, &cat, q)?;
    let r = reports::revenue(state, &current.actor(), filter).await?;
    Ok((filter, r, cat, names))
}

/// `GET /admin/reportes?desde=&hasta=&branch=&barber=` (the last 30 days by default).
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<ReportQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let (filter, r, cat, names) = load(&state, &current, &q).await?;
    let tables = tables(&r, &cat, &names)
        .into_iter()
        .map(|t| TableView {
            chart: svg::bars(
                t.title,
                &t.rows
                    .iter()
                    .take(40)
                    .map(|(l, _, a)| (l.clone(), *a))
                    .collect::<Vec<_>>(),
            ),
            key: t.key,
            title: t.title,
            count: t.count,
            rows: t
                .rows
                .into_iter()
                .map(|(l, n, a)| (l, n, format_signed(a)))
                .collect(),
        })
        .collect();
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
    let page = ReportsPage {
        l: Layout::for_user("Reportes", &current, "reportes", flash),
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
        tickets: r.total.tickets,
        sales: format_signed(r.total.sales),
        tips: format_signed(r.total.tips),
        discounts: format_signed(r.total.discounts),
        average: format_signed(r.average_ticket()),
        mp_pending: format_signed(r.mp_pending),
        tables,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// `GET /admin/reportes/{tabla}.csv?…`: one table of the report.
pub async fn csv(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Path(file): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AdminError> {
    let key = file.strip_suffix(".csv").ok_or(AdminError::NotFound)?;
    let (filter, r, cat, names) = load(&state, &current, &q).await?;
    let t = tables(&r, &cat, &names)
        .into_iter()
        .find(|t| t.key == key)
        .ok_or(AdminError::NotFound)?;
    let mut rows = vec![vec![
        t.title.to_owned(),
        if t.count.is_empty() {
            "-".to_owned()
        } else {
            t.count.to_lowercase()
        },
        "pesos".to_owned(),
    ]];
    rows.extend(
        t.rows
            .iter()
            .map(|(l, n, a)| vec![l.clone(), n.to_string(), csv_pesos(*a)]),
    );
    Ok(csv_response(
        &format!("reporte-{}-{}-{}.csv", t.key, filter.from, filter.to),
        rows,
    ))
}
