//! Wire types: the JSON shapes of CONTRACT.md and api-spec/openapi.yaml.
pub mod agencies;
pub mod page;
pub mod subscriptions;
