//! Free text typed by people: names, notes, addresses.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Trimmed, non-empty, bounded text without control characters (other than newlines in
/// multi-line fields). Stored as given; escaping is the job of whatever shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(String);

/// The longest text any field keeps (a note); a stored or sent text past it is refused.
const STORED_MAX: usize = 10_000;

/// Read back (JSON, a stored row, a journal record) through the same checks as typed text:
/// trimmed, non-empty, no control characters but line breaks and tabs.
impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let text = Self::parse("text", &raw, STORED_MAX, true).map_err(serde::de::Error::custom)?;
        if text.0.len() != raw.len() {
            return Err(serde::de::Error::custom("text with surrounding spaces"));
        }
        Ok(text)
    }
}

impl Text {
    /// Parses a one-line field (`max` characters, not bytes).
    pub fn line(field: &'static str, raw: &str, max: usize) -> Result<Self, DomainError> {
        Self::parse(field, raw, max, false)
    }

    /// Parses a multi-line field such as notes.
    pub fn multiline(field: &'static str, raw: &str, max: usize) -> Result<Self, DomainError> {
        Self::parse(field, raw, max, true)
    }

    fn parse(
        field: &'static str,
        raw: &str,
        max: usize,
        newlines: bool,
    ) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::InvalidField {
                field,
                reason: "empty",
            });
        }
        if s.chars().count() > max {
            return Err(DomainError::InvalidField {
                field,
                reason: "too long",
            });
        }
        let bad = |c: char| c.is_control() && !(newlines && (c == '\n' || c == '\r' || c == '\t'));
        if s.chars().any(bad) {
            return Err(DomainError::InvalidField {
                field,
                reason: "control characters",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// A text written in the source code (trimmed, non-empty, no control characters).
    pub fn from_static(s: &'static str) -> Self {
        Self(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `s` as searches compare it: lowercase, without accents or other marks on letters (`Pérez`,
/// `PEREZ` and `perez` fold alike; `ñ` folds to `n`, `ü` to `u`), spaces collapsed. Covers
/// the Latin letters of Spanish, Portuguese, Italian and French names, and combining marks
/// typed apart from their letter.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'ý' | 'ÿ' => 'y',
            // Combining diacritical marks (a decomposed "é" is "e" + U+0301).
            '\u{300}'..='\u{36f}' => continue,
            c if c.is_whitespace() => {
                if !space {
                    out.push(' ');
                }
                space = true;
                continue;
            }
            c => c,
        };
        out.push(c);
        space = false;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_emoji_and_markup_as_given() {
        let t = Text::line("name", "  Juan 💈 <script>alert(1)</script> ", 100).unwrap();
        assert_eq!(t.as_str(), "Juan 💈 <script>alert(1)</script>");
    }

    #[test]
    fn folding_ignores_case_accents_and_extra_spaces() {
        for (raw, want) in [
            ("Pérez", "perez"),
            ("PÉREZ", "perez"),
            ("  José   María ", "jose maria"),
            ("Núñez", "nunez"),
            ("Güemes", "guemes"),
            ("Pe\u{301}rez", "perez"),
            ("François Çelik", "francois celik"),
            ("O'Brien 💈", "o'brien 💈"),
        ] {
            assert_eq!(fold(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert!(Text::line("name", "   ", 10).is_err());
        assert!(Text::line("name", &"a".repeat(11), 10).is_err());
        assert!(Text::line("name", "a\u{0}b", 10).is_err());
        assert!(Text::line("name", "a\nb", 10).is_err());
        assert!(Text::multiline("notes", "a\nb", 10).is_ok());
    }

    #[test]
    fn deserialising_goes_through_the_checks() {
        let t: Text = serde_json::from_str("\"Corte clásico\"").unwrap();
        assert_eq!(t.as_str(), "Corte clásico");
        assert!(serde_json::from_str::<Text>("\"  \"").is_err());
        assert!(serde_json::from_str::<Text>("\" padded \"").is_err());
        assert!(serde_json::from_str::<Text>("\"a\\u0000b\"").is_err());
        assert!(serde_json::from_str::<Text>("\"línea\\notra\"").is_ok());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Text::line("name", &"ñ".repeat(10), 10).is_ok());
    }
}
