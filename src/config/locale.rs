//! `[locale]`: the time zone and language of messages and pages.

use serde::{Deserialize, Serialize};

use super::values::checked_string;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocaleConfig {
    pub time_zone: TimeZoneName,
    pub language: Language,
}

impl Default for LocaleConfig {
    fn default() -> Self {
        Self {
            time_zone: crate::domain::catalog::DEFAULT_TZ
                .parse()
                .expect("a zone of the bundled tz database"),
            language: "es-AR".parse().expect("the one language"),
        }
    }
}

checked_string! {
    /// An IANA time zone name found in the tz database (never a fixed offset).
    pub struct TimeZoneName;
    fn check(s) {
        crate::domain::time::time_zone(s)
            .map(|_| ())
            .map_err(|_| "not a time zone of the tz database".to_owned())
    }
}

checked_string! {
    /// The language of messages and pages.
    pub struct Language;
    fn check(s) {
        if s == "es-AR" {
            Ok(())
        } else {
            Err("only es-AR is available".into())
        }
    }
}
