//! Money on the wire and in the hub: `rust_decimal` amounts that travel as decimal strings
//! (`"86.50"`). A JSON number where money is expected is refused (it may already have lost
//! pence in a client's floating point), so the deserializer accepts only strings. Totals are
//! rounded half up to pence once, at the end ([`to_pence`]).
use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most decimal places an amount may carry (a unit cost of `"0.0125"` per minute).
pub const MAX_SCALE: u32 = 4;
/// The most digits before the decimal point (up to a trillion pounds).
pub const MAX_INTEGER_DIGITS: usize = 12;

/// What the 422 says when a JSON number is sent for money.
pub const NUMBER_REFUSED: &str =
    "money is a decimal string such as \"86.50\", not a JSON number (numbers lose pence)";

/// A non-negative amount of money, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    pub fn value(self) -> Decimal {
        self.0
    }

    /// Parses a decimal string: digits, optionally a point and at most [`MAX_SCALE`] places;
    /// no sign, exponent or spaces.
    pub fn parse(s: &str) -> Result<Amount, String> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|f| !digits(f)) {
            return Err(format!(
                "`{}` is not an amount: write digits with an optional decimal point, such as \
                 \"86.50\"",
                s.chars().take(40).collect::<String>()
            ));
        }
        if int.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
            return Err(format!(
                "an amount has at most {MAX_INTEGER_DIGITS} digits before the point"
            ));
        }
        if frac.is_some_and(|f| f.len() > MAX_SCALE as usize) {
            return Err(format!("an amount has at most {MAX_SCALE} decimal places"));
        }
        s.parse::<Decimal>()
            .map(Amount)
            .map_err(|e| format!("`{s}` is not an amount: {e}"))
    }

    /// The amount from an exact decimal (a stored value); negative values are refused.
    pub fn from_decimal(d: Decimal) -> Result<Amount, String> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(format!("amount {d} is negative"));
        }
        Ok(Amount(d))
    }

    /// The canonical stored text (no trailing zeros beyond two places).
    pub fn to_text(self) -> String {
        display(self.0)
    }
}

/// Rounds half up (away from zero) to pence.
pub fn to_pence(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A decimal as wire text with at least two places (`86.5` -> `"86.50"`).
pub fn display(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display(self.0))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&display(self.0))
    }
}

struct AmountVisitor;

impl Visitor<'_> for AmountVisitor {
    type Value = Amount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal string such as \"86.50\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
        Amount::parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Amount, E> {
        Err(E::custom(NUMBER_REFUSED))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Amount, E> {
        Err(E::custom(NUMBER_REFUSED))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Amount, E> {
        Err(E::custom(NUMBER_REFUSED))
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        d.deserialize_any(AmountVisitor)
    }
}

str_enum! {
    /// The currency of an amount; the hub keeps pounds sterling only.
    pub enum Currency ("currency") {
        Gbp = "GBP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_parse_and_numbers_are_refused() {
        let a: Amount = serde_json::from_str("\"86.50\"").unwrap();
        assert_eq!(a.to_string(), "86.50");
        let a: Amount = serde_json::from_str("\"199508\"").unwrap();
        assert_eq!(a.to_string(), "199508.00");
        for bad in ["86.5", "86", "0.1"] {
            let e = serde_json::from_str::<Amount>(bad).unwrap_err().to_string();
            assert!(e.contains("not a JSON number"), "{e}");
        }
        for bad in [
            "\"-1.00\"",
            "\"1e3\"",
            "\" 1\"",
            "\"1.12345\"",
            "\"\"",
            "\".5\"",
        ] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pence_round_half_up_once() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(to_pence(d("0.125")), d("0.13"));
        assert_eq!(to_pence(d("0.124999")), d("0.12"));
        assert_eq!(display(to_pence(d("2.5"))), "2.50");
    }
}
