//! The audit trail: one append-only log of typed entries (see `domain::audit`), made
//! tamper-evident by a Merkle tree in the style of RFC 9162.
//!
//! - [`append`] / [`append_all`] ([`log`]): the only way in, inside the caller's transaction;
//!   they return a [`Receipt`].
//! - [`canonical`]: the RFC 8785 bytes each leaf hash covers.
//! - [`frontier`], [`merkle`], [`proofs`]: the tree, its root and proofs from stored nodes.
//! - [`heads`]: Ed25519 signed tree heads; [`checkpoint`]: the same as C2SP checkpoints.
//! - [`verify`]: checking the whole log against the database; [`held`]: against
//!   checkpoints kept outside it.
//! - [`sealed`]: receipts with their checkpoint and inclusion proof, checkable offline.
//! - [`denials`]: logging refused requests without letting a flood flood the log.
pub mod canonical;
pub mod checkpoint;
pub mod cosign;
pub mod denials;
pub mod frontier;
pub mod heads;
pub mod held;
pub mod log;
pub mod merkle;
pub mod prepared;
pub mod proofs;
pub mod proven;
pub mod read;
pub mod runtime;
pub mod sealed;
pub mod verify;
pub mod witness;
pub mod witnessing;

pub use log::{
    append, append_all, append_all_provable, append_prepared_provable, append_provable,
    append_refusal, Receipt,
};
pub use prepared::Prepared;
pub use proven::{Proven, Unproven};
pub use read::LoggedEntry;
pub use runtime::AuditRuntime;
pub use sealed::Sealed;
