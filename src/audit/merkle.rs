//! The audit log's Merkle tree, exactly as RFC 9162 (Certificate Transparency 2.0) §2.1 defines
//! it — the same tree as RFC 6962 — so that the hub's tree heads and proofs can be checked by
//! any CT-style verifier, not only by our own code.
//!
//! Every audit entry is one leaf of a single append-only tree. A tree head (size and root)
//! commits the hub to the whole log up to that size; an *inclusion proof* shows that one entry
//! is in it at a given position, and a *consistency proof* shows that a later tree head extends
//! an earlier one, i.e. that nothing already logged was changed or removed.
//!
//! - leaf hash: `SHA-256(0x00 || entry)` ([`leaf_hash`]);
//! - interior node: `SHA-256(0x01 || left || right)` ([`node_hash`]);
//! - `MTH({}) = SHA-256("")` ([`empty_root`]); for `n > 1`, with `k` the largest power of two
//!   strictly below `n`, `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`.
//!
//! # Storage
//!
//! Proofs never reread the log. What is stored is the hash of every *complete* subtree: node
//! `(level, index)` is the root of the perfect subtree over the leaves
//! `[index * 2^level, (index + 1) * 2^level)`, level 0 being the leaf hashes themselves. A log
//! of `n` leaves has fewer than `2n` such nodes; each is written once, when its last leaf is
//! appended ([`nodes_completed_by_append`], [`nodes_completed_by_appends`]), and never changes.
//! Any `MTH(D[a:b])` the RFC's algorithms need is assembled from O(log n) of them
//! ([`subtree_hash`]), so a root ([`root`]), an inclusion proof ([`inclusion_proof`]) or a
//! consistency proof ([`consistency_proof`]) costs O(log n) look-ups through [`NodeSource`],
//! which the store implements over its node table. [`MemoryNodes`] is an in-memory
//! implementation for tests and offline verification.
//!
//! # Proofs
//!
//! [`inclusion_proof`] returns RFC 9162 `PATH(m, D[n])` (§2.1.3.1) and [`consistency_proof`]
//! returns `PROOF(m, D[n])` (§2.1.4.1), both in the RFC's order: the hash nearest the leaf (or
//! the old tree's edge) first, the root's child last. [`verify_inclusion`] and
//! [`verify_consistency`] are the RFC's verification algorithms (§2.1.3.2, §2.1.4.2).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node or a tree root.
pub type Hash = [u8; 32];

/// One node to store: `(level, index, hash)`, as [`NodeSource::node`] addresses it.
pub type StoredNode = (u32, u64, Hash);

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: [u8; 1] = [0x00];
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: [u8; 1] = [0x01];

/// Number of node levels that can exist in a tree whose size fits in a `u64`.
const MAX_LEVELS: usize = 64;

/// `MTH({d})` for one entry: `SHA-256(0x00 || entry)`.
#[inline]
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(LEAF_PREFIX);
    hasher.update(entry);
    hasher.finalize().into()
}

/// An interior node: `SHA-256(0x01 || left || right)`.
#[inline]
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(NODE_PREFIX);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree, `MTH({}) = SHA-256("")`.
#[inline]
#[must_use]
pub fn empty_root() -> Hash {
    Sha256::new().finalize().into()
}

/// Where the stored nodes come from: the store's node table, or [`MemoryNodes`].
pub trait NodeSource {
    /// What a failed look-up returns, including "no such node".
    type Error;

