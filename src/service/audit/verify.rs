//! Verifying the whole log against the database: every entry, the tree, every receipt and
//! every stored signed tree head. Shared by `GET /audit/verify` and `msht-hub audit verify`.
//!
//! Entries are read in seq order, a page at a time, and the tree is rebuilt from their
//! bodies alone (independently of the append path) in O(log n) memory. For each entry:
//! the seq is the next one expected (a gap is a deleted row); the body hashes to the stored
//! leaf hash and names the same seq (a swapped or reordered row does not); the columns and
//! link rows queries use equal what the body says (an edited column); the interior nodes
//! stored with it are the ones the rebuilt tree makes; its receipt's root is the rebuilt
//! root at the receipt's size; and every signed tree head of that size carries the rebuilt
//! root and a good signature. Finally the head row must match the rebuilt tree.
//!
//! The first problem found is reported with the first sequence number that can no longer
//! be trusted.
mod body;
mod fast;
mod shared;

pub use fast::verify as verify_in_parallel;
#[cfg(feature = "testkit")]
pub use fast::verify_in_pages;
pub use fast::verify_scan as verify_scan_in_parallel;
pub use shared::Verifications;

use std::collections::{BTreeMap, VecDeque};

use super::canonical::{self, FORMAT};
use super::frontier::Frontier;
use super::heads::{SignedTreeHead, TrustedKeys};
use super::log::{index_columns, links};
use super::merkle::{self, Hash};
use super::read::to_hash;
use crate::error::AppError;
use crate::service::store::audit::page::LogScan;
use crate::service::store::audit::{self as rows, AgencyLink, EntryRow, SubjectLink};
use crate::service::store::DbConn;

/// Entries read per query.
const PAGE: i64 = 2000;
/// Progress is reported every this many entries.
const PROGRESS_EVERY: u64 = 1 << 14;

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub ok: bool,
    /// The size the log head states.
    pub tree_size: u64,
    pub entries_checked: u64,
    pub tree_heads_checked: u64,
    /// The first entry that can no longer be trusted, when one can be named.
    pub first_bad_seq: Option<i64>,
    /// What was wrong, in words.
    pub problem: Option<String>,
}

struct Failure {
    seq: Option<i64>,
    problem: String,
}

fn bad(seq: impl Into<Option<i64>>, problem: impl Into<String>) -> Failure {
    Failure {
        seq: seq.into(),
        problem: problem.into(),
    }
}

/// Walks the stored signed tree heads in size order, a page at a time.
struct Heads {
    buffer: VecDeque<SignedTreeHead>,
    after: i64,
    exhausted: bool,
}

impl Heads {
    fn next_size(&mut self, conn: &mut DbConn) -> Result<Option<u64>, AppError> {
        if self.buffer.is_empty() && !self.exhausted {
            let page = rows::tree_heads_after(conn, self.after, 1000)?;
            self.exhausted = page.len() < 1000;
            for row in &page {
                self.after = row.tree_size;
                self.buffer.push_back(SignedTreeHead::from_row(row)?);
            }
        }
        Ok(self.buffer.front().map(|h| h.tree_size))
    }
}

struct State {
    head_size: u64,
    frontier: Frontier,
    heads: Heads,
    heads_checked: u64,
    last_good_head: u64,
    /// Receipts waiting for the tree to reach their size: size -> [(seq, root)].
    receipts: BTreeMap<u64, Vec<(i64, Vec<u8>)>>,
}

impl State {
    /// Checks the receipts and signed heads of the current size.
    fn check_size(
        &mut self,
        conn: &mut DbConn,
        keys: &TrustedKeys,
    ) -> Result<Result<(), Failure>, AppError> {
        let size = self.frontier.size();
        let mut root: Option<Hash> = None;
        if let Some(waiting) = self.receipts.remove(&size) {
            let r = *root.get_or_insert_with(|| self.frontier.root());
            for (seq, receipt_root) in waiting {
                if receipt_root != r {
                    return Ok(Err(bad(
                        seq,
                        format!("the receipt of entry {seq} names a root the log does not produce at size {size}"),
                    )));
                }
            }
        }
        while self.heads.next_size(conn)? == Some(size) {
            let Some(head) = self.heads.buffer.pop_front() else {
                break;
            };
            let r = *root.get_or_insert_with(|| self.frontier.root());
            if head.root_hash != r {
                let first = self.last_good_head + 1;
                return Ok(Err(bad(
                    i64::try_from(first).ok(),
                    format!(
                        "the tree head of size {size} signed at {} does not match the log: an \
                         entry from {first} to {size} was changed",
                        head.timestamp.to_rfc3339()
                    ),
                )));
            }
            if let Err(why) = head.check_signature(keys) {
                return Ok(Err(bad(
                    None,
                    format!("the tree head of size {size}: {why}"),
                )));
            }
            self.heads_checked += 1;
            self.last_good_head = size;
        }
        Ok(Ok(()))
    }
}

