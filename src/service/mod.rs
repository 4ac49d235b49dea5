//! Everything beneath the HTTP edge: the use cases (the only door to the data), the audit
//! trail, the outbox and its worker, identity, and the storage they share.
//!
//! `store` is private to this module: the edge (`crate::http`) cannot name a table, a row or a
//! connection, and reaches the data only through `usecase` and the hub's [`usecase::hub::Hub`].
//! The composition root (`crate::app`, `crate::cli`) opens the database through the types
//! re-exported here. Integration tests and benchmarks see the store through the `testkit`
//! feature, which only their builds turn on; `cargo check --lib --bins` (CI) builds without it.
pub mod audit;
pub mod delivery;
pub mod identity;
#[cfg(feature = "testkit")]
pub mod store;
#[cfg(not(feature = "testkit"))]
mod store;
pub mod usecase;

pub use store::{Backend, Db, RefusalLog, Synchronous, WriterStats};
