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
    // 65 bytes are always two blocks, laid out here with SHA-256's padding and compressed
    // directly (the trees of verification and proofs are mostly these).
    let mut bytes = [0u8; 128];
    let (prefix, rest) = bytes.split_at_mut(NODE_PREFIX.len());
    prefix.copy_from_slice(&NODE_PREFIX);
    let (l, rest) = rest.split_at_mut(32);
    l.copy_from_slice(left);
    let (r, rest) = rest.split_at_mut(32);
    r.copy_from_slice(right);
    let (pad, rest) = rest.split_at_mut(1);
    pad.copy_from_slice(&[0x80]);
    let (_, length) = rest.split_at_mut(rest.len() - 8);
    length.copy_from_slice(&(65u64 * 8).to_be_bytes());
    let (b1, b2) = bytes.split_at(64);
    let blocks = [
        sha2::digest::generic_array::GenericArray::clone_from_slice(b1),
        sha2::digest::generic_array::GenericArray::clone_from_slice(b2),
    ];
    let mut state = SHA256_IV;
    sha2::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

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
mod tests;
