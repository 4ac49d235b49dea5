//! Small-number protection for counts shown outside the agencies that hold the records: a
//! count from 1 to `threshold` is suppressed (published as `null` with `suppressed: true`),
//! any other is rounded to the nearest multiple of `base` (halves up), and never published
//! at or below `threshold` unless it is zero. A published count is therefore never between 1
//! and `threshold` and always a multiple of `base`. Thresholds come from configuration.
use serde::Serialize;

/// The rule in force (`threshold` and `base` from configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub threshold: u64,
    pub base: u64,
}

/// A count as it may be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Published {
    pub count: Option<u64>,
    pub suppressed: bool,
}

impl Rule {
    /// A rule; a base of 0 is taken as 1 (no rounding).
    pub fn new(threshold: u64, base: u64) -> Rule {
        Rule {
            threshold,
            base: base.max(1),
        }
    }

    /// `count` as it may be shown outside the agencies that hold the records.
    pub fn publish(self, count: u64) -> Published {
        if count == 0 {
            return Published {
                count: Some(0),
                suppressed: false,
            };
        }
        if count <= self.threshold {
            return Published {
                count: None,
                suppressed: true,
            };
        }
        let base = self.base.max(1);
        let mut rounded = count.saturating_add(base / 2) / base * base;
        // Rounding down must not land at or below the threshold: take the next multiple.
        if rounded <= self.threshold {
            rounded = (self.threshold / base + 1).saturating_mul(base);
        }
        Published {
            count: Some(rounded),
            suppressed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_default_rule_suppresses_one_to_seven_and_rounds_to_fives() {
        let r = Rule::new(7, 5);
        assert_eq!(r.publish(0).count, Some(0));
        for n in 1..=7 {
            assert_eq!(
                r.publish(n),
                Published {
                    count: None,
                    suppressed: true
                }
            );
        }
        assert_eq!(r.publish(8).count, Some(10));
        assert_eq!(r.publish(12).count, Some(10));
        assert_eq!(r.publish(13).count, Some(15));
        assert_eq!(r.publish(100).count, Some(100));
    }

    proptest! {
        #[test]
        fn a_published_count_is_never_small_and_always_a_multiple(
            count in 0u64..1_000_000, threshold in 0u64..50, base in 1u64..20
        ) {
            let p = Rule::new(threshold, base).publish(count);
            match p.count {
                None => {
                    prop_assert!(p.suppressed);
                    prop_assert!(count >= 1 && count <= threshold);
                }
                Some(c) => {
                    prop_assert!(!p.suppressed);
                    prop_assert!(c == 0 || c > threshold, "{c} within 1..={threshold}");
                    prop_assert_eq!(c % base, 0);
                    prop_assert_eq!(c == 0, count == 0);
                }
            }
        }

        #[test]
        fn the_default_rule_stays_within_half_a_base(count in 8u64..1_000_000) {
            let c = Rule::new(7, 5).publish(count).count.unwrap_or(0);
            prop_assert!(c.abs_diff(count) <= 2, "{count} -> {c}");
        }

        #[test]
        fn publishing_never_decreases_with_the_count(a in 0u64..100_000, b in 0u64..100_000) {
            let r = Rule::new(7, 5);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (pl, ph) = (r.publish(lo).count.unwrap_or(0), r.publish(hi).count.unwrap_or(0));
            prop_assert!(r.publish(hi).suppressed || pl <= ph);
        }
    }
}
