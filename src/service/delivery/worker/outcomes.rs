//! Outcomes written in batches: every finished delivery hands its outcome to one recorder
//! task, which writes all that are waiting as one intent through the process's writer (one
//! statement each, in one transaction), and answers each with whether it was recorded (its
//! claim still held) once that intent has committed.
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;
use crate::service::store::outbox::{self, Outcome};
use crate::service::store::Db;

/// Outcomes per write intent at most.
const MAX_BATCH: usize = 1024;

type Waiting = (Outcome, oneshot::Sender<Result<bool, AppError>>);

/// The sending side of the recorder task; the task ends when this is dropped.
pub(super) struct Recorder {
    tx: mpsc::UnboundedSender<Waiting>,
}

impl Recorder {
    /// Starts the recorder task on the current runtime.
    pub(super) fn start(db: Db) -> Recorder {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db, rx));
        Recorder { tx }
    }

    /// Records `outcome` with the next batch; `Ok(false)` when its claim was no longer held
    /// (the lease had run out and the row was claimed again, or it was cancelled).
    pub(super) async fn record(&self, outcome: Outcome) -> Result<bool, AppError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send((outcome, tx))
            .map_err(|_| AppError::Unavailable("the outcome recorder has stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Unavailable("the outcome recorder went away".into()))?
    }
}

async fn run(db: Db, mut rx: mpsc::UnboundedReceiver<Waiting>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let (outcomes, answers): (Vec<Outcome>, Vec<_>) = batch.into_iter().unzip();
        // Appending: it updates claimed (committed) rows only, never the batch's waiting ones.
        let written = db
            .write_appending(move |c| outbox::record_all(c, &outcomes))
            .await;
        match written {
            Ok(applied) => {
                for (answer, ok) in answers.into_iter().zip(applied) {
                    let _ = answer.send(Ok(ok));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "recording delivery outcomes failed");
                let text = e.to_string();
                for answer in answers {
                    let _ = answer.send(Err(AppError::Unavailable(text.clone())));
                }
            }
        }
    }
}
