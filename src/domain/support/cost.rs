//! Exact cost: days or units × unit cost, kept unrounded and summed exactly, then rounded half
//! up to pence once, at the end.
//!
//! A quantity is kept in 1/[`DENOMINATOR`] parts of its unit (the least common multiple of 7
//! days a week and 3,600 seconds an hour), so a week's fraction of nights and an hour's
//! fraction of seconds are whole numbers and every sum is exact; only the final division and
//! rounding ([`Exact::pence`]) leave the integers.
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::money::{to_pence, Amount};
use super::{Per, Vat};

/// Parts of a unit that quantities and costs are counted in.
pub const DENOMINATOR: i64 = 25_200;

/// A service's price: amount per unit, and how VAT applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitCost {
    pub amount: Amount,
    pub per: Per,
    pub vat: Vat,
}

/// An exact cost, in 1/[`DENOMINATOR`] pounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Exact(Decimal);

/// A cost too large to compute (beyond about 10^24 pounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl Exact {
    pub const ZERO: Exact = Exact(Decimal::ZERO);

    /// The exact amount of `a`.
    pub fn of(a: Amount) -> Result<Exact, Overflow> {
        a.value()
            .checked_mul(Decimal::from(DENOMINATOR))
            .map(Exact)
            .ok_or(Overflow)
    }

    pub fn checked_add(self, other: Exact) -> Result<Exact, Overflow> {
        self.0.checked_add(other.0).map(Exact).ok_or(Overflow)
    }

    pub fn checked_sub(self, other: Exact) -> Result<Exact, Overflow> {
        self.0.checked_sub(other.0).map(Exact).ok_or(Overflow)
    }

    /// The exact sum of `costs`.
    pub fn sum(costs: impl IntoIterator<Item = Exact>) -> Result<Exact, Overflow> {
        costs
            .into_iter()
            .try_fold(Exact::ZERO, |acc, c| acc.checked_add(c))
    }

    /// Rounded half up to pence: the only rounding a cost ever sees.
    pub fn pence(self) -> Decimal {
        // The quotient is exact whenever it terminates within 28 digits, and never close
        // enough to a half penny to round the wrong way otherwise.
        to_pence(self.0 / Decimal::from(DENOMINATOR))
    }
}

/// How much of `per` a placement from `start` to `end` used, in 1/[`DENOMINATOR`] units:
/// nights are calendar nights (UTC dates crossed), a week is seven nights, an hour is 3,600
/// seconds, and a case is one whatever its length.
pub fn quantity(per: Per, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let nights = (end.date_naive() - start.date_naive()).num_days().max(0);
    let seconds = (end - start).num_seconds().max(0);
    match per {
        Per::Night => nights.saturating_mul(DENOMINATOR),
        Per::Week => nights.saturating_mul(DENOMINATOR / 7),
        Per::Hour => seconds.saturating_mul(DENOMINATOR / 3600),
        Per::Case => DENOMINATOR,
    }
}

/// The exact cost of a placement from `start` to `end` at `cost`, with VAT at `vat_rate`
/// (`0.20`) where it is added.
pub fn placement_cost(
    cost: &UnitCost,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    vat_rate: Decimal,
) -> Result<Exact, Overflow> {
    let q = Decimal::from(quantity(cost.per, start, end));
    let mut c = q.checked_mul(cost.amount.value()).ok_or(Overflow)?;
    if cost.vat == Vat::Added {
        let factor = Decimal::ONE.checked_add(vat_rate).ok_or(Overflow)?;
        c = c.checked_mul(factor).ok_or(Overflow)?;
    }
    Ok(Exact(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn amount(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T21:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn unit(a: &str, per: Per, vat: Vat) -> UnitCost {
        UnitCost {
            amount: amount(a),
            per,
            vat,
        }
    }

    #[test]
    fn nights_weeks_hours_and_cases() {
        let rate = "0.20".parse().unwrap();
        let night = unit("86.50", Per::Night, Vat::Exempt);
        let end = t0() + Duration::hours(12);
        assert_eq!(
            placement_cost(&night, t0(), end, rate)
                .unwrap()
                .pence()
                .to_string(),
            "86.50"
        );
        let week = unit("100.00", Per::Week, Vat::Exempt);
        let three = t0() + Duration::days(3);
        // 3/7 of 100.00 = 42.857142..., rounded once.
        assert_eq!(
            placement_cost(&week, t0(), three, rate)
                .unwrap()
                .pence()
                .to_string(),
            "42.86"
        );
        let hour = unit("45.00", Per::Hour, Vat::Added);
        let ninety = t0() + Duration::minutes(90);
        assert_eq!(
            placement_cost(&hour, t0(), ninety, rate)
                .unwrap()
                .pence()
                .to_string(),
            "81.00"
        );
        let case = unit("860.00", Per::Case, Vat::Included);
        assert_eq!(
            placement_cost(&case, t0(), t0(), rate)
                .unwrap()
                .pence()
                .to_string(),
            "860.00"
        );
    }

    #[test]
    fn rounding_happens_once_at_the_end() {
        // Seven placements of one day at 1/7 of a week of 1.00: each is 0.142857...; rounded
        // one by one they would sum to 0.98, exactly they sum to 1.00.
        let week = unit("1.00", Per::Week, Vat::Exempt);
        let rate = Decimal::ZERO;
        let one = placement_cost(&week, t0(), t0() + Duration::days(1), rate).unwrap();
        assert_eq!(one.pence().to_string(), "0.14");
        let total = Exact::sum(std::iter::repeat_n(one, 7)).unwrap();
        assert_eq!(total.pence().to_string(), "1.00");
    }

    #[test]
    fn large_contract_values_stay_exact() {
        let value = Exact::of(amount("999999999999.99")).unwrap();
        let spent = Exact::of(amount("0.01")).unwrap();
        let left = value.checked_sub(spent).unwrap();
        assert_eq!(left.pence().to_string(), "999999999999.98");
    }

    proptest! {
        #[test]
        fn many_small_amounts_sum_exactly(pence in proptest::collection::vec(0u32..100, 1..2000)) {
            let costs: Vec<Exact> = pence
                .iter()
                .map(|p| Exact::of(Amount::parse(&format!("0.{p:02}")).unwrap()).unwrap())
                .collect();
            let total: u64 = pence.iter().map(|p| u64::from(*p)).sum();
            let want = Decimal::from(total) / Decimal::from(100);
            prop_assert_eq!(Exact::sum(costs).unwrap().pence(), want);
        }
    }
}
