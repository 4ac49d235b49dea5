//! Checkpoints held outside the hub, checked against the log: a checkpoint the hub signed
//! (a C2SP signed note, see [`super::checkpoint`]) whose tree the log no longer has, or no
//! longer produces, means the log was truncated, rolled back or rewritten. A saved receipt
//! (see [`super::sealed`]: the receipt object, or a whole answer carrying one under
//! `receipt`) is held to its checkpoint and, further, its entry must still be in the log.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::checkpoint;
use super::heads::TrustedKeys;
use super::merkle::{self, Hash};
use super::proofs::{self, current_size, root_at};
use super::read::to_hash;
use crate::error::AppError;
use crate::service::store::DbConn;

/// Checks one held checkpoint or saved receipt `text` against the log; `Err` says what
/// is wrong.
pub fn check(conn: &mut DbConn, keys: &TrustedKeys, text: &str) -> Result<(), String> {
    if text.trim_start().starts_with('{') {
        return check_receipt(conn, keys, text);
    }
    check_checkpoint(conn, keys, text).map(|_| ())
}

/// A saved receipt: its checkpoint, then its own entry's inclusion in it.
fn check_receipt(conn: &mut DbConn, keys: &TrustedKeys, text: &str) -> Result<(), String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("it is not a receipt: {e}"))?;
    let receipt = match json.get("receipt") {
        Some(r) if r.is_object() => r,
        _ => &json,
    };
    let field = |name: &str| {
        receipt
            .get(name)
            .ok_or_else(|| format!("the receipt has no {name}"))
    };
    let note = field("checkpoint")?
        .as_str()
        .ok_or("the receipt's checkpoint is not text")?;
    let seq = field("seq")?
        .as_i64()
        .ok_or("the receipt's seq is not a number")?;
    let leaf = field("leaf_hash")?
        .as_str()
        .and_then(|h| hex::decode(h).ok())
        .ok_or("the receipt's leaf_hash is not hex")?;
    let (size, root) = check_checkpoint(conn, keys, note)?;
    let claimed = field("tree_size")?.as_u64();
    if claimed != Some(size) {
        return Err(format!(
            "the receipt's tree_size is not its checkpoint's {size}"
        ));
    }
    let path = field("audit_path")?
        .as_array()
        .ok_or("the receipt's audit_path is not a list")?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| to_hash(&b).ok())
        })
        .collect::<Option<Vec<Hash>>>()
        .ok_or("the receipt's audit_path is not a list of hashes")?;
    let leaf = to_hash(&leaf).map_err(|_| "the receipt's leaf_hash is not a hash")?;
    let index = u64::try_from(seq - 1).map_err(|_| "the receipt's seq is not positive")?;
    if !merkle::verify_inclusion(&leaf, index, size, &path, &root) {
        return Err("its audit path does not lead from its leaf to its checkpoint's root".into());
    }
    let ours = proofs::inclusion(conn, seq, size).map_err(|e| e.to_string())?;
    if ours.leaf_hash != leaf {
        return Err(format!(
            "the log's entry {seq} is not the receipt's: the log was rewritten"
        ));
    }
    Ok(())
}

/// A held checkpoint against the log: its size and root when it holds.
fn check_checkpoint(
    conn: &mut DbConn,
    keys: &TrustedKeys,
    text: &str,
) -> Result<(u64, Hash), String> {
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
    Ok((size, ours))
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
