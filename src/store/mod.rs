//! Storage: diesel over SQLite (embedded default) or PostgreSQL (production), behind one
//! [`DbConn`] enum, an r2d2 pool and the [`Db`] handle that runs work off the async runtime.
//!
//! Every query that touches an agency's data takes the agency id; there is no unscoped
//! "find by id" for agency data.
pub mod agencies;
pub mod agreements;
pub mod audit;
pub mod conn;
pub mod escalation;
pub mod idempotency;
pub mod identity_providers;
pub mod incidents;
pub mod migrations;
pub mod notifications;
pub mod outbox;
pub mod partnerships;
pub mod referrals;
pub mod schema;
pub mod subscriptions;
pub mod time;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::Connection;
use diesel::r2d2::{Pool, PooledConnection};

pub use conn::{Backend, ConnManager, DbConn};

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

/// A pooled database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnManager>,
    backend: Backend,
    /// SQLite has one writer at a time; writers of this process queue here instead of
    /// failing with `SQLITE_BUSY` when a deferred transaction upgrades to a write.
    write_gate: Arc<Mutex<()>>,
}

impl Db {
    /// Opens a pool on `url` (`sqlite://PATH` or `postgres://...`) and runs pending migrations.
    pub fn open(url: &str, settings: &DatabaseSettings) -> Result<Db, AppError> {
        let manager = ConnManager::new(url, settings.busy_timeout_ms)?;
        let backend = manager.backend();
        let pool_size = match backend {
            Backend::Sqlite => settings.pool_size.max(2),
            Backend::Postgres => settings.pool_size,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_millis(settings.connection_timeout_ms))
            .build(manager)
            .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
        let db = Db {
            pool,
            backend,
            write_gate: Arc::new(Mutex::new(())),
        };
        db.migrate_blocking()?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn conn(&self) -> Result<PooledConnection<ConnManager>, AppError> {
        Ok(self.pool.get()?)
    }

    /// Runs pending migrations (also done by [`Db::open`]).
    pub fn migrate_blocking(&self) -> Result<Vec<String>, AppError> {
        let mut conn = self.conn()?;
        migrations::run(&mut conn)
    }

    /// Runs `f` on a pooled connection, outside a transaction.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// Runs `f` in one transaction: everything it writes commits together or not at all.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        let _gate = match self.backend {
            Backend::Sqlite => Some(self.write_gate.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let conn: &mut DbConn = &mut conn;
        conn.transaction(f)
    }

    /// Runs `f` in one read-only transaction that sees a single snapshot of the database
    /// (REPEATABLE READ on PostgreSQL, a WAL read transaction on SQLite), without taking the
    /// write gate: long reads such as audit verification neither block writers nor see their
    /// work half-done.
    pub fn snapshot_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        in_snapshot(&mut conn, f)
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

    /// [`Db::write_blocking`] on the blocking thread pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f))
            .await
            .map_err(|e| AppError::internal(format!("blocking task: {e}")))?
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
