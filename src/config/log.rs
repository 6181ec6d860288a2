//! `[log]`: the log's format and filter.

use serde::{Deserialize, Serialize};

use super::values::checked_string;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `auto` (readable on a terminal, JSON otherwise), `pretty` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `barberpro=debug,info`. `RUST_LOG` overrides it.
    pub level: LogFilter,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: "info".parse().expect("a valid filter"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Pretty,
    Json,
}

checked_string! {
    /// A tracing filter (`info`, `barberpro=debug,info`).
    pub struct LogFilter;
    fn check(s) {
        match tracing_subscriber::EnvFilter::try_new(s) {
            Ok(_) => Ok(()),
            Err(_) => Err("not a valid filter (e.g. info, barberpro=debug)".into()),
        }
    }
}
