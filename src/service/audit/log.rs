//! Appending to the log: the one way entries get in.
//!
//! [`append`] and [`append_all`] run inside the caller's transaction, so an action and its
//! entries commit together or not at all. They lock the single head row (PostgreSQL
//! `FOR UPDATE`; SQLite writers are serialised by `Db::write`), number the entries from the
//! head's size, hash their canonical bodies, extend the tree from the head's frontier and
//! move the head once. Because the lock is held until the caller commits, append as late in
//! the transaction as you can.
use std::collections::BTreeSet;

use super::frontier::{interior_by_leaf, Frontier};
use super::merkle::{self, Hash};
use super::prepared::Prepared;
use super::proven::Unproven;
use crate::domain::audit::{NewEntry, Operation};
use crate::error::AppError;
use crate::service::store::audit::{self as rows, AgencyLink, EntryRow, SubjectLink};
use crate::service::store::time::to_db;
use crate::service::store::{epoch, DbConn};

/// What an append proves: the entry is leaf `leaf_index` (= `seq - 1`) of the tree of
/// `tree_size` leaves whose root is `root_hash` (hex). A recipient keeps it and later checks
/// it against a signed tree head: a consistency proof from `tree_size` to the head's size,
/// and an inclusion proof of the entry's leaf hash at `tree_size`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub seq: i64,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub root_hash: String,
}

/// Relation names in `audit_entry_agencies`.
pub const ACTOR: &str = "actor";
pub const RECIPIENT: &str = "recipient";
/// An agency a governance change concerns: in its IG officer's scope.
pub const CONCERNED: &str = "concerned";
/// A candidate a disclosure was withheld from: found by an `agency_id` filter within the
/// reader's scope, but never itself what puts an entry in an agency's scope.
pub const WITHHELD: &str = "withheld";

/// Appends one entry in the caller's transaction.
pub fn append(conn: &mut DbConn, entry: &NewEntry) -> Result<Receipt, AppError> {
    let mut receipts = append_all(conn, std::slice::from_ref(entry))?;
    receipts
        .pop()
        .ok_or_else(|| AppError::Internal("audit append returned no receipt".into()))
}

/// Appends a refusal's `access_denied` entry: the [`crate::service::store::RefusalLog`] the writer
/// uses for refusals carried by `AppError::Denied`.
pub fn append_refusal(conn: &mut DbConn, entry: &NewEntry) -> Result<(), AppError> {
    append(conn, entry).map(|_| ())
}

/// Appends several entries, in order, with one head update (group commit).
pub fn append_all(conn: &mut DbConn, entries: &[NewEntry]) -> Result<Vec<Receipt>, AppError> {
    Ok(append_tree(conn, Prepared::all(entries)?, false)?.0)
}

/// [`append_all`], answering with what proves the first entry's inclusion in the tree its
/// receipt names, from the nodes the append already holds (no read of the log); `None` when
/// `entries` is empty.
pub fn append_all_provable(
    conn: &mut DbConn,
    entries: &[NewEntry],
) -> Result<Option<Unproven>, AppError> {
    append_prepared_provable(conn, Prepared::all(entries)?)
}

/// [`append_all_provable`] of entries prepared before the write (off the writer's thread).
pub fn append_prepared_provable(
    conn: &mut DbConn,
    entries: Vec<Prepared>,
) -> Result<Option<Unproven>, AppError> {
    Ok(append_tree(conn, entries, true)?.1)
}

/// [`append`], answering with what proves the entry's inclusion (see [`append_all_provable`]).
pub fn append_provable(conn: &mut DbConn, entry: &NewEntry) -> Result<Unproven, AppError> {
    append_tree(conn, vec![Prepared::new(entry)?], true)?
        .1
        .ok_or_else(|| AppError::Internal("audit append returned no proof".into()))
}

