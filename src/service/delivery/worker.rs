//! The outbox worker: a continuous pipeline that claims due deliveries (each claim owned
//! through its token and a short lease that is renewed while its sends are alive, so a crash
//! loses nothing, several hub processes share the queue and a dead process's claims come
//! back within one lease), sends each by signed webhook through one shared HTTP client or by
//! e-mail, and records the outcomes with the retry policy in batches. At most
//! `max_in_flight` deliveries are held at once and claims refill as sends finish (no batch
//! barrier); each destination has its own limit. The outbox depth and the escalation of
//! overdue notifications run on their own timers. The `webhook-id` is the delivery id, the
//! same on every retry.
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::mail::Mailer;
use super::secrets::SecretBox;
use super::ssrf;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::delivery::RetryPolicy;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::service::store::outbox::{self, Claim};
use crate::service::store::Db;
use destinations::Destinations;
use leases::Leases;
use outcomes::Recorder;

/// The worker and its collectors.
pub struct Worker {
    db: Db,
    clock: Clock,
    settings: Arc<Settings>,
    mailer: Mailer,
    policy: RetryPolicy,
    rules: ssrf::Rules,
    api_url: String,
    /// The one HTTP client of every webhook: connections are reused, its resolver applies
    /// the SSRF rules to every connection it opens, and no proxy is taken from the
    /// environment.
    client: reqwest::Client,
    secrets: Arc<SecretBox>,
    wake: Notify,
    /// A held delivery was let go: room to claim again.
    room: Notify,
    stopped: AtomicBool,
    held: Arc<Semaphore>,
    leases: Leases,
    destinations: Destinations,
    recorder: Recorder,
    renewing: AtomicBool,
    attempts: IntCounterVec,
    depth: IntGaugeVec,
}

/// The shared webhook client.
fn http_client(settings: &Settings, rules: ssrf::Rules) -> Result<reqwest::Client, AppError> {
    let d = &settings.delivery;
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(d.request_timeout_secs))
        .dns_resolver(Arc::new(ssrf::CheckedResolver {
            rules,
            timeout: Duration::from_millis(d.dns_timeout_ms),
        }))
        .pool_max_idle_per_host(d.per_destination_limit.max(1))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| AppError::internal(format!("webhook client: {e}")))
}

impl Worker {
    pub fn new(
        db: Db,
        clock: Clock,
        settings: Arc<Settings>,
        metrics: &Metrics,
        api_url: String,
        secrets: Arc<SecretBox>,
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
        let rules = ssrf::Rules {
            allow_insecure_http: d.allow_insecure_http,
            allow_private_networks: d.allow_private_networks,
        };
        Ok(Worker {
            mailer: Mailer::from_settings(&settings)?,
            policy: RetryPolicy {
                base: Duration::from_millis(d.base_backoff_ms),
                max_backoff: Duration::from_secs(d.max_backoff_secs),
                max_attempts: d.max_attempts,
                max_age: Duration::from_secs(d.max_age_secs),
            },
            client: http_client(&settings, rules)?,
            rules,
            held: Arc::new(Semaphore::new(d.max_in_flight.max(1))),
            leases: Leases::new(Duration::from_secs(d.lease_secs.max(1).unsigned_abs())),
            destinations: Destinations::new(d.per_destination_limit, d.per_destination_queue),
            recorder: Recorder::start(db.clone()),
            db,
            clock,
            api_url,
            secrets,
            wake: Notify::new(),
            room: Notify::new(),
            stopped: AtomicBool::new(false),
            renewing: AtomicBool::new(false),
            attempts,
            depth,
            settings,
        })
    }

