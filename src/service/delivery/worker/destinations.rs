//! Per-destination limits: at most `limit` concurrent sends to one destination (a webhook's
//! scheme, host and port, or the mail relay) and at most `queue` more held waiting for it.
//! A delivery beyond that is put back for later, so one slow receiver holds a bounded share
//! of the worker and never the others' deliveries.
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

struct Destination {
    sending: Arc<Semaphore>,
    held: AtomicUsize,
}

/// The destinations one worker sends to.
pub(super) struct Destinations {
    limit: usize,
    queue: usize,
    all: Mutex<HashMap<String, Arc<Destination>>>,
}

/// A place in a destination's line: released when dropped.
pub(super) struct Place {
    dest: Arc<Destination>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.dest.held.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Place {
    /// Waits for one of the destination's send slots.
    pub(super) async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.dest.sending.clone().acquire_owned().await.ok()
    }
}

impl Destinations {
    pub(super) fn new(limit: usize, queue: usize) -> Destinations {
        Destinations {
            limit: limit.max(1),
            queue,
            all: Mutex::new(HashMap::new()),
        }
    }

    /// A place in `key`'s line, or `None` when the destination is full (sending and
    /// waiting).
    pub(super) fn enter(&self, key: &str) -> Option<Place> {
        let dest = {
            let mut all = match self.all.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            all.entry(key.to_owned())
                .or_insert_with(|| {
                    Arc::new(Destination {
                        sending: Arc::new(Semaphore::new(self.limit)),
                        held: AtomicUsize::new(0),
                    })
                })
                .clone()
        };
        let before = dest.held.fetch_add(1, Ordering::AcqRel);
        let place = Place { dest };
        (before < self.limit + self.queue).then_some(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_destination_refuses_and_others_still_enter() {
        let d = Destinations::new(2, 1);
        let (p1, p2, p3) = (
            d.enter("https://slow:443").unwrap(),
            d.enter("https://slow:443").unwrap(),
            d.enter("https://slow:443").unwrap(),
        );
        assert!(
            d.enter("https://slow:443").is_none(),
            "2 sending + 1 waiting"
        );
        assert!(d.enter("https://fast:443").is_some());
        let a = p1.slot().await.unwrap();
        let _b = p2.slot().await.unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), p3.slot())
                .await
                .is_err(),
            "a third send waits"
        );
        drop(a);
        assert!(p3.slot().await.is_some());
        let places = (p1, p2, p3);
        drop(places);
        assert!(d.enter("https://slow:443").is_some(), "room again");
    }
}
