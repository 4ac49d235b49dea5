//! Checkpoints held outside the hub, checked against the log: a checkpoint the hub signed
//! (a C2SP signed note, see [`super::checkpoint`]) whose tree the log no longer has, or no
//! longer produces, means the log was truncated, rolled back or rewritten.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::checkpoint;
use super::heads::TrustedKeys;
use super::proofs::{current_size, root_at};
use crate::error::AppError;
use crate::service::store::DbConn;

/// Checks one held checkpoint `text` against the log; `Err` says what is wrong.
pub fn check(conn: &mut DbConn, keys: &TrustedKeys, text: &str) -> Result<(), String> {
    let origin = text.lines().next().unwrap_or_default();
    let body = keys
        .verifying_keys()
        .find_map(|k| checkpoint::verify(text, &checkpoint::verifier_key(origin, k)).ok())
        .ok_or("its signature does not verify with the hub's keys")?;
    let mut lines = body.lines();
    let _ = lines.next();
    let size: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or("it has no tree size line")?;
    let root = lines
        .next()
        .and_then(|l| STANDARD.decode(l).ok())
        .ok_or("it has no root hash line")?;
    let log_size = current_size(conn).map_err(|e| e.to_string())?;
    if log_size < size {
        return Err(format!(
            "the log has {log_size} entries, fewer than the checkpoint's {size}: it was \
             truncated or rolled back"
        ));
    }
    let ours = root_at(conn, size).map_err(|e: AppError| e.to_string())?;
    if ours.as_slice() != root.as_slice() {
        return Err(format!(
            "the log's tree of {size} entries has root {}, not the checkpoint's: the log is \
             inconsistent with it",
            STANDARD.encode(ours)
        ));
    }
    Ok(())
}

/// Opens the database at `url` and checks each `(name, text)` checkpoint; the first
/// failure, naming its checkpoint.
pub fn check_database(
    url: &str,
    busy_timeout_ms: u64,
    keys: &TrustedKeys,
    held: &[(String, String)],
) -> Result<Option<String>, AppError> {
    let mut conn = crate::service::store::ConnManager::new(url, busy_timeout_ms)?
        .open()
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
    crate::service::store::in_snapshot(&mut conn, |c| {
        Ok(held.iter().find_map(|(name, text)| {
            check(c, keys, text)
                .err()
                .map(|why| format!("checkpoint {name}: {why}"))
        }))
    })
}
