//! Inclusion proofs an append works out itself. An entry appended in this transaction is a
//! leaf of the tree its receipt names; every node of its inclusion proof in that tree is
//! either a node of the frontier the append started from or a node the append completed
//! (the new leaves and every subtree they finish), so the proof needs no read of the log.
//! The append keeps those nodes ([`Unproven`]); the proof is worked out once the write has
//! committed, off the writer.
use super::frontier::Frontier;
use super::log::Receipt;
use super::merkle::{self, Hash, MemoryNodes, StoredNode};
use crate::error::AppError;

/// A receipt with its entry's leaf hash, `PATH(leaf_index, D[tree_size])` and the root it
/// gives (the receipt's `root_hash`, as bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub receipt: Receipt,
    pub leaf_hash: Hash,
    pub audit_path: Vec<Hash>,
    pub root_hash: Hash,
}

/// What an append keeps to prove its first entry later: the receipt, the leaf, the tree's
/// root, the frontier before the append and the nodes it completed. Taken inside the write,
/// proven after it commits ([`Unproven::prove`]), so the writer does no proof work.
#[derive(Debug, Clone)]
pub struct Unproven {
    pub receipt: Receipt,
    pub leaf: Hash,
    pub root: Hash,
    pub before: Frontier,
    pub completed: Vec<StoredNode>,
}

impl Unproven {
    /// Proves the receipt's leaf from the frontier before the append and the nodes it
    /// completed, and checks the proof against the tree's root.
    pub fn prove(self) -> Result<Proven, AppError> {
        let Unproven {
            receipt,
            leaf,
            root,
            before,
            completed,
        } = self;
        let mut nodes = MemoryNodes::new();
        for (level, index, hash) in before.stored_nodes().chain(completed) {
            nodes.insert(level, index, hash);
        }
        let audit_path = merkle::inclusion_proof(receipt.leaf_index, receipt.tree_size, &mut nodes)
            .map_err(|e| AppError::Internal(format!("audit append: no inclusion proof: {e}")))?;
        if !merkle::verify_inclusion(
            &leaf,
            receipt.leaf_index,
            receipt.tree_size,
            &audit_path,
            &root,
        ) {
            return Err(AppError::Internal(format!(
                "audit append: the inclusion proof of entry {} does not give its root",
                receipt.seq
            )));
        }
        Ok(Proven {
            receipt,
            leaf_hash: leaf,
            audit_path,
            root_hash: root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> Hash {
        merkle::leaf_hash(&i.to_be_bytes())
    }

    #[test]
    fn the_append_proves_each_new_leaf_as_the_whole_tree_does() {
        for before_size in 0..70u64 {
            for added in 1..6u64 {
                let mut all = MemoryNodes::new();
                let mut frontier = Frontier::empty();
                for i in 0..before_size {
                    for (level, index, hash) in frontier.extend(&[leaf(i)]).unwrap() {
                        all.insert(level, index, hash);
                    }
                }
                let before = frontier.clone();
                let new: Vec<Hash> = (before_size..before_size + added).map(leaf).collect();
                let completed = frontier.extend(&new).unwrap();
                for (l, i, h) in &completed {
                    all.insert(*l, *i, *h);
                }
                let size = before_size + added;
                for (k, l) in new.iter().enumerate() {
                    let index = before_size + k as u64;
                    let receipt = Receipt {
                        seq: index as i64 + 1,
                        leaf_index: index,
                        tree_size: size,
                        root_hash: hex::encode(frontier.root()),
                    };
                    let p = Unproven {
                        receipt,
                        leaf: *l,
                        root: frontier.root(),
                        before: before.clone(),
                        completed: completed.clone(),
                    }
                    .prove()
                    .unwrap();
                    let expected = merkle::inclusion_proof(index, size, &mut all).unwrap();
                    assert_eq!(p.audit_path, expected, "leaf {index} of {size}");
                }
            }
        }
    }
}
