//! The catalogue's services: the owner adds one or changes it. A service booked ahead is not
//! taken off until those bookings are dealt with.

use super::booked::{self, Checked};
use super::{Actor, App, AppError};
use crate::domain::{BarberId, DomainError, Service};
use crate::store::{StoreError, audit, catalog};

/// Adds `service` (its id is given here); no barber does it until ticked in their services.
/// Audited as `service.create` with the new service.
pub async fn create(app: &App, actor: &Actor, service: Service) -> Result<Service, AppError> {
    let now = app.clock.now();
    let actor = actor.clone();
    let created = app
        .store
        .write(move |txn| {
            let created = catalog::insert_service(txn, service)?;
            let entry = audit::Change {
                after: audit::snapshot(&created),
                ..actor.change("service.create", "service", Some(created.id.0))
            };
            audit::record(txn, entry, now)?;
            Ok(created)
        })
        .await?;
    Ok(created)
}

/// Replaces the service with `service.id` (name, duration, buffer, price, active). Taking it
/// off is refused while any barber has it booked ahead. Audited as `service.update` with the
/// service before and after; an unknown id is `UnknownService`.
pub async fn update(
    app: &App,
    actor: &Actor,
    service: Service,
) -> Result<Checked<Service>, AppError> {
    let now = app.clock.now();
    let id = service.id;
    let entry = actor.change("service.update", "service", Some(id.0));
    let result = app
        .store
        .write(move |txn| {
            if !service.active {
                let barbers: Vec<BarberId> = catalog::barbers(txn)?.iter().map(|b| b.id).collect();
                let found = booked::ahead(txn, &barbers, now, |b| {
                    b.services.iter().any(|s| s.id == id)
                })?;
                if let Err(in_the_way) = booked::refuse_if_any(txn, &found)? {
                    return Ok(Err(in_the_way));
                }
            }
            let Some((before, after)) = catalog::update_service(txn, service)? else {
                return Err(StoreError::Rule(DomainError::UnknownService(id.0)));
            };
            audit::record(txn, entry.between(&before, &after), now)?;
            Ok(Ok(after))
        })
        .await?;
    Ok(result)
}
