//! `[admin]`: staff sessions and the first-owner setup link.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The staff admin UI (`/admin`): session lifetimes and the first-owner setup link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// A session unused for this many minutes is over (idle timeout).
    pub session_idle_minutes: u32,
    /// A session is over this many hours after login, however busy (absolute lifetime).
    pub session_lifetime_hours: u32,
    /// Hours the one-time setup link (logged when there is no owner) stays valid.
    pub setup_link_hours: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 60,
            session_lifetime_hours: 12,
            setup_link_hours: 24,
        }
    }
}

impl AdminConfig {
    pub fn session_limits(&self) -> crate::domain::staff::SessionLimits {
        crate::domain::staff::SessionLimits {
            idle: jiff::SignedDuration::from_mins(i64::from(self.session_idle_minutes)),
            absolute: jiff::SignedDuration::from_hours(i64::from(self.session_lifetime_hours)),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            return invalid("admin.session_idle_minutes", "must be between 1 and 1440");
        }
        if !(1..=24 * 30).contains(&self.session_lifetime_hours) {
            return invalid("admin.session_lifetime_hours", "must be between 1 and 720");
        }
        if !(1..=24 * 7).contains(&self.setup_link_hours) {
            return invalid("admin.setup_link_hours", "must be between 1 and 168");
        }
        Ok(())
    }
}
