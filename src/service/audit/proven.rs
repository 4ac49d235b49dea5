//! Inclusion proofs an append works out itself. An entry appended in this transaction is a
//! leaf of the tree its receipt names; every node of its inclusion proof in that tree is
//! either a node of the frontier the append started from or a node the append completed
//! (the new leaves and every subtree they finish), so the proof needs no read of the log and
//! the answer to the write carries it at once.
use super::frontier::Frontier;
use super::log::Receipt;
use super::merkle::{self, Hash, NodeSource, StoredNode};
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

/// The nodes an append holds: the frontier before it and every node it completed.
struct AppendNodes<'a> {
    before: Frontier,
    completed: &'a [StoredNode],
}

/// A node of the proof is neither on the frontier nor completed by the append.
#[derive(Debug, thiserror::Error)]
#[error("a node of the proof is not held by the append")]
struct NotHeld;

impl NodeSource for AppendNodes<'_> {
    type Error = NotHeld;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, NotHeld> {
        if let Some((_, _, h)) = self
            .completed
            .iter()
            .find(|(l, i, _)| *l == level && *i == index)
        {
            return Ok(*h);
        }
        self.before.node(level, index).map_err(|_| NotHeld)
    }
}

/// Proves `receipt`'s leaf `leaf` from the frontier `before` the append and the nodes it
/// `completed`, and checks the proof against the tree's `root`.
pub fn prove(
    before: Frontier,
    completed: &[StoredNode],
    receipt: Receipt,
    leaf: Hash,
    root: &Hash,
) -> Result<Proven, AppError> {
    let mut nodes = AppendNodes { before, completed };
    let audit_path = merkle::inclusion_proof(receipt.leaf_index, receipt.tree_size, &mut nodes)
        .map_err(|e| AppError::Internal(format!("audit append: no inclusion proof: {e}")))?;
    if !merkle::verify_inclusion(
        &leaf,
        receipt.leaf_index,
        receipt.tree_size,
        &audit_path,
        root,
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
        root_hash: *root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> Hash {
        merkle::leaf_hash(&i.to_be_bytes())
    }

    /// Every node of the whole tree, as the log stores them.
    struct All(Vec<StoredNode>);

    impl NodeSource for All {
        type Error = NotHeld;
        fn node(&mut self, level: u32, index: u64) -> Result<Hash, NotHeld> {
            self.0
                .iter()
                .find(|(l, i, _)| *l == level && *i == index)
                .map(|(_, _, h)| *h)
                .ok_or(NotHeld)
        }
    }

    #[test]
    fn the_append_proves_each_new_leaf_as_the_whole_tree_does() {
        for before_size in 0..70u64 {
            for added in 1..6u64 {
                let mut all = All(Vec::new());
                let mut frontier = Frontier::empty();
                for i in 0..before_size {
                    all.0.extend(frontier.extend(&[leaf(i)]).unwrap());
                }
                let before = frontier.clone();
                let new: Vec<Hash> = (before_size..before_size + added).map(leaf).collect();
                let completed = frontier.extend(&new).unwrap();
                all.0.extend(completed.iter().copied());
                let size = before_size + added;
                for (k, l) in new.iter().enumerate() {
                    let index = before_size + k as u64;
                    let receipt = Receipt {
                        seq: index as i64 + 1,
                        leaf_index: index,
                        tree_size: size,
                        root_hash: hex::encode(frontier.root()),
                    };
                    let root = frontier.root();
                    let p = prove(before.clone(), &completed, receipt, *l, &root).unwrap();
                    let expected = merkle::inclusion_proof(index, size, &mut all).unwrap();
                    assert_eq!(p.audit_path, expected, "leaf {index} of {size}");
                }
            }
        }
    }
}
