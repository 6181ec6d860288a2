//! Phone numbers, normalised to E.164 with Argentina's mobile rules.

use phonenumber::country::Id as Country;
use serde::{Deserialize, Serialize};

use super::DomainError;

/// A phone number in E.164 form (`+5491123456789`). Parsed with libphonenumber's rules for
/// Argentina: `011 15-2345-6789` (domestic mobile with trunk `0` and `15`) becomes
/// `+5491123456789`. International numbers with a `+` prefix are accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 32 {
            return Err(DomainError::InvalidPhone);
        }
        let number =
            phonenumber::parse(Some(Country::AR), raw).map_err(|_| DomainError::InvalidPhone)?;
        if !phonenumber::is_valid(&number) || drops_italian_leading_zero(raw, &number) {
            return Err(DomainError::InvalidPhone);
        }
        Ok(Self(e164(&number)))
    }

    /// Loads the numbering plans (and compiles their patterns) now, not in the first
    /// request that parses a phone: the first parse takes about 200 ms.
    pub fn warm_up() {
        for sample in ["+54 9 11 2345-6789", "(011) 4321-1234"] {
            let _ = Self::parse(sample);
        }
    }

    /// Rebuilds a phone already stored in E.164 form (no re-validation).
    pub fn from_e164_unchecked(e164: String) -> Self {
        Self(e164)
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }
}

/// Whether `phonenumber` lost the leading zero of an Italian number: Italian landlines keep
/// their `0` after `+39` (`+39 06 6982 3500`, Rome), but the crate drops it, and what is left
/// can pass as somebody else's mobile (`+39 0331 123456` would become `+39331123456`). Such a
/// number is refused rather than stored wrong: confirmations would go to a stranger.
fn drops_italian_leading_zero(raw: &str, number: &phonenumber::PhoneNumber) -> bool {
    if number.code().value() != 39 {
        return false;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = number.national().to_string();
    digits
        .strip_suffix(national.as_str())
        .is_some_and(|before| before.ends_with("390"))
}

/// E.164 is `+`, the country code and the national significant number (with any leading
/// zeros): exactly what `number.format().mode(Mode::E164)` writes, without the search for a
/// national display pattern that the crate's formatter does first for every mode (a quarter
/// of a parse's cost in the booking benchmark).
fn e164(number: &phonenumber::PhoneNumber) -> String {
    format!("+{}{}", number.country().code(), number.national())
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_argentine_numbers_to_e164() {
        let cases = [
            ("011 15-2345-6789", "+5491123456789"),
            ("11 2345-6789", "+541123456789"),
            ("+54 9 11 2345-6789", "+5491123456789"),
            ("+5491123456789", "+5491123456789"),
            ("0351 15 423-4567", "+5493514234567"),
            ("(011) 4321-1234", "+541143211234"),
        ];
        for (raw, want) in cases {
            let got = Phone::parse(raw).map(|p| p.0);
            assert_eq!(got.as_deref(), Ok(want), "parsing {raw:?}");
        }
    }

    #[test]
    fn e164_is_what_the_crates_formatter_writes() {
        // Argentina, Italy (a leading zero), the UK, the US, Uruguay; valid or not.
        for raw in [
            "+54 9 11 2345-6789",
            "+54 351 423-4567",
            "+39 06 6982 3500",
            "+39 0331 123456",
            "+44 20 7946 0958",
            "+1 415 555 2671",
            "+598 94 231 234",
        ] {
            let number = phonenumber::parse(Some(Country::AR), raw).unwrap();
            let crate_e164 = number.format().mode(phonenumber::Mode::E164).to_string();
            assert_eq!(e164(&number), crate_e164, "{raw}");
            if let Ok(phone) = Phone::parse(raw) {
                assert_eq!(phone.as_e164(), crate_e164, "{raw}");
            }
        }
    }

    #[test]
    fn an_italian_number_whose_leading_zero_the_crate_drops_is_refused() {
        for raw in ["+39 06 6982 3500", "+39 0331 123456", "0039 0331 123456"] {
            assert_eq!(Phone::parse(raw), Err(DomainError::InvalidPhone), "{raw:?}");
        }
        // An Italian mobile (no leading zero) is fine.
        assert_eq!(
            Phone::parse("+39 312 345 6789").map(|p| p.0),
            Ok("+393123456789".to_owned())
        );
    }

    #[test]
    fn refuses_garbage() {
        for raw in [
            "",
            "hola",
            "123",
            "<script>",
            "+54 9 11 2345-6789-0000-1111",
            "💈💈💈",
        ] {
            assert_eq!(Phone::parse(raw), Err(DomainError::InvalidPhone), "{raw:?}");
        }
    }
}
