//! SQLite checkpoints off the request path: the writer's connection never checkpoints inside
//! a commit; this thread moves the WAL into the database file every interval (`PASSIVE`, so
//! it never waits for readers or the writer) and stops when it cannot open its connection.
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::conn::{ConnManager, DbConn};
use crate::error::AppError;

/// Keeps the checkpointer running: it stops once every clone of this is dropped.
#[derive(Clone)]
pub(super) struct Running(#[allow(dead_code)] Arc<()>);

/// Starts the checkpointer for the database `manager` opens.
pub(super) fn start(manager: &ConnManager, every: Duration) -> Result<Running, AppError> {
    let manager = manager.clone();
    let running = Arc::new(());
    let alive: Weak<()> = Arc::downgrade(&running);
    std::thread::Builder::new()
        .name("msht-hub-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            if alive.strong_count() == 0 {
                return;
            }
            let mut conn = match manager.open() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "checkpointer: cannot open the database");
                    continue;
                }
            };
            loop {
                if let DbConn::Sqlite(c) = &mut conn {
                    if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                        tracing::warn!(error = %e, "checkpoint failed");
                        break;
                    }
                }
                std::thread::sleep(every);
                if alive.strong_count() == 0 {
                    return;
                }
            }
        })
        .map_err(|e| AppError::internal(format!("cannot start the checkpointer: {e}")))?;
    Ok(Running(running))
}
