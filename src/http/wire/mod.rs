//! Wire types: the JSON shapes of CONTRACT.md and api-spec/openapi.yaml.
pub mod agencies;
pub mod agreement_out;
pub mod agreements;
pub mod audit;
pub mod audit_query;
pub mod check;
pub mod incidents;
pub mod page;
pub mod partnerships;
pub mod present;
pub mod referrals;
pub mod replay;
pub mod routing;
pub mod subscriptions;
pub mod support;
