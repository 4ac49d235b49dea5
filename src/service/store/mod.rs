//! Storage: diesel over SQLite (embedded default) or PostgreSQL (production), behind one
//! [`DbConn`] enum, a pool of reader connections, the process's one group-committing writer
//! and the [`Db`] handle that runs work off the async runtime.
//!
//! Every query that touches an agency's data takes the agency id; there is no unscoped
//! "find by id" for agency data.
//!
//! Every insertable row writes `None` as NULL (`treat_none_as_default_value = false`): no
//! nullable column has a default, and SQLite, which has no `DEFAULT` keyword in `VALUES`,
//! then runs a multi-row insert as one statement instead of one statement per row.
pub mod agencies;
pub mod agreements;
pub mod audit;
mod batch;
mod checkpoint;
pub mod conn;
pub mod console_sessions;
pub mod epoch;
pub mod escalation;
mod fixed;
pub mod ictg;
pub mod idempotency;
pub mod identity_providers;
pub mod incidents;
mod insert;
pub mod learning;
pub mod migrations;
pub mod notifications;
pub mod outbox;
pub mod partnerships;
pub mod referrals;
pub mod schema;
pub mod subscriptions;
pub mod support;
pub mod time;
pub mod witnessing;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::Connection;
use diesel::r2d2::{Pool, PooledConnection};

pub use conn::{Backend, ConnManager, DbConn, Synchronous};
pub use writer::WriterStats;

use crate::domain::audit::NewEntry;
use writer::{Job, Writer};

use crate::config::DatabaseSettings;
use crate::error::AppError;

/// Runs `f` on `conn` in one read-only transaction over a single snapshot (see
/// [`Db::snapshot_blocking`]); also used on a lone connection by `msht-hub audit verify`.
pub fn in_snapshot<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.transaction(|c| {
        if let DbConn::Pg(pg) = c {
            diesel::connection::SimpleConnection::batch_execute(
                pg,
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            )?;
        }
        f(c)
    })
}

/// Appends a refusal's `access_denied` entry on the writer's connection (the audit trail
/// provides it, within its refusal budget; the composition root hands it to
/// [`Db::with_refusal_log`]).
pub type RefusalLog = Arc<dyn Fn(&mut DbConn, &NewEntry) -> Result<(), AppError> + Send + Sync>;

/// The database handle: a pool of reader connections and the process's one writer. Cheap to
/// clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnManager>,
    backend: Backend,
    writer: Writer,
    refusals: Option<RefusalLog>,
    _checkpointer: Option<checkpoint::Running>,
    /// The writer's WAL restart gate, for the checkpointer's test.
    #[cfg(test)]
    gate: checkpoint::Gate,
    /// Why writes are refused, once the audit log was found rolled back.
    halted: Arc<std::sync::RwLock<Option<String>>>,
}

/// Intents per transaction: SQLite savepoints are cheap; PostgreSQL stays under its
/// per-backend subtransaction cache.
fn max_batch(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 256,
        Backend::Postgres => 48,
    }
}

impl Db {
    /// Opens a pool on `url` (`sqlite://PATH` or `postgres://...`), runs pending migrations and
    /// starts the writer.
    pub fn open(url: &str, settings: &DatabaseSettings) -> Result<Db, AppError> {
        let manager = ConnManager::new(url, settings.busy_timeout_ms)?
            .with_synchronous(settings.sqlite_synchronous);
        let backend = manager.backend();
        let pool = Pool::builder()
            .max_size(settings.pool_size.max(1))
            .connection_timeout(Duration::from_millis(settings.connection_timeout_ms))
            .test_on_check_out(false)
            .build(manager.clone())
            .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
        {
            let mut conn = pool.get()?;
            migrations::run(&mut conn)?;
            if !conn::sqlite_plans_are_stable(&mut conn)? {
                tracing::warn!(
                    "this SQLite was built without SQLITE_ENABLE_QPSG: statements with a bound \
                     LIMIT are compiled again on every run (build msht-hub with its \
                     .cargo/config.toml)"
                );
            }
        }
        let gate = checkpoint::Gate::default();
        let writer = Writer::start(&manager, max_batch(backend), gate.clone())?;
        let checkpointer = if backend == Backend::Sqlite && settings.checkpoint_interval_ms > 0 {
            Some(checkpoint::start(
                &manager,
                Duration::from_millis(settings.checkpoint_interval_ms),
                checkpoint::RESTART_FRAMES,
                gate.clone(),
            )?)
        } else {
            None
        };
        Ok(Db {
            pool,
            backend,
            writer,
            refusals: None,
            _checkpointer: checkpointer,
            #[cfg(test)]
            gate,
            halted: Arc::default(),
        })
    }

    /// Where refusals carried by [`AppError::Denied`] are written.
    pub fn with_refusal_log(mut self, log: RefusalLog) -> Db {
        self.refusals = Some(log);
        self
    }

    /// Refuses every write from now on (503 saying `why`): the audit log is behind a
    /// checkpoint it once had witnessed.
    pub fn halt_writes(&self, why: String) {
        if let Ok(mut h) = self.halted.write() {
            h.get_or_insert(why);
        }
    }

    /// Why writes are refused, if they are.
    pub fn halted(&self) -> Option<String> {
        self.halted.read().ok().and_then(|h| h.clone())
    }

