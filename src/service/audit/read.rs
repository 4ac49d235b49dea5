//! Entries read back from the log: everything shown comes from the hashed canonical body.
use super::canonical;
use super::log::Receipt;
use super::merkle::Hash;
use crate::domain::audit::NewEntry;
use crate::error::AppError;
use crate::service::store::audit::ShownRow;

/// One logged entry with its leaf hash and the receipt its append returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEntry {
    pub seq: i64,
    pub entry: NewEntry,
    /// The canonical body the leaf hash covers.
    pub body: String,
    pub leaf_hash: Hash,
    pub receipt: Receipt,
}

impl LoggedEntry {
    /// Reads a stored row; a body that does not parse or names another seq is an internal
    /// error (verification says which row was altered).
    pub fn from_row(row: ShownRow) -> Result<Self, AppError> {
        let parsed = canonical::parse(&row.body)
            .map_err(|e| AppError::Internal(format!("audit entry {}: {e}", row.seq)))?;
        if parsed.seq != row.seq {
            return Err(AppError::Internal(format!(
                "audit entry {} holds the body of entry {}",
                row.seq, parsed.seq
            )));
        }
        Ok(LoggedEntry {
            seq: row.seq,
            entry: parsed.entry,
            leaf_hash: to_hash(&row.leaf_hash)?,
            receipt: Receipt {
                seq: row.seq,
                leaf_index: (row.seq - 1).max(0) as u64,
                tree_size: row.receipt_tree_size.max(0) as u64,
                root_hash: hex::encode(&row.receipt_root),
            },
            body: row.body,
        })
    }
}

/// A stored 32-byte hash.
pub fn to_hash(bytes: &[u8]) -> Result<Hash, AppError> {
    bytes
        .try_into()
        .map_err(|_| AppError::Internal(format!("a stored hash has {} bytes", bytes.len())))
}
