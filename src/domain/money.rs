//! Argentine pesos, kept as integer centavos.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// An amount in ARS centavos; never negative. Shown the es-AR way: `$ 12.500,00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

/// Read back (JSON, a stored row) through [`Money::from_centavos`]: never negative or absurd.
impl TryFrom<i64> for Money {
    type Error = DomainError;

    fn try_from(centavos: i64) -> Result<Self, DomainError> {
        Self::from_centavos(centavos)
    }
}

impl From<Money> for i64 {
    fn from(m: Money) -> i64 {
        m.0
    }
}

/// Ten million pesos: above any haircut, below any overflow.
const MAX_CENTAVOS: i64 = 1_000_000_000;

impl Money {
    pub fn from_centavos(centavos: i64) -> Result<Self, DomainError> {
        if (0..=MAX_CENTAVOS).contains(&centavos) {
            Ok(Self(centavos))
        } else {
            Err(DomainError::InvalidAmount)
        }
    }

    pub fn from_pesos(pesos: i64) -> Result<Self, DomainError> {
        Self::from_centavos(pesos.checked_mul(100).ok_or(DomainError::InvalidAmount)?)
    }

    pub fn centavos(self) -> i64 {
        self.0
    }

    /// Sum of amounts; saturates at the maximum (a basket of services can't reach it).
    pub fn sum(items: impl IntoIterator<Item = Money>) -> Money {
        Money(
            items
                .into_iter()
                .map(|m| m.0)
                .sum::<i64>()
                .min(MAX_CENTAVOS),
        )
    }
}

impl std::fmt::Display for Money {
    /// CLDR es-AR: `¤ #,##0.00` with a no-break space, `.` grouping, `,` decimals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pesos = (self.0 / 100).to_string();
        let mut grouped = String::with_capacity(pesos.len() + pesos.len() / 3);
        for (i, c) in pesos.chars().enumerate() {
            if i > 0 && (pesos.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(c);
        }
        write!(f, "$\u{a0}{grouped},{:02}", self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_es_ar_way() {
        let cases = [
            (1_250_000, "$\u{a0}12.500,00"),
            (0, "$\u{a0}0,00"),
            (99, "$\u{a0}0,99"),
            (100_000_000, "$\u{a0}1.000.000,00"),
            (12_345, "$\u{a0}123,45"),
        ];
        for (centavos, want) in cases {
            assert_eq!(Money::from_centavos(centavos).unwrap().to_string(), want);
        }
    }

    #[test]
    fn refuses_negative_and_absurd_amounts() {
        assert!(Money::from_centavos(-1).is_err());
        assert!(Money::from_centavos(MAX_CENTAVOS + 1).is_err());
        assert!(Money::from_pesos(i64::MAX).is_err());
    }
}
