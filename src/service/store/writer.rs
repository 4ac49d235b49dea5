//! The one writer of a hub process, with group commit.
//!
//! Write intents queue on a bounded channel to a dedicated thread that owns the process's only
//! writing connection. It takes every intent that is waiting (up to a batch limit), opens one
//! transaction (`BEGIN IMMEDIATE` on SQLite), runs each intent in a savepoint of its own (so
//! one failing intent rolls back alone), commits once, and only then answers each intent: an
//! answered write is on disk, and one fsync (SQLite `synchronous = FULL`) or one WAL flush
//! (PostgreSQL) is shared by the whole batch. The rows of its appending intents are written
//! together, many rows per statement, with one audit head update ([`super::batch`]).
//! If the commit fails, every intent of the batch gets the failure and nothing of it was
//! answered before.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};

use super::batch;
use super::checkpoint::Gate;
use super::conn::{ConnManager, DbConn};
use crate::error::AppError;

/// One intent: what the writer runs on the batch's connection, returning what to do once the
/// batch's commit succeeded or failed, and whether it is appending (see [`super::batch`]).
pub(super) struct Job {
    pub(super) appending: bool,
    pub(super) run: Box<dyn FnOnce(&mut DbConn) -> Reply + Send>,
}
/// Answers one intent with the batch's commit outcome.
pub(super) type Reply = Box<dyn FnOnce(Result<(), AppError>) + Send>;

/// Queued intents beyond this are refused with 503 rather than queued without bound.
const QUEUE_CAPACITY: usize = 4096;

/// Counters a benchmark or `/metrics` can read.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub intents: AtomicU64,
    /// Intents queued and not yet taken into a batch.
    pub queued: AtomicU64,
}

/// The sending half: cheap to clone, one per [`super::Db`].
#[derive(Clone)]
pub(super) struct Writer {
    tx: SyncSender<Job>,
    stats: Arc<WriterStats>,
}

impl Writer {
    /// Opens the writing connection and starts the writer thread. `max_batch` bounds the
    /// intents per transaction (PostgreSQL keeps it small: each savepoint that writes is a
    /// subtransaction, and more than 64 of them overflow the per-backend cache).
    /// It holds `gate` for each batch (see [`super::checkpoint`]).
    pub(super) fn start(
        manager: &ConnManager,
        max_batch: usize,
        gate: Gate,
    ) -> Result<Writer, AppError> {
        let conn = manager
            .open_writer()
            .map_err(|e| AppError::Unavailable(format!("database writer: {e}")))?;
        let (tx, rx) = sync_channel::<Job>(QUEUE_CAPACITY);
        let stats = Arc::new(WriterStats::default());
        let loop_stats = stats.clone();
        let manager = manager.clone();
        std::thread::Builder::new()
            .name("msht-hub-writer".into())
            .spawn(move || run(conn, &manager, &rx, max_batch.max(1), &loop_stats, &gate))
            .map_err(|e| AppError::internal(format!("cannot start the writer: {e}")))?;
        Ok(Writer { tx, stats })
    }

    /// Queues one job; refused at once when the queue is full or the writer has stopped.
    pub(super) fn submit(&self, job: Job) -> Result<(), AppError> {
        // Counted before it can be taken, so the writer never counts it off first.
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let sent = self.tx.try_send(job);
        if sent.is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(AppError::Unavailable(
                "the write queue is full; retry shortly".into(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(AppError::Unavailable(
                "the database writer has stopped".into(),
            )),
        }
    }

    pub(super) fn stats(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }
}

/// The writer thread: until every sender is gone, takes a batch and applies it.
fn run(
    mut conn: DbConn,
    manager: &ConnManager,
    rx: &Receiver<Job>,
    max_batch: usize,
    stats: &WriterStats,
    gate: &Gate,
) {
    while let Ok(first) = rx.recv() {
        // Waits here while the checkpointer restarts the WAL; intents queue meanwhile.
        let held = gate.hold();
        let mut batch = Vec::with_capacity(max_batch.min(64));
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .intents
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        stats
            .queued
            .fetch_sub(batch.len() as u64, Ordering::Relaxed);
        let healthy = apply(&mut conn, batch);
        Gate::release(held);
        if !healthy || conn_is_broken(&mut conn) {
            match manager.open_writer() {
                Ok(fresh) => conn = fresh,
                Err(e) => tracing::error!(error = %e, "cannot reopen the database writer"),
            }
        }
    }
}

fn conn_is_broken(conn: &mut DbConn) -> bool {
    diesel::r2d2::R2D2Connection::is_broken(conn)
}

/// Applies one batch in one transaction and answers every intent after the commit. Returns
/// false when the connection may be unusable (a panic inside an intent).
fn apply(conn: &mut DbConn, batch: Vec<Job>) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Err(e) = begin(conn) {
            return (Vec::new(), Err(AppError::from(e)), batch);
        }
        batch::open();
        let mut replies = Vec::with_capacity(batch.len());
        let mut jobs = batch.into_iter();
        let mut flushed = Ok(());
        for job in jobs.by_ref() {
            // An intent that is not appending sees every row the batch's earlier ones left.
            if !job.appending {
                flushed = batch::flush(conn);
                if flushed.is_err() {
                    break;
                }
            }
            batch::start_intent(job.appending);
            replies.push((job.run)(conn));
            batch::end_intent();
        }
        let unstarted: Vec<Job> = jobs.collect();
        let committed = flushed.and_then(|()| batch::flush(conn)).and_then(|()| {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)
                .map_err(AppError::from)
        });
        if committed.is_err() {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
        }
        batch::close();
        (replies, committed, unstarted)
    }));
    match outcome {
        Ok((replies, committed, unstarted)) => {
            let failure = committed.as_ref().err().map(commit_failure);
            for reply in replies {
                reply(match &failure {
                    None => Ok(()),
                    Some(f) => Err(f()),
                });
            }
            // Jobs that never ran (the batch's BEGIN or a flush before them failed):
            // dropping them answers each with "the writer went away", which is a 503.
            drop(unstarted);
            if let Err(e) = &committed {
                tracing::error!(error = %e, "a write batch did not commit");
            }
            true
        }
        Err(_) => {
            batch::close();
            tracing::error!("a write intent panicked; its batch was rolled back");
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            false
        }
    }
}

/// The error every intent of a batch gets when the commit failed (each needs its own value).
fn commit_failure(e: &AppError) -> impl Fn() -> AppError {
    let text = e.to_string();
    move || AppError::Unavailable(format!("the write was not committed: {text}"))
}

/// Opens the batch's transaction through diesel's transaction manager, so that each intent's
/// `transaction` call becomes a savepoint. SQLite takes the write lock at once (`IMMEDIATE`),
/// so another process's writer waits on the busy timeout instead of failing a snapshot upgrade.
fn begin(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    }
}
