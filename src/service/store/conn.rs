//! The connection enum over SQLite and PostgreSQL, and the pool manager that opens the right
//! one from the URL scheme (with SQLite's WAL, busy timeout, foreign keys and a durable
//! `synchronous` setting switched on).
use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};

use crate::error::AppError;

/// One connection to either backend; diesel queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// SQLite's `synchronous` setting for the writer. `Full` (the default) fsyncs the WAL at
/// every commit, so an answered write survives a power cut; `Normal` does not, and the hub
/// warns about it at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Which backend a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Opens connections for the pool.
#[derive(Debug, Clone)]
pub struct ConnManager {
    target: Target,
    busy_timeout_ms: u64,
    synchronous: Synchronous,
}

impl ConnManager {
    /// Accepts `sqlite://PATH` (the folder is created) or `postgres://` / `postgresql://`.
    pub fn new(url: &str, busy_timeout_ms: u64) -> Result<Self, AppError> {
        let target = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains(":memory:") {
                return Err(AppError::Config(
                    "database_url: sqlite:// needs a file path".to_owned(),
                ));
            }
            let path = PathBuf::from(path);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    AppError::Config(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            Target::Sqlite(path)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Target::Postgres(url.to_owned())
        } else {
            return Err(AppError::Config(
                "database_url must start with sqlite:// or postgres://".to_owned(),
            ));
        };
        let manager = ConnManager {
            target,
            busy_timeout_ms,
            synchronous: Synchronous::Full,
        };
        if let Target::Sqlite(path) = &manager.target {
            // WAL is a property of the file: switch it once, before the pool opens several
            // connections (changing the journal mode needs the database to itself).
            let mut c = SqliteConnection::establish(&path.to_string_lossy())
                .map_err(|e| AppError::Config(format!("database: {e}")))?;
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA journal_mode = WAL;"
            ))
            .map_err(|e| AppError::Config(format!("database: {e}")))?;
        }
        Ok(manager)
    }

    /// The `synchronous` setting of the connections this manager opens on SQLite.
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    pub fn backend(&self) -> Backend {
        match self.target {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens one connection.
    pub fn open(&self) -> Result<DbConn, diesel::ConnectionError> {
        self.open_with("")
    }

    /// Opens the writer's connection: on SQLite automatic checkpoints are off (a checkpointer
    /// thread runs them outside any commit), the page cache is larger, and a WAL file that a
    /// burst grew past 64 MiB is cut back to that when the log restarts.
    pub fn open_writer(&self) -> Result<DbConn, diesel::ConnectionError> {
        self.open_with(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -16384; \
             PRAGMA journal_size_limit = 67108864;",
        )
    }

    fn open_with(&self, sqlite_extra: &str) -> Result<DbConn, diesel::ConnectionError> {
        match &self.target {
            Target::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path.to_string_lossy())?;
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA synchronous = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; {sqlite_extra}",
                    self.busy_timeout_ms,
                    self.synchronous.pragma(),
                ))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConn::Sqlite(c))
            }
            Target::Postgres(url) => {
                let mut c = PgConnection::establish(url)?;
                c.batch_execute("SET TIME ZONE 'UTC'")
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConn::Pg(c))
            }
        }
    }
}

impl ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.open().map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Whether the SQLite library the hub runs on keeps statements' plans stable across bound
/// values (compiled with `SQLITE_ENABLE_QPSG`, as `.cargo/config.toml` builds it). Without
/// it every cached statement with a `LIMIT ?` is compiled again each time it runs.
pub fn sqlite_plans_are_stable(conn: &mut DbConn) -> Result<bool, AppError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Sqlite(c) = conn else {
        return Ok(true);
    };
    let found: Found = diesel::sql_query(
        "SELECT count(*) AS n FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG'",
    )
    .get_result(c)?;
    Ok(found.n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_sqlite_keeps_plans_stable_across_bound_values() {
        let mut c = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        assert!(sqlite_plans_are_stable(&mut c).unwrap());
    }
}
