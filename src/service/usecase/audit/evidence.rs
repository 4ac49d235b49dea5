//! One entry with the evidence that it is in the log: its inclusion proof in the tree of the
//! latest signed head, checked here, and that head's signature, checked against the keys the
//! hub trusts. Reading the entry is scoped and logged exactly as `GET /audit/events/{seq}`.
use std::sync::Arc;

use super::{get_event_in, Consult};
use crate::audit::heads::{self, SignedTreeHead};
use crate::audit::merkle;
use crate::audit::proofs::{self, Inclusion};
use crate::audit::runtime::AuditRuntime;
use crate::audit::verify::Report;
use crate::audit::LoggedEntry;
use crate::error::AppError;
use crate::identity::Principal;
use crate::usecase::hub::Hub;

/// An entry, the latest signed head and what checking one against the other found.
pub struct EntryEvidence {
    pub entry: LoggedEntry,
    pub head: SignedTreeHead,
    pub proof: Inclusion,
    /// Whether the proof leads from the entry's leaf hash to the head's root.
    pub included: bool,
    /// Whether a trusted key signed the head; the error says why not.
    pub signature: Result<(), String>,
}

/// Whether `proof` shows `entry` in the tree whose root `head` signs.
pub fn proof_holds(entry: &LoggedEntry, proof: &Inclusion, head: &SignedTreeHead) -> bool {
    proof.leaf_hash == entry.leaf_hash
        && proof.tree_size == head.tree_size
        && merkle::verify_inclusion(
            &entry.leaf_hash,
            proof.leaf_index,
            head.tree_size,
            &proof.audit_path,
            &head.root_hash,
        )
}

/// Entry `seq` as `GET /audit/events/{seq}` answers it (scoped, logged either way), with its
/// inclusion proof in the tree of the latest signed head (signed now when the log has grown)
/// and the checks of both, in one write intent.
pub async fn event_with_proof(
    hub: &Hub,
    p: Principal,
    consult: Consult,
    seq: i64,
    runtime: &Arc<AuditRuntime>,
) -> Result<EntryEvidence, AppError> {
    let now = hub.now();
    let rt = runtime.clone();
    let (entry, head, proof) = hub
        .write(move |c| {
            let entry = get_event_in(c, &p, &consult, seq, now)?;
            let head = heads::current(c, &rt.signer, now)?;
            let proof = proofs::inclusion(c, seq, head.tree_size)?;
            Ok((entry, head, proof))
        })
        .await?;
    let included = proof_holds(&entry, &proof, &head);
    let signature = head.check_signature(&runtime.trusted);
    Ok(EntryEvidence {
        entry,
        head,
        proof,
        included,
        signature,
    })
}

/// The report of the last verification this hub process ran, if any and none is running
/// (nothing is read or logged: the run itself was logged when it was asked for).
pub fn last_verification(runtime: &Arc<AuditRuntime>) -> Option<Report> {
    runtime.verifications.last()
}
