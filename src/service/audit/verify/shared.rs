//! One verification at a time for the whole hub, and its report kept.
//!
//! Verifying reads the whole log, so `GET /audit/verify` must not be a way to keep the
//! database busy: callers that arrive while a verification runs wait for it, and a report
//! answers every caller whose own request (its consultation entry) lies within the tree size
//! it verified. A caller whose request came later gets a new run.
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Report;
use crate::error::AppError;

/// The hub's one verification gate and the last report.
#[derive(Debug, Default)]
pub struct Verifications {
    last: tokio::sync::Mutex<Option<Report>>,
    runs: AtomicU64,
}

impl Verifications {
    pub fn new() -> Self {
        Verifications::default()
    }

    /// A report on the log up to at least `size` entries: the kept one when it covers that
    /// size, otherwise a new one from `run` (only one runs at a time; callers waiting
    /// meanwhile are answered by it when it covers them).
    pub async fn covering<F, Fut>(&self, size: u64, run: F) -> Result<Report, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Report, AppError>>,
    {
        let mut last = self.last.lock().await;
        if let Some(report) = last.as_ref().filter(|r| r.tree_size >= size) {
            return Ok(report.clone());
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        let report = run().await?;
        *last = Some(report.clone());
        Ok(report)
    }

    /// The report of the last run, if one has finished and none is running now (this never
    /// waits for a run).
    pub fn last(&self) -> Option<Report> {
        self.last.try_lock().ok().and_then(|r| r.clone())
    }

    /// How many verifications have run.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn report(size: u64) -> Report {
        Report {
            ok: true,
            tree_size: size,
            entries_checked: size,
            tree_heads_checked: 0,
            first_bad_seq: None,
            problem: None,
        }
    }

    #[tokio::test]
    async fn waiting_callers_share_one_run_and_later_sizes_run_again() {
        let v = Arc::new(Verifications::new());
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let v = v.clone();
            async move {
                v.covering(5, || async move {
                    let _ = wait.await;
                    Ok(report(10))
                })
                .await
            }
        });
        tokio::task::yield_now().await;
        let waiting: Vec<_> = (0..3)
            .map(|i| {
                let v = v.clone();
                tokio::spawn(async move { v.covering(6 + i, || async { Ok(report(99)) }).await })
            })
            .collect();
        tokio::task::yield_now().await;
        go.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().tree_size, 10);
        for w in waiting {
            assert_eq!(w.await.unwrap().unwrap().tree_size, 10);
        }
        assert_eq!(v.runs(), 1);
        let later = v.covering(11, || async { Ok(report(11)) }).await.unwrap();
        assert_eq!((later.tree_size, v.runs()), (11, 2));
    }
}
