//! Comisiones (`/admin/comisiones`): a barber's statement for a pay period, line by line
//! (the owner any barber's, a barbero only their own), its CSV, the owner's rules form and
//! the period's close.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

use super::{AdminError, back_on_rule, csv_pesos, csv_response, day};
use crate::app::commissions::{self, PeriodKind, Statement};
use crate::domain::caja::commission::parse_percent;
use crate::domain::caja::{CommissionRules, Rate, format_signed, parse_pesos};
use crate::domain::staff::Role;
use crate::domain::{BarberId, DomainError, ServiceId};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::http::extract::PathId;
use crate::store::catalog;

#[derive(Deserialize, Default)]
pub struct StatementQuery {
    #[serde(default)]
    barber: Option<u64>,
    #[serde(default)]
    periodo: String,
    #[serde(default)]
    fecha: String,
    #[serde(default)]
    desde: String,
    #[serde(default)]
    hasta: String,
}

pub struct LineRow {
    pub day: String,
    pub entry: u64,
    pub kind: String,
    pub what: String,
    pub base: String,
    pub rule: String,
    pub amount: String,
}

pub struct RuleRow {
    pub id: u64,
    pub name: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "admin/comisiones.html")]
pub struct CommissionsPage {
    pub l: Layout,
    pub barbers: Vec<(u64, String, bool)>,
    pub barber: u64,
    pub barber_name: String,
    pub periodo: String,
    pub from: String,
    pub to: String,
    pub lines: Vec<LineRow>,
    pub commissions: String,
    pub tips: String,
    pub advances: String,
    pub total: String,
    pub closed: String,
    pub services_rule: String,
    pub products_rule: String,
    pub per_service: Vec<RuleRow>,
    /// The catalogue's service categories and the barber's rate for each (empty: none).
    pub per_category: Vec<(String, String)>,
}

/// The barber and the period a request is about: a barbero is always themself.
fn resolve(
    current: &Current,
    q: &StatementQuery,
    today: jiff::civil::Date,
    first: Option<BarberId>,
) -> Result<(BarberId, jiff::civil::Date, jiff::civil::Date, String), AdminError> {
    let barber = match current.user.role {
        Role::Barbero => current.user.barber.ok_or(AdminError::Forbidden)?,
        _ => q
            .barber
            .map(BarberId)
            .or(first)
            .ok_or(AdminError::NotFound)?,
    };
    let kind = PeriodKind::parse(&q.periodo).unwrap_or(PeriodKind::Week);
    let (from, to) = match (day(&q.desde)?, day(&q.hasta)?) {
        (Some(f), Some(t)) => (f, t),
        _ => kind.around(day(&q.fecha)?.unwrap_or(today)),
    };
    let periodo = if q.periodo.is_empty() {
        "semana".to_owned()
    } else {
        q.periodo.clone()
    };
    Ok((barber, from, to, periodo))
}

fn today(state: &AppState) -> jiff::civil::Date {
    crate::domain::time::local_date(state.clock.now(), &state.admin.system.time_zone)
}

/// `GET /admin/comisiones?barber=&periodo=semana|quincena|mes&fecha=` (or `desde`/`hasta`).
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<StatementQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let cat = state.store.read(catalog::load).await?;
    let first = cat.barbers.iter().find(|b| b.active).map(|b| b.id);
    let (barber, from, to, periodo) = resolve(&current, &q, today(&state), first)?;
    let actor = current.actor();
    let s = commissions::statement(&state, &actor, barber, from, to).await?;
    let owner = current.user.role.is_owner();
    let rules = if owner {
        commissions::rules(&state, &actor, barber).await?
    } else {
        CommissionRules::default()
    };
    let rate_text = |r: Rate| match r {
        Rate::Percent(bp) => crate::domain::caja::commission::percent_text(bp),
        Rate::Fixed(m) => format!("${}", m.to_string().trim_start_matches('$').trim()),
    };
    let page = CommissionsPage {
        l: Layout::for_user("Comisiones", &current, "comisiones", flash),
        barbers: if owner {
            cat.barbers
                .iter()
                .map(|b| (b.id.0, b.name.as_str().to_owned(), b.id == barber))
                .collect()
        } else {
            Vec::new()
        },
        barber: barber.0,
        barber_name: cat
            .barber(barber)
            .map(|b| b.name.as_str().to_owned())
            .unwrap_or_default(),
        periodo,
        from: from.to_string(),
        to: to.to_string(),
        lines: rows(&s),
        commissions: format_signed(s.commissions),
        tips: format_signed(s.tips),
        advances: format_signed(s.advances),
        total: format_signed(s.total),
        closed: s
            .closed
            .as_ref()
            .map(|c| {
                format!(
                    "Período cerrado el {} con {}.",
                    view::date_time(c.closed_at, &state.admin.system.time_zone),
                    format_signed(c.total)
                )
            })
            .unwrap_or_default(),
        services_rule: rate_text(rules.services),
        products_rule: crate::domain::caja::commission::percent_text(rules.products),
        per_service: cat
            .services
            .iter()
            .filter(|x| x.active)
            .map(|x| RuleRow {
                id: x.id.0,
                name: x.name.as_str().to_owned(),
                value: rules
                    .per_service
                    .iter()
                    .find(|(id, _)| *id == x.id)
                    .map(|(_, r)| rate_text(*r))
                    .unwrap_or_default(),
            })
            .collect(),
        per_category: categories(&cat)
            .into_iter()
            .map(|c| {
                let value = rules
                    .per_category
                    .iter()
                    .find(|(name, _)| name.to_lowercase() == c.to_lowercase())
                    .map(|(_, r)| rate_text(*r))
                    .unwrap_or_default();
                (c, value)
            })
            .collect(),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

/// The distinct categories of the catalogue's services, as first spelled, sorted.
fn categories(cat: &catalog::Catalog) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in cat.services.iter().filter_map(|s| s.category.as_ref()) {
        if !out
            .iter()
            .any(|o| o.to_lowercase() == c.as_str().to_lowercase())
        {
            out.push(c.as_str().to_owned());
        }
    }
    out.sort();
    out
}

