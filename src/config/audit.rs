//! `[audit]`: how long the audit log keeps its entries.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The audit log (`/admin/auditoria`, `barberpro audit export`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Entries older than this many days are deleted by the daily retention job; 0 keeps
    /// them forever.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 1825,
        }
    }
}

impl AuditConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.retention_days > 36_500 {
            return invalid(
                "audit.retention_days",
                "must be at most 36500 (0 keeps entries forever)",
            );
        }
        Ok(())
    }
}
