//! Receipts that travel: a receipt sealed with the signed checkpoint of the tree it was
//! included in (a C2SP signed note, see [`super::checkpoint`]) and its inclusion proof, so
//! whoever holds it checks it offline (the note's signature with the hub's verifier key,
//! then the root recomputed from the leaf hash and the audit path) and later holds the hub
//! to it (`msht-hub audit verify --checkpoint RECEIPT`).
//!
//! The append works out the inclusion proof itself ([`super::proven`]). A receipt is then
//! sealed either after its append committed ([`seal_proven`], signing the checkpoint and
//! reading nothing), or in the transaction of its append, right after it ([`seal`], where
//! the answer is stored with the write, as an idempotent create's is, and the signed head is
//! stored with it). The checkpoint's text is the tree's size and root only, so either way it is
//! the note `GET /audit/checkpoints?size=N` serves when a head of that size is stored.
use chrono::{DateTime, Utc};

use super::heads::{self, SignedTreeHead};
use super::merkle::Hash;
use super::proofs::current_size;
use super::proven::Proven;
use super::{AuditRuntime, Receipt};
use crate::error::AppError;
use crate::service::store::DbConn;

/// A receipt with the evidence to check it away from the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub receipt: Receipt,
    /// The entry's leaf hash, `SHA-256(0x00 || canonical)`.
    pub leaf_hash: Hash,
    /// The signed checkpoint of the receipt's tree.
    pub checkpoint: String,
    /// `PATH(leaf_index, D[tree_size])` (RFC 9162 §2.1.3.1).
    pub audit_path: Vec<Hash>,
}

/// Seals `proven`, appended in this transaction: signs (and stores) the head of its tree
/// when none is stored yet.
pub fn seal(
    conn: &mut DbConn,
    runtime: &AuditRuntime,
    proven: Proven,
    now: DateTime<Utc>,
) -> Result<Sealed, AppError> {
    let head = head_of(conn, runtime, proven.receipt.tree_size, now)?;
    if proven.root_hash != head.root_hash {
        return Err(AppError::Internal(format!(
            "audit receipt of entry {} does not match the tree of {} leaves",
            proven.receipt.seq, proven.receipt.tree_size
        )));
    }
    sealed(runtime, &head, proven)
}

/// Seals `proven`, of an append already committed: nothing is read, only the checkpoint
/// signed.
pub fn seal_proven(
    runtime: &AuditRuntime,
    proven: Proven,
    now: DateTime<Utc>,
) -> Result<Sealed, AppError> {
    let head = SignedTreeHead {
        tree_size: proven.receipt.tree_size,
        root_hash: proven.root_hash,
        timestamp: now,
        key_id: runtime.signer.key_id().to_owned(),
        signature: Vec::new(),
    };
    sealed(runtime, &head, proven)
}

fn sealed(
    runtime: &AuditRuntime,
    head: &SignedTreeHead,
    proven: Proven,
) -> Result<Sealed, AppError> {
    Ok(Sealed {
        checkpoint: runtime.checkpoint(head)?,
        leaf_hash: proven.leaf_hash,
        audit_path: proven.audit_path,
        receipt: proven.receipt,
    })
}

/// The signed head of the tree of `size` leaves: the stored one, or (when `size` is the
/// log's size now) one signed at `now`.
fn head_of(
    conn: &mut DbConn,
    runtime: &AuditRuntime,
    size: u64,
    now: DateTime<Utc>,
) -> Result<SignedTreeHead, AppError> {
    if let Some(head) = heads::stored(conn, size)? {
        return Ok(head);
    }
    let current = current_size(conn)?;
    if current != size {
        return Err(AppError::Internal(format!(
            "audit receipt of a tree of {size} leaves sealed after the log grew to {current}"
        )));
    }
    heads::current(conn, &runtime.signer, now)
}
