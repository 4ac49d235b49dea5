//! msht-hub: the information-sharing hub for modern slavery and human trafficking (MSHT)
//! partnerships.
//!
//! Layers, top to bottom: [`http`] (routes, extractors, wire types) calls one [`usecase`] per
//! action, which asks [`domain`] (pure rules, no actix or diesel) and writes through [`store`]
//! (diesel over SQLite or PostgreSQL) in one transaction. [`identity`] checks every bearer token
//! against its agency's issuer; [`clock`] is the only place that reads the time.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod usecase;
