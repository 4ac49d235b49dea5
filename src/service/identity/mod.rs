//! Federated identity: every agency signs in through its own OpenID issuer.
//!
//! [`registry`] says which issuer speaks for which agency, [`keys`] discovers each issuer and
//! caches its signing keys, [`token`] checks a bearer token the way RFC 9068 and RFC 8725 ask,
//! [`claims`] turns the issuer's role claim into hub roles, [`relying_party`] signs officers in
//! to the IG console through their agency's issuer, and [`dev`] is the local development
//! issuer that only `serve --dev` mounts.
pub mod claims;
pub mod dev;
pub mod fetch;
pub mod keys;
pub mod principal;
pub mod registry;
pub mod relying_party;
pub mod token;
pub mod token_cache;

pub use principal::Principal;
pub use token::{AuthFailure, Authenticator};
