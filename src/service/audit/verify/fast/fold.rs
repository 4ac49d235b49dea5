//! The calling thread's part of the fast path: folding the checked pages' leaves into the
//! tree in seq order, comparing the interior nodes stored with each entry in place, and
//! handing the workers each page's roots to check and its buffer back.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use super::{Done, Job, RootJob, Stop};
use crate::audit::frontier::Frontier;
use crate::audit::merkle::{self, Hash};
use crate::service::store::audit::page::Page;

/// The calling thread's part: folding the pages into the tree in seq order.
pub(super) struct Fold<'a> {
    pub(super) done: Receiver<Done>,
    /// Root jobs and the pages folded, back to the workers; dropped when the fold ends,
    /// which lets the workers go once they have taken what is left.
    pub(super) jobs: Sender<Job>,
    pub(super) pages: usize,
    pub(super) head_size: u64,
    pub(super) head_roots: &'a HashMap<u64, Hash>,
    pub(super) failed: &'a AtomicBool,
}

impl Fold<'_> {
    /// The rebuilt frontier when every check so far held.
    pub(super) fn run(self, progress: &mut dyn FnMut(u64, u64)) -> Result<Frontier, Stop> {
        let mut frontier = Frontier::empty();
        let mut waiting: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
        let mut early: BTreeMap<usize, (Page, Vec<Hash>)> = BTreeMap::new();
        let mut next = 0usize;
        if let Some(r) = self.head_roots.get(&0) {
            if *r != merkle::empty_root() {
                return Err((0, "the signed tree head of size 0"));
            }
        }
        while next < self.pages {
            if self.failed.load(Ordering::Relaxed) {
                return Err((0, "stopped"));
            }
            let (page, mut leaves) = match early.remove(&next) {
                Some(p) => p,
                None => match self.done.recv().map_err(|_| (0, "stopped"))? {
                    Done::Failed => return Err((0, "stopped")),
                    Done::Page(i, page, leaves) if i == next => (page, leaves),
                    Done::Page(i, page, leaves) => {
                        early.insert(i, (page, leaves));
                        continue;
                    }
                },
            };
            next += 1;
            let start = frontier.clone();
            let expected = self.page(&page, &mut leaves, &mut frontier, &mut waiting)?;
            if !expected.is_empty() {
                let job = RootJob {
                    start,
                    tops: leaves,
                    expected,
                };
                self.jobs
                    .send(Job::Roots(job))
                    .map_err(|_| (0, "stopped"))?;
            }
            let _ = self.jobs.send(Job::Spare(page));
            progress(frontier.size(), self.head_size);
        }
        if waiting.is_empty() {
            Ok(frontier)
        } else {
            Err((0, "receipts of sizes never reached"))
        }
    }

    /// Folds one page's leaves, replacing each with the node its push left on top of the
    /// frontier; the roots named at sizes within the page, sizes ascending.
    fn page(
        &self,
        page: &Page,
        leaves: &mut [Hash],
        frontier: &mut Frontier,
        waiting: &mut BTreeMap<u64, Vec<Hash>>,
    ) -> Result<Vec<(u64, Hash)>, Stop> {
        let head_size = self.head_size;
        let mut expected = Vec::with_capacity(leaves.len());
        for (r, leaf) in page.rows.iter().zip(leaves.iter_mut()) {
            if u64::try_from(r.seq).ok() != Some(frontier.size() + 1) || r.seq as u64 > head_size {
                return Err((r.seq, "seq out of order or beyond the head"));
            }
            if !frontier.push_matching(*leaf, page.bytes(r.subtree_hashes)) {
                return Err((r.seq, "stored tree nodes"));
            }
            if let Some(top) = frontier.nodes().last() {
                *leaf = *top;
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
            if receipt_size == size {
                expected.push((size, receipt_root));
            } else {
                waiting.entry(receipt_size).or_default().push(receipt_root);
            }
            if let Some(w) = waiting.first_entry().filter(|w| *w.key() == size) {
                expected.extend(w.remove().into_iter().map(|h| (size, h)));
            }
            if let Some(h) = self.head_roots.get(&size) {
                expected.push((size, *h));
            }
        }
        Ok(expected)
    }
}
