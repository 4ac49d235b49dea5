//! Thin handlers: extract, call one use case, shape the answer.
pub mod agencies;
pub mod agreements;
pub mod audit;
pub mod dev_issuer;
pub mod fallback;
pub mod ictg;
pub mod incidents;
pub mod learning;
pub mod me;
pub mod ops;
pub mod outcomes;
pub mod partnerships;
pub mod referrals;
pub mod subscriptions;
pub mod support;
pub mod threat_picture;
pub mod witness;
