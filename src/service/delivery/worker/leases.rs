//! The claims a worker holds: each claim's token, the deliveries still held under it, and a
//! local deadline (monotonic time, short of the lease by a margin) that a send must finish
//! within. A renewal ticker extends every held lease in one write every third of the lease
//! and moves the deadlines on; a send whose deadline passes without renewal is abandoned
//! (never recorded), since another process may claim the delivery once the lease runs out.
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// One claim: the deliveries still held under its token and the deadline its sends must meet.
struct Held {
    ids: HashSet<String>,
    deadline: watch::Sender<Instant>,
}

/// The claims held by one worker.
pub(super) struct Leases {
    lease: Duration,
    claims: Mutex<HashMap<String, Held>>,
}

impl Leases {
    pub(super) fn new(lease: Duration) -> Leases {
        Leases {
            lease,
            claims: Mutex::new(HashMap::new()),
        }
    }

    /// How far short of the lease the local deadline stands (clock skew between processes
    /// and the time a renewal takes to commit).
    fn margin(&self) -> Duration {
        self.lease / 5
    }

    /// The deadline of a lease taken (or renewed) by a write that started at `started`.
    pub(super) fn deadline_from(&self, started: Instant) -> Instant {
        started + self.lease.saturating_sub(self.margin())
    }

    /// How often held leases are renewed.
    pub(super) fn renew_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        match self.claims.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records a claim of `ids` under `token` whose write started at `started`; returns the
    /// deadline its sends watch.
    pub(super) fn hold(
        &self,
        token: &str,
        ids: impl IntoIterator<Item = String>,
        started: Instant,
    ) -> watch::Receiver<Instant> {
        let (tx, rx) = watch::channel(self.deadline_from(started));
        let ids: HashSet<String> = ids.into_iter().collect();
        if !ids.is_empty() {
            self.lock()
                .insert(token.to_owned(), Held { ids, deadline: tx });
        }
        rx
    }

    /// A delivery is no longer held (recorded or abandoned).
    pub(super) fn release(&self, token: &str, id: &str) {
        let mut claims = self.lock();
        let empty = match claims.get_mut(token) {
            Some(held) => {
                held.ids.remove(id);
                held.ids.is_empty()
            }
            None => false,
        };
        if empty {
            claims.remove(token);
        }
    }

    /// Every held (delivery id, token) pair, for a renewal.
    pub(super) fn held(&self) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .flat_map(|(token, held)| held.ids.iter().map(|id| (id.clone(), token.clone())))
            .collect()
    }

    /// A renewal of `tokens` that started at `started` committed: their sends have until
    /// the new deadline.
    pub(super) fn renewed(&self, tokens: &HashSet<String>, started: Instant) {
        let deadline = self.deadline_from(started);
        for (token, held) in self.lock().iter() {
            if tokens.contains(token) {
                held.deadline.send_replace(deadline);
            }
        }
    }
}

/// Runs `f` until it finishes or the lease's deadline passes without a renewal; `None` when
/// the lease ran out first (the work is abandoned).
pub(super) async fn within<F: Future>(lease: &watch::Receiver<Instant>, f: F) -> Option<F::Output> {
    let mut rx = lease.clone();
    tokio::pin!(f);
    loop {
        let deadline = *rx.borrow_and_update();
        tokio::select! {
            biased;
            out = &mut f => return Some(out),
            changed = rx.changed() => {
                if changed.is_err() {
                    // No more renewals can come: the current deadline is the last.
                    return tokio::time::timeout_at(deadline, f).await.ok();
                }
            }
            _ = tokio::time::sleep_until(deadline) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_send_outlives_its_lease_only_while_it_is_renewed() {
        let ms = Duration::from_millis;
        let leases = Leases::new(ms(500));
        let rx = leases.hold("t1", ["d1".to_owned()], Instant::now());
        // Not renewed: a 450 ms send is abandoned at the 400 ms deadline.
        assert_eq!(within(&rx, tokio::time::sleep(ms(450))).await, None);
        // Renewed every 150 ms: a 1 s send completes.
        let rx = leases.hold("t2", ["d2".to_owned()], Instant::now());
        let renewals = async {
            for _ in 0..8 {
                tokio::time::sleep(ms(150)).await;
                let tokens: HashSet<String> = leases.held().into_iter().map(|(_, t)| t).collect();
                leases.renewed(&tokens, Instant::now());
            }
        };
        let (done, ()) = tokio::join!(within(&rx, tokio::time::sleep(ms(1000))), renewals);
        assert_eq!(done, Some(()));
        leases.release("t2", "d2");
        leases.release("t1", "d1");
        assert!(leases.held().is_empty());
    }
}
