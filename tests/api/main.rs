//! The one integration-test binary: every test starts the real hub on port 0 with a fresh
//! database (a temporary SQLite file, or a fresh PostgreSQL database when
//! `MSHT_HUB_TEST_POSTGRES_URL` is set) and talks to it over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod helpers;
mod incidents;
mod issuer;
mod receiver;
mod referrals;
mod refusals;
mod rfc9162;
mod secrets;
mod sharing;
mod two_hubs;

mod agencies;
mod agreements;
mod audit;
mod audit_append_only;
mod audit_checkpoints;
mod audit_integrity;
mod audit_keys;
mod audit_scope;
mod auth;
mod console_pages;
mod console_sign_in;
mod contract;
mod delivery;
mod dev_mode;
mod edge;
mod escalation;
mod interop_oidc;
mod leases;
mod limits;
mod minimisation;
mod ops;
mod partnerships;
mod policy_epoch;
mod support;
mod token_cache;
mod unknown_records;

mod outcomes;
mod threat_picture;

mod audit_receipts;
mod audit_witnesses;
mod group_commit;
// ICTG monitoring and learning records (issue 14).
mod ictg;
mod learning;
