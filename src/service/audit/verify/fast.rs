//! The fast path of verification: the same checks as the step-by-step walk in
//! [`super`], spread over every core.
//!
//! - The calling thread reads pages of rows in seq order with the link rows of the same seqs
//!   ([`crate::service::store::audit::page`]: copied out of the database's buffers, nothing
//!   allocated per row) and hands each page to the workers.
//! - The workers (one per core) hash every body, compare it with its stored leaf hash, and
//!   check the body against its columns and link rows ([`body::matches`]).
//! - One thread folds the leaves into the tree in seq order, compares the interior nodes
//!   stored with each entry in place, and for every tree size that a receipt or a signed
//!   tree head names, hands a copy of the frontier back to the workers, which compute that
//!   root and compare it.
//!
//! It answers only "all of it verified" (with the same report the walk would give) or "not
//! shown": on the first problem it stops, and the walk runs to say exactly what and where.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Mutex;

use super::body::{self, Row};
use super::Report;
use crate::audit::frontier::Frontier;
use crate::audit::heads::{SignedTreeHead, TrustedKeys};
use crate::audit::merkle::{self, Hash};
use crate::audit::read::to_hash;
use crate::error::AppError;
use crate::service::store::audit::page::{read_page, Page};
use crate::service::store::audit::{self as rows};
use crate::service::store::DbConn;

/// Entries per page read.
const PAGE: i64 = 4096;
/// Tree sizes per batch of roots handed to the workers.
const ROOTS_PER_BATCH: usize = 2048;

/// Work for a worker.
enum Job {
    Entries(usize, Page),
    Roots(RootBatch),
}

/// Roots to compute: for each tree size, a copy of the frontier and the roots it must give.
#[derive(Default)]
struct RootBatch {
    nodes: Vec<Hash>,
    /// (first node, node count, first expected root, expected count)
    sizes: Vec<(usize, usize, usize, usize)>,
    expected: Vec<Hash>,
}

impl RootBatch {
    fn add(&mut self, frontier: &Frontier, roots: &[Hash]) {
        self.sizes.push((
            self.nodes.len(),
            frontier.nodes().len(),
            self.expected.len(),
            roots.len(),
        ));
        self.nodes.extend_from_slice(frontier.nodes());
        self.expected.extend_from_slice(roots);
    }

    fn holds(&self) -> bool {
        !self.sizes.is_empty()
    }

    fn check(&self) -> bool {
        self.sizes.iter().all(|&(n, nc, e, ec)| {
            let (Some(nodes), Some(expected)) =
                (self.nodes.get(n..n + nc), self.expected.get(e..e + ec))
            else {
                return false;
            };
            let root = Frontier::root_of(nodes);
            expected.iter().all(|r| *r == root)
        })
    }
}

