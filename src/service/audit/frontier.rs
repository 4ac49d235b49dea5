//! The frontier of the tree: the roots of the perfect subtrees that together cover the first
//! `size` leaves, largest first (one per set bit of `size`). It is all an append needs: each
//! new leaf's left siblings are frontier nodes, and the root folds the frontier from the
//! right. The log head keeps it, so appends read no tree nodes; verification rebuilds it
//! from the leaves in O(log n) memory.
use super::merkle::{self, Hash, NodeSource, StoredNode};
use crate::error::AppError;

/// The roots of the perfect subtrees over the first `size` leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Largest subtree first; `nodes.len() == size.count_ones()`.
    nodes: Vec<Hash>,
}

/// A frontier node was asked for that the frontier does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node ({level}, {index}) is not on the frontier")]
pub struct NotOnFrontier {
    pub level: u32,
    pub index: u64,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Frontier {
            size: 0,
            nodes: Vec::new(),
        }
    }

    /// Reads a stored frontier: `32 * popcount(size)` bytes, largest subtree first.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Self, AppError> {
        if bytes.len() != 32 * size.count_ones() as usize {
            return Err(AppError::Internal(format!(
                "audit head: a frontier of {} bytes does not fit a tree of {size} leaves",
                bytes.len()
            )));
        }
        let nodes = bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Frontier { size, nodes })
    }

    /// The stored form, as [`Frontier::from_bytes`] reads it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.nodes.concat()
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `MTH(D[size])`.
    pub fn root(&self) -> Hash {
        Self::root_of(&self.nodes)
    }

    /// The position in `nodes` of the subtree at `level`, if the frontier has one there.
    fn position(&self, level: u32) -> Option<usize> {
        if level >= 64 || self.size >> level & 1 == 0 {
            return None;
        }
        let above = self.size.checked_shr(level + 1).unwrap_or(0);
        Some(above.count_ones() as usize)
    }

    /// The index (at its level) of the frontier subtree at `level`.
    fn index_at(size: u64, level: u32) -> u64 {
        size.checked_shr(level + 1).unwrap_or(0) << 1
    }

    /// Appends one leaf and returns the interior nodes it completes, bottom-up (level 1
    /// first). Used by verification, which rebuilds the tree on its own.
    pub fn push(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut completed = Vec::new();
        let mut hash = leaf;
        let mut level = 0u32;
        while self.size >> level & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = merkle::node_hash(&left, &hash);
            completed.push(hash);
            level += 1;
        }
        self.nodes.push(hash);
        self.size += 1;
        completed
    }

    /// Appends one leaf and tells whether the interior nodes it completes, bottom-up and
    /// concatenated, are exactly `stored` (what the log keeps with the entry), without
    /// allocating. Used by verification.
    pub fn push_matching(&mut self, leaf: Hash, stored: &[u8]) -> bool {
        let mut hash = leaf;
        let mut level = 0u32;
        let mut rest = stored;
        let mut same = true;
        while self.size >> level & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = merkle::node_hash(&left, &hash);
            match rest.split_first_chunk::<32>() {
                Some((node, tail)) if *node == hash => rest = tail,
                _ => same = false,
            }
            level += 1;
        }
        self.nodes.push(hash);
        self.size += 1;
        same && rest.is_empty()
    }

    /// Appends one leaf whose push left `top` on the frontier (the leaf itself, or the
    /// largest node it completed), without hashing: verification replays a stretch of the
    /// tree it already rebuilt this way, to reach the sizes whose roots it checks.
    pub fn advance(&mut self, top: Hash) {
        let merged = self.size.trailing_ones() as usize;
        self.nodes.truncate(self.nodes.len().saturating_sub(merged));
        self.nodes.push(top);
        self.size += 1;
    }

    /// The frontier's nodes as the log stores nodes, `(level, index, hash)`, largest first.
    pub fn stored_nodes(&self) -> impl Iterator<Item = StoredNode> + '_ {
        (0..64u32)
            .rev()
            .filter(|level| self.size >> level & 1 == 1)
            .zip(&self.nodes)
            .map(|(level, hash)| (level, Self::index_at(self.size, level), *hash))
    }

    /// The frontier's nodes, largest subtree first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The root of a tree whose frontier is `nodes` (largest subtree first).
    pub fn root_of(nodes: &[Hash]) -> Hash {
        let mut iter = nodes.iter().rev();
        let Some(last) = iter.next() else {
            return merkle::empty_root();
        };
        iter.fold(*last, |acc, left| merkle::node_hash(left, &acc))
    }

    /// Appends `leaves` with [`merkle::nodes_completed_by_appends`] and returns every node
    /// they complete (level 0 included), in the order produced. Used by appends.
    pub fn extend(&mut self, leaves: &[Hash]) -> Result<Vec<StoredNode>, AppError> {
        let completed = merkle::nodes_completed_by_appends(self.size, leaves, self)
            .map_err(|e| AppError::Internal(format!("audit tree: {e}")))?;
        let new_size = self
            .size
            .checked_add(leaves.len() as u64)
            .ok_or_else(|| AppError::Internal("audit tree: size overflows".into()))?;
        let mut nodes = Vec::with_capacity(new_size.count_ones() as usize);
        for level in (0..64u32).rev() {
            if new_size >> level & 1 == 0 {
                continue;
            }
            let index = Self::index_at(new_size, level);
            let found = completed
                .iter()
                .rev()
                .find(|(l, i, _)| *l == level && *i == index)
                .map(|(_, _, h)| *h);
            let hash = match found {
                Some(h) => h,
                None => self.node(level, index).map_err(|e| {
                    AppError::Internal(format!("audit tree: frontier incomplete: {e}"))
                })?,
            };
            nodes.push(hash);
        }
        self.size = new_size;
        self.nodes = nodes;
        Ok(completed)
    }
}

