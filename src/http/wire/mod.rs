//! Wire types: the JSON shapes of CONTRACT.md and api-spec/openapi.yaml.
pub mod agencies;
pub mod audit;
pub mod audit_query;
pub mod page;