    /// Wakes an idle worker (something was just enqueued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops claiming; deliveries already held finish.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn batch_size(&self) -> usize {
        usize::try_from(self.settings.delivery.batch_size.max(1)).unwrap_or(1)
    }

    /// Runs the pipeline ([`Worker::run`]) on threads of its own at a lower scheduling
    /// priority (`delivery.worker_nice`): the worker takes the CPU the request path leaves,
    /// so sending never slows the recording of incidents, and drains its backlog at full
    /// speed whenever the hub is otherwise idle.
    pub fn spawn_background(self: Arc<Self>) -> Result<(), AppError> {
        let nice = self.settings.delivery.worker_nice;
        std::thread::Builder::new()
            .name("msht-hub-delivery".into())
            .spawn(move || {
                lower_priority(nice);
                // Threads inherit the priority of the thread that starts them.
                match tokio::runtime::Builder::new_multi_thread()
                    .thread_name("msht-hub-delivery")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(self.run()),
                    Err(e) => tracing::error!(error = %e, "cannot start the delivery worker"),
                }
            })
            .map(|_| ())
            .map_err(|e| AppError::internal(format!("cannot start the delivery worker: {e}")))
    }

    /// Runs the pipeline until stopped: claims whenever there is room for a useful claim,
    /// and sleeps when nothing is due (or until woken).
    pub async fn run(self: Arc<Self>) {
        self.ensure_renewals();
        let d = &self.settings.delivery;
        spawn_every(
            Arc::downgrade(&self),
            Duration::from_secs(d.deadline_interval_secs.max(1)),
            |w| async move {
                if w.stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = w.run_deadlines().await {
                    tracing::warn!(error = %e, "deadline check failed");
                }
            },
        );
        spawn_every(
            Arc::downgrade(&self),
            Duration::from_secs(d.depth_interval_secs.max(1)),
            |w| async move {
                if !w.stopped.load(Ordering::SeqCst) {
                    w.refresh_depth().await;
                }
            },
        );
        let idle = Duration::from_millis(d.poll_interval_ms);
        let low_water = self.batch_size().min(d.max_in_flight / 4).max(1);
        let mut held_back = Duration::ZERO;
        while !self.stopped.load(Ordering::SeqCst) {
            let queued = self.db.writer_stats().queued.load(Ordering::Relaxed);
            if holds_back(queued, held_back, d.yield_at_queued, d.yield_max_ms) {
                let pause = YIELD_STEP.min(idle.max(Duration::from_millis(1)));
                tokio::time::sleep(pause).await;
                held_back += pause;
                continue;
            }
            held_back = Duration::ZERO;
            let free = self.held.available_permits();
            let full = free < low_water;
            if !full {
                let want = free.min(self.batch_size());
                match self.claim_and_spawn(want).await {
                    Ok(n) if n == want => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "claiming deliveries failed"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = self.wake.notified() => {}
                _ = self.room.notified(), if full => {}
            }
        }
    }

    /// Claims up to `want` deliveries and starts each on its own task; returns how many.
    async fn claim_and_spawn(self: &Arc<Self>, want: usize) -> Result<usize, AppError> {
        let permits = self.permits(want);
        if permits.is_empty() {
            return Ok(0);
        }
        let claims = self.claim(permits.len()).await?;
        let n = claims.len();
        for ((claim, lease), permit) in claims.into_iter().zip(permits) {
            let w = self.clone();
            tokio::spawn(async move {
                w.process(claim, lease, permit).await;
                w.room.notify_one();
            });
        }
        Ok(n)
    }

    /// Claims and attempts every due delivery of one claim (at most `batch_size`), waiting
    /// until each outcome is recorded; returns how many were attempted and recorded.
    pub async fn run_due(self: &Arc<Self>) -> Result<usize, AppError> {
        self.ensure_renewals();
        let permits = self.permits(self.batch_size());
        if permits.is_empty() {
            return Ok(0);
        }
        let claims = self.claim(permits.len()).await?;
        let done = futures_util::future::join_all(
            claims
                .into_iter()
                .zip(permits)
                .map(|((claim, lease), permit)| self.process(claim, lease, permit)),
        )
        .await;
        Ok(done.into_iter().filter(|recorded| *recorded).count())
    }

    /// Up to `want` places among the deliveries this worker may hold.
    fn permits(&self, want: usize) -> Vec<OwnedSemaphorePermit> {
        (0..want)
            .map_while(|_| self.held.clone().try_acquire_owned().ok())
            .collect()
    }

    /// One claim of up to `limit` due deliveries under a fresh token.
    async fn claim(
        &self,
        limit: usize,
    ) -> Result<Vec<(Claim, watch::Receiver<Instant>)>, AppError> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let started = Instant::now();
        let now = self.clock.now();
        let lease = self.settings.delivery.lease_secs;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let t = token.clone();
        let ids = self
            .db
            .write_appending(move |c| outbox::lease_due(c, now, lease, limit, &t))
            .await?;
        // What the lease took is read on a reader, off the writer that the request path
        // shares: the rows and their targets are only read, and stay ours until the lease runs out.
        let claims = if ids.is_empty() {
            Vec::new()
        } else {
            let t = token.clone();
            self.db.read(move |c| outbox::claimed(c, &ids, &t)).await?
        };
        let rx = self.leases.hold(
            &token,
            claims.iter().map(|c| c.delivery.id.to_string()),
            started,
        );
        Ok(claims.into_iter().map(|c| (c, rx.clone())).collect())
    }

    /// Starts the lease renewal ticker (once).
    fn ensure_renewals(self: &Arc<Self>) {
        if self.renewing.swap(true, Ordering::SeqCst) {
            return;
        }
        spawn_every(
            Arc::downgrade(self),
            self.leases.renew_every(),
            |w| async move { w.renew_held().await },
        );
    }

    /// Extends every lease this worker holds, in one write.
    async fn renew_held(&self) {
        let held = self.leases.held();
        if held.is_empty() {
            return;
        }
        let tokens: HashSet<String> = held.iter().map(|(_, t)| t.clone()).collect();
        let started = Instant::now();
        let until = self.clock.now() + chrono::Duration::seconds(self.settings.delivery.lease_secs);
        match self
            .db
            .write_appending(move |c| outbox::renew(c, &held, until))
            .await
        {
            Ok(_) => self.leases.renewed(&tokens, started),
            Err(e) => tracing::warn!(error = %e, "renewing delivery leases failed"),
        }
    }

    /// Escalates notifications past their acknowledgement deadline and children's ICTG
    /// allocations past theirs; returns how many.
    pub async fn run_deadlines(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let deadlines = crate::domain::notification::Deadlines {
            child_hours: self.settings.notifications.ack_hours_child,
            adult_hours: self.settings.notifications.ack_hours_adult,
        };
        let mut n = self
            .db
            .write(move |c| crate::usecase::escalation::escalate_overdue(c, deadlines, now))
            .await?;
        let ictg = crate::usecase::ictg::Deadline {
            calendar: self.settings.referrals.calendar(),
            working_days: self.settings.ictg.allocation_working_days,
        };
        // Found on a reader, escalated by the writer: the walk over every monitored child
        // never holds the one writer.
        let due = self
            .db
            .snapshot(move |c| crate::usecase::ictg::overdue_allocations(c, &ictg, now))
            .await?;
        if !due.is_empty() {
            n += self
                .db
                .write(move |c| crate::usecase::ictg::escalate_overdue_allocations(c, &due, now))
                .await?;
        }
        if n > 0 {
            self.wake.notify_one();
        }
        Ok(n)
    }

    /// Refreshes the outbox depth gauge.
    pub async fn refresh_depth(&self) {
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
}