impl NodeSource for Frontier {
    type Error = NotOnFrontier;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, NotOnFrontier> {
        let missing = NotOnFrontier { level, index };
        if Self::index_at(self.size, level) != index {
            return Err(missing);
        }
        self.position(level)
            .and_then(|p| self.nodes.get(p))
            .copied()
            .ok_or(missing)
    }
}

/// Groups the output of [`Frontier::extend`] by the leaf whose append completed each node:
/// for every leaf, its interior nodes (levels 1.., bottom-up) concatenated.
pub fn interior_by_leaf(completed: &[StoredNode], leaves: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(leaves);
    for (level, _, hash) in completed {
        if *level == 0 {
            out.push(Vec::new());
        } else if let Some(current) = out.last_mut() {
            current.extend_from_slice(hash);
        }
    }
    out
}

/// Whether a tree of `size` leaves can hold node `(level, index)` and, if so, the 0-based
/// leaf whose append completed it.
pub fn completing_leaf(level: u32, index: u64) -> Option<u64> {
    index
        .checked_add(1)?
        .checked_mul(1u64.checked_shl(level)?)?
        .checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::{leaf_hash, MemoryNodes};
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn advancing_by_the_pushed_tops_replays_the_tree() {
        let (mut pushed, mut replayed) = (Frontier::empty(), Frontier::empty());
        for leaf in leaves(70) {
            pushed.push(leaf);
            replayed.advance(*pushed.nodes().last().unwrap());
            assert_eq!(replayed, pushed);
        }
    }

    #[test]
    fn the_empty_frontier_has_the_empty_root() {
        assert_eq!(Frontier::empty().root(), merkle::empty_root());
        assert_eq!(Frontier::from_bytes(0, &[]).unwrap(), Frontier::empty());
        assert!(Frontier::from_bytes(3, &[0u8; 32]).is_err());
    }

    proptest! {
        #[test]
        fn push_and_extend_agree_with_the_reference_tree(
            n in 1usize..300,
            batch in 1usize..40,
        ) {
            let all = leaves(n);
            let mut reference = MemoryNodes::new();
            let mut pushed = Frontier::empty();
            let mut extended = Frontier::empty();
            for chunk in all.chunks(batch) {
                let before = extended.size();
                let completed = extended.extend(chunk).unwrap();
                let by_leaf = interior_by_leaf(&completed, chunk.len());
                prop_assert_eq!(by_leaf.len(), chunk.len());
                for (i, leaf) in chunk.iter().enumerate() {
                    let mut matching = pushed.clone();
                    prop_assert!(matching.push_matching(*leaf, &by_leaf[i]));
                    let mut wrong = by_leaf[i].clone();
                    wrong.push(0);
                    prop_assert!(!pushed.clone().push_matching(*leaf, &wrong));
                    let interior = pushed.push(*leaf);
                    prop_assert_eq!(&matching, &pushed);
                    prop_assert_eq!(interior.concat(), by_leaf[i].clone());
                    reference.append(*leaf).unwrap();
                    for (level, hash) in interior.iter().enumerate() {
                        let level = level as u32 + 1;
                        let leaf_index = before + i as u64;
                        let index = (leaf_index + 1) / (1 << level) - 1;
                        prop_assert_eq!(completing_leaf(level, index), Some(leaf_index));
                        prop_assert_eq!(reference.node(level, index).unwrap(), *hash);
                    }
                }
                prop_assert_eq!(extended.root(), reference.root().unwrap());
                prop_assert_eq!(&pushed, &extended);
                let stored = Frontier::from_bytes(extended.size(), &extended.to_bytes()).unwrap();
                prop_assert_eq!(&stored, &extended);
            }
        }
    }
}
