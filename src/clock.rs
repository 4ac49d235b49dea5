//! The one place that reads the time. Everything else takes a [`Clock`] and asks it, so tests
//! can move time forward: agreements expire, reviews and acknowledgements fall due.
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

/// A source of the current time, shared across the application.
#[derive(Clone)]
pub struct Clock(Arc<Source>);

enum Source {
    System,
    Manual(RwLock<DateTime<Utc>>),
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        Clock(Arc::new(Source::System))
    }

    /// A clock that stands still at `start` until it is moved with [`Clock::set`] or
    /// [`Clock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Clock(Arc::new(Source::Manual(RwLock::new(start))))
    }

    /// The current time, in UTC.
    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> DateTime<Utc> {
        match &*self.0 {
            Source::System => Utc::now(),
            Source::Manual(t) => match t.read() {
                Ok(t) => *t,
                Err(poisoned) => *poisoned.into_inner(),
            },
        }
    }

    /// Sets a manual clock; has no effect on the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Source::Manual(t) = &*self.0 {
            match t.write() {
                Ok(mut t) => *t = to,
                Err(poisoned) => *poisoned.into_inner() = to,
            }
        }
    }

    /// Moves a manual clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }

    /// Whether this clock is the wall clock.
    pub fn is_system(&self) -> bool {
        matches!(&*self.0, Source::System)
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::manual(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::days(2));
        assert_eq!(clock.now(), start + Duration::days(2));
        assert!(!clock.is_system());
    }
}
