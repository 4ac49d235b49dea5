//! Wire types: the JSON shapes of CONTRACT.md and api-spec/openapi.yaml.
pub mod agencies;
pub mod audit;
pub mod page;
pub mod subscriptions;
