//! SQLite checkpoints off the request path, and a WAL that restarts under load.
//!
//! The writer's connection never checkpoints inside a commit. This thread moves the WAL into
//! the database file every interval (`PASSIVE`, so it never waits for readers or the writer).
//! That alone never lets the WAL start again from its beginning while writes keep coming: the
//! log restarts only when a write transaction begins with every frame already copied back,
//! and the writer begins its next batch straight after its last commit. So the WAL file would
//! grow for as long as the hub stays busy (tens of MB a second under load), and every commit
//! would append to new file space.
//!
//! So once a checkpoint leaves [`RESTART_FRAMES`] or more frames in the log, the checkpointer
//! takes the writer's [`Gate`] between two batches and runs a `RESTART` checkpoint: it copies
//! what the `PASSIVE` one left and waits (at most [`RESTART_WAIT_MS`]) for readers to leave
//! the log, so the writer's next commit writes from the start of the WAL file again. The
//! writer waits only for that short step; the bulk copy ran beside it.
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{QueryableByName, RunQueryDsl, SqliteConnection};
use parking_lot::{Mutex, MutexGuard};

use super::conn::{ConnManager, DbConn};
use crate::error::AppError;

/// Frames left in the WAL after a checkpoint from which the log is restarted: the size
/// SQLite's own automatic checkpoint keeps a WAL to.
pub(super) const RESTART_FRAMES: i32 = 1000;

/// How long a `RESTART` checkpoint waits for readers to leave the log (the writer waits as
/// long at most); past it the restart is tried again at the next interval.
const RESTART_WAIT_MS: u64 = 20;

/// Held by the writer for each batch and by the checkpointer for a WAL restart. The writer
/// hands it over fairly, so a waiting checkpointer has it before the next batch.
#[derive(Clone, Default)]
pub(super) struct Gate(Arc<Mutex<()>>);

impl Gate {
    /// Waits for the gate.
    pub(super) fn hold(&self) -> MutexGuard<'_, ()> {
        self.0.lock()
    }

    /// Gives the gate back, to a thread waiting for it first.
    pub(super) fn release(held: MutexGuard<'_, ()>) {
        MutexGuard::unlock_fair(held);
    }
}

/// Keeps the checkpointer running: it stops once every clone of this is dropped.
#[derive(Clone)]
pub(super) struct Running(#[allow(dead_code)] Arc<()>);

/// What a checkpoint reports: whether it was kept from finishing, the frames in the log and
/// how many of them are in the database file.
#[derive(Debug, QueryableByName)]
struct Checkpointed {
    #[diesel(sql_type = Integer)]
    busy: i32,
    #[diesel(sql_type = Integer)]
    log: i32,
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

/// Starts the checkpointer for the database `manager` opens: every `every`, a `PASSIVE`
/// checkpoint, and a restart of the log through `gate` once `restart_frames` are left in it.
pub(super) fn start(
    manager: &ConnManager,
    every: Duration,
    restart_frames: i32,
    gate: Gate,
) -> Result<Running, AppError> {
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
            let DbConn::Sqlite(c) = &mut conn else { return };
            if let Err(e) = c.batch_execute(&format!("PRAGMA busy_timeout = {RESTART_WAIT_MS};")) {
                tracing::warn!(error = %e, "checkpointer: cannot set its busy timeout");
                continue;
            }
            loop {
                if let Err(e) = run_once(c, restart_frames, &gate) {
                    tracing::warn!(error = %e, "checkpoint failed");
                    break;
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

/// One interval's work: the `PASSIVE` checkpoint, then the restart if the log is long.
fn run_once(c: &mut SqliteConnection, restart_frames: i32, gate: &Gate) -> diesel::QueryResult<()> {
    let passive = checkpoint(c, "PASSIVE")?;
    if passive.log < restart_frames {
        return Ok(());
    }
    let held = gate.hold();
    let restart = checkpoint(c, "RESTART");
    Gate::release(held);
    let restart = restart?;
    if restart.busy != 0 {
        tracing::debug!(
            frames = restart.log,
            copied = restart.checkpointed,
            "the WAL did not restart: a reader stayed in it; trying again next interval"
        );
    }
    Ok(())
}

fn checkpoint(c: &mut SqliteConnection, mode: &str) -> diesel::QueryResult<Checkpointed> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(c)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Instant;

    use super::*;
    use crate::config::DatabaseSettings;
    use crate::service::store::{epoch, Db};
    use crate::service::Synchronous;

    /// Frames in the WAL now, as a `PASSIVE` checkpoint on a connection of its own reports.
    fn frames(conn: &mut SqliteConnection) -> i32 {
        checkpoint(conn, "PASSIVE").unwrap().log
    }

    #[test]
    fn the_wal_starts_again_while_writes_and_reads_never_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let url = format!("sqlite://{}", path.display());
        let settings = DatabaseSettings {
            pool_size: 4,
            connection_timeout_ms: 5000,
            busy_timeout_ms: 5000,
            sqlite_synchronous: Synchronous::Full,
            checkpoint_interval_ms: 0,
        };
        let db = Db::open(&url, &settings).unwrap();
        let manager = ConnManager::new(&url, 5000).unwrap();
        let _running = start(&manager, Duration::from_millis(10), 50, db.gate.clone()).unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let commits = Arc::new(AtomicU64::new(0));
        let writer = {
            let (db, stop, commits) = (db.clone(), stop.clone(), commits.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    db.write_blocking(epoch::bump).unwrap();
                    commits.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let reader = {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    db.snapshot_blocking(epoch::current).unwrap();
                }
            })
        };
        let mut watch =
            <SqliteConnection as diesel::Connection>::establish(&path.to_string_lossy()).unwrap();
        let started = Instant::now();
        let mut most = 0;
        while commits.load(Ordering::Relaxed) < 1_500 && started.elapsed() < Duration::from_secs(60)
        {
            most = most.max(frames(&mut watch));
            std::thread::sleep(Duration::from_millis(2));
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        reader.join().unwrap();

        let commits = commits.load(Ordering::Relaxed);
        // Every commit adds at least one frame: a log that never started again would hold
        // one frame per commit at least.
        assert!(commits >= 1_500, "only {commits} commits in a minute");
        assert!(
            most < 1_000,
            "the WAL held {most} frames after {commits} commits: it did not start again"
        );
    }
}
