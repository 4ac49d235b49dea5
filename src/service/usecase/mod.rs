//! Use cases: one async function per action, taking the [`hub::Hub`]. Each opens its own
//! write intent (a savepoint of the writer's next group commit) or read snapshot, checks what
//! the domain rules say, writes through the store and records the action in the audit log, so
//! all of it commits together or not at all; a refusal is an `AppError::Denied` that leaves
//! its `access_denied` entry. The synchronous `*_in` bodies compose inside one transaction
//! (the dev seed uses them).
pub mod agencies;
pub mod agreements;
pub mod audit;
pub mod console;
pub mod deliveries;
pub mod dev_activity;
pub mod dev_seed;
pub mod dev_sharing;
pub mod dev_support;
pub mod directory;
pub mod escalation;
pub mod governance;
pub mod hub;
pub mod ictg;
pub mod idempotency;
pub mod incidents;
pub mod learning;
pub mod notifications;
pub mod notify;
pub mod partnerships;
pub mod policy;
pub mod referral_deadlines;
pub mod referrals;
pub mod refusal;
pub mod routing;
pub mod subscriptions;
pub mod support;
pub mod threat_picture;
pub mod witness;