    /// The hash of the perfect subtree over leaves `[index * 2^level, (index + 1) * 2^level)`;
    /// at level 0, the leaf hash of leaf `index`.
    ///
    /// # Errors
    ///
    /// When the node is not stored (its subtree is not complete yet, or the store lost it) or
    /// the store cannot be read.
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a tree operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError<E> {
    /// The arguments describe no tree, leaf or proof: a leaf index not below the tree size, a
    /// first tree size of 0 or above the second, or a size that overflows `u64`. The text says
    /// which; this is the caller's mistake, not the store's.
    #[error("invalid Merkle tree argument: {0}")]
    InvalidArgument(&'static str),
    /// The [`NodeSource`] failed, e.g. a node the sizes say must exist is not stored.
    #[error("Merkle node source failed: {0}")]
    Source(#[source] E),
}

/// The largest power of two strictly less than `n`; `n` must be at least 2.
#[inline]
fn split_point(n: u64) -> u64 {
    1 << (63 - (n.saturating_sub(1) | 1).leading_zeros())
}

/// Ceiling of `log2(n)` for `n >= 1`: the most hashes an inclusion proof in a tree of `n` has.
#[inline]
fn ceil_log2(n: u64) -> usize {
    (64 - n.saturating_sub(1).leading_zeros()) as usize
}

/// Appends one leaf, reading left siblings from `src`: the nodes its arrival completes.
fn completed_nodes<S: NodeSource + ?Sized>(
    size_before: u64,
    leaf: Hash,
    src: &mut S,
    out: &mut Vec<StoredNode>,
) -> Result<(), S::Error> {
    let (mut level, mut index, mut hash) = (0u32, size_before, leaf);
    out.push((level, index, hash));
    while index & 1 == 1 {
        let left = src.node(level, index - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        out.push((level, index, hash));
    }
    Ok(())
}

/// The nodes to store when leaf number `size_before` (0-based) is appended with hash `leaf`:
/// first `(0, size_before, leaf)`, then, for as long as the new node is a right child, its
/// parent (the left sibling is read from `src`), bottom-up.
///
/// # Errors
///
/// [`MerkleError::InvalidArgument`] when the tree already holds `u64::MAX` leaves;
/// [`MerkleError::Source`] when a left sibling cannot be read.
pub fn nodes_completed_by_append<S: NodeSource + ?Sized>(
    size_before: u64,
    leaf: Hash,
    src: &mut S,
) -> Result<Vec<StoredNode>, MerkleError<S::Error>> {
    if size_before == u64::MAX {
        return Err(MerkleError::InvalidArgument(
            "the tree cannot grow past u64::MAX leaves",
        ));
    }
    let mut out = Vec::with_capacity(1 + size_before.trailing_ones() as usize);
    completed_nodes(size_before, leaf, src, &mut out).map_err(MerkleError::Source)?;
    Ok(out)
}

/// [`NodeSource`] wrapper for a batch of appends: the last node completed at each level during
/// the batch is kept, so a later leaf's left sibling produced earlier in the same batch is
/// never read back from the store (where it is not written yet).
struct BatchOverlay<'a, S: ?Sized> {
    inner: &'a mut S,
    latest: [Option<(u64, Hash)>; MAX_LEVELS],
}

impl<S: NodeSource + ?Sized> NodeSource for BatchOverlay<'_, S> {
    type Error = S::Error;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, S::Error> {
        // A left sibling produced in this batch is always the latest node of its level: the
        // next node at that level is the one being built on top of it.
        if let Some(Some((stored_index, hash))) = self.latest.get(level as usize) {
            if *stored_index == index {
                return Ok(*hash);
            }
        }
        self.inner.node(level, index)
    }
}

/// [`nodes_completed_by_append`] for `leaves.len()` leaves appended at once, starting at leaf
/// number `size_before`: every node they complete, in the order produced. Only nodes that
/// existed before the batch are read from `src`.
///
/// # Errors
///
/// [`MerkleError::InvalidArgument`] when the new size would overflow `u64`;
/// [`MerkleError::Source`] when a pre-existing left sibling cannot be read.
pub fn nodes_completed_by_appends<S: NodeSource + ?Sized>(
    size_before: u64,
    leaves: &[Hash],
    src: &mut S,
) -> Result<Vec<StoredNode>, MerkleError<S::Error>> {
    let count = u64::try_from(leaves.len())
        .map_err(|_| MerkleError::InvalidArgument("too many leaves in one batch"))?;
    if size_before.checked_add(count).is_none() {
        return Err(MerkleError::InvalidArgument(
            "the tree cannot grow past u64::MAX leaves",
        ));
    }
    let mut overlay = BatchOverlay {
        inner: src,
        latest: [None; MAX_LEVELS],
    };
    // Each leaf completes two nodes on average.
    let mut out = Vec::with_capacity(leaves.len().saturating_mul(2).saturating_add(MAX_LEVELS));
    // Leaves first in the zip: the index range is never advanced past the last leaf.
    for (leaf, leaf_index) in leaves.iter().zip(size_before..) {
        let first_new = out.len();
        completed_nodes(leaf_index, *leaf, &mut overlay, &mut out).map_err(MerkleError::Source)?;
        for (level, index, hash) in out.iter().skip(first_new) {
            if let Some(slot) = overlay.latest.get_mut(*level as usize) {
                *slot = Some((*index, *hash));
            }
        }
    }
    Ok(out)
}

/// `MTH(D[start:start+len])` for `len >= 1` whose end does not overflow.
fn mth_range<S: NodeSource + ?Sized>(start: u64, len: u64, src: &mut S) -> Result<Hash, S::Error> {
    if len.is_power_of_two() && start & (len - 1) == 0 {
        let level = len.trailing_zeros();
        return src.node(level, start >> level);
    }
    // len >= 2 here: a length of 1 is a power of two and always aligned.
    let k = split_point(len);
    let left = mth_range(start, k, src)?;
    let right = mth_range(start + k, len - k, src)?;
    Ok(node_hash(&left, &right))
}

/// `MTH(D[start:start+len])`, the RFC 9162 hash of the `len` leaves from leaf `start` on,
/// assembled from stored perfect subtrees: one look-up when `len` is a power of two and `start`
/// a multiple of it, otherwise split at the largest power of two below `len`. With `start` a
/// multiple of that power of two (as in every subtree the RFC's algorithms use) this is at most
/// `popcount(len)` look-ups. `len == 0` gives [`empty_root`].
///
/// # Errors
///
/// [`MerkleError::InvalidArgument`] when `start + len` overflows `u64`;
/// [`MerkleError::Source`] when a node cannot be read (e.g. the range is beyond the tree).
pub fn subtree_hash<S: NodeSource + ?Sized>(
    start: u64,
    len: u64,
    src: &mut S,
) -> Result<Hash, MerkleError<S::Error>> {
    if start.checked_add(len).is_none() {
        return Err(MerkleError::InvalidArgument("subtree end overflows u64"));
    }
    if len == 0 {
        return Ok(empty_root());
    }
    mth_range(start, len, src).map_err(MerkleError::Source)
}

/// The root `MTH(D[size])` of the tree's first `size` leaves (an older tree head when `size`
/// is below the current size); [`empty_root`] for 0.
///
/// # Errors
///
/// [`MerkleError::Source`] when a node cannot be read, e.g. `size` exceeds the stored tree.
pub fn root<S: NodeSource + ?Sized>(size: u64, src: &mut S) -> Result<Hash, MerkleError<S::Error>> {
    subtree_hash(0, size, src)
}

/// RFC 9162 §2.1.3.1 `PATH(index, D[size])`: the audit path of leaf `index` in the tree of the
/// first `size` leaves, ordered as the RFC gives it, the leaf's sibling first and the root's
/// child last. At most `ceil(log2(size))` hashes; empty for a one-leaf tree.
///
/// # Errors
///
/// [`MerkleError::InvalidArgument`] when `index >= size`; [`MerkleError::Source`] when a node
/// cannot be read.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    index: u64,
    size: u64,
    src: &mut S,
) -> Result<Vec<Hash>, MerkleError<S::Error>> {
    if index >= size {
        return Err(MerkleError::InvalidArgument(
            "leaf index must be less than the tree size",
        ));
    }
    let mut path = Vec::with_capacity(ceil_log2(size));
    // Walk down from the root, pushing the sibling of the subtree that holds leaf `m`.
    let (mut m, mut start, mut n) = (index, 0u64, size);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            path.push(mth_range(start + k, n - k, src).map_err(MerkleError::Source)?);
            n = k;
        } else {
            path.push(mth_range(start, k, src).map_err(MerkleError::Source)?);
            start += k;
            m -= k;
            n -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 9162 §2.1.4.1 `PROOF(first, D[second])`: the consistency proof between the tree heads
/// of sizes `first` and `second`, for `0 < first <= second`, in the RFC's order. Empty when
/// `first == second`.
///
/// # Errors
///
/// [`MerkleError::InvalidArgument`] when `first == 0` or `first > second`;
/// [`MerkleError::Source`] when a node cannot be read.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    first: u64,
    second: u64,
    src: &mut S,
) -> Result<Vec<Hash>, MerkleError<S::Error>> {
    if first == 0 {
        return Err(MerkleError::InvalidArgument(
            "the first tree size must be positive",
        ));
    }
    if first > second {
        return Err(MerkleError::InvalidArgument(
            "the first tree size must not exceed the second",
        ));
    }
    let mut proof = Vec::with_capacity(ceil_log2(second).saturating_add(1));
    // SUBPROOF(m, D[start:start+n], whole), unrolled from the root down; `whole` is the RFC's
    // `b`: true while the subtree still starts at leaf 0 of the old tree.
    let (mut m, mut start, mut n, mut whole) = (first, 0u64, second, true);
    while m < n {
        // 1 <= m < n, so n >= 2.
        let k = split_point(n);
        if m <= k {
            proof.push(mth_range(start + k, n - k, src).map_err(MerkleError::Source)?);
            n = k;
        } else {
            proof.push(mth_range(start, k, src).map_err(MerkleError::Source)?);
            start += k;
            m -= k;
            n -= k;
            whole = false;
        }
    }
    if !whole {
        proof.push(mth_range(start, n, src).map_err(MerkleError::Source)?);
    }
    proof.reverse();
    Ok(proof)
}

/// RFC 9162 §2.1.3.2: whether `path` proves that `leaf` (a [`leaf_hash`]) is leaf number `index`
/// of the tree of `size` leaves whose root is `root`.
///
/// As in the RFC, the proof binds the root, not the size: a root must be trusted together with
/// its size (e.g. from a signed tree head).
#[must_use]
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `second` leaves with root
/// `second_root` extends the tree of `first` leaves with root `first_root`.
///
/// For `first == second` it holds exactly when the proof is empty and the roots are equal.
/// A `first` of 0 or above `second` is never consistent here: [`consistency_proof`] makes no
/// proof for those.
#[must_use]
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    // When `first` is a power of two the old root is itself a node of the new tree and the RFC
    // has the verifier prepend it to the proof.
    let (seed, rest) = if first.is_power_of_two() {
        (first_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return false,
        }
    };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *first_root && sr == *second_root
}