/// Lowers the calling thread's scheduling priority to nice `nice` (Linux; elsewhere, and for
/// `nice <= 0`, nothing changes).
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take no pointers and change only this thread's nice
        // value.
        let r = unsafe {
            libc::setpriority(
                libc::PRIO_PROCESS,
                libc::id_t::try_from(libc::gettid()).unwrap_or(0),
                nice,
            )
        };
        if r != 0 {
            tracing::warn!(nice, "cannot lower the delivery worker's priority");
        }
    }
}

/// Runs `f` every `every` while the worker exists and has not been stopped.
fn spawn_every<F, Fut>(worker: Weak<Worker>, every: Duration, f: F)
where
    F: Fn(Arc<Worker>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(w) = worker.upgrade() else { break };
            f(w).await;
        }
    });
}

mod attempt;
mod destinations;
mod leases;
mod outcomes;
mod send;

/// How long the worker waits at a time while it holds back.
const YIELD_STEP: Duration = Duration::from_millis(20);

/// Whether the worker holds back its next claim: `queued` intents wait for the writer (at
/// least `at`, when `at` is not 0) and it has held back less than `max_ms` in a row, so
/// recording comes first under saturation and deliveries still go out.
fn holds_back(queued: u64, held_back: Duration, at: u64, max_ms: u64) -> bool {
    at > 0 && queued >= at && held_back < Duration::from_millis(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_holds_back_only_while_the_writer_is_queued_up_and_never_for_long() {
        let ms = Duration::from_millis;
        assert!(!holds_back(7, ms(0), 8, 1000), "below the queue mark");
        assert!(holds_back(8, ms(0), 8, 1000));
        assert!(holds_back(500, ms(999), 8, 1000));
        assert!(!holds_back(500, ms(1000), 8, 1000), "held back long enough");
        assert!(!holds_back(500, ms(0), 0, 1000), "0 never holds back");
    }
}
