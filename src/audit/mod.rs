//! The audit trail: an append-only log of typed entries (see `domain::audit`), made
//! tamper-evident by a Merkle tree in the style of RFC 9162.
pub mod merkle;