/// [`MemoryNodes`] has no node at `(level, index)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Merkle node (level {level}, index {index}) is not stored")]
pub struct MissingNode {
    /// Level of the missing node (0 = leaf).
    pub level: u32,
    /// Index of the missing node within its level.
    pub index: u64,
}

/// Stored nodes held in a `HashMap`: for tests, and for verifying an exported log offline.
#[derive(Debug, Clone, Default)]
pub struct MemoryNodes {
    nodes: HashMap<(u32, u64), Hash>,
    size: u64,
}

impl MemoryNodes {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every complete-subtree node of the tree with these leaf hashes, built level by level.
    #[must_use]
    pub fn from_leaf_hashes(leaves: &[Hash]) -> Self {
        let mut nodes = HashMap::with_capacity(leaves.len().saturating_mul(2));
        let mut level_hashes = leaves.to_vec();
        let mut level = 0u32;
        loop {
            for (index, hash) in (0u64..).zip(&level_hashes) {
                nodes.insert((level, index), *hash);
            }
            if level_hashes.len() < 2 {
                break;
            }
            level_hashes = level_hashes
                .chunks_exact(2)
                .filter_map(|pair| match pair {
                    [left, right] => Some(node_hash(left, right)),
                    _ => None,
                })
                .collect();
            level += 1;
        }
        Self {
            nodes,
            size: leaves.len() as u64,
        }
    }

