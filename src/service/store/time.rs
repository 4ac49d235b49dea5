//! Conversions between the domain's `DateTime<Utc>` and the `NaiveDateTime` (UTC) that the
//! multi-backend connection stores.
use chrono::{DateTime, NaiveDateTime, Utc};

pub fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

pub fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
