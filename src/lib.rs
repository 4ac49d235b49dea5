//! msht-hub: the information-sharing hub for modern slavery and human trafficking (MSHT)
//! partnerships.
//!
//! Layers, top to bottom: [`http`] (routes, extractors, wire types) calls one [`usecase`] per
//! action, which opens its own transaction or snapshot, asks [`domain`] (pure rules, no actix
//! or diesel) and writes through the store (diesel over SQLite or PostgreSQL, private to
//! [`service`]). [`identity`] checks every bearer token against its agency's issuer; [`clock`]
//! is the only place that reads the time.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod service;
pub mod telemetry;

#[cfg(feature = "testkit")]
pub use service::store;
pub use service::{audit, delivery, identity, usecase};