    /// Number of leaves: one more than the highest leaf index stored (0 when none).
    #[must_use]
    pub fn tree_size(&self) -> u64 {
        self.size
    }

    /// Number of stored nodes, all levels together.
    #[must_use]
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Stores one node as given (e.g. loaded from the store); a level-0 node beyond the current
    /// size grows [`tree_size`](Self::tree_size) to its index + 1.
    pub fn insert(&mut self, level: u32, index: u64, hash: Hash) {
        if level == 0 && index >= self.size {
            self.size = index.saturating_add(1);
        }
        self.nodes.insert((level, index), hash);
    }

    /// Appends one leaf hash and stores the nodes it completes.
    ///
    /// # Errors
    ///
    /// As [`nodes_completed_by_append`]; only possible when nodes were removed or inserted
    /// inconsistently.
    pub fn append(&mut self, leaf: Hash) -> Result<(), MerkleError<MissingNode>> {
        let completed = nodes_completed_by_append(self.size, leaf, self)?;
        self.store(completed);
        Ok(())
    }

    /// Appends several leaf hashes at once and stores the nodes they complete.
    ///
    /// # Errors
    ///
    /// As [`nodes_completed_by_appends`].
    pub fn append_all(&mut self, leaves: &[Hash]) -> Result<(), MerkleError<MissingNode>> {
        let completed = nodes_completed_by_appends(self.size, leaves, self)?;
        self.store(completed);
        Ok(())
    }

