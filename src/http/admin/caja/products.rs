//! Productos (`/admin/productos`): the catalogue with each product's stock at a branch,
//! stock adjustments with a reason (front desk), new products (owner).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

use super::{AdminError, BranchOption, amount, back_on_rule, branch_options, pick_branch};
use crate::app::products;
use crate::domain::DomainError;
use crate::domain::caja::{CajaError, ProductId};
use crate::http::AppState;
use crate::http::admin::session::Current;
use crate::http::admin::view::{self, Flash, Layout};
use crate::http::extract::PathId;
use crate::store::{catalog, products as store_products};

#[derive(Deserialize, Default)]
pub struct ProductsQuery {
    #[serde(default)]
    branch: String,
}

pub struct ProductRow {
    pub id: u64,
    pub name: String,
    pub price: String,
    pub stock: u64,
    pub low: bool,
    pub active: bool,
}

pub struct AdjustmentRow {
    pub when: String,
    pub product: String,
    pub delta: i64,
    pub after: u64,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "admin/productos.html")]
pub struct ProductsPage {
    pub l: Layout,
    pub branches: Vec<BranchOption>,
    pub branch_slug: String,
    pub rows: Vec<ProductRow>,
    pub adjustments: Vec<AdjustmentRow>,
}

/// `GET /admin/productos?branch=`.
pub async fn page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Query(q): Query<ProductsQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    let cat = state.store.read(catalog::load).await?;
    let branch = pick_branch(&cat, &q.branch)?;
    let id = branch.id;
    let (stock, adjustments) = state
        .store
        .read(move |tx| {
            Ok((
                store_products::stock_at(tx, id)?,
                store_products::recent_adjustments(tx, 20)?,
            ))
        })
        .await?;
    let tz = &state.admin.system.time_zone;
    let name_of = |p: ProductId| {
        stock
            .iter()
            .find(|(x, _)| x.id == p)
            .map(|(x, _)| x.name.as_str().to_owned())
            .unwrap_or_default()
    };
    let adjustments = adjustments
        .iter()
        .filter(|a| a.branch == id)
        .map(|a| AdjustmentRow {
            when: view::date_time(a.at, tz),
            product: name_of(a.product),
            delta: a.delta,
            after: a.after,
            reason: a.reason.as_str().to_owned(),
        })
        .collect();
    let page = ProductsPage {
        l: Layout::for_user("Productos", &current, "productos", flash),
        branches: branch_options(&cat, branch),
        branch_slug: branch.slug.as_str().to_owned(),
        rows: stock
            .iter()
            .map(|(p, n)| ProductRow {
                id: p.id.0,
                name: p.name.as_str().to_owned(),
                price: p.price.to_string(),
                stock: *n,
                low: p.active && *n <= u64::from(p.low_stock),
                active: p.active,
            })
            .collect(),
        adjustments,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize, Default)]
pub struct ProductForm {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    nombre: String,
    #[serde(default)]
    precio: String,
    #[serde(default)]
    minimo: String,
    #[serde(default)]
    cantidad: String,
    #[serde(default)]
    motivo: String,
}

/// A branch slug safe to put back in an address.
fn clean(slug: &str) -> String {
    slug.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn back(slug: &str) -> String {
    format!("/admin/productos?branch={}", clean(slug))
}

/// `POST /admin/productos/nuevo` (owner): nombre, precio, minimo.
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    Form(f): Form<ProductForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let to = back(&f.branch);
    let price = match amount(&f.precio) {
        Ok(p) if p.centavos() > 0 => p,
        Ok(_) => {
            return Ok(view::redirect(
                &to,
                "error",
                &DomainError::InvalidAmount.message_es(),
                secure,
            ));
        }
        Err(rule) => return Ok(view::redirect(&to, "error", &rule.message_es(), secure)),
    };
    let Ok(low) = f.minimo.trim().parse::<u32>().or_else(|_| {
        if f.minimo.trim().is_empty() {
            Ok(0)
        } else {
            Err(())
        }
    }) else {
        let msg = DomainError::Caja(CajaError::InvalidQuantity).message_es();
        return Ok(view::redirect(&to, "error", &msg, secure));
    };
    let result = products::create(&state, &current.actor(), &f.nombre, price, low).await;
    back_on_rule(result, &to, secure, |p| {
        view::redirect(
            &to,
            "ok",
            &format!("Producto «{}» agregado.", p.name.as_str()),
            secure,
        )
    })
}

