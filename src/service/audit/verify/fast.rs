//! The fast path of verification: the same checks as the step-by-step walk in
//! [`super`], spread over every core.
//!
//! - The log is cut into pages of fixed ranges of seqs. One worker per reader of the
//!   snapshot ([`LogScan`]) takes the next page, reads it (its rows and the link rows of the
//!   same seqs, copied out of the database's buffers into a page buffer, nothing allocated
//!   per row) and checks it at once, while it is still in cache: every body hashed and
//!   compared with its stored leaf hash, and checked against its columns and link rows
//!   ([`body::matches`]).
//! - The calling thread folds the pages' leaves into the tree in seq order and compares
//!   the interior nodes stored with each entry in place. For each page it hands the workers
//!   the frontier before the page, the node each leaf's push left on top of it (no hashing
//!   needed to replay the page) and the roots that receipts and signed tree heads name at
//!   sizes within it; a worker replays the page from that frontier and computes the root at
//!   each of those sizes with the fewest hashes (one fewer than the subtrees at that size),
//!   once per size however many name it.
//! - Page buffers come from a fixed pool that the fold hands back, which bounds memory; a
//!   worker takes a page to read only with a buffer in hand, so the page the fold waits for
//!   is always being read.
//!
//! It answers only "all of it verified" (with the same report the walk would give) or "not
//! shown": on the first problem it stops, and the walk runs to say exactly what and where.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

mod fold;

use super::body::{self, Row};
use super::Report;
use crate::audit::frontier::Frontier;
use crate::audit::heads::{SignedTreeHead, TrustedKeys};
use crate::audit::merkle::{self, Hash};
use crate::audit::read::to_hash;
use crate::error::AppError;
use crate::service::store::audit::page::{LogScan, Page, Reader};
use crate::service::store::DbConn;
use fold::Fold;

/// Seqs per page.
const PAGE: u64 = 4096;

/// The number of cores, which is how many readers are worth opening.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(1))
}

/// The seqs of page `k` of `pages` of `size` seqs: `k·size + 1 ..= (k + 1)·size`, the first
/// open below and the last open above, so rows outside `1..=head` still reach the checks
/// and are refused.
fn range(k: usize, pages: usize, size: u64) -> (i64, i64) {
    let at = |k: usize| i64::try_from((k as u64).saturating_mul(size)).unwrap_or(i64::MAX);
    let lo = if k == 0 {
        i64::MIN
    } else {
        at(k).saturating_add(1)
    };
    let hi = if k + 1 >= pages { i64::MAX } else { at(k + 1) };
    (lo, hi)
}

/// Work for a worker.
enum Job {
    /// A free page buffer: read and check the next page into it.
    Spare(Page),
    Roots(RootJob),
}
/// The roots to check within one page: the frontier before it, the node each of its
/// leaves left on top of the frontier ([`Frontier::advance`]), and each (size, root named
/// there), sizes ascending.
struct RootJob {
    start: Frontier,
    tops: Vec<Hash>,
    expected: Vec<(u64, Hash)>,
}

