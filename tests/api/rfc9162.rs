//! An independent RFC 9162 §2.1 Merkle tree verifier for the API tests.
//!
//! It is written from the RFC's definitions alone and shares no code with the service's
//! `audit::merkle`, so that a mistake there is not mirrored here. Where the service walks
//! stored nodes and verifies with the RFC's bit-shifting loops, this file works on the full
//! list of leaf hashes with the recursive definitions (`MTH`, `PATH`, `PROOF`/`SUBPROOF`), and
//! its verifiers accept a proof only when two different methods agree: the recursive
//! reconstruction of the root(s) that the proof's definition implies, and the iterative
//! algorithm of §2.1.3.2 / §2.1.4.2.
//!
//! - leaf hash `SHA-256(0x00 || entry)`, interior node `SHA-256(0x01 || left || right)`;
//! - `MTH({}) = SHA-256("")`; for `n > 1`, `k` the largest power of two below `n`,
//!   `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`.
#![allow(dead_code)]

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut input = Vec::with_capacity(entry.len() + 1);
    input.push(0x00);
    input.extend_from_slice(entry);
    Sha256::digest(&input).into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = Vec::with_capacity(65);
    input.push(0x01);
    input.extend_from_slice(left);
    input.extend_from_slice(right);
    Sha256::digest(&input).into()
}

/// `SHA-256("")`, the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The largest power of two strictly less than `n` (for `n >= 2`), found by doubling.
fn split(n: u64) -> u64 {
    let mut k = 1u64;
    while k.saturating_mul(2) < n {
        k *= 2;
    }
    k
}

fn split_usize(n: usize) -> usize {
    let mut k = 1usize;
    while k.saturating_mul(2) < n {
        k *= 2;
    }
    k
}

/// `MTH(D[n])` over leaf hashes, straight from the recursive definition.
pub fn mth_from_leaf_hashes(hashes: &[Hash]) -> Hash {
    match hashes {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let (left, right) = hashes.split_at(split_usize(hashes.len()));
            node_hash(&mth_from_leaf_hashes(left), &mth_from_leaf_hashes(right))
        }
    }
}

