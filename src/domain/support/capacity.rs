//! Occupancy against capacity: a service takes a new placement only while fewer people are
//! placed with it than its places, unless its provider recorded an exception (extra places
//! for a time, with a reason) in force at that moment.
use chrono::{DateTime, Utc};

/// Extra places a provider allows for a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityException {
    pub extra_places: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl CapacityException {
    pub fn in_force(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && self.ends_at.is_none_or(|e| at < e)
    }
}

/// The most people the service may hold at `at`.
pub fn limit(places: u32, exceptions: &[CapacityException], at: DateTime<Utc>) -> u32 {
    exceptions
        .iter()
        .filter(|e| e.in_force(at))
        .fold(places, |n, e| n.saturating_add(e.extra_places))
}

/// Whether one more person may be placed at `at` with `occupied` placed already; the error
/// explains the refusal.
pub fn admit(
    places: u32,
    occupied: u32,
    exceptions: &[CapacityException],
    at: DateTime<Utc>,
) -> Result<(), String> {
    let limit = limit(places, exceptions, at);
    if occupied < limit {
        return Ok(());
    }
    Err(if limit > places {
        format!(
            "the service is full: {occupied} placed against {places} places and the \
             provider's exception for {} more",
            limit - places
        )
    } else {
        format!(
            "the service is full: {occupied} placed against {places} places; the provider \
             may record a capacity exception"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn full_services_refuse_unless_an_exception_is_in_force() {
        let now = DateTime::UNIX_EPOCH + Duration::days(100);
        assert!(admit(2, 1, &[], now).is_ok());
        assert!(admit(2, 2, &[], now).is_err());
        let e = CapacityException {
            extra_places: 1,
            starts_at: now - Duration::days(1),
            ends_at: Some(now + Duration::days(1)),
        };
        assert!(admit(2, 2, std::slice::from_ref(&e), now).is_ok());
        assert!(admit(2, 3, std::slice::from_ref(&e), now).is_err());
        assert!(admit(2, 2, std::slice::from_ref(&e), now + Duration::days(2)).is_err());
    }
}