/// Where and why the parallel checks stopped (for the log; the walk names the problem).
type Stop = (i64, &'static str);

fn stop(why: &std::sync::Mutex<Option<Stop>>, seq: i64, what: &'static str) {
    if let Ok(mut w) = why.lock() {
        w.get_or_insert((seq, what));
    }
}

/// A page whose entries checked, with their leaf hashes.
enum Done {
    Page(usize, Page, Vec<Hash>),
    /// The reader read this many pages in all.
    Pages(usize),
    /// Something did not verify, or the reading failed: stop.
    Failed,
}

/// Verifies the whole log on every core. `Ok(None)`: something did not verify (or could
/// not be shown to); the caller runs the step-by-step walk for the exact finding.
pub fn verify(
    conn: &mut DbConn,
    keys: &TrustedKeys,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Report>, AppError> {
    let head = rows::read_head(conn)?;
    let Ok(head_size) = u64::try_from(head.tree_size) else {
        return Ok(None);
    };
    let Ok(head_root) = to_hash(&head.root_hash) else {
        return Ok(None);
    };
    // Every signed tree head, each checked against its key now and against the rebuilt
    // root when the tree reaches its size.
    let mut head_roots: HashMap<u64, Hash> = HashMap::new();
    let mut after = -1;
    loop {
        let page = rows::tree_heads_after(conn, after, 1000)?;
        for row in &page {
            after = row.tree_size;
            let Ok(h) = SignedTreeHead::from_row(row) else {
                return Ok(None);
            };
            if h.tree_size > head_size || h.check_signature(keys).is_err() {
                return Ok(None);
            }
            head_roots.insert(h.tree_size, h.root_hash);
        }
        if page.len() < 1000 {
            break;
        }
    }
    let heads_checked = head_roots.len() as u64;

    let failed = AtomicBool::new(false);
    let why: Mutex<Option<Stop>> = Mutex::new(None);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(1));
    let (job_tx, job_rx) = sync_channel::<Job>(workers * 2);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = channel::<Done>();

    let outcome = std::thread::scope(|s| {
        for _ in 0..workers {
            let (jobs, done, failed, why) = (&job_rx, done_tx.clone(), &failed, &why);
            s.spawn(move || work(jobs, done, failed, why));
        }
        let fold_jobs = job_tx.clone();
        let (failed_ref, why_ref) = (&failed, &why);
        let fold =
            s.spawn(
                move || match fold(done_rx, fold_jobs, head_size, &head_roots, failed_ref) {
                    Ok(frontier) => Some(frontier),
                    Err((seq, what)) => {
                        stop(why_ref, seq, what);
                        failed_ref.store(true, Ordering::Relaxed);
                        None
                    }
                },
            );
        let read = read_all(conn, &job_tx, &failed, head_size, progress);
        let _ = match &read {
            Ok(pages) => done_tx.send(Done::Pages(*pages)),
            Err(_) => {
                failed.store(true, Ordering::Relaxed);
                done_tx.send(Done::Failed)
            }
        };
        drop(job_tx);
        drop(done_tx);
        let folded = fold.join().unwrap_or(None);
        read.map(|_| folded)
    })?;
    let outcome = outcome.filter(|f| {
        !failed.load(Ordering::Relaxed)
            && f.size() == head_size
            && f.root() == head_root
            && head.frontier == f.to_bytes()
    });
    let Some(frontier) = outcome else {
        let (seq, what) = why
            .lock()
            .ok()
            .and_then(|w| *w)
            .unwrap_or((0, "the log head does not match the entries"));
        tracing::info!(
            seq,
            what,
            "the parallel audit checks stopped; walking the log"
        );
        return Ok(None);
    };
    progress(frontier.size(), head_size);
    Ok(Some(Report {
        ok: true,
        tree_size: head_size,
        entries_checked: frontier.size(),
        tree_heads_checked: heads_checked,
        first_bad_seq: None,
        problem: None,
    }))
}

/// Reads every page and queues it; returns how many pages there were.
fn read_all(
    conn: &mut DbConn,
    jobs: &SyncSender<Job>,
    failed: &AtomicBool,
    head_size: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<usize, AppError> {
    let (mut after, mut pages, mut read) = (0i64, 0usize, 0u64);
    let mut hint = Default::default();
    while !failed.load(Ordering::Relaxed) {
        let page = read_page(conn, after, PAGE, &mut hint)?;
        let Some(last) = page.rows.last() else { break };
        after = last.seq;
        read += page.rows.len() as u64;
        let full = page.rows.len() as i64 == PAGE;
        if jobs.send(Job::Entries(pages, page)).is_err() {
            break;
        }
        pages += 1;
        progress(read, head_size);
        if !full {
            break;
        }
    }
    Ok(pages)
}

fn work(
    jobs: &Mutex<Receiver<Job>>,
    done: Sender<Done>,
    failed: &AtomicBool,
    why: &Mutex<Option<Stop>>,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if failed.load(Ordering::Relaxed) {
            continue;
        }
        let ok = match job {
            Job::Entries(index, page) => match check_page(&page) {
                Ok(leaves) => {
                    let _ = done.send(Done::Page(index, page, leaves));
                    true
                }
                Err((seq, what)) => {
                    stop(why, seq, what);
                    false
                }
            },
            Job::Roots(batch) => {
                let ok = batch.check();
                if !ok {
                    stop(why, 0, "a receipt or signed tree head names another root");
                }
                ok
            }
        };
        if !ok {
            // The fold may be waiting for this page: tell it to stop.
            failed.store(true, Ordering::Relaxed);
            let _ = done.send(Done::Failed);
        }
    }
}

/// Hashes and checks every entry of a page on its own; their leaf hashes.
fn check_page(page: &Page) -> Result<Vec<Hash>, Stop> {
    let mut leaves = Vec::with_capacity(page.rows.len());
    let mut agencies = page.agencies.iter().peekable();
    let mut subjects = page.subjects.iter().peekable();
    let mut row_agencies: Vec<(&str, &str)> = Vec::with_capacity(8);
    let mut row_subjects: Vec<&str> = Vec::with_capacity(8);
    let mut scratch = body::Scratch::default();
    for r in &page.rows {
        let body = page.text(r.body);
        let leaf = merkle::leaf_hash(body.as_bytes());
        if page.bytes(r.leaf_hash) != leaf {
            return Err((r.seq, "leaf hash"));
        }
        // Link rows are sorted by seq; rows of earlier seqs belong to no entry.
        row_agencies.clear();
        while let Some(l) = agencies.next_if(|l| l.seq <= r.seq) {
            row_agencies.push((page.text(l.name), page.text(l.relation)));
        }
        row_subjects.clear();
        while let Some(l) = subjects.next_if(|l| l.seq <= r.seq) {
            row_subjects.push(page.text(l.name));
        }
        let row = Row {
            seq: r.seq,
            operation: page.text(r.operation),
            occurred_at: page.text(r.occurred_at),
            record_kind: r.record_kind.map(|s| page.text(s)),
            record_id: r.record_id.map(|s| page.text(s)),
            purpose: r.purpose.map(|s| page.text(s)),
            agencies: &row_agencies,
            subjects: &row_subjects,
        };
        if !body::matches(body, &row, &mut scratch) {
            return Err((r.seq, "body against its columns and links"));
        }
        leaves.push(leaf);
    }
    Ok(leaves)
}

/// Folds the pages in seq order; the rebuilt frontier when every check so far held.
fn fold(
    done: Receiver<Done>,
    jobs: SyncSender<Job>,
    head_size: u64,
    head_roots: &HashMap<u64, Hash>,
    failed: &AtomicBool,
) -> Result<Frontier, Stop> {
    let mut frontier = Frontier::empty();
    let mut waiting: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
    let mut early: BTreeMap<usize, (Page, Vec<Hash>)> = BTreeMap::new();
    let mut batch = RootBatch::default();
    let (mut next, mut total) = (0usize, None);
    let mut roots: Vec<Hash> = Vec::with_capacity(4);
    if let Some(r) = head_roots.get(&0) {
        if *r != merkle::empty_root() {
            return Err((0, "the signed tree head of size 0"));
        }
    }
    while total != Some(next) {
        if failed.load(Ordering::Relaxed) {
            return Err((0, "stopped"));
        }
        let (page, leaves) = match early.remove(&next) {
            Some(p) => p,
            None => match done.recv().map_err(|_| (0, "stopped"))? {
                Done::Failed => return Err((0, "stopped")),
                Done::Pages(n) => {
                    total = Some(n);
                    continue;
                }
                Done::Page(i, page, leaves) if i == next => (page, leaves),
                Done::Page(i, page, leaves) => {
                    early.insert(i, (page, leaves));
                    continue;
                }
            },
        };
        next += 1;
        for (r, leaf) in page.rows.iter().zip(leaves) {
            if u64::try_from(r.seq).ok() != Some(frontier.size() + 1) || r.seq as u64 > head_size {
                return Err((r.seq, "seq out of order or beyond the head"));
            }
            if !frontier.push_matching(leaf, page.bytes(r.subtree_hashes)) {
                return Err((r.seq, "stored tree nodes"));
            }
            let receipt_size = u64::try_from(r.receipt_tree_size).unwrap_or(0);
            if receipt_size < r.seq as u64 || receipt_size > head_size {
                return Err((r.seq, "receipt size"));
            }
            let receipt_root: Hash = page
                .bytes(r.receipt_root)
                .try_into()
                .map_err(|_| (r.seq, "receipt root"))?;
            let size = frontier.size();
            roots.clear();
            if receipt_size == size {
                roots.push(receipt_root);
            } else {
                waiting.entry(receipt_size).or_default().push(receipt_root);
            }
            if let Some(w) = waiting.remove(&size) {
                roots.extend(w);
            }
            if let Some(h) = head_roots.get(&size) {
                roots.push(*h);
            }
            if !roots.is_empty() {
                batch.add(&frontier, &roots);
                if batch.sizes.len() >= ROOTS_PER_BATCH {
                    jobs.send(Job::Roots(std::mem::take(&mut batch)))
                        .map_err(|_| (0, "stopped"))?;
                }
            }
        }
    }
    if batch.holds() {
        jobs.send(Job::Roots(batch)).map_err(|_| (0, "stopped"))?;
    }
    if waiting.is_empty() {
        Ok(frontier)
    } else {
        Err((0, "receipts of sizes never reached"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_batch_checks_each_size_against_its_frontier() {
        let mut f = Frontier::empty();
        let mut batch = RootBatch::default();
        for i in 0..9u8 {
            f.push(merkle::leaf_hash(&[i]));
            batch.add(&f, &[f.root(), f.root()]);
        }
        assert!(batch.check());
        if let Some(last) = batch.expected.last_mut() {
            last[0] ^= 1;
        }
        assert!(!batch.check());
    }
}
