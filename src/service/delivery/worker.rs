//! The outbox worker: claims due deliveries (leased, so a crash loses nothing and several hub
//! processes share the queue), sends each by signed webhook or e-mail, and records the
//! outcome with the retry policy. The `webhook-id` is the delivery id, the same on every retry.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use rand::Rng;
use tokio::sync::Notify;

use super::mail::Mailer;
use super::ssrf;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::delivery::{Attempt, Delivery, DeliveryState, Next, RetryPolicy};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::service::store::{outbox, subscriptions, Db};

/// The worker and its collectors.
pub struct Worker {
    db: Db,
    clock: Clock,
    settings: Arc<Settings>,
    mailer: Mailer,
    policy: RetryPolicy,
    rules: ssrf::Rules,
    api_url: String,
    wake: Notify,
    stopped: AtomicBool,
    attempts: IntCounterVec,
    depth: IntGaugeVec,
}

impl Worker {
    pub fn new(
        db: Db,
        clock: Clock,
        settings: Arc<Settings>,
        metrics: &Metrics,
        api_url: String,
    ) -> Result<Self, AppError> {
        let d = &settings.delivery;
        let attempts = IntCounterVec::new(
            Opts::new(
                "delivery_attempts_total",
                "Delivery attempts by channel and outcome",
            ),
            &["channel", "outcome"],
        )
        .map_err(AppError::internal)?;
        let depth = IntGaugeVec::new(
            Opts::new("outbox_deliveries", "Deliveries in the outbox by state"),
            &["state"],
        )
        .map_err(AppError::internal)?;
        metrics
            .registry
            .register(Box::new(attempts.clone()))
            .map_err(AppError::internal)?;
        metrics
            .registry
            .register(Box::new(depth.clone()))
            .map_err(AppError::internal)?;
        Ok(Worker {
            mailer: Mailer::from_settings(&settings)?,
            policy: RetryPolicy {
                base: Duration::from_millis(d.base_backoff_ms),
                max_backoff: Duration::from_secs(d.max_backoff_secs),
                max_attempts: d.max_attempts,
                max_age: Duration::from_secs(d.max_age_secs),
            },
            rules: ssrf::Rules {
                allow_insecure_http: d.allow_insecure_http,
                allow_private_networks: d.allow_private_networks,
            },
            db,
            clock,
            settings,
            api_url,
            wake: Notify::new(),
            stopped: AtomicBool::new(false),
            attempts,
            depth,
        })
    }

    /// Wakes an idle worker (something was just enqueued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the loop after its current round.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Runs rounds until stopped.
    pub async fn run(self: Arc<Self>) {
        let idle = Duration::from_millis(self.settings.delivery.poll_interval_ms);
        while !self.stopped.load(Ordering::SeqCst) {
            if let Err(e) = self.run_deadlines().await {
                tracing::warn!(error = %e, "deadline check failed");
            }
            match self.run_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivery round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Escalates notifications past their acknowledgement deadline; returns how many.
    pub async fn run_deadlines(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let deadlines = crate::domain::notification::Deadlines {
            child_hours: self.settings.notifications.ack_hours_child,
            adult_hours: self.settings.notifications.ack_hours_adult,
        };
        let n = self
            .db
            .write(move |c| crate::usecase::escalation::escalate_overdue(c, deadlines, now))
            .await?;
        if n > 0 {
            self.wake.notify_one();
        }
        Ok(n)
    }

    /// Claims and attempts every due delivery once; returns how many were attempted.
    pub async fn run_due(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let (lease, limit) = (
            self.settings.delivery.lease_secs,
            self.settings.delivery.batch_size,
        );
        let claimed = self
            .db
            .write(move |c| outbox::claim_due(c, now, lease, limit))
            .await?;
        let n = claimed.len();
        futures_util::stream::iter(claimed)
            .for_each_concurrent(8, |d| async move {
                if let Err(e) = self.attempt(d).await {
                    tracing::warn!(error = %e, "recording a delivery failed");
                }
            })
            .await;
        self.refresh_depth().await;
        Ok(n)
    }

    async fn refresh_depth(&self) {
        if let Ok(rows) = self.db.read(outbox::depth).await {
            for s in ["pending", "delivered", "parked", "cancelled"] {
                let v = rows
                    .iter()
                    .find(|(k, _)| k == s)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                self.depth.with_label_values(&[s]).set(v);
            }
        }
    }

    async fn attempt(&self, d: Delivery) -> Result<(), AppError> {
        let outcome = match d.channel.as_str() {
            "webhook" => self.send_webhook(&d).await?,
            _ => self.send_email(&d).await?,
        };
        let Some(attempt) = outcome else {
            // The subscription is gone: nothing to deliver to.
            let now = self.clock.now();
            let id = d.id;
            let attempts = d.attempts;
            self.db
                .write(move |c| {
                    outbox::record_attempt(
                        c,
                        id,
                        DeliveryState::Cancelled,
                        attempts,
                        now,
                        None,
                        None,
                        Some("subscription removed"),
                    )
                })
                .await?;
            return Ok(());
        };
        let label = match &attempt {
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
            .next(&attempt, attempts.max(0) as u32, d.created_at, now, jitter);
        let (status, error) = match &attempt {
            Attempt::Delivered { status } => (status.map(i32::from), None),
            Attempt::Gone => (Some(410), Some("endpoint answered 410 Gone".to_owned())),
            Attempt::Failed { status, error, .. } => (status.map(i32::from), Some(error.clone())),
        };
        let id = d.id;
        let subscription = d.subscription_id;
        tracing::info!(delivery = %id, channel = %d.channel, outcome = label, attempts, "delivery attempt");
        self.db
            .write(move |c| {
                let err = error.as_deref();
                match next {
                    Next::Done => outbox::record_attempt(
                        c,
                        id,
                        DeliveryState::Delivered,
                        attempts,
                        now,
                        None,
                        status,
                        None,
                    ),
                    Next::RetryAt(at) => outbox::record_attempt(
                        c,
                        id,
                        DeliveryState::Pending,
                        attempts,
                        now,
                        Some(at),
                        status,
                        err,
                    ),
                    Next::Park(reason) => {
                        let why = format!("{reason}; last error: {}", err.unwrap_or("-"));
                        outbox::record_attempt(
                            c,
                            id,
                            DeliveryState::Parked,
                            attempts,
                            now,
                            None,
                            status,
                            Some(&why),
                        )
                    }
                    Next::DisableEndpoint => {
                        outbox::record_attempt(
                            c,
                            id,
                            DeliveryState::Cancelled,
                            attempts,
                            now,
                            None,
                            status,
                            err,
                        )?;
                        if let Some(sub) = subscription {
                            subscriptions::disable(c, sub, "the endpoint answered 410 Gone")?;
                            outbox::cancel_for_subscription(c, &sub.to_string())?;
                        }
                        Ok(())
                    }
                }
            })
            .await
    }
}

mod send;