    fn check_halted(&self) -> Result<(), AppError> {
        match self.halted() {
            Some(why) => Err(AppError::RolledBack(why)),
            None => Ok(()),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Batches and intents the writer has applied so far.
    pub fn writer_stats(&self) -> Arc<WriterStats> {
        self.writer.stats()
    }

    fn conn(&self) -> Result<PooledConnection<ConnManager>, AppError> {
        Ok(self.pool.get()?)
    }

    /// Runs pending migrations (also done by [`Db::open`]).
    pub fn migrate_blocking(&self) -> Result<Vec<String>, AppError> {
        let mut conn = self.conn()?;
        migrations::run(&mut conn)
    }

    /// Runs `f` on a pooled reader connection, outside a transaction.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        let r = f(&mut conn);
        drop(conn);
        self.refused_blocking(r)
    }

    /// Runs `f` as one write intent: in a savepoint of the writer's next batch, answered once
    /// that batch has committed. Everything `f` writes commits together or not at all; a
    /// refusal it returns ([`AppError::Denied`]) rolls back and leaves its entry.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.submit_blocking(false, f)
    }

    fn submit_blocking<T, F>(&self, appending: bool, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.check_halted()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.writer.submit(self.job(appending, f, move |r| {
            let _ = tx.send(r);
        }))?;
        rx.recv()
            .map_err(|_| AppError::Unavailable("the database writer went away".into()))?
    }

    /// Runs `f` in one read-only transaction that sees a single snapshot of the database
    /// (REPEATABLE READ on PostgreSQL, a WAL read transaction on SQLite), on a reader
    /// connection: long reads such as audit verification neither block writers nor see their
    /// work half-done.
    pub fn snapshot_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        let r = in_snapshot(&mut conn, f);
        drop(conn);
        self.refused_blocking(r)
    }

    /// [`Db::snapshot_blocking`] on the blocking thread pool.
    pub async fn snapshot<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.snapshot_blocking(f))
            .await
            .map_err(|e| AppError::internal(format!("blocking task: {e}")))?
    }

    /// [`Db::read_blocking`] on the blocking thread pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|e| AppError::internal(format!("blocking task: {e}")))?
    }

    /// [`Db::write_blocking`] without blocking: the intent is queued and the task waits for
    /// its batch's commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.submit(false, f).await
    }

    /// [`Db::write`] for an *appending* intent: one that never reads the rows the batch keeps
    /// waiting (the new incidents and decisions, audit entries and links, notifications and
    /// deliveries its earlier appending intents added; committed rows of those tables it may
    /// read and update), except through the finders that look there first. Its
    /// own such rows wait too and are written with the others, many rows per statement,
    /// under one audit head update ([`batch`]). Recording an incident, logging a
    /// read and the delivery worker's claims and outcomes are appending. The answer still
    /// comes only after the batch's commit.
    pub async fn write_appending<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.submit(true, f).await
    }

    async fn submit<T, F>(&self, appending: bool, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.check_halted()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer.submit(self.job(appending, f, move |r| {
            let _ = tx.send(r);
        }))?;
        rx.await
            .map_err(|_| AppError::Unavailable("the database writer went away".into()))?
    }

    /// Wraps `f` as a writer job: a savepoint of its own, the refusal entry after its
    /// rollback, and the answer handed to `deliver` with the batch's commit outcome.
    fn job<T, F>(
        &self,
        appending: bool,
        f: F,
        deliver: impl FnOnce(Result<T, AppError>) + Send + 'static,
    ) -> Job
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let refusals = self.refusals.clone();
        let run = Box::new(move |c: &mut DbConn| -> writer::Reply {
            let mark = batch::mark();
            let r = c.transaction(f);
            if r.is_err() {
                batch::restore(mark);
            }
            let r = match r {
                Err(AppError::Denied { error, entry }) => {
                    log_refusal(c, refusals, &entry);
                    Err(*error)
                }
                other => other,
            };
            Box::new(move |committed: Result<(), AppError>| deliver(committed.and(r)))
        });
        Job { appending, run }
    }

    /// A refusal returned by a read: its entry is written through the writer (and committed)
    /// before the caller gets the answer.
    fn refused_blocking<T>(&self, r: Result<T, AppError>) -> Result<T, AppError> {
        let Err(AppError::Denied { error, entry }) = r else {
            return r;
        };
        let refusals = self.refusals.clone();
        let logged = self.submit_blocking(true, move |c| {
            log_refusal(c, refusals, &entry);
            Ok(())
        });
        if let Err(e) = logged {
            tracing::error!(error = %e, "could not log a refusal in the audit trail");
        }
        Err(*error)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.read(|c| {
            diesel::r2d2::R2D2Connection::ping(c)?;
            Ok(())
        })
        .await
    }
}

/// Appends a refusal's entry in a savepoint of its own; a failure is traced, never answered.
fn log_refusal(c: &mut DbConn, log: Option<RefusalLog>, entry: &NewEntry) {
    let Some(log) = log else {
        tracing::error!("a refusal was not logged: no refusal log is configured");
        return;
    };
    if let Err(e) = c.transaction(|c| log(c, entry)) {
        tracing::error!(error = %e, "could not log a refusal in the audit trail");
    }
}