fn rows(s: &Statement) -> Vec<LineRow> {
    s.lines
        .iter()
        .map(|l| LineRow {
            day: l.day.to_string(),
            entry: l.entry.0,
            kind: l.line.kind.clone(),
            what: l.line.what.clone(),
            base: format_signed(l.line.base),
            rule: l.line.rule.clone(),
            amount: format_signed(l.line.amount),
        })
        .collect()
}

/// `GET /admin/comisiones.csv?…`: the same statement, one row per line, then the totals.
pub async fn csv(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<StatementQuery>,
) -> Result<Response, AdminError> {
    let cat = state.store.read(catalog::load).await?;
    let first = cat.barbers.iter().find(|b| b.active).map(|b| b.id);
    let (barber, from, to, _) = resolve(&current, &q, today(&state), first)?;
    let s = commissions::statement(&state, &current.actor(), barber, from, to).await?;
    let mut out = vec![
        [
            "dia",
            "movimiento",
            "tipo",
            "detalle",
            "base",
            "regla",
            "importe",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for l in &s.lines {
        out.push(vec![
            l.day.to_string(),
            l.entry.0.to_string(),
            l.line.kind.clone(),
            l.line.what.clone(),
            csv_pesos(l.line.base),
            l.line.rule.clone(),
            csv_pesos(l.line.amount),
        ]);
    }
    for (k, v) in [
        ("comisiones", s.commissions),
        ("propinas", s.tips),
        ("adelantos", -s.advances),
        ("total", s.total),
    ] {
        out.push(vec![
            String::new(),
            String::new(),
            k.to_owned(),
            String::new(),
            String::new(),
            String::new(),
            csv_pesos(v),
        ]);
    }
    Ok(csv_response(
        &format!("comisiones-{}-{from}-{to}.csv", barber.0),
        out,
    ))
}

/// `POST /admin/comisiones/{barber}/reglas` (owner): servicios (%, or `$` + amount),
/// productos (%), `regla_{service}` overrides and `categoria_{name}` rates for a category's
/// services without an override (empty: none).
pub async fn set_rules(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(barber): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let to = format!("/admin/comisiones?barber={barber}");
    let parse_rate = |raw: &str| -> Result<Rate, DomainError> {
        let raw = raw.trim();
        match raw.strip_prefix('$') {
            Some(m) => parse_pesos(m).map(Rate::Fixed).map_err(DomainError::Caja),
            None => parse_percent(raw)
                .map(Rate::Percent)
                .map_err(DomainError::Caja),
        }
    };
    let mut rules = CommissionRules::default();
    for (k, v) in &pairs {
        let r = match k.as_str() {
            "servicios" => parse_rate(v).map(|r| rules.services = r),
            "productos" => parse_percent(v)
                .map(|p| rules.products = p)
                .map_err(DomainError::Caja),
            k if k.starts_with("regla_") && !v.trim().is_empty() => {
                match k["regla_".len()..].parse::<u64>() {
                    Ok(id) => parse_rate(v).map(|r| rules.per_service.push((ServiceId(id), r))),
                    Err(_) => Ok(()),
                }
            }
            k if k.starts_with("categoria_") && !v.trim().is_empty() => {
                let name = k["categoria_".len()..].trim();
                if name.is_empty() || name.chars().count() > 40 {
                    Ok(())
                } else {
                    parse_rate(v).map(|r| rules.per_category.push((name.to_owned(), r)))
                }
            }
            _ => Ok(()),
        };
        if let Err(rule) = r {
            return Ok(view::redirect(&to, "error", &rule.message_es(), secure));
        }
    }
    let result = commissions::set_rules(&state, &current.actor(), BarberId(barber), rules).await;
    back_on_rule(result, &to, secure, |_| {
        view::redirect(&to, "ok", "Reglas de comisión guardadas.", secure)
    })
}

#[derive(Deserialize, Default)]
pub struct CloseForm {
    #[serde(default)]
    desde: String,
    #[serde(default)]
    hasta: String,
}

/// `POST /admin/comisiones/{barber}/cerrar` (owner): desde, hasta.
pub async fn close(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(barber): PathId,
    Form(f): Form<CloseForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let (Some(from), Some(to)) = (day(&f.desde)?, day(&f.hasta)?) else {
        return Err(AdminError::BadRequest(
            DomainError::InvalidDate.message_es(),
        ));
    };
    let back = format!("/admin/comisiones?barber={barber}&desde={from}&hasta={to}");
    let result =
        commissions::close_period(&state, &current.actor(), BarberId(barber), from, to).await;
    back_on_rule(result, &back, secure, |p| {
        view::redirect(
            &back,
            "ok",
            &format!("Período cerrado: {}.", format_signed(p.total)),
            secure,
        )
    })
}
