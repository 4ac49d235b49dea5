//! Embedded migrations, one tree per backend with the same names.
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConn;
use crate::error::AppError;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An arbitrary constant naming the migration lock on PostgreSQL.
const PG_MIGRATION_LOCK: i64 = 0x006d_7368_7468_7562;

/// Runs pending migrations and returns the names of those applied.
pub fn run(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(|e| AppError::Internal(format!("migrations: {e}")))?,
        DbConn::Pg(c) => {
            // Several hub processes may start at once: one migrates, the others wait.
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let r = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                .map_err(|e| AppError::Internal(format!("migrations: {e}")));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            r?
        }
    };
    Ok(applied)
}