/// Verifies the log in the database at `url` on lone connections of its own, without
/// migrating or writing anything (`msht-hub audit verify`, `GET /audit/verify`).
///
/// The checks on every core read the log on one reader per core, all in one snapshot: on
/// an SQLite file read-only connections of their own ([`LogScan::sqlite_file`]); on
/// PostgreSQL connections that share the snapshot of the one the walk would use
/// ([`LogScan::sharing`]). When they do not show the log intact, the walk runs on one
/// connection in one read snapshot to name what is wrong.
pub fn verify_database(
    url: &str,
    busy_timeout_ms: u64,
    keys: &TrustedKeys,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, AppError> {
    let manager = crate::service::store::ConnManager::new(url, busy_timeout_ms)?;
    let sqlite_file = url.strip_prefix("sqlite://").map(std::path::Path::new);
    let scan = sqlite_file.and_then(|path| {
        LogScan::sqlite_file(path, busy_timeout_ms, fast::cores())
            .map_err(|e| tracing::warn!(error = %e, "cannot open the SQLite file on its own"))
            .ok()
    });
    let ran = scan.is_some();
    if let Some(mut scan) = scan {
        if let Some(report) = fast::verify_scan(&mut scan, keys, progress)? {
            return Ok(report);
        }
    }
    let mut conn = manager
        .open()
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
    crate::service::store::audit::page::prepare_for_scan(&mut conn)?;
    crate::service::store::in_snapshot(&mut conn, |c| {
        if !ran {
            let mut scan = LogScan::sharing(c, &manager, fast::cores())?;
            if let Some(report) = fast::verify_scan(&mut scan, keys, progress)? {
                return Ok(report);
            }
        }
        // The checks on every core did not show it intact: walk.
        walk_log(c, keys, progress)
    })
}

/// Verifies the whole log one entry at a time, reading each body back as an entry, and
/// reports the first problem in seq order.
pub fn walk_log(
    conn: &mut DbConn,
    keys: &TrustedKeys,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, AppError> {
    let head = rows::read_head(conn)?;
    let head_size = u64::try_from(head.tree_size).unwrap_or(0);
    let mut st = State {
        head_size,
        frontier: Frontier::empty(),
        heads: Heads {
            buffer: VecDeque::new(),
            after: -1,
            exhausted: false,
        },
        heads_checked: 0,
        last_good_head: 0,
        receipts: BTreeMap::new(),
    };
    let outcome = run(conn, keys, &head, &mut st, progress)?;
    progress(st.frontier.size(), head_size);
    let (first_bad_seq, problem) = match outcome {
        Ok(()) => (None, None),
        Err(f) => (f.seq, Some(f.problem)),
    };
    Ok(Report {
        ok: problem.is_none(),
        tree_size: head_size,
        entries_checked: st.frontier.size(),
        tree_heads_checked: st.heads_checked,
        first_bad_seq,
        problem,
    })
}

fn run(
    conn: &mut DbConn,
    keys: &TrustedKeys,
    head: &rows::HeadRow,
    st: &mut State,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Result<(), Failure>, AppError> {
    if head.tree_size < 0 {
        return Ok(Err(bad(None, "the log head row states a negative size")));
    }
    if let Err(f) = st.check_size(conn, keys)? {
        return Ok(Err(f));
    }
    let mut expected: i64 = 1;
    loop {
        let page = rows::scan(conn, expected - 1, PAGE)?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            break;
        };
        let (agency_links, subject_links) = rows::links_between(conn, first.seq, last.seq)?;
        let mut agency_links = agency_links.into_iter().peekable();
        let mut subject_links = subject_links.into_iter().peekable();
        for row in page {
            if row.seq != expected {
                return Ok(Err(bad(
                    expected,
                    format!("entry {expected} is missing (deleted, or its seq was changed)"),
                )));
            }
            if row.seq as u64 > st.head_size {
                return Ok(Err(bad(
                    row.seq,
                    format!(
                        "entry {} lies beyond the log head's size {} (inserted, or the head was changed)",
                        row.seq, st.head_size
                    ),
                )));
            }
            // Link rows are sorted by seq; rows of earlier seqs belong to no entry.
            let mut agencies = Vec::new();
            while let Some(l) = agency_links.next_if(|l| l.seq <= row.seq) {
                agencies.push(l);
            }
            let mut subjects = Vec::new();
            while let Some(l) = subject_links.next_if(|l| l.seq <= row.seq) {
                subjects.push(l);
            }
            let leaf = match check_entry(&row, agencies, subjects) {
                Ok(leaf) => leaf,
                Err(f) => return Ok(Err(f)),
            };
            let interior = st.frontier.push(leaf);
            if interior.concat() != row.subtree_hashes {
                let span = 1u64 << interior.len().max(1);
                let first_possible = (row.seq as u64).saturating_sub(span - 1).max(1);
                return Ok(Err(bad(
                    i64::try_from(first_possible).ok(),
                    format!(
                        "the tree nodes stored with entry {} differ from the rebuilt tree: an \
                         entry from {first_possible} to {} was changed together with its leaf hash",
                        row.seq, row.seq
                    ),
                )));
            }
            let receipt_size = u64::try_from(row.receipt_tree_size).unwrap_or(0);
            if receipt_size < row.seq as u64 || receipt_size > st.head_size {
                return Ok(Err(bad(
                    row.seq,
                    format!(
                        "the receipt of entry {} names tree size {}, which cannot hold it",
                        row.seq, row.receipt_tree_size
                    ),
                )));
            }
            st.receipts
                .entry(receipt_size)
                .or_default()
                .push((row.seq, row.receipt_root));
            if let Err(f) = st.check_size(conn, keys)? {
                return Ok(Err(f));
            }
            if st.frontier.size() % PROGRESS_EVERY == 0 {
                progress(st.frontier.size(), st.head_size);
            }
            expected += 1;
        }
    }
    let count = st.frontier.size();
    if count < st.head_size {
        return Ok(Err(bad(
            i64::try_from(count + 1).ok(),
            format!(
                "entry {} is missing: the log head counts {} entries, the table holds {count}",
                count + 1,
                st.head_size
            ),
        )));
    }
    if to_hash(&head.root_hash).ok() != Some(st.frontier.root())
        || head.frontier != st.frontier.to_bytes()
    {
        return Ok(Err(bad(
            None,
            "the log head row (root or frontier) does not match the entries",
        )));
    }
    if let Some(size) = st.heads.next_size(conn)? {
        return Ok(Err(bad(
            i64::try_from(count + 1).ok(),
            format!(
                "a signed tree head names size {size} but the log holds {count} entries: \
                 entries were removed from the end"
            ),
        )));
    }
    Ok(Ok(()))
}

/// Checks one entry on its own; returns its leaf hash.
fn check_entry(
    row: &EntryRow,
    agencies: Vec<AgencyLink>,
    subjects: Vec<SubjectLink>,
) -> Result<Hash, Failure> {
    let seq = row.seq;
    let leaf = merkle::leaf_hash(row.body.as_bytes());
    if row.leaf_hash != leaf {
        return Err(bad(
            seq,
            format!("entry {seq} was edited: its body does not match its leaf hash"),
        ));
    }
    let parsed = canonical::parse(&row.body)
        .map_err(|e| bad(seq, format!("entry {seq}: the body is not an entry ({e})")))?;
    if parsed.seq != seq {
        return Err(bad(
            seq,
            format!(
                "entry {seq} holds the entry numbered {} (rows swapped or reordered)",
                parsed.seq
            ),
        ));
    }
    if parsed.format != FORMAT {
        return Err(bad(
            seq,
            format!("entry {seq}: unknown format {}", parsed.format),
        ));
    }
    let want = index_columns(
        seq,
        &parsed.entry,
        String::new(),
        leaf,
        Vec::new(),
        0,
        &leaf,
    );
    let columns = [
        ("operation", want.operation == row.operation),
        ("occurred_at", want.occurred_at == row.occurred_at),
        ("record_kind", want.record_kind == row.record_kind),
        ("record_id", want.record_id == row.record_id),
        ("purpose", want.purpose == row.purpose),
    ];
    if let Some((name, _)) = columns.iter().find(|(_, same)| !same) {
        return Err(bad(
            seq,
            format!("entry {seq} was edited: column {name} differs from the hashed entry"),
        ));
    }
    let (want_agencies, want_subjects) = links(seq, &parsed.entry);
    if want_agencies != agencies {
        return Err(bad(
            seq,
            format!("entry {seq} was edited: its agency links differ from the hashed entry"),
        ));
    }
    if want_subjects != subjects {
        return Err(bad(
            seq,
            format!("entry {seq} was edited: its subject links differ from the hashed entry"),
        ));
    }
    Ok(leaf)
}
