//! Caja (`/admin/caja`): a branch's till of a day — its float, what came in and went out,
//! the cash expected, the close with its difference — with the day's entries (each sale
//! with its comprobante and a void form), and the forms that open, move cash and close.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

use super::{AdminError, BranchOption, amount, back_on_rule, branch_options, day, pick_branch};
use crate::app::{checkout, till};
use crate::domain::caja::{CashKind, EntryId, EntryKind, format_signed};
use crate::domain::{BarberId, DomainError};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::http::extract::PathId;
use crate::store::{catalog, ledger, products};

#[derive(Deserialize, Default)]
pub struct TillQuery {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    fecha: String,
}

pub struct EntryRow {
    pub id: u64,
    pub time: String,
    pub kind: String,
    pub detail: String,
    pub total: String,
    pub cash: String,
    pub sale: bool,
    pub voided: bool,
}

pub struct Low {
    pub name: String,
    pub stock: u64,
}

#[derive(Template)]
#[template(path = "admin/caja.html")]
pub struct TillPage {
    pub l: Layout,
    pub branches: Vec<BranchOption>,
    pub branch_slug: String,
    pub date_iso: String,
    pub date_label: String,
    pub current_iso: String,
    /// `sin abrir`, `abierta` or `cerrada`.
    pub state: &'static str,
    pub float: String,
    pub cash_in: String,
    pub cash_out: String,
    pub expected: String,
    pub counted: String,
    pub difference: String,
    pub difference_sign: &'static str,
    pub entries: Vec<EntryRow>,
    pub barbers: Vec<(u64, String)>,
    pub low: Vec<Low>,
    /// The day's standing MercadoPago lines: paid through their link, and still waiting
    /// (not cash: neither counts in the expected cash).
    pub mp_paid: String,
    pub mp_pending: String,
    pub mp_any: bool,
    /// Voided sales' links that MercadoPago paid (before or after the void): owed back to
    /// the client, not revenue.
    pub mp_refund_due: String,
}

