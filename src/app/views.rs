//! Reads of personal data that the audit log keeps (Ley 25.326: who saw whose record): the
//! read and its entries happen in one write transaction, so a view is logged exactly when it
//! was shown.

use serde_json::value::RawValue;

use super::{Actor, App, AppError};
use crate::store::{ReadOnly, StoreError, audit};

/// One thing a read showed: action, entity, its id, and what identifies the view.
type Shown = (
    &'static str,
    &'static str,
    Option<u64>,
    Option<Box<RawValue>>,
);

/// What a read showed, to be logged by [`read_logged`].
#[derive(Debug, Default)]
pub struct Seen(Vec<Shown>);

impl Seen {
    /// `action` on `entity` `id` (e.g. `client.view`, `client`, 12), with what identifies the
    /// view when there is no id (e.g. the agenda's branch and day), kept as the audit log
    /// keeps details.
    pub fn push(
        &mut self,
        action: &'static str,
        entity: &'static str,
        id: Option<u64>,
        detail: Option<serde_json::Value>,
    ) {
        self.0
            .push((action, entity, id, detail.and_then(audit::json)));
    }
}

/// Runs `read` (which may only read) and logs what it says it showed, as `actor`, in the
/// same transaction.
pub async fn read_logged<T, F>(app: &App, actor: &Actor, read: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&ReadOnly<'_>, &mut Seen) -> Result<T, StoreError> + Send + 'static,
{
    let now = app.clock.now();
    let actor = actor.clone();
    Ok(app
        .store
        .write(move |txn| {
            let mut seen = Seen::default();
            let value = read(&ReadOnly::new(txn), &mut seen)?;
            for (action, entity, id, detail) in seen.0 {
                let change = audit::Change {
                    after: detail,
                    ..actor.change(action, entity, id)
                };
                audit::record(txn, change, now)?;
            }
            Ok(value)
        })
        .await?)
}