/// `MTH(D[n])` over raw entries (each hashed with [`leaf_hash`] first).
pub fn mth<E: AsRef<[u8]>>(entries: &[E]) -> Hash {
    let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e.as_ref())).collect();
    mth_from_leaf_hashes(&hashes)
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[n])` over the full list of leaf hashes, leaf side first.
/// `None` when `m` is not a leaf of the tree.
pub fn inclusion_path(m: usize, hashes: &[Hash]) -> Option<Vec<Hash>> {
    (m < hashes.len()).then(|| path_rec(m, hashes))
}

fn path_rec(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = split_usize(d.len());
    let (left, right) = d.split_at(k);
    let (mut path, sibling) = if m < k {
        (path_rec(m, left), mth_from_leaf_hashes(right))
    } else {
        (path_rec(m - k, right), mth_from_leaf_hashes(left))
    };
    path.push(sibling);
    path
}

/// RFC 9162 §2.1.4.1 `PROOF(m, D[n])` over the full list of leaf hashes. `None` unless
/// `0 < m <= n`.
pub fn consistency_path(m: usize, hashes: &[Hash]) -> Option<Vec<Hash>> {
    (m > 0 && m <= hashes.len()).then(|| subproof(m, hashes, true))
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    if m == d.len() {
        return if b {
            Vec::new()
        } else {
            vec![mth_from_leaf_hashes(d)]
        };
    }
    let k = split_usize(d.len());
    let (left, right) = d.split_at(k);
    let (mut proof, sibling) = if m <= k {
        (subproof(m, left, b), mth_from_leaf_hashes(right))
    } else {
        (subproof(m - k, right, false), mth_from_leaf_hashes(left))
    };
    proof.push(sibling);
    proof
}

/// The root that `path` implies for leaf `m` of a tree of `n`, rebuilt top-down along the
/// `PATH` definition: the path's last hash is the sibling just below the root.
fn root_from_path(m: u64, n: u64, leaf: &Hash, path: &[Hash]) -> Option<Hash> {
    if n == 1 {
        return path.is_empty().then_some(*leaf);
    }
    let (sibling, rest) = path.split_last()?;
    let k = split(n);
    if m < k {
        Some(node_hash(&root_from_path(m, k, leaf, rest)?, sibling))
    } else {
        Some(node_hash(
            sibling,
            &root_from_path(m - k, n - k, leaf, rest)?,
        ))
    }
}

/// Inclusion by the recursive reconstruction alone.
pub fn verify_inclusion_recursive(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> bool {
    index < size && root_from_path(index, size, leaf, path).as_ref() == Some(root)
}

/// Inclusion by the RFC 9162 §2.1.3.2 algorithm alone.
pub fn verify_inclusion_iterative(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            r = node_hash(p, &r);
            if f % 2 == 0 {
                while f != 0 && f % 2 == 0 {
                    f /= 2;
                    s /= 2;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && r == *root
}

/// Whether `path` proves `leaf_hash` is leaf `index` of the tree of `size` with root `root`:
/// both the recursive and the iterative method must accept.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> bool {
    verify_inclusion_recursive(leaf_hash, index, size, path, root)
        && verify_inclusion_iterative(leaf_hash, index, size, path, root)
}

/// The (old, new) subtree hashes that a `SUBPROOF(m, D[n], whole)` implies, rebuilt top-down;
/// `first_root` stands in for the subtree the RFC leaves out of the proof.
fn roots_from_subproof(
    m: u64,
    n: u64,
    whole: bool,
    first_root: &Hash,
    proof: &[Hash],
) -> Option<(Hash, Hash)> {
    if m == n {
        return match (whole, proof) {
            (true, []) => Some((*first_root, *first_root)),
            (false, [h]) => Some((*h, *h)),
            _ => None,
        };
    }
    let (sibling, rest) = proof.split_last()?;
    let k = split(n);
    if m <= k {
        let (old, new) = roots_from_subproof(m, k, whole, first_root, rest)?;
        Some((old, node_hash(&new, sibling)))
    } else {
        let (old, new) = roots_from_subproof(m - k, n - k, false, first_root, rest)?;
        Some((node_hash(sibling, &old), node_hash(sibling, &new)))
    }
}

/// Consistency by the recursive reconstruction alone.
pub fn verify_consistency_recursive(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    match roots_from_subproof(first, second, true, first_root, proof) {
        Some((old, new)) => old == *first_root && new == *second_root,
        None => false,
    }
}

/// Consistency by the RFC 9162 §2.1.4.2 algorithm alone (equal sizes: empty proof and equal
/// roots).
pub fn verify_consistency_iterative(
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
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((seed, rest)) = path.split_first() else {
        return false;
    };
    let mut f = first - 1;
    let mut s = second - 1;
    while f % 2 == 1 {
        f /= 2;
        s /= 2;
    }
    let mut fr = *seed;
    let mut sr = *seed;
    for c in rest {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f != 0 && f % 2 == 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && fr == *first_root && sr == *second_root
}

/// Whether `proof` shows the tree of `second` leaves (root `second_root`) extends the tree of
/// `first` leaves (root `first_root`), for `0 < first <= second`: both methods must accept.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    verify_consistency_recursive(first, second, first_root, second_root, proof)
        && verify_consistency_iterative(first, second, first_root, second_root, proof)
}

/// Decodes a 64-digit hex hash; `None` for anything else.
pub fn hash_from_hex(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
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

    /// The Certificate Transparency reference entries and the roots of their first 1..=8.
    const CT_ENTRIES: [&str; 8] = [
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

    fn ct_leaves() -> Vec<Hash> {
        CT_ENTRIES
            .iter()
            .map(|e| leaf_hash(&hex::decode(e).unwrap()))
            .collect()
    }

    fn h(text: &str) -> Hash {
        hash_from_hex(text).unwrap()
    }

    fn numbered_leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    fn flipped(hash: &Hash, byte: usize) -> Hash {
        let mut out = *hash;
        out[byte % 32] ^= 0x10;
        out
    }

    #[test]
    fn rfc9162_reference_roots() {
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        let entries: Vec<Vec<u8>> = CT_ENTRIES.iter().map(|e| hex::decode(e).unwrap()).collect();
        for n in 1..=8 {
            assert_eq!(mth(&entries[..n]), h(CT_ROOTS[n - 1]), "root of {n}");
        }
    }

    #[test]
    fn rfc9162_reference_proofs() {
        let d = ct_leaves();
        let path = inclusion_path(5, &d).unwrap();
        let want = [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ];
        assert_eq!(path, want.map(h));
        assert!(verify_inclusion(&d[5], 5, 8, &path, &h(CT_ROOTS[7])));

        let proof = consistency_path(6, &d[..7]).unwrap();
        let want = [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ];
        assert_eq!(proof, want.map(h));
        assert!(verify_consistency(
            6,
            7,
            &h(CT_ROOTS[5]),
            &h(CT_ROOTS[6]),
            &proof
        ));

        let proof = consistency_path(2, &d[..5]).unwrap();
        let want = [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ];
        assert_eq!(proof, want.map(h));
        assert!(verify_consistency(
            2,
            5,
            &h(CT_ROOTS[1]),
            &h(CT_ROOTS[4]),
            &proof
        ));
    }

    #[test]
    fn both_inclusion_methods_agree_on_small_trees() {
        let all = numbered_leaves(33);
        for n in 1..=all.len() {
            let d = &all[..n];
            let size = n as u64;
            let root = mth_from_leaf_hashes(d);
            for m in 0..n {
                let path = inclusion_path(m, d).unwrap();
                assert!(verify_inclusion_recursive(
                    &d[m], m as u64, size, &path, &root
                ));
                assert!(verify_inclusion_iterative(
                    &d[m], m as u64, size, &path, &root
                ));
                let mut bad_cases: Vec<(Hash, u64, Vec<Hash>)> = Vec::new();
                bad_cases.push((flipped(&d[m], m), m as u64, path.clone()));
                for other in 0..n + 1 {
                    if other != m {
                        bad_cases.push((d[m], other as u64, path.clone()));
                    }
                }
                for i in 0..path.len() {
                    let mut bad = path.clone();
                    bad[i] = flipped(&bad[i], i);
                    bad_cases.push((d[m], m as u64, bad));
                }
                let mut longer = path.clone();
                longer.push(root);
                bad_cases.push((d[m], m as u64, longer));
                if let Some((_, shorter)) = path.split_last() {
                    bad_cases.push((d[m], m as u64, shorter.to_vec()));
                }
                for (leaf, index, bad) in bad_cases {
                    assert!(!verify_inclusion_recursive(&leaf, index, size, &bad, &root));
                    assert!(!verify_inclusion_iterative(&leaf, index, size, &bad, &root));
                }
            }
        }
    }

    #[test]
    fn both_consistency_methods_agree_on_small_trees() {
        let all = numbered_leaves(33);
        for n in 1..=all.len() {
            let d = &all[..n];
            let second = n as u64;
            let r2 = mth_from_leaf_hashes(d);
            assert_eq!(consistency_path(0, d), None);
            for m in 1..=n {
                let first = m as u64;
                let r1 = mth_from_leaf_hashes(&d[..m]);
                let proof = consistency_path(m, d).unwrap();
                assert_eq!(proof.is_empty(), m == n);
                assert!(verify_consistency_recursive(
                    first, second, &r1, &r2, &proof
                ));
                assert!(verify_consistency_iterative(
                    first, second, &r1, &r2, &proof
                ));
                let mut bad_cases: Vec<(u64, Hash, Hash, Vec<Hash>)> = vec![
                    (first, flipped(&r1, 3), r2, proof.clone()),
                    (first, r1, flipped(&r2, 7), proof.clone()),
                    (first + 1, r1, r2, proof.clone()),
                    (first - 1, r1, r2, proof.clone()),
                ];
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flipped(&bad[i], i);
                    bad_cases.push((first, r1, r2, bad));
                }
                let mut longer = proof.clone();
                longer.push(r1);
                bad_cases.push((first, r1, r2, longer));
                if let Some((_, shorter)) = proof.split_last() {
                    bad_cases.push((first, r1, r2, shorter.to_vec()));
                }
                for (f, a, b, bad) in bad_cases {
                    assert!(
                        !verify_consistency_recursive(f, second, &a, &b, &bad),
                        "{f} {n}"
                    );
                    assert!(
                        !verify_consistency_iterative(f, second, &a, &b, &bad),
                        "{f} {n}"
                    );
                }
            }
        }
    }
}
