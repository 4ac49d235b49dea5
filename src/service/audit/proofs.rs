//! Tree heads and proofs from the stored nodes: every perfect-subtree node is one
//! primary-key look-up (the entry whose append completed it holds it), so a root, an
//! inclusion proof or a consistency proof costs O(log n) look-ups and never rereads the log.
use std::collections::HashMap;

use super::frontier::completing_leaf;
use super::merkle::{self, Hash, MerkleError, NodeSource};
use super::read::to_hash;
use crate::error::AppError;
use crate::service::store::audit as rows;
use crate::service::store::DbConn;

/// [`NodeSource`] over `audit_entries`, caching the rows it read.
pub struct StoreNodes<'a> {
    conn: &'a mut DbConn,
    cache: HashMap<i64, rows::NodeRow>,
}

impl<'a> StoreNodes<'a> {
    pub fn new(conn: &'a mut DbConn) -> Self {
        StoreNodes {
            conn,
            cache: HashMap::new(),
        }
    }
}

impl NodeSource for StoreNodes<'_> {
    type Error = AppError;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, AppError> {
        let missing =
            || AppError::Internal(format!("audit tree node ({level}, {index}) is missing"));
        let leaf = completing_leaf(level, index).ok_or_else(missing)?;
        let seq = i64::try_from(leaf + 1).map_err(|_| missing())?;
        if !self.cache.contains_key(&seq) {
            let row = rows::node_row(self.conn, seq)?.ok_or_else(missing)?;
            self.cache.insert(seq, row);
        }
        let (leaf_hash, interior) = self.cache.get(&seq).ok_or_else(missing)?;
        if level == 0 {
            return to_hash(leaf_hash);
        }
        let start = (level as usize - 1) * 32;
        interior
            .get(start..start + 32)
            .ok_or_else(missing)
            .and_then(to_hash)
    }
}

fn merkle_error(e: MerkleError<AppError>) -> AppError {
    match e {
        MerkleError::InvalidArgument(why) => AppError::BadRequest(why.to_owned()),
        MerkleError::Source(e) => e,
    }
}

/// `MTH(D[size])` for any size up to the current one.
pub fn root_at(conn: &mut DbConn, size: u64) -> Result<Hash, AppError> {
    merkle::root(size, &mut StoreNodes::new(conn)).map_err(merkle_error)
}

/// The size of the log now.
pub fn current_size(conn: &mut DbConn) -> Result<u64, AppError> {
    let head = rows::read_head(conn)?;
    u64::try_from(head.tree_size)
        .map_err(|_| AppError::Internal("audit head: negative tree size".into()))
}

/// An inclusion proof (RFC 9162 §2.1.3.1) of leaf `index` in the tree of `size` leaves.
pub struct Inclusion {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub root_hash: Hash,
    pub audit_path: Vec<Hash>,
}

/// The inclusion proof of entry `seq` in the tree of `size` leaves (`seq <= size <=` the
/// current size; the caller checks the bounds).
pub fn inclusion(conn: &mut DbConn, seq: i64, size: u64) -> Result<Inclusion, AppError> {
    let index = u64::try_from(seq - 1).map_err(|_| AppError::NotFound)?;
    let mut nodes = StoreNodes::new(conn);
    let leaf_hash = nodes.node(0, index)?;
    let audit_path = merkle::inclusion_proof(index, size, &mut nodes).map_err(merkle_error)?;
    let root_hash = merkle::root(size, &mut nodes).map_err(merkle_error)?;
    Ok(Inclusion {
        leaf_index: index,
        tree_size: size,
        leaf_hash,
        root_hash,
        audit_path,
    })
}

/// A consistency proof (RFC 9162 §2.1.4.1) between two tree sizes.
pub struct Consistency {
    pub first: u64,
    pub second: u64,
    pub first_root: Hash,
    pub second_root: Hash,
    pub proof: Vec<Hash>,
}

/// The consistency proof from `first` to `second` leaves (`0 < first <= second <=` the
/// current size; the caller checks the bounds).
pub fn consistency(conn: &mut DbConn, first: u64, second: u64) -> Result<Consistency, AppError> {
    let mut nodes = StoreNodes::new(conn);
    let proof = merkle::consistency_proof(first, second, &mut nodes).map_err(merkle_error)?;
    let first_root = merkle::root(first, &mut nodes).map_err(merkle_error)?;
    let second_root = merkle::root(second, &mut nodes).map_err(merkle_error)?;
    Ok(Consistency {
        first,
        second,
        first_root,
        second_root,
        proof,
    })
}