/// `POST /admin/productos/{id}/stock` (front desk): branch, cantidad (+ or −), motivo.
pub async fn adjust(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(f): Form<ProductForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let to = back(&f.branch);
    let cat = state.store.read(catalog::load).await?;
    let branch = pick_branch(&cat, &f.branch)?.id;
    let Ok(delta) = f.cantidad.trim().trim_start_matches('+').parse::<i64>() else {
        let msg = DomainError::Caja(CajaError::InvalidQuantity).message_es();
        return Ok(view::redirect(&to, "error", &msg, secure));
    };
    let result = products::adjust(
        &state,
        &current.actor(),
        ProductId(id),
        branch,
        delta,
        &f.motivo,
    )
    .await;
    back_on_rule(result, &to, secure, |a| {
        view::redirect(
            &to,
            "ok",
            &format!("Stock ajustado: quedan {}.", a.after),
            secure,
        )
    })
}

#[derive(Template)]
#[template(path = "admin/producto_editar.html")]
pub struct EditPage {
    pub l: Layout,
    pub id: u64,
    pub branch_slug: String,
    pub name: String,
    /// The price as the desk types it (`8000,50`).
    pub price: String,
    pub low_stock: u32,
    pub active: bool,
}

/// `GET /admin/productos/{id}?branch=` (owner): the product's form, filled in.
pub async fn edit_page(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Query(q): Query<ProductsQuery>,
    flash: Flash,
) -> Result<Response, AdminError> {
    if !current.user.role.is_owner() {
        return Err(AdminError::Forbidden);
    }
    let p = state
        .store
        .read(move |tx| store_products::get(tx, ProductId(id)))
        .await?
        .ok_or(AdminError::NotFound)?;
    let c = p.price.centavos();
    let page = EditPage {
        l: Layout::for_user("Editar producto", &current, "productos", flash),
        id,
        branch_slug: clean(&q.branch),
        name: p.name.as_str().to_owned(),
        price: format!("{},{:02}", c / 100, c % 100),
        low_stock: p.low_stock,
        active: p.active,
    };
    view::render(&page, &page.l, state.admin.secure_cookies)
}

#[derive(Deserialize, Default)]
pub struct EditForm {
    #[serde(default)]
    branch: String,
    #[serde(default)]
    nombre: String,
    #[serde(default)]
    precio: String,
    #[serde(default)]
    minimo: String,
    /// A checkbox: present when ticked.
    activo: Option<String>,
}

/// `POST /admin/productos/{id}` (owner): nombre, precio, minimo, activo; `product.update`.
pub async fn edit(
    State(state): State<AppState>,
    Extension(current): Extension<Current>,
    PathId(id): PathId,
    Form(f): Form<EditForm>,
) -> Result<Response, AdminError> {
    let secure = state.admin.secure_cookies;
    let list = back(&f.branch);
    let form = format!("/admin/productos/{id}?branch={}", clean(&f.branch));
    let price = match amount(&f.precio) {
        Ok(p) if p.centavos() > 0 => p,
        Ok(_) => {
            let msg = DomainError::InvalidAmount.message_es();
            return Ok(view::redirect(&form, "error", &msg, secure));
        }
        Err(rule) => return Ok(view::redirect(&form, "error", &rule.message_es(), secure)),
    };
    let low = match f.minimo.trim() {
        "" => 0,
        raw => match raw.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let msg = DomainError::Caja(CajaError::InvalidQuantity).message_es();
                return Ok(view::redirect(&form, "error", &msg, secure));
            }
        },
    };
    let active = f.activo.is_some();
    let result = products::update(
        &state,
        &current.actor(),
        ProductId(id),
        &f.nombre,
        price,
        low,
        active,
    )
    .await;
    back_on_rule(result, &form, secure, |p| {
        view::redirect(
            &list,
            "ok",
            &format!("Producto «{}» guardado.", p.name.as_str()),
            secure,
        )
    })
}
