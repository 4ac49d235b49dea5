//! Prometheus metrics, through the `prometheus` crate's registry and text encoder: request
//! counts and latencies by route pattern and status (never by raw path, so ids do not blow up
//! the label space). Other modules register their own collectors on [`Metrics::registry`].
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::error::AppError;

/// The hub's metrics registry and its HTTP collectors.
pub struct Metrics {
    pub registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
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
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
        })
    }

    /// Records one finished request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> Result<String, AppError> {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .map_err(AppError::internal)?;
        String::from_utf8(buf).map_err(AppError::internal)
    }
}
