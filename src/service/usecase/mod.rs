//! Use cases: one function per action. Each runs inside the transaction its caller opened
//! through [`crate::service::store::Db::write`], checks what the domain rules say, writes through the
//! store and records the action in the audit log, so all of it commits together or not at all.
pub mod agencies;
pub mod agreements;
pub mod audit;
pub mod deliveries;
pub mod dev_seed;
pub mod dev_sharing;
pub mod directory;
pub mod escalation;
pub mod governance;
pub mod hub;
pub mod idempotency;
pub mod incidents;
pub mod notifications;
pub mod notify;
pub mod partnerships;
pub mod policy;
pub mod referral_deadlines;
pub mod referrals;
pub mod refusal;
pub mod routing;
pub mod subscriptions;
