//! The use cases' one error type; the HTTP layer maps it once (JSON for the API, a page or a
//! flash for the admin and the booking pages).

use crate::domain::DomainError;
use crate::store::StoreError;

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A rule refused it (unknown booking, taken slot, too late to cancel…): the domain's
    /// stable code and Spanish message, a 4xx.
    #[error(transparent)]
    Rule(DomainError),
    /// This actor may not do this (a barbero on another barber's booking): 403.
    #[error("forbidden")]
    Forbidden,
    /// The store failed or stopped: 5xx, nothing was changed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(rule) => Self::Rule(rule),
            other => Self::Store(other),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        Self::Rule(e)
    }
}

impl AppError {
    /// The rule that refused the change, if one did.
    pub fn rule(&self) -> Option<&DomainError> {
        match self {
            Self::Rule(r) => Some(r),
            _ => None,
        }
    }
}
