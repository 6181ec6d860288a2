//! Barbers' commissions: the rules an owner sets per barber and what each sold line earns.
//!
//! A rule is a percentage (in basis points: 4000 = 40 %) or a fixed amount per service. The
//! base of a line is what it brought in after its share of the discount
//! ([`Checkout::line_bases`]). **Rounding**: each line's commission is rounded to the centavo
//! once, half up (`(base × bp + 5000) / 10000`), when the sale is recorded; the lines are
//! stored with the sale, and a period's total is the plain sum of its stored lines, so what
//! the report shows line by line always adds up to what is paid. Tips go entirely to the
//! barber; advances are subtracted; a voided sale adds the same lines with the opposite sign.

use serde::{Deserialize, Serialize};

use super::{CajaError, Checkout};
use crate::domain::{Money, ServiceId};

/// How much a line earns the barber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rate {
    /// Basis points of the line's base (0–10000).
    Percent(u32),
    /// A fixed amount per service done, whatever its price.
    Fixed(Money),
}

impl Rate {
    pub fn apply(self, base: i64) -> i64 {
        match self {
            Self::Percent(bp) => percent_of(base, bp),
            Self::Fixed(m) => m.centavos(),
        }
    }

    /// `40 %`, `37,5 %`, `$ 500,00 fijo`.
    pub fn describe(self) -> String {
        match self {
            Self::Percent(bp) => format!("{} %", percent_text(bp)),
            Self::Fixed(m) => format!("{m} fijo"),
        }
    }
}

/// `bp` basis points of `base` centavos, rounded half up to the centavo (half away from
/// zero for a negative base, so a void mirrors its sale exactly).
pub fn percent_of(base: i64, bp: u32) -> i64 {
    let n = i128::from(base.abs()) * i128::from(bp);
    let r = ((n + 5_000) / 10_000) as i64;
    if base < 0 { -r } else { r }
}

/// `4000` → `40`, `3750` → `37,5`.
pub fn percent_text(bp: u32) -> String {
    let (int, frac) = (bp / 100, bp % 100);
    match frac {
        0 => int.to_string(),
        f if f % 10 == 0 => format!("{int},{}", f / 10),
        f => format!("{int},{f:02}"),
    }
}

/// Reads `40`, `37,5` or `37.5` (%) into basis points: 0–100, at most two decimals.
pub fn parse_percent(raw: &str) -> Result<u32, CajaError> {
    let s = raw.trim();
    let s = s.strip_suffix('%').unwrap_or(s).trim().replace(',', ".");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() && frac.is_empty()
        || int.len() > 3
        || frac.len() > 2
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(CajaError::InvalidPercent);
    }
    let int: u32 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| CajaError::InvalidPercent)?
    };
    let frac: u32 = match frac.len() {
        0 => 0,
        1 => frac.parse::<u32>().map_err(|_| CajaError::InvalidPercent)? * 10,
        _ => frac.parse().map_err(|_| CajaError::InvalidPercent)?,
    };
    let bp = int * 100 + frac;
    if bp > 10_000 {
        return Err(CajaError::InvalidPercent);
    }
    Ok(bp)
}

/// A barber's rules. Without rules of their own a barber earns nothing but tips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionRules {
    /// For every service without a rule of its own.
    pub services: Rate,
    /// Rules for particular services.
    #[serde(default)]
    pub per_service: Vec<(ServiceId, Rate)>,
    /// Rules for a category of services (its name as the catalogue spells it; compared
    /// ignoring case), for services without a rule of their own.
    #[serde(default)]
    pub per_category: Vec<(String, Rate)>,
    /// Basis points of each product line.
    pub products: u32,
}

impl Default for CommissionRules {
    fn default() -> Self {
        Self {
            services: Rate::Percent(0),
            per_service: Vec::new(),
            per_category: Vec::new(),
            products: 0,
        }
    }
}

/// One peso-by-peso line of a barber's statement, stored with the sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionLine {
    /// `servicio`, `producto` or `propina`.
    pub kind: String,
    /// The service's or product's name.
    pub what: String,
    /// The line's base in centavos (after its share of the discount).
    pub base: i64,
    /// The rule applied, in words (`40 %`, `propina: 100 %`).
    pub rule: String,
    /// What the barber earns from it, in centavos.
    pub amount: i64,
}

/// Which of a barber's rules applied to a service line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// The rule set for that service.
    Service,
    /// The rule of the service's category (as named in the rules).
    Category(String),
    /// The rule for every other service.
    General,
}

impl CommissionRules {
    /// The rate for a service and where it comes from: the service's own rule, else its
    /// category's, else the general one.
    pub fn for_service(&self, id: ServiceId, category: Option<&str>) -> (Rate, RuleSource) {
        if let Some((_, r)) = self.per_service.iter().find(|(s, _)| *s == id) {
            return (*r, RuleSource::Service);
        }
        let by_category = category.and_then(|c| {
            let c = c.trim();
            self.per_category
                .iter()
                .find(|(name, _)| name.trim().to_lowercase() == c.to_lowercase())
        });
        match by_category {
            Some((name, r)) => (*r, RuleSource::Category(name.clone())),
            None => (self.services, RuleSource::General),
        }
    }

