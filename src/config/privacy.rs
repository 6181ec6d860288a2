//! `[privacy]`: anonymising clients who stopped coming (Ley 25.326).

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Personal data (Ley 25.326): automatic anonymisation of clients who stopped coming.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Clients with no booking and no change for this many years are anonymised by the
    /// daily retention job (their bookings stay, without name, phone, e-mail or notes);
    /// 0 turns it off.
    pub anonymise_inactive_after_years: u32,
}

impl PrivacyConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.anonymise_inactive_after_years > 100 {
            return invalid(
                "privacy.anonymise_inactive_after_years",
                "must be at most 100 (0 turns it off)",
            );
        }
        Ok(())
    }
}