/// `GET /admin/caja?branch=&fecha=`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<TillQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let cat = state.store.read(catalog::load).await?;
    let branch = pick_branch(&cat, &q.branch)?;
    let asked = day(&q.fecha)?;
    let view = till::day(&state, &current.actor(), branch.id, asked).await?;
    let ids: Vec<EntryId> = view.entries.iter().map(|e| e.id).collect();
    let branch_id = branch.id;
    let (voided, low, links) = state
        .store
        .read(move |tx| {
            let (mut v, mut links) = (Vec::new(), Vec::new());
            for id in ids {
                v.push(ledger::voided_by(tx, id)?.is_some());
                links.push(crate::store::mp_links::get(tx, id)?);
            }
            Ok((v, products::low_at(tx, branch_id)?, links))
        })
        .await?;
    let (mp_paid, mp_pending, mp_refund_due) =
        mercadopago_split(&view.entries, &voided, &links, state.payments.is_some());
    let tz = crate::domain::time::time_zone(&branch.time_zone)
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let barber_name = |id: BarberId| {
        cat.barber(id)
            .map(|b| b.name.as_str().to_owned())
            .unwrap_or_default()
    };
    let entries = view
        .entries
        .iter()
        .zip(voided)
        .map(|(e, voided)| {
            let (kind, detail, total) = match &e.kind {
                EntryKind::Sale(s) => (
                    "Cobro".to_owned(),
                    format!(
                        "{}{}",
                        barber_name(s.barber),
                        s.booking
                            .map(|b| format!(" · turno #{b}"))
                            .unwrap_or_default()
                    ),
                    s.checkout.total.to_string(),
                ),
                EntryKind::Void(v) => (
                    "Anulación".to_owned(),
                    format!("del cobro N.º {}: {}", v.of, v.reason.as_str()),
                    format_signed(-v.sale.checkout.total.centavos()),
                ),
                EntryKind::Cash(m) => (
                    m.kind.label_es().to_owned(),
                    m.reason.as_str().to_owned(),
                    format_signed(-m.amount.centavos()),
                ),
                EntryKind::Advance(a) => (
                    "Adelanto".to_owned(),
                    format!("{}: {}", barber_name(a.barber), a.reason.as_str()),
                    format_signed(-a.amount.centavos()),
                ),
            };
            EntryRow {
                id: e.id.0,
                time: view::time(e.at, &tz),
                kind,
                detail,
                total,
                cash: format_signed(e.cash_effect()),
                sale: matches!(e.kind, EntryKind::Sale(_)),
                voided,
            }
        })
        .collect();
    let closed = view.till.as_ref().and_then(|t| t.closed.clone());
    let page = TillPage {
        l: Layout::for_user("Caja", &current, "caja", flash),
        branches: branch_options(&cat, branch),
        branch_slug: branch.slug.as_str().to_owned(),
        date_iso: view.day.to_string(),
        date_label: view::long_date(view.day),
        current_iso: view.current.to_string(),
        state: match &view.till {
            None => "sin abrir",
            Some(t) if t.closed.is_some() => "cerrada",
            Some(_) => "abierta",
        },
        float: view
            .till
            .as_ref()
            .map(|t| t.float.to_string())
            .unwrap_or_default(),
        cash_in: format_signed(view.cash_in),
        cash_out: format_signed(view.cash_out),
        expected: format_signed(closed.as_ref().map_or(view.expected, |c| c.expected)),
        counted: closed
            .as_ref()
            .map(|c| c.counted.to_string())
            .unwrap_or_default(),
        difference: closed
            .as_ref()
            .map(|c| format_signed(c.difference))
            .unwrap_or_default(),
        difference_sign: match closed.as_ref().map(|c| c.difference.signum()) {
            Some(1) => "sobrante",
            Some(-1) => "faltante",
            _ => "sin diferencia",
        },
        entries,
        barbers: cat
            .barbers_at(branch.id)
            .map(|b| (b.id.0, b.name.as_str().to_owned()))
            .collect(),
        mp_paid: format_signed(mp_paid),
        mp_pending: format_signed(mp_pending),
        mp_any: mp_paid + mp_pending > 0,
        mp_refund_due: if mp_refund_due > 0 {
            format_signed(mp_refund_due)
        } else {
            String::new()
        },
        low: low
            .into_iter()
            .map(|(p, n)| Low {
                name: p.name.as_str().to_owned(),
                stock: n,
            })
            .collect(),
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize, Default)]
pub struct TillForm {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    fecha: String,
    #[serde(default)]
    importe: String,
    #[serde(default)]
    tipo: String,
    #[serde(default)]
    motivo: String,
    #[serde(default)]
    barber: String,
}

fn back(f: &TillForm) -> String {
    let slug: String = f
        .branch
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    match view::parse_date(f.fecha.trim()) {
        Some(d) => format!("/admin/caja?branch={slug}&fecha={d}"),
        None => format!("/admin/caja?branch={slug}"),
    }
}

/// Runs a till form: the branch and the amount read first (a bad one goes back with its
/// message), then the use case.
async fn till_form<T, F, Fut>(
    state: &AppState,
    f: &TillForm,
    ok: &str,
    run: F,
) -> Result<Response, AdminError>
where
    F: FnOnce(crate::domain::BranchId, crate::domain::Money) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::app::AppError>>,
{
    let secure = state.admin.secure_cookies;
    let to = back(f);
    let cat = state.store.read(catalog::load).await?;
    let branch = pick_branch(&cat, &f.branch)?.id;
    let money = match amount(&f.importe) {
        Ok(m) => m,
        Err(rule) => return Ok(view::redirect(&to, "error", &rule.message_es(), secure)),
    };
    back_on_rule(run(branch, money).await, &to, secure, |_| {
        view::redirect(&to, "ok", ok, secure)
    })
}

