//! The HTTP edge: routes, extractors (who is calling, which roles an action needs, JSON
//! bodies that fail as problems), wire types and thin handlers that call one use case each,
//! and the IG console's server-rendered pages.
pub mod console;
pub mod extract;
pub mod gate;
pub mod handlers;
pub mod middleware;
pub mod rate_limit;
pub mod routes;
pub mod wire;