/// Appends `entries`; with `prove`, also keeps what proves the first one's inclusion.
fn append_tree(
    conn: &mut DbConn,
    entries: Vec<Prepared>,
    prove: bool,
) -> Result<(Vec<Receipt>, Option<Unproven>), AppError> {
    if entries.is_empty() {
        return Ok((Vec::new(), None));
    }
    let head = rows::lock_head(conn)?;
    let size_before = u64::try_from(head.tree_size)
        .map_err(|_| AppError::Internal("audit head: negative tree size".into()))?;
    let mut frontier = Frontier::from_bytes(size_before, &head.frontier)?;
    let before = prove.then(|| frontier.clone());

    let mut numbered = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let seq = seq_of(size_before, i)?;
        let body = entry.body(seq)?;
        let leaf = merkle::leaf_hash(body.as_bytes());
        numbered.push((seq, body, leaf));
    }
    let leaves: Vec<Hash> = numbered.iter().map(|n| n.2).collect();
    let completed = frontier.extend(&leaves)?;
    let interior = interior_by_leaf(&completed, leaves.len());
    let root = frontier.root();
    let tree_size = i64::try_from(frontier.size())
        .map_err(|_| AppError::Internal("audit tree too large".into()))?;
    let policy = entries.iter().any(|e| e.changes_policy);

    let mut entry_rows = Vec::with_capacity(entries.len());
    let mut agency_links = Vec::new();
    let mut subject_links = Vec::new();
    let mut receipts = Vec::with_capacity(entries.len());
    for ((entry, (seq, body, leaf)), nodes) in entries.into_iter().zip(numbered).zip(interior) {
        agency_links.extend(entry.agencies.into_iter().map(|l| AgencyLink { seq, ..l }));
        subject_links.extend(entry.subjects.into_iter().map(|l| SubjectLink { seq, ..l }));
        entry_rows.push(EntryRow {
            seq,
            body,
            leaf_hash: leaf.to_vec(),
            subtree_hashes: nodes,
            receipt_tree_size: tree_size,
            receipt_root: root.to_vec(),
            ..entry.row
        });
        receipts.push(Receipt {
            seq,
            leaf_index: (seq - 1) as u64,
            tree_size: frontier.size(),
            root_hash: hex::encode(root),
        });
    }
    rows::insert_entries(conn, entry_rows, agency_links, subject_links)?;
    rows::update_head(conn, tree_size, &root, &frontier.to_bytes())?;
    if policy {
        epoch::bump(conn)?;
    }
    let provable = match (before, receipts.first(), leaves.first()) {
        (Some(before), Some(receipt), Some(leaf)) => Some(Unproven {
            receipt: receipt.clone(),
            leaf: *leaf,
            root,
            before,
            completed,
        }),
        _ => None,
    };
    Ok((receipts, provable))
}

/// Record kinds whose governance changes decide who may receive what: a change to any of
/// them moves the policy epoch, in the same transaction as its entry.
const POLICY_RECORDS: [&str; 5] = [
    "agreement",
    "partnership",
    "agency",
    "subscription",
    "identity_provider",
];

/// Whether `entry` records a change that routing and the policy function depend on.
pub(super) fn changes_policy(entry: &NewEntry) -> bool {
    entry.operation == Operation::Governance
        && entry
            .record_kind
            .as_deref()
            .is_some_and(|k| POLICY_RECORDS.contains(&k))
}

fn seq_of(size_before: u64, i: usize) -> Result<i64, AppError> {
    size_before
        .checked_add(i as u64 + 1)
        .and_then(|s| i64::try_from(s).ok())
        .ok_or_else(|| AppError::Internal("audit sequence overflows".into()))
}

/// The row of an entry: the columns queries filter on, all derived from the hashed entry
/// (verification re-derives and compares them).
pub(crate) fn index_columns(
    seq: i64,
    entry: &NewEntry,
    body: String,
    leaf: Hash,
    subtree_hashes: Vec<u8>,
    receipt_tree_size: i64,
    receipt_root: &Hash,
) -> EntryRow {
    EntryRow {
        seq,
        operation: entry.operation.as_str().to_owned(),
        occurred_at: to_db(entry.occurred_at),
        record_kind: entry.record_kind.clone(),
        record_id: entry.record_id.clone(),
        purpose: entry.purpose.clone(),
        body,
        leaf_hash: leaf.to_vec(),
        subtree_hashes,
        receipt_tree_size,
        receipt_root: receipt_root.to_vec(),
    }
}

/// The link rows of an entry, sorted and without duplicates.
pub(crate) fn links(seq: i64, entry: &NewEntry) -> (Vec<AgencyLink>, Vec<SubjectLink>) {
    let mut agencies = BTreeSet::new();
    if let Some(a) = entry.actor.agency_id {
        agencies.insert((a.to_string(), ACTOR));
    }
    for r in &entry.recipients {
        agencies.insert((r.to_string(), RECIPIENT));
    }
    for c in &entry.concerns {
        agencies.insert((c.to_string(), CONCERNED));
    }
    for w in &entry.withheld_from {
        agencies.insert((w.to_string(), WITHHELD));
    }
    let agencies = agencies
        .into_iter()
        .map(|(agency_id, relation)| AgencyLink {
            agency_id,
            seq,
            relation: relation.to_owned(),
        })
        .collect();
    let subjects: BTreeSet<&String> = entry.subject_refs.iter().collect();
    let subjects = subjects
        .into_iter()
        .map(|s| SubjectLink {
            subject_ref: s.clone(),
            seq,
        })
        .collect();
    (agencies, subjects)
}