fn form_day(f: &TillForm) -> Result<jiff::civil::Date, AdminError> {
    day(&f.fecha)?.ok_or_else(|| AdminError::BadRequest(DomainError::InvalidDate.message_es()))
}

/// `POST /admin/caja/abrir`: branch, fecha, importe (the float).
pub async fn open(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(f): Form<TillForm>,
) -> Result<Response, AdminError> {
    let d = form_day(&f)?;
    let actor = current.actor();
    till_form(&state, &f, "Caja abierta.", |b, m| {
        till::open(&state, &actor, b, d, m)
    })
    .await
}

/// `POST /admin/caja/cerrar`: branch, fecha, importe (the cash counted).
pub async fn close(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(f): Form<TillForm>,
) -> Result<Response, AdminError> {
    let d = form_day(&f)?;
    let actor = current.actor();
    till_form(&state, &f, "Caja cerrada.", |b, m| {
        till::close(&state, &actor, b, d, m)
    })
    .await
}

/// `POST /admin/caja/movimiento`: branch, tipo (`retiro`, `gasto`), importe, motivo.
pub async fn cash(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(f): Form<TillForm>,
) -> Result<Response, AdminError> {
    let kind = CashKind::parse(&f.tipo)
        .ok_or_else(|| AdminError::BadRequest("Elegí retiro o gasto.".into()))?;
    let actor = current.actor();
    let reason = f.motivo.clone();
    let st = state.clone();
    till_form(&state, &f, "Movimiento registrado.", |b, m| async move {
        till::cash_out(&st, &actor, b, kind, m, &reason).await
    })
    .await
}

/// `POST /admin/caja/adelanto`: branch, barber, importe, motivo.
pub async fn advance(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(f): Form<TillForm>,
) -> Result<Response, AdminError> {
    let barber: u64 = f
        .barber
        .parse()
        .map_err(|_| AdminError::BadRequest("Elegí el barbero.".into()))?;
    let actor = current.actor();
    let reason = f.motivo.clone();
    let st = state.clone();
    till_form(&state, &f, "Adelanto registrado.", |b, m| async move {
        till::advance(&st, &actor, b, BarberId(barber), m, &reason).await
    })
    .await
}

/// `POST /admin/caja/anular/{id}`: motivo; back to the till of the branch.
pub async fn void(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(f): Form<TillForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let to = back(&f);
    let result = checkout::void(&state, &current.actor(), EntryId(id), &f.motivo).await;
    back_on_rule(result, &to, secure, |_| {
        view::redirect(&to, "ok", "Cobro anulado.", secure)
    })
}

/// The day's sales' MercadoPago lines, in centavos: (received, not paid yet; see
/// `line_paid_at`) of the standing ones, and the voided ones' paid links (owed back).
fn mercadopago_split(
    entries: &[crate::domain::caja::Entry],
    voided: &[bool],
    links: &[Option<crate::domain::caja::MpLink>],
    links_on: bool,
) -> (i64, i64, i64) {
    let (mut paid, mut pending, mut refund_due) = (0, 0, 0);
    for ((e, voided), link) in entries.iter().zip(voided).zip(links) {
        let EntryKind::Sale(s) = &e.kind else {
            continue;
        };
        if *voided {
            // Paid through its link (before the void, or by a client who paid it after): owed back.
            if let Some(l) = link.as_ref().filter(|l| l.is_paid()) {
                refund_due += l.amount.centavos();
            }
            continue;
        }
        let mp: i64 = s
            .checkout
            .tenders
            .iter()
            .filter(|t| t.method == crate::domain::caja::PaymentMethod::MercadoPago)
            .map(|t| t.amount.centavos())
            .sum();
        if crate::domain::caja::mp_link::line_paid_at(link.as_ref(), links_on, e.at).is_some() {
            paid += mp;
        } else {
            pending += mp;
        }
    }
    (paid, pending, refund_due)
}