impl RootJob {
    fn check(self) -> bool {
        let mut tree = self.start;
        let mut expected = self.expected.iter().peekable();
        for top in self.tops {
            if expected.peek().is_none() {
                break;
            }
            tree.advance(top);
            let size = tree.size();
            let mut root = None;
            while let Some((_, want)) = expected.next_if(|(s, _)| *s == size) {
                if *root.get_or_insert_with(|| tree.root()) != *want {
                    return false;
                }
            }
        }
        expected.next().is_none()
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
    /// Something did not verify, or the reading failed: stop.
    Failed,
}

/// Verifies the whole log in `conn`'s snapshot on every core, reading on `conn` alone.
/// `Ok(None)`: something did not verify (or could not be shown to); the caller runs the
/// step-by-step walk for the exact finding.
pub fn verify(
    conn: &mut DbConn,
    keys: &TrustedKeys,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Report>, AppError> {
    verify_scan(&mut LogScan::on(conn)?, keys, progress)
}

/// Verifies the whole log that `scan` reads, on every core; `Ok(None)` as for [`verify`].
pub fn verify_scan(
    scan: &mut LogScan<'_>,
    keys: &TrustedKeys,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Report>, AppError> {
    verify_in_pages(scan, keys, progress, PAGE)
}

/// [`verify_scan`] with pages of `page_size` seqs (tests use small pages, so that a small
/// log spans many pages and readers).
pub fn verify_in_pages(
    scan: &mut LogScan<'_>,
    keys: &TrustedKeys,
    progress: &mut dyn FnMut(u64, u64),
    page_size: u64,
) -> Result<Option<Report>, AppError> {
    let page_size = page_size.max(1);
    let head = scan.head().clone();
    let Ok(head_size) = u64::try_from(head.tree_size) else {
        return Ok(None);
    };
    let Ok(head_root) = to_hash(&head.root_hash) else {
        return Ok(None);
    };
    // Every signed tree head, each checked against its key now and against the rebuilt
    // root when the tree reaches its size.
    let Some(tree_heads) = scan.tree_heads() else {
        return Ok(None);
    };
    let mut head_roots: HashMap<u64, Hash> = HashMap::new();
    for row in tree_heads {
        let Ok(h) = SignedTreeHead::from_row(row) else {
            return Ok(None);
        };
        if h.tree_size > head_size || h.check_signature(keys).is_err() {
            return Ok(None);
        }
        head_roots.insert(h.tree_size, h.root_hash);
    }
    let heads_checked = head_roots.len() as u64;
    let pages = usize::try_from(head_size.div_ceil(page_size).max(1)).unwrap_or(usize::MAX);

    let readers = scan.readers();
    let failed = AtomicBool::new(false);
    let why: Mutex<Option<Stop>> = Mutex::new(None);
    let error: Mutex<Option<AppError>> = Mutex::new(None);
    let claimed = AtomicUsize::new(0);
    let (job_tx, job_rx) = channel::<Job>();
    for _ in 0..2 * readers.len() + 1 {
        let _ = job_tx.send(Job::Spare(Page::default()));
    }
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = channel::<Done>();

    let folded = std::thread::scope(|s| {
        let workers: Vec<_> = readers
            .iter_mut()
            .map(|reader| {
                let w = Worker {
                    jobs: &job_rx,
                    done: done_tx.clone(),
                    claimed: &claimed,
                    pages,
                    page_size,
                    failed: &failed,
                    why: &why,
                    error: &error,
                };
                s.spawn(move || w.run(reader))
            })
            .collect();
        drop(done_tx);
        let folded = Fold {
            done: done_rx,
            jobs: job_tx,
            pages,
            head_size,
            head_roots: &head_roots,
            failed: &failed,
        }
        .run(progress);
        if let Err((seq, what)) = folded {
            stop(&why, seq, what);
            failed.store(true, Ordering::Relaxed);
        }
        for w in workers {
            if w.join().is_err() {
                failed.store(true, Ordering::Relaxed);
            }
        }
        folded.ok()
    });
    if let Some(e) = error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    let outcome = folded.filter(|f| {
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

/// One worker: its reader, and what it shares with the others and the fold.
struct Worker<'a> {
    jobs: &'a Mutex<Receiver<Job>>,
    done: Sender<Done>,
    /// Pages taken so far (the next page to read).
    claimed: &'a AtomicUsize,
    pages: usize,
    page_size: u64,
    failed: &'a AtomicBool,
    why: &'a Mutex<Option<Stop>>,
    /// A reading that failed (the verification then fails with it).
    error: &'a Mutex<Option<AppError>>,
}

impl Worker<'_> {
    /// Takes jobs until the fold is done with them.
    fn run(self, reader: &mut Reader<'_>) {
        let mut scratch = body::Scratch::default();
        loop {
            let job = match self.jobs.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return self.fail(0, "a worker's queue was poisoned"),
            };
            let Ok(job) = job else { return };
            if self.failed.load(Ordering::Relaxed) {
                continue;
            }
            match job {
                Job::Roots(job) => {
                    if !job.check() {
                        self.fail(0, "a receipt or signed tree head names another root");
                    }
                }
                Job::Spare(mut page) => {
                    let k = self.claimed.fetch_add(1, Ordering::Relaxed);
                    if k >= self.pages {
                        continue;
                    }
                    let (lo, hi) = range(k, self.pages, self.page_size);
                    if let Err(e) = reader.read(lo, hi, &mut page) {
                        if let Ok(mut slot) = self.error.lock() {
                            slot.get_or_insert(e);
                        }
                        self.fail(lo.max(0), "the log could not be read");
                        continue;
                    }
                    match check_page(&page, &mut scratch) {
                        Ok(leaves) => {
                            let _ = self.done.send(Done::Page(k, page, leaves));
                        }
                        Err((seq, what)) => self.fail(seq, what),
                    }
                }
            }
        }
    }

    /// Records why and stops everyone (the fold may be waiting for a page).
    fn fail(&self, seq: i64, what: &'static str) {
        stop(self.why, seq, what);
        self.failed.store(true, Ordering::Relaxed);
        let _ = self.done.send(Done::Failed);
    }
}

/// Hashes and checks every entry of a page on its own; their leaf hashes.
fn check_page(page: &Page, scratch: &mut body::Scratch) -> Result<Vec<Hash>, Stop> {
    let first = page.rows.first().map_or(0, |r| r.seq);
    let text = page.texts().ok_or((first, "text that is not UTF-8"))?;
    let mut leaves = Vec::with_capacity(page.rows.len());
    let mut agencies = page.agencies.iter().peekable();
    let mut subjects = page.subjects.iter().peekable();
    let mut row_agencies: Vec<(&str, &str)> = Vec::with_capacity(8);
    let mut row_subjects: Vec<&str> = Vec::with_capacity(8);
    for r in &page.rows {
        let split = (r.seq, "text that is not UTF-8");
        let get = |s| text.get(s).ok_or(split);
        let opt = |s: Option<_>| s.map(get).transpose();
        let body = get(r.body)?;
        let leaf = merkle::leaf_hash(body.as_bytes());
        if page.bytes(r.leaf_hash) != leaf {
            return Err((r.seq, "leaf hash"));
        }
        // Link rows are sorted by seq; rows of earlier seqs belong to no entry, and taken
        // with this one they no longer match its body.
        row_agencies.clear();
        while let Some(l) = agencies.next_if(|l| l.seq <= r.seq) {
            row_agencies.push((get(l.name)?, get(l.relation)?));
        }
        row_subjects.clear();
        while let Some(l) = subjects.next_if(|l| l.seq <= r.seq) {
            row_subjects.push(get(l.name)?);
        }
        let row = Row {
            seq: r.seq,
            operation: get(r.operation)?,
            occurred_at: get(r.occurred_at)?,
            record_kind: opt(r.record_kind)?,
            record_id: opt(r.record_id)?,
            purpose: opt(r.purpose)?,
            agencies: &row_agencies,
            subjects: &row_subjects,
        };
        if !body::matches(body, &row, scratch) {
            return Err((r.seq, "body against its columns and links"));
        }
        leaves.push(leaf);
    }
    let after = page.rows.last().map_or(first, |r| r.seq);
    if agencies.peek().is_some() || subjects.peek().is_some() {
        return Err((after, "link rows of no entry"));
    }
    Ok(leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(skip: usize) -> RootJob {
        let mut start = Frontier::empty();
        let leaves: Vec<Hash> = (0..20u8).map(|i| merkle::leaf_hash(&[i])).collect();
        for leaf in &leaves[..5] {
            start.push(*leaf);
        }
        let mut f = start.clone();
        let (mut expected, mut tops) = (Vec::new(), Vec::new());
        for (i, leaf) in leaves[5..].iter().enumerate() {
            f.push(*leaf);
            tops.push(*f.nodes().last().unwrap());
            if i % 3 == 0 && i != skip {
                expected.push((f.size(), f.root()));
                expected.push((f.size(), f.root()));
            }
        }
        RootJob {
            start,
            tops,
            expected,
        }
    }

    #[test]
    fn pages_cover_every_seq_once_and_the_ends_are_open() {
        assert_eq!(range(0, 1, 4096), (i64::MIN, i64::MAX));
        assert_eq!(range(0, 3, 10), (i64::MIN, 10));
        assert_eq!(range(1, 3, 10), (11, 20));
        assert_eq!(range(2, 3, 10), (21, i64::MAX));
        for k in 1..5 {
            assert_eq!(range(k, 6, 7).0, range(k - 1, 6, 7).1 + 1);
        }
    }

    #[test]
    fn a_root_job_checks_each_size_against_the_replayed_tree() {
        assert!(job(usize::MAX).check());
        let mut bad = job(usize::MAX);
        if let Some(last) = bad.expected.last_mut() {
            last.1[0] ^= 1;
        }
        assert!(!bad.check());
        let mut shifted = job(usize::MAX);
        if let Some(first) = shifted.expected.first_mut() {
            first.0 += 1;
        }
        assert!(
            !shifted.check(),
            "a root named at the wrong size does not check"
        );
        let mut beyond = job(usize::MAX);
        beyond.expected.push((99, [0; 32]));
        assert!(
            !beyond.check(),
            "a size the page never reaches does not check"
        );
    }
}
