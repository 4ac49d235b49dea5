//! Tests of the RFC 9162 Merkle tree: published vectors, exhaustive small trees and
//! property tests against the recursive definitions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
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

#[test]
fn an_interior_node_is_sha256_of_0x01_left_right() {
    for (l, r) in [([0u8; 32], [0u8; 32]), ([0xab; 32], [0x17; 32])] {
        let mut right = r;
        right[31] = 0x80;
        let mut hasher = Sha256::new();
        hasher.update([0x01]);
        hasher.update(l);
        hasher.update(right);
        let want: Hash = hasher.finalize().into();
        assert_eq!(node_hash(&l, &right), want);
    }
}
