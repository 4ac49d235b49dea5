//! Extractors: authentication and authorization live here, so a handler states in its
//! signature what it needs and a handler that forgets a check does not compile.
pub mod body;
pub mod caller;
pub mod idempotency;
pub mod if_match;
pub mod optional_body;
pub mod path;
pub mod roles;

pub use body::JsonBody;
pub use caller::{Authorized, Caller};
pub use idempotency::{IdempotencyKey, Idempotent};
pub use if_match::IfMatch;
pub use optional_body::OptionalJsonBody;
pub use path::parse_id;