    /// What a checkout earns the barber, line by line (the tip last, when there is one);
    /// `category_of` names a service's category. Each service line's rule says which rule
    /// it was: `40 % (regla general)`, `35 % (categoría «Barba»)`, `$ 500,00 fijo (servicio)`.
    pub fn lines(
        &self,
        c: &Checkout,
        category_of: impl Fn(ServiceId) -> Option<String>,
    ) -> Vec<CommissionLine> {
        let bases = c.line_bases();
        let mut out = Vec::new();
        for (s, base) in c.services.iter().zip(&bases) {
            let category = category_of(s.service);
            let (rate, source) = self.for_service(s.service, category.as_deref());
            let from = match source {
                RuleSource::Service => "regla del servicio".to_owned(),
                RuleSource::Category(name) => format!("categoría «{name}»"),
                RuleSource::General => "regla general".to_owned(),
            };
            out.push(CommissionLine {
                kind: "servicio".into(),
                what: s.name.as_str().to_owned(),
                base: *base,
                rule: format!("{} ({from})", rate.describe()),
                amount: rate.apply(*base),
            });
        }
        for (p, base) in c.products.iter().zip(&bases[c.services.len()..]) {
            let rate = Rate::Percent(self.products);
            out.push(CommissionLine {
                kind: "producto".into(),
                what: format!("{} × {}", p.name.as_str(), p.qty),
                base: *base,
                rule: rate.describe(),
                amount: rate.apply(*base),
            });
        }
        if c.tip.centavos() > 0 {
            out.push(CommissionLine {
                kind: "propina".into(),
                what: "Propina".into(),
                base: c.tip.centavos(),
                rule: "100 %".into(),
                amount: c.tip.centavos(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::checkout::tests::{money, service};
    use super::super::{Draft, PaymentMethod, Tender};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentages_round_half_up_to_the_centavo() {
        // 40 % of $ 123,45 = 49,38; 37,5 % of $ 0,01 = 0,00375 → 0; of $ 0,02 = 0,0075 → 0,01.
        assert_eq!(percent_of(12_345, 4_000), 4_938);
        assert_eq!(percent_of(1, 3_750), 0);
        assert_eq!(percent_of(2, 3_750), 1);
        // Exactly half a centavo rounds up: 50 % of $ 0,01.
        assert_eq!(percent_of(1, 5_000), 1);
        assert_eq!(percent_of(-1, 5_000), -1, "a void mirrors its sale");
    }

    #[test]
    fn percentages_are_read_and_shown_the_es_ar_way() {
        assert_eq!(parse_percent("40"), Ok(4_000));
        assert_eq!(parse_percent("37,5"), Ok(3_750));
        assert_eq!(parse_percent("37.25 %"), Ok(3_725));
        assert_eq!(parse_percent("100"), Ok(10_000));
        for bad in ["101", "-5", "1,234", "abc", "", "40%%"] {
            assert_eq!(
                parse_percent(bad),
                Err(CajaError::InvalidPercent),
                "{bad:?}"
            );
        }
        assert_eq!(percent_text(3_750), "37,5");
        assert_eq!(percent_text(3_725), "37,25");
        assert_eq!(Rate::Fixed(money(50_000)).describe(), "$\u{a0}500,00 fijo");
    }

    #[test]
    fn a_service_rule_overrides_the_default_and_the_tip_is_whole() {
        let rules = CommissionRules {
            services: Rate::Percent(4_000),
            per_service: vec![(ServiceId(2), Rate::Fixed(money(50_000)))],
            products: 1_000,
            ..CommissionRules::default()
        };
        let c = Checkout::new(Draft {
            services: vec![service(1, 1_000_000), service(2, 300_000)],
            tip: money(20_000),
            tenders: vec![Tender {
                method: PaymentMethod::Efectivo,
                amount: money(1_320_000),
            }],
            ..Draft::default()
        })
        .unwrap();
        let lines = rules.lines(&c, |_| None);
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount).collect();
        assert_eq!(amounts, vec![400_000, 50_000, 20_000]);
        assert_eq!(lines[0].rule, "40 % (regla general)");
        assert_eq!(lines[1].rule, "$\u{a0}500,00 fijo (regla del servicio)");
    }

    #[test]
    fn a_category_rule_applies_when_the_service_has_none_and_rounds_half_up() {
        let rules = CommissionRules {
            services: Rate::Percent(4_000),
            per_service: vec![(ServiceId(3), Rate::Percent(5_000))],
            per_category: vec![("Barba".into(), Rate::Percent(3_750))],
            products: 0,
        };
        // $ 50,02 at 37,5 % = 18,7575 → 18,76; $ 50,01 → 18,75375 → 18,75; service 3 is in
        // the category too, but its own rule wins; service 4 has no category.
        let c = Checkout::new(Draft {
            services: vec![
                service(1, 5_002),
                service(2, 5_001),
                service(3, 10_000),
                service(4, 10_000),
            ],
            tenders: vec![Tender {
                method: PaymentMethod::Efectivo,
                amount: money(30_003),
            }],
            ..Draft::default()
        })
        .unwrap();
        let lines = rules.lines(&c, |id| (id.0 <= 3).then(|| "barba ".to_owned()));
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount).collect();
        assert_eq!(amounts, vec![1_876, 1_875, 5_000, 4_000]);
        assert_eq!(lines[0].rule, "37,5 % (categoría «Barba»)");
        assert_eq!(lines[2].rule, "50 % (regla del servicio)");
        assert_eq!(lines[3].rule, "40 % (regla general)");
    }

    proptest! {
        /// Rounding is never off by more than half a centavo, and a void mirrors exactly.
        #[test]
        fn rounding_is_within_half_a_centavo(base in 0i64..1_000_000_000, bp in 0u32..=10_000) {
            let r = percent_of(base, bp);
            let exact = i128::from(base) * i128::from(bp);
            let diff = i128::from(r) * 10_000 - exact;
            prop_assert!(diff > -5_000 && diff <= 5_000, "{base} × {bp} bp rounded to {r}");
            prop_assert_eq!(percent_of(-base, bp), -r);
        }
    }
}
