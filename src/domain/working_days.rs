//! Working days for the referral deadlines (pure): acknowledgement within one working day
//! (Working Together to Safeguard Children 2023) and the reasonable grounds decision target of
//! five working days after an NRM submission.
//!
//! A working day is Monday to Friday in UK local time (GMT, or BST from 01:00 UTC on the last
//! Sunday of March to 01:00 UTC on the last Sunday of October) that is not a bank holiday from
//! the configured list (`referrals.bank_holidays`, England and Wales by default). A deadline
//! of `n` working days falls at the same local time `n` working days later; something that
//! arrives on a weekend or bank holiday starts the count at 00:00 of the next working day, so
//! one working day then ends at the close of that day.
use chrono::{
    DateTime, Datelike, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday,
};

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month.checked_add(1)?, 1)?
    };
    let last = first_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_days(Days::new(u64::from(back)))
}

/// Whether the instant `t` falls in British Summer Time.
pub fn is_bst(t: DateTime<Utc>) -> bool {
    let year = t.year();
    let (Some(start), Some(end)) = (last_sunday(year, 3), last_sunday(year, 10)) else {
        return false;
    };
    let one = NaiveTime::from_hms_opt(1, 0, 0).unwrap_or(NaiveTime::MIN);
    let (start, end) = (start.and_time(one).and_utc(), end.and_time(one).and_utc());
    t >= start && t < end
}

/// UK local wall-clock time of `t`.
pub fn uk_local(t: DateTime<Utc>) -> NaiveDateTime {
    if is_bst(t) {
        t.naive_utc() + Duration::hours(1)
    } else {
        t.naive_utc()
    }
}

/// The instant of UK local wall-clock time `local` (in the hour the clocks skip or repeat,
/// either reading is accepted).
pub fn from_uk_local(local: NaiveDateTime) -> DateTime<Utc> {
    let summer = (local - Duration::hours(1)).and_utc();
    if is_bst(summer) {
        summer
    } else {
        local.and_utc()
    }
}

/// Which days count as working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: Vec<NaiveDate>,
}

impl Calendar {
    pub fn new(mut holidays: Vec<NaiveDate>) -> Self {
        holidays.sort();
        holidays.dedup();
        Calendar { holidays }
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            && self.holidays.binary_search(&d).is_err()
    }

    /// The first working day after `d`.
    fn next_working_day(&self, d: NaiveDate) -> NaiveDate {
        let mut day = d;
        // A year of holidays cannot hide every day of a month; the bound keeps this total.
        for _ in 0..366 {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
            if self.is_working_day(day) {
                return day;
            }
        }
        day
    }

    /// The deadline `n` working days after `start`.
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = uk_local(start);
        let (mut day, time) = if self.is_working_day(local.date()) {
            (local.date(), local.time())
        } else {
            (self.next_working_day(local.date()), NaiveTime::MIN)
        };
        for _ in 0..n {
            day = self.next_working_day(day);
        }
        from_uk_local(day.and_time(time))
    }

    /// The latest start whose deadline `n` working days on can have passed by `now`: any
    /// later start falls due after `now`. Each working day moves the deadline at least one
    /// calendar day and keeps the local time of day, and UK local time is at most an hour
    /// from UTC's, so a deadline is never earlier than `start + n days - 1 hour`.
    pub fn latest_start_due_by(&self, now: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(n)) + chrono::Duration::hours(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_start_after_the_bound_is_due_by_now() {
        let c = Calendar::default();
        // Every half hour over a year (both clock changes), for 0, 1 and 5 working days.
        let first = t("2026-01-01T00:00:00Z");
        for n in [0u32, 1, 5] {
            for step in 0..(366 * 48) {
                let start = first + chrono::Duration::minutes(30 * step);
                let due = c.add_working_days(start, n);
                let bound = c.latest_start_due_by(due, n);
                assert!(
                    start <= bound,
                    "start {start} due {due} after bound {bound} ({n} days)"
                );
            }
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn summer_time_boundaries() {
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert!(!is_bst(t("2026-03-29T00:59:59Z")));
        assert!(is_bst(t("2026-03-29T01:00:00Z")));
        assert!(is_bst(t("2026-10-25T00:59:59Z")));
        assert!(!is_bst(t("2026-10-25T01:00:00Z")));
        assert_eq!(
            uk_local(t("2026-06-01T09:00:00Z")).to_string(),
            "2026-06-01 10:00:00"
        );
        assert_eq!(
            from_uk_local(uk_local(t("2026-06-01T09:00:00Z"))),
            t("2026-06-01T09:00:00Z")
        );
        assert_eq!(
            from_uk_local(uk_local(t("2026-12-01T09:00:00Z"))),
            t("2026-12-01T09:00:00Z")
        );
    }

    #[test]
    fn weekdays_skip_weekends() {
        let c = Calendar::default();
        // Monday 10:00 local -> Tuesday 10:00 local.
        assert_eq!(
            c.add_working_days(t("2026-06-01T09:00:00Z"), 1),
            t("2026-06-02T09:00:00Z")
        );
        // Friday afternoon -> Monday afternoon.
        assert_eq!(
            c.add_working_days(t("2026-06-05T14:00:00Z"), 1),
            t("2026-06-08T14:00:00Z")
        );
        // Saturday -> the end of Monday (00:00 local on Tuesday).
        assert_eq!(
            c.add_working_days(t("2026-06-06T11:00:00Z"), 1),
            t("2026-06-08T23:00:00Z")
        );
        // Five working days from a Wednesday is the next Wednesday.
        assert_eq!(
            c.add_working_days(t("2026-06-03T09:00:00Z"), 5),
            t("2026-06-10T09:00:00Z")
        );
        // Friday 23:30 UTC in summer is already Saturday in the UK.
        assert_eq!(
            c.add_working_days(t("2026-06-05T23:30:00Z"), 1),
            t("2026-06-08T23:00:00Z")
        );
    }

    #[test]
    fn bank_holidays_are_skipped() {
        let c = Calendar::new(vec![d("2026-12-25"), d("2026-12-28"), d("2026-08-31")]);
        assert!(!c.is_working_day(d("2026-08-31")));
        // Friday 28 August -> Tuesday 1 September (Monday is the summer bank holiday).
        assert_eq!(
            c.add_working_days(t("2026-08-28T09:00:00Z"), 1),
            t("2026-09-01T09:00:00Z")
        );
        // Thursday 24 December (GMT) -> Tuesday 29 December.
        assert_eq!(
            c.add_working_days(t("2026-12-24T16:00:00Z"), 1),
            t("2026-12-29T16:00:00Z")
        );
    }
}
