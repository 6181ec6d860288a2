//! Amounts as the front desk types them, in pesos, read into centavos exactly (no floats).
//!
//! Accepted: `12500`, `12.500`, `12.500,50`, `12500,5`, `$ 12.500,50`, and `12500.50` (what a
//! browser's number field sends). A comma is the decimal mark and dots group thousands; with
//! no comma, a single dot followed by one or two digits is the decimal mark (three digits
//! after it are a thousands group, as es-AR writes them). At most two decimals: a centavo is
//! the smallest unit, so nothing is ever rounded on the way in.

use super::CajaError;
use crate::domain::Money;

/// Reads an amount in pesos; see the module's rules.
pub fn parse_pesos(raw: &str) -> Result<Money, CajaError> {
    let s = raw
        .trim()
        .trim_start_matches('$')
        .trim_matches([' ', '\u{a0}']);
    if s.starts_with('-') {
        return Err(CajaError::Negative);
    }
    if s.is_empty()
        || s.len() > 32
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(CajaError::Unreadable);
    }
    let (int, dec) = match s.split_once(',') {
        Some((int, dec)) => {
            if dec.contains([',', '.']) {
                return Err(CajaError::Unreadable);
            }
            (ungroup(int)?, dec)
        }
        None => match s.split_once('.') {
            Some((int, dec)) if !dec.contains('.') && dec.len() <= 2 => (int.to_owned(), dec),
            Some((_, dec)) if !dec.contains('.') && dec.len() > 3 => {
                return Err(CajaError::TooManyDecimals);
            }
            _ => (ungroup(s)?, ""),
        },
    };
    if int.is_empty() && dec.is_empty() {
        return Err(CajaError::Unreadable);
    }
    if dec.len() > 2 {
        return Err(CajaError::TooManyDecimals);
    }
    let int = int.trim_start_matches('0');
    if int.len() > 9 {
        return Err(CajaError::TooLarge);
    }
    let pesos: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| CajaError::Unreadable)?
    };
    let cents: i64 = match dec.len() {
        0 => 0,
        1 => dec.parse::<i64>().map_err(|_| CajaError::Unreadable)? * 10,
        _ => dec.parse().map_err(|_| CajaError::Unreadable)?,
    };
    Money::from_centavos(pesos * 100 + cents).map_err(|_| CajaError::TooLarge)
}

/// `1.234.567` → `1234567`: every group after the first has three digits.
fn ungroup(int: &str) -> Result<String, CajaError> {
    let mut groups = int.split('.');
    let first = groups.next().unwrap_or_default();
    let mut out = first.to_owned();
    for g in groups {
        if g.len() != 3 || first.is_empty() {
            return Err(CajaError::Unreadable);
        }
        out.push_str(g);
    }
    Ok(out)
}

/// Signed centavos the es-AR way: `-$ 1.250,00`, `$ 0,50`.
pub fn format_signed(centavos: i64) -> String {
    let abs = Money::from_centavos(centavos.unsigned_abs().min(i64::MAX as u64) as i64)
        .map(|m| m.to_string())
        .unwrap_or_else(|_| format!("{} centavos", centavos.unsigned_abs()));
    if centavos < 0 { format!("-{abs}") } else { abs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(raw: &str) -> Result<i64, CajaError> {
        parse_pesos(raw).map(Money::centavos)
    }

    #[test]
    fn reads_the_ways_the_desk_types_pesos() {
        let cases = [
            ("12500", 1_250_000),
            ("12.500", 1_250_000),
            ("12.500,50", 1_250_050),
            ("12500,5", 1_250_050),
            ("$ 12.500,50", 1_250_050),
            ("12500.50", 1_250_050),
            ("0,01", 1),
            (",5", 50),
            ("1.234.567", 123_456_700),
            ("0", 0),
        ];
        for (raw, want) in cases {
            assert_eq!(c(raw), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        let cases = [
            ("-5", CajaError::Negative),
            ("", CajaError::Unreadable),
            ("abc", CajaError::Unreadable),
            ("1e5", CajaError::Unreadable),
            ("1,2,3", CajaError::Unreadable),
            ("12.50,5", CajaError::Unreadable),
            ("1,234", CajaError::TooManyDecimals),
            ("1.2345", CajaError::TooManyDecimals),
            ("10,001", CajaError::TooManyDecimals),
            ("99999999999", CajaError::TooLarge),
            ("10000001", CajaError::TooLarge),
            ("'; DROP TABLE", CajaError::Unreadable),
        ];
        for (raw, want) in cases {
            assert_eq!(c(raw), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn signed_amounts_are_shown_with_their_sign() {
        assert_eq!(format_signed(-125_000), "-$\u{a0}1.250,00");
        assert_eq!(format_signed(50), "$\u{a0}0,50");
    }

    proptest! {
        /// What the es-AR format shows reads back as the same centavos.
        #[test]
        fn the_shown_amount_reads_back(centavos in 0i64..=1_000_000_000) {
            let shown = Money::from_centavos(centavos).unwrap().to_string();
            prop_assert_eq!(c(&shown), Ok(centavos));
            let dotted = format!("{}.{:02}", centavos / 100, centavos % 100);
            prop_assert_eq!(c(&dotted), Ok(centavos));
        }

        /// Any string either reads as an amount or is refused; never a panic.
        #[test]
        fn any_string_is_read_or_refused(raw in ".{0,40}") {
            let _ = parse_pesos(&raw);
        }
    }
}
