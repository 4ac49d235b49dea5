//! Structured logging through `tracing`: JSON lines in production, text for people. Nothing
//! that sees a token logs it (`#[instrument(skip_all)]` on the validator, no header logging).
use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// Installs the global subscriber; `RUST_LOG` wins over `log.filter`.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if settings.format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}
