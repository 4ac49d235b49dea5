//! Prometheus metrics, through the `prometheus` crate's registry and text encoder: request
//! counts and latencies by method, route pattern and status, each from a fixed set (the
//! standard methods or `other`; a registered pattern or `unmatched`; never the raw method or
//! path, so neither invented methods nor ids can grow the label space), and the writer's group
//! commits (batches and the intents they carried, so `intents / batches` is the mean batch
//! size) with the intents waiting for it. Other modules register their own collectors on
//! [`Metrics::registry`].
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::error::AppError;
use crate::service::WriterStats;

/// The methods counted under their own name; anything else is counted as `other`.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The `method` label of a request: one of [`METHODS`], or `other`.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .into_iter()
        .find(|m| *m == method)
        .unwrap_or("other")
}

/// The hub's metrics registry and its HTTP collectors.
pub struct Metrics {
    pub registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    write_batches: IntCounter,
    write_intents: IntCounter,
    write_queued: IntGauge,
    /// The writer's own counters, copied into the three above at each scrape.
    writer: Mutex<Option<Arc<WriterStats>>>,
}

impl Metrics {
    pub fn new() -> Result<Self, AppError> {
        let registry =
            Registry::new_custom(Some("msht_hub".into()), None).map_err(AppError::internal)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )
        .map_err(AppError::internal)?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            &["method", "route", "status"],
        )
        .map_err(AppError::internal)?;
        registry
            .register(Box::new(http_requests.clone()))
            .map_err(AppError::internal)?;
        registry
            .register(Box::new(http_duration.clone()))
            .map_err(AppError::internal)?;
        let write_batches = IntCounter::new(
            "db_write_batches_total",
            "Transactions the writer committed (each a group commit of the intents waiting)",
        )
        .map_err(AppError::internal)?;
        let write_intents = IntCounter::new(
            "db_write_intents_total",
            "Write intents the writer applied, each in a savepoint of a batch",
        )
        .map_err(AppError::internal)?;
        for c in [&write_batches, &write_intents] {
            registry
                .register(Box::new(c.clone()))
                .map_err(AppError::internal)?;
        }
        let write_queued = IntGauge::new(
            "db_write_queued",
            "Write intents waiting for the writer (the delivery worker holds back its claims \
             while this reaches delivery.yield_at_queued)",
        )
        .map_err(AppError::internal)?;
        registry
            .register(Box::new(write_queued.clone()))
            .map_err(AppError::internal)?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            write_batches,
            write_intents,
            write_queued,
            writer: Mutex::new(None),
        })
    }

    /// Exposes the writer's batch counters.
    pub fn watch_writer(&self, stats: Arc<WriterStats>) {
        *self.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(stats);
    }

    fn sync_writer(&self) {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = writer.as_ref() {
            for (counter, value) in [
                (&self.write_batches, &w.batches),
                (&self.write_intents, &w.intents),
            ] {
                let now = value.load(Ordering::Relaxed);
                counter.inc_by(now.saturating_sub(counter.get()));
            }
            let queued = w.queued.load(Ordering::Relaxed);
            self.write_queued
                .set(i64::try_from(queued).unwrap_or(i64::MAX));
        }
    }

    /// Records one finished request. `method` is reduced to [`method_label`]; `route` must be
    /// a registered pattern or `unmatched` (the middleware passes nothing else).
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> Result<String, AppError> {
        self.sync_writer();
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .map_err(AppError::internal)?;
        String::from_utf8(buf).map_err(AppError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("FOO"), "other");
        assert_eq!(method_label("get"), "other", "methods are case-sensitive");
    }
}
