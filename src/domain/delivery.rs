//! Outbox deliveries and the retry policy: exponential backoff with jitter, `Retry-After`
//! honoured, 410 disables the endpoint, and a delivery that keeps failing is parked for an
//! operator once it is older than the configured maximum age or has used its attempts.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ids::{AgencyId, DeliveryId, SubscriptionId};
use super::msht::EventType;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Parked,
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Parked => "parked",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Delivered,
            Self::Parked,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One row of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub agency_id: AgencyId,
    /// The subscription whose channel is used; `None` means the agency's contact e-mail.
    pub subscription_id: Option<SubscriptionId>,
    pub channel: String,
    pub event_type: EventType,
    /// The thin body: `{type, timestamp, data: {notification_id, ..}}`.
    pub payload: serde_json::Value,
    pub classification: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered {
        status: Option<u16>,
    },
    /// The endpoint said it is gone (410): stop and disable it.
    Gone,
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Done,
    RetryAt(DateTime<Utc>),
    Park(String),
    DisableEndpoint,
}

/// The retry policy from configuration.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_backoff: Duration,
    pub max_attempts: u32,
    pub max_age: Duration,
}

impl RetryPolicy {
    /// The backoff before attempt `attempts + 1`: `base * 2^(attempts-1)`, capped, with the
    /// upper half jittered (`jitter` in 0..1), so retries of many deliveries spread out.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(20);
        let full = self.base.saturating_mul(1u32 << exp).min(self.max_backoff);
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The next step after an attempt; `attempts` counts this one.
    pub fn next(
        &self,
        attempt: &Attempt,
        attempts: u32,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Next {
        match attempt {
            Attempt::Delivered { .. } => Next::Done,
            Attempt::Gone => Next::DisableEndpoint,
            Attempt::Failed { retry_after, .. } => {
                let wait = retry_after.unwrap_or_else(|| self.backoff(attempts, jitter));
                let wait = wait.min(self.max_backoff.max(Duration::from_secs(1)));
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                let age = (at - created_at).to_std().unwrap_or_default();
                if attempts >= self.max_attempts {
                    Next::Park(format!("gave up after {attempts} attempts"))
                } else if age > self.max_age {
                    Next::Park(format!("older than {} s", self.max_age.as_secs()))
                } else {
                    Next::RetryAt(at)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            max_attempts: 10,
            max_age: Duration::from_secs(3600),
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = policy();
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(3, 1.0), Duration::from_secs(8));
        assert_eq!(p.backoff(3, 0.0), Duration::from_secs(4));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(600));
    }

    #[test]
    fn retry_after_wins_and_old_deliveries_park() {
        let p = policy();
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let failed = Attempt::Failed {
            status: Some(429),
            error: "throttled".into(),
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(
            p.next(&failed, 1, t0, t0, 0.5),
            Next::RetryAt(t0 + chrono::Duration::seconds(120))
        );
        let late = t0 + chrono::Duration::hours(2);
        assert!(matches!(p.next(&failed, 2, t0, late, 0.5), Next::Park(_)));
        assert!(matches!(p.next(&failed, 10, t0, t0, 0.5), Next::Park(_)));
        assert_eq!(
            p.next(&Attempt::Gone, 1, t0, t0, 0.5),
            Next::DisableEndpoint
        );
        assert_eq!(
            p.next(&Attempt::Delivered { status: Some(200) }, 1, t0, t0, 0.5),
            Next::Done
        );
    }
}
