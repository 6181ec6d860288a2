//! Products: the owner keeps the catalogue (name, price, low-stock threshold); the front desk
//! adjusts a branch's stock with a reason. Sales take stock through `app::checkout`.

use serde_json::json;

use super::checkout::{require_front_desk, require_owner, staff_id};
use super::{Actor, App, AppError};
use crate::domain::caja::{Product, ProductId};
use crate::domain::{BranchId, DomainError, Money, Text};
use crate::store::{StoreError, audit, catalog, products};

/// Adds a product; audited `product.create`.
pub async fn create(
    app: &App,
    actor: &Actor,
    name: &str,
    price: Money,
    low_stock: u32,
) -> Result<Product, AppError> {
    require_owner(actor)?;
    let name = Text::line("nombre", name, 80)?;
    let now = app.clock.now();
    let a = actor.change("product.create", "product", None);
    Ok(app
        .store
        .write(move |txn| {
            let p = products::create(txn, name, price, low_stock)?;
            let a = audit::Change {
                entity_id: Some(p.id.0),
                after: audit::snapshot(&p),
                ..a
            };
            audit::record(txn, a, now)?;
            Ok(p)
        })
        .await?)
}

/// Changes a product's name, price, threshold or whether it is sold; audited `product.update`.
pub async fn update(
    app: &App,
    actor: &Actor,
    id: ProductId,
    name: &str,
    price: Money,
    low_stock: u32,
    active: bool,
) -> Result<Product, AppError> {
    require_owner(actor)?;
    let name = Text::line("nombre", name, 80)?;
    let now = app.clock.now();
    let a = actor.change("product.update", "product", Some(id.0));
    Ok(app
        .store
        .write(move |txn| {
            let p = Product {
                id,
                name,
                price,
                low_stock,
                active,
            };
            let before = products::update(txn, &p)?;
            audit::record(txn, a.between(&before, &p), now)?;
            Ok(p)
        })
        .await?)
}

/// Adds (or, negative, removes) units of a product at a branch, with a reason; audited
/// `stock.adjust`. Refused when it would leave the stock below zero.
pub async fn adjust(
    app: &App,
    actor: &Actor,
    id: ProductId,
    branch: BranchId,
    delta: i64,
    reason: &str,
) -> Result<products::Adjustment, AppError> {
    require_front_desk(actor)?;
    let reason = Text::line("motivo", reason, 200)?;
    if delta == 0 {
        return Err(DomainError::Caja(crate::domain::caja::CajaError::InvalidQuantity).into());
    }
    let now = app.clock.now();
    let by = staff_id(actor);
    let a = actor.change("stock.adjust", "product", Some(id.0));
    Ok(app
        .store
        .write(move |txn| {
            if catalog::load(txn)?.branch(branch).is_none() {
                return Err(StoreError::Rule(DomainError::UnknownBranch));
            }
            let adj = products::adjust(txn, id, branch, delta, reason, now, by)?;
            let a = audit::Change {
                after: audit::json(json!({"branch": branch.0, "delta": delta, "after": adj.after})),
                ..a
            };
            audit::record(txn, a, now)?;
            Ok(adj)
        })
        .await?)
}
