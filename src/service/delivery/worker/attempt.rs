//! One claimed delivery: its send (webhook through the shared client, or e-mail) within
//! its lease and the destination's limit, and the outcome the retry policy gives it.
use std::time::Duration;

use rand::Rng;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::{leases, Worker};
use crate::domain::delivery::{Attempt, Delivery, DeliveryState, Next};
use crate::service::store::outbox::{Claim, Outcome, OutcomeKind, Target};

impl Worker {
    /// Attempts one claimed delivery (within its lease) and records the outcome; true when
    /// an outcome was recorded.
    pub(super) async fn process(
        &self,
        claim: Claim,
        lease: watch::Receiver<Instant>,
        permit: OwnedSemaphorePermit,
    ) -> bool {
        let Claim {
            delivery: d,
            target,
            token,
        } = claim;
        let id = d.id.to_string();
        let recorded = match self.attempt(&d, target, &lease).await {
            Some(kind) => {
                let outcome = Outcome {
                    id: d.id,
                    token: token.clone(),
                    at: self.clock.now(),
                    kind,
                };
                match self.recorder.record(outcome).await {
                    Ok(true) => true,
                    Ok(false) => {
                        tracing::info!(delivery = %id, "an outcome for a claim no longer held was discarded");
                        false
                    }
                    Err(e) => {
                        tracing::warn!(delivery = %id, error = %e, "recording a delivery failed");
                        false
                    }
                }
            }
            None => {
                tracing::warn!(delivery = %id, "the lease ran out before the send finished; abandoned");
                false
            }
        };
        self.leases.release(&token, &id);
        drop(permit);
        recorded
    }

    /// The outcome of one attempt at `d`; `None` when the lease ran out first.
    async fn attempt(
        &self,
        d: &Delivery,
        target: Target,
        lease: &watch::Receiver<Instant>,
    ) -> Option<OutcomeKind> {
        let key = match &target {
            Target::Gone => {
                // The subscription is gone: nothing to deliver to.
                return Some(OutcomeKind::Attempted {
                    state: DeliveryState::Cancelled,
                    attempts: d.attempts,
                    next_attempt_at: None,
                    status: None,
                    error: Some("subscription removed".into()),
                    disable: None,
                });
            }
            Target::Webhook { url, .. } => destination_of(url),
            Target::Email { .. } => "mail".to_owned(),
        };
        let Some(place) = self.destinations.enter(&key) else {
            let defer = Duration::from_millis(self.settings.delivery.busy_defer_ms);
            let until = self.clock.now()
                + chrono::Duration::from_std(defer).unwrap_or(chrono::Duration::seconds(1));
            return Some(OutcomeKind::Deferred { until });
        };
        let attempt = leases::within(lease, async {
            let _slot = place.slot().await;
            self.send(d, &target).await
        })
        .await?;
        drop(place);
        Some(self.next_step(d, &attempt))
    }

    /// What an attempt means for the delivery under the retry policy.
    fn next_step(&self, d: &Delivery, attempt: &Attempt) -> OutcomeKind {
        let label = match attempt {
            Attempt::Delivered { .. } => "delivered",
            Attempt::Gone => "gone",
            Attempt::Failed { .. } => "failed",
        };
        self.attempts
            .with_label_values(&[d.channel.as_str(), label])
            .inc();
        let now = self.clock.now();
        let attempts = d.attempts.saturating_add(1);
        let jitter: f64 = rand::thread_rng().gen();
        let next = self
            .policy
            .next(attempt, attempts.max(0) as u32, d.created_at, now, jitter);
        let (status, error) = match attempt {
            Attempt::Delivered { status } => (status.map(i32::from), None),
            Attempt::Gone => (Some(410), Some("endpoint answered 410 Gone".to_owned())),
            Attempt::Failed { status, error, .. } => (status.map(i32::from), Some(error.clone())),
        };
        tracing::debug!(delivery = %d.id, channel = %d.channel, outcome = label, attempts, "delivery attempt");
        let attempted = |state, next_attempt_at, error, disable| OutcomeKind::Attempted {
            state,
            attempts,
            next_attempt_at,
            status,
            error,
            disable,
        };
        match next {
            Next::Done => attempted(DeliveryState::Delivered, None, None, None),
            Next::RetryAt(at) => attempted(DeliveryState::Pending, Some(at), error, None),
            Next::Park(reason) => {
                let why = format!("{reason}; last error: {}", error.as_deref().unwrap_or("-"));
                attempted(DeliveryState::Parked, None, Some(why), None)
            }
            Next::DisableEndpoint => {
                attempted(DeliveryState::Cancelled, None, error, d.subscription_id)
            }
        }
    }
}

/// A webhook's destination: scheme, host and port (the URL itself when it does not parse).
fn destination_of(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => raw.to_owned(),
    }
}