    /// The root of the whole tree.
    ///
    /// # Errors
    ///
    /// Only when nodes were removed or inserted inconsistently.
    pub fn root(&mut self) -> Result<Hash, MerkleError<MissingNode>> {
        root(self.size, self)
    }

    fn store(&mut self, completed: Vec<StoredNode>) {
        for (level, index, hash) in completed {
            self.insert(level, index, hash);
        }
    }
}

impl NodeSource for MemoryNodes {
    type Error = MissingNode;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.nodes
            .get(&(level, index))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- Naive reference: the RFC's recursive definitions over a slice of leaf hashes. ----

    fn naive_split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn naive_mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = naive_split(n);
                node_hash(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
            }
        }
    }

    fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = naive_split(d.len());
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(naive_mth(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(naive_mth(&d[..k]));
            p
        }
    }

    fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![naive_mth(d)] };
        }
        let k = naive_split(n);
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(naive_mth(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(naive_mth(&d[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64)
            .map(|i| leaf_hash(format!("audit entry {i}").as_bytes()))
            .collect()
    }

    /// Builds the tree one `nodes_completed_by_append` at a time.
    fn appended_one_by_one(d: &[Hash]) -> MemoryNodes {
        let mut mem = MemoryNodes::new();
        for leaf in d {
            mem.append(*leaf).unwrap();
        }
        mem
    }

    fn flip(h: &Hash, bit: usize) -> Hash {
        let mut out = *h;
        out[(bit / 8) % 32] ^= 1 << (bit % 8);
        out
    }

    fn dh(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // ---- Published vectors. ----

    /// The Certificate Transparency reference leaves and roots, as published in
    /// transparency-dev/merkle (proof/verify_test.go, testonly/constants.go) and Google's
    /// certificate-transparency tests: `ROOTS[i]` is the root of the first `i + 1` leaves.
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    /// (leaf index, tree size, path) from the same source (which numbers leaves from 1).
    const CT_INCLUSION: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    /// (first size, second size, proof) from the same source.
    const CT_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn ct_tree() -> MemoryNodes {
        let d: Vec<Hash> = CT_LEAVES
            .iter()
            .map(|e| leaf_hash(&hex::decode(e).unwrap()))
            .collect();
        appended_one_by_one(&d)
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root(),
            dh("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(root(0, &mut MemoryNodes::new()).unwrap(), empty_root());
    }

    #[test]
    fn ct_reference_roots() {
        let mut mem = ct_tree();
        for (i, want) in CT_ROOTS.iter().enumerate() {
            assert_eq!(
                root(i as u64 + 1, &mut mem).unwrap(),
                dh(want),
                "size {}",
                i + 1
            );
        }
    }

    #[test]
    fn ct_reference_inclusion_proofs() {
        let mut mem = ct_tree();
        for (index, size, want) in CT_INCLUSION {
            let want: Vec<Hash> = want.iter().map(|h| dh(h)).collect();
            let got = inclusion_proof(index, size, &mut mem).unwrap();
            assert_eq!(got, want, "index {index} size {size}");
            let leaf = mem.node(0, index).unwrap();
            let root_hash = dh(CT_ROOTS[size as usize - 1]);
            assert!(verify_inclusion(&leaf, index, size, &want, &root_hash));
        }
    }

    #[test]
    fn ct_reference_consistency_proofs() {
        let mut mem = ct_tree();
        for (first, second, want) in CT_CONSISTENCY {
            let want: Vec<Hash> = want.iter().map(|h| dh(h)).collect();
            let got = consistency_proof(first, second, &mut mem).unwrap();
            assert_eq!(got, want, "{first} -> {second}");
            let r1 = dh(CT_ROOTS[first as usize - 1]);
            let r2 = dh(CT_ROOTS[second as usize - 1]);
            assert!(verify_consistency(first, second, &r1, &r2, &want));
        }
    }

    // ---- Exhaustive small trees. ----

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for n in 2..2000u64 {
            assert_eq!(split_point(n), naive_split(n as usize) as u64, "n = {n}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn every_proof_of_every_small_tree() {
        let all = leaves(70);
        let mut mem = MemoryNodes::from_leaf_hashes(&all);
        for n in 1..=all.len() {
            let d = &all[..n];
            let size = n as u64;
            let r = root(size, &mut mem).unwrap();
            assert_eq!(r, naive_mth(d), "root of {n}");
            for m in 0..n {
                let path = inclusion_proof(m as u64, size, &mut mem).unwrap();
                assert_eq!(path, naive_path(m, d), "PATH({m}, D[{n}])");
                assert!(path.len() <= ceil_log2(size));
                assert!(verify_inclusion(&d[m], m as u64, size, &path, &r));
                for other in 0..n {
                    if other != m {
                        assert!(!verify_inclusion(&d[m], other as u64, size, &path, &r));
                    }
                }
            }
            for m in 1..=n {
                let proof = consistency_proof(m as u64, size, &mut mem).unwrap();
                assert_eq!(proof, naive_subproof(m, d, true), "PROOF({m}, D[{n}])");
                let r1 = naive_mth(&d[..m]);
                assert!(verify_consistency(m as u64, size, &r1, &r, &proof));
            }
        }
    }

    #[test]
    fn subtree_hash_handles_unaligned_ranges() {
        let all = leaves(40);
        let mut mem = MemoryNodes::from_leaf_hashes(&all);
        for start in 0..all.len() {
            for len in 0..=all.len() - start {
                let got = subtree_hash(start as u64, len as u64, &mut mem).unwrap();
                assert_eq!(
                    got,
                    naive_mth(&all[start..start + len]),
                    "D[{start}:+{len}]"
                );
            }
        }
    }

    #[test]
    fn append_stores_each_completed_node_once() {
        let d = leaves(300);
        let built = appended_one_by_one(&d);
        let rebuilt = MemoryNodes::from_leaf_hashes(&d);
        assert_eq!(built.nodes, rebuilt.nodes);
        assert_eq!(built.tree_size(), 300);
        // 300 leaves complete 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 + 300 nodes.
        assert_eq!(built.node_count(), 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1);
        // Appending leaf 7 (0-based) completes (0,7), (1,3), (2,1), (3,0).
        let mut first7 = MemoryNodes::from_leaf_hashes(&d[..7]);
        let nodes = nodes_completed_by_append(7, d[7], &mut first7).unwrap();
        let positions: Vec<(u32, u64)> = nodes.iter().map(|(l, i, _)| (*l, *i)).collect();
        assert_eq!(positions, vec![(0, 7), (1, 3), (2, 1), (3, 0)]);
        assert_eq!(nodes[3].2, naive_mth(&d[..8]));
    }

    #[test]
    fn invalid_arguments_are_reported_as_such() {
        let mut mem = MemoryNodes::from_leaf_hashes(&leaves(5));
        assert!(matches!(
            inclusion_proof(5, 5, &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        assert!(matches!(
            inclusion_proof(0, 0, &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        assert!(matches!(
            consistency_proof(0, 5, &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        assert!(matches!(
            consistency_proof(4, 3, &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        assert!(matches!(
            subtree_hash(u64::MAX, 2, &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        assert!(matches!(
            nodes_completed_by_append(u64::MAX, [0; 32], &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        assert!(matches!(
            nodes_completed_by_appends(u64::MAX - 1, &[[0; 32]; 2], &mut mem),
            Err(MerkleError::InvalidArgument(_))
        ));
        // The last possible leaf (even index, so it completes nothing else) still fits.
        assert_eq!(
            nodes_completed_by_appends(u64::MAX - 1, &[[7; 32]], &mut mem).unwrap(),
            vec![(0, u64::MAX - 1, [7; 32])]
        );
        assert_eq!(
            consistency_proof(5, 5, &mut mem).unwrap(),
            Vec::<Hash>::new()
        );
    }

    #[test]
    fn missing_nodes_are_source_errors() {
        let mut mem = MemoryNodes::from_leaf_hashes(&leaves(5));
        assert_eq!(
            inclusion_proof(0, 6, &mut mem),
            Err(MerkleError::Source(MissingNode { level: 1, index: 2 }))
        );
        assert_eq!(
            root(9, &mut mem),
            Err(MerkleError::Source(MissingNode { level: 3, index: 0 }))
        );
        assert!(matches!(
            consistency_proof(3, 8, &mut mem),
            Err(MerkleError::Source(_))
        ));
        // Appending at the wrong position needs a left sibling that is not there.
        assert!(matches!(
            nodes_completed_by_append(7, [0; 32], &mut mem),
            Err(MerkleError::Source(MissingNode { level: 0, index: 6 }))
        ));
    }

    #[test]
    fn verifiers_reject_degenerate_input() {
        let d = leaves(4);
        let r = naive_mth(&d);
        assert!(!verify_inclusion(&d[0], 0, 0, &[], &empty_root()));
        assert!(!verify_inclusion(&d[0], 4, 4, &[], &r));
        assert!(verify_inclusion(&d[0], 0, 1, &[], &d[0]));
        assert!(!verify_inclusion(&d[0], 0, 1, &[d[1]], &d[0]));
        // Consistency: same size needs equal roots and no proof; 0 and backwards never hold.
        assert!(verify_consistency(4, 4, &r, &r, &[]));
        assert!(!verify_consistency(4, 4, &r, &r, &[r]));
        assert!(!verify_consistency(4, 4, &r, &d[0], &[]));
        assert!(!verify_consistency(0, 4, &empty_root(), &r, &[]));
        assert!(!verify_consistency(4, 3, &r, &r, &[]));
        let r3 = naive_mth(&d[..3]);
        assert!(!verify_consistency(3, 4, &r3, &r, &[]));
    }

    #[test]
    fn batch_overlay_does_not_read_the_batch_back() {
        // The source holds nothing at all: a batch starting from the empty tree may not read.
        let d = leaves(37);
        let mut empty = MemoryNodes::new();
        let nodes = nodes_completed_by_appends(0, &d, &mut empty).unwrap();
        let mut built = MemoryNodes::new();
        for (l, i, h) in nodes {
            built.insert(l, i, h);
        }
        assert_eq!(built.nodes, MemoryNodes::from_leaf_hashes(&d).nodes);
    }

    // ---- Properties over random trees. ----

    fn size_and_index() -> impl Strategy<Value = (usize, usize)> {
        (1usize..=300).prop_flat_map(|n| (Just(n), 0..n))
    }

    fn size_and_first() -> impl Strategy<Value = (usize, usize)> {
        (1usize..=300).prop_flat_map(|n| (Just(n), 1..=n))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn root_from_nodes_is_naive_mth(n in 0usize..=300, seed in any::<u64>()) {
            let d: Vec<Hash> =
                (0..n as u64).map(|i| leaf_hash(&(seed ^ i).to_be_bytes())).collect();
            let mut mem = appended_one_by_one(&d);
            prop_assert_eq!(root(n as u64, &mut mem).unwrap(), naive_mth(&d));
            prop_assert_eq!(mem.root().unwrap(), naive_mth(&d));
        }

        #[test]
        fn inclusion_proofs_verify_and_resist_tampering(
            (n, m) in size_and_index(),
            other in any::<usize>(),
            bit in 0usize..256,
            extra in any::<[u8; 32]>(),
        ) {
            let d = leaves(n);
            let mut mem = MemoryNodes::from_leaf_hashes(&d);
            let size = n as u64;
            let r = root(size, &mut mem).unwrap();
            let path = inclusion_proof(m as u64, size, &mut mem).unwrap();
            prop_assert_eq!(&path, &naive_path(m, &d));
            prop_assert!(verify_inclusion(&d[m], m as u64, size, &path, &r));

            // Another leaf, or a changed leaf hash.
            prop_assert!(!verify_inclusion(&flip(&d[m], bit), m as u64, size, &path, &r));
            if n > 1 {
                let o = (m + 1 + other % (n - 1)) % n;
                prop_assert!(!verify_inclusion(&d[o], m as u64, size, &path, &r));
                // The right leaf at another index.
                prop_assert!(!verify_inclusion(&d[m], o as u64, size, &path, &r));
            }
            // Every path element changed in turn.
            for i in 0..path.len() {
                let mut bad = path.clone();
                bad[i] = flip(&bad[i], bit);
                prop_assert!(!verify_inclusion(&d[m], m as u64, size, &bad, &r));
            }
            // Truncated or extended paths.
            if !path.is_empty() {
                prop_assert!(!verify_inclusion(&d[m], m as u64, size, &path[1..], &r));
                prop_assert!(!verify_inclusion(
                    &d[m], m as u64, size, &path[..path.len() - 1], &r
                ));
            }
            let mut longer = path.clone();
            longer.push(extra);
            prop_assert!(!verify_inclusion(&d[m], m as u64, size, &longer, &r));
            let mut longer = vec![extra];
            longer.extend_from_slice(&path);
            prop_assert!(!verify_inclusion(&d[m], m as u64, size, &longer, &r));
            // Another root.
            prop_assert!(!verify_inclusion(&d[m], m as u64, size, &path, &flip(&r, bit)));
        }

        #[test]
        fn consistency_proofs_verify_and_resist_tampering(
            (n, m) in size_and_first(),
            bit in 0usize..256,
            extra in any::<[u8; 32]>(),
        ) {
            let d = leaves(n);
            let mut mem = MemoryNodes::from_leaf_hashes(&d);
            let (first, second) = (m as u64, n as u64);
            let r1 = root(first, &mut mem).unwrap();
            let r2 = root(second, &mut mem).unwrap();
            let proof = consistency_proof(first, second, &mut mem).unwrap();
            prop_assert_eq!(&proof, &naive_subproof(m, &d, true));
            prop_assert!(verify_consistency(first, second, &r1, &r2, &proof));

            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], bit);
                prop_assert!(!verify_consistency(first, second, &r1, &r2, &bad));
            }
            if !proof.is_empty() {
                prop_assert!(!verify_consistency(first, second, &r1, &r2, &proof[1..]));
                prop_assert!(!verify_consistency(
                    first, second, &r1, &r2, &proof[..proof.len() - 1]
                ));
            }
            let mut longer = proof.clone();
            longer.push(extra);
            prop_assert!(!verify_consistency(first, second, &r1, &r2, &longer));
            let mut longer = vec![extra];
            longer.extend_from_slice(&proof);
            prop_assert!(!verify_consistency(first, second, &r1, &r2, &longer));
            prop_assert!(!verify_consistency(first, second, &flip(&r1, bit), &r2, &proof));
            prop_assert!(!verify_consistency(first, second, &r1, &flip(&r2, bit), &proof));
            if first != second {
                prop_assert!(!verify_consistency(first, second, &r2, &r1, &proof));
            }
            // The proof is for these sizes only.
            for (f, s) in [(first - 1, second), (first + 1, second), (first ^ 2, second)] {
                if (f, s) != (first, second) {
                    prop_assert!(!verify_consistency(f, s, &r1, &r2, &proof));
                }
            }
        }

        #[test]
        fn batch_append_equals_one_by_one(
            n in 0usize..=300,
            before in 0usize..=300,
            chunks in proptest::collection::vec(1usize..=40, 1..20),
        ) {
            let before = before.min(n);
            let d = leaves(n);
            let single = appended_one_by_one(&d);

            // The source holds only the tree before each batch, so nothing produced inside a
            // batch can be read back from it.
            let mut batched = MemoryNodes::from_leaf_hashes(&d[..before]);
            let mut pos = before;
            let mut sizes = chunks.iter().cycle();
            while pos < n {
                let take = (*sizes.next().unwrap()).min(n - pos);
                let batch = &d[pos..pos + take];
                let mut expect = Vec::new();
                let mut scratch = batched.clone();
                for (i, leaf) in batch.iter().enumerate() {
                    let nodes =
                        nodes_completed_by_append((pos + i) as u64, *leaf, &mut scratch).unwrap();
                    for (l, ix, h) in &nodes {
                        scratch.insert(*l, *ix, *h);
                    }
                    expect.extend(nodes);
                }
                let got = nodes_completed_by_appends(pos as u64, batch, &mut batched).unwrap();
                prop_assert_eq!(&got, &expect);
                for (l, ix, h) in got {
                    batched.insert(l, ix, h);
                }
                pos += take;
            }
            prop_assert_eq!(&batched.nodes, &single.nodes);
            prop_assert_eq!(batched.tree_size(), n as u64);
        }
    }
}
