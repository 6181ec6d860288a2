//! `[metrics]`: the Prometheus listener.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The Prometheus (OpenMetrics) endpoint, on its own listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Address of the plain-HTTP metrics listener; keep it on loopback or a private network.
    pub listen: SocketAddr,
    /// A file holding a bearer token that scrapers must send. None: no token asked.
    pub bearer_token_file: Option<PathBuf>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            bearer_token_file: None,
        }
    }
}
