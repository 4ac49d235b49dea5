//! msht-hub as a witness (C2SP `tlog-witness`) of other logs, such as another regional hub:
//! `POST /witness/add-checkpoint` with an old size line, consistency proof lines, a blank
//! line and a checkpoint. The witness cosigns (C2SP `tlog-cosignature` v1) only a
//! checkpoint signed by the log's configured key and consistent with the latest one it
//! cosigned for that origin, kept in its own database: the old size must be that one's (else
//! 409 with its size), the proof must lead from that one's root to the new root (else 422),
//! and the check and the move forward are one transaction.
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use signed_note::{Note, StandardVerifier, VerifierList};

use super::cosign::{self, Cosigner};
use super::heads::TreeHeadSigner;
use super::merkle::{self, Hash};
use super::read::to_hash;
use crate::config::Settings;
use crate::error::{AppError, FieldError};
use crate::service::store::time::to_db;
use crate::service::store::witnessing::{self as rows, WitnessedLogRow};
use crate::service::store::DbConn;

/// The most consistency proof lines a request may carry.
const MAX_PROOF_LINES: usize = 63;

/// The witness: its name, cosigning key and the logs it follows (origin -> verifier key).
pub struct Witness {
    pub name: String,
    key: TreeHeadSigner,
    logs: HashMap<String, String>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// The witness of `[witness]`, when enabled; its key is loaded or generated (0600).
    pub fn load(settings: &Settings, base_url: &str) -> Result<Option<Self>, AppError> {
        let w = &settings.witness;
        if !w.enabled {
            return Ok(None);
        }
        let name = settings.witness_name(base_url);
        if !signed_note::is_key_name_valid(&name) {
            return Err(AppError::Config(format!(
                "witness.name {name:?}: must be non-empty, without spaces or '+'"
            )));
        }
        let mut logs = HashMap::new();
        for log in &w.logs {
            StandardVerifier::new(&log.verifier_key).map_err(|e| {
                AppError::Config(format!(
                    "witness.logs: the verifier key of {}: {e}",
                    log.origin
                ))
            })?;
            if !log.verifier_key.starts_with(&format!("{}+", log.origin)) {
                return Err(AppError::Config(format!(
                    "witness.logs: the verifier key of {} names another log",
                    log.origin
                )));
            }
            logs.insert(log.origin.clone(), log.verifier_key.clone());
        }
        let key = TreeHeadSigner::load_or_create(&settings.witness_key_path())?;
        let witness = Witness { name, key, logs };
        tracing::info!(
            verifier_key = witness.verifier_key(),
            logs = witness.logs.len(),
            "witness enabled: POST /witness/add-checkpoint; its cosignatures verify with this key"
        );
        Ok(Some(witness))
    }

    /// The witness's cosignature verifier key.
    pub fn verifier_key(&self) -> String {
        cosign::verifier_key(&self.name, &self.key.verifying_key())
    }
}

/// What an `add-checkpoint` request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// 200: the cosignature line(s).
    Cosigned(String),
    /// 409: the size of the latest checkpoint cosigned for that origin.
    Conflict(u64),
}

/// A parsed `add-checkpoint` body.
struct Request<'a> {
    old: u64,
    proof: Vec<Hash>,
    note: &'a str,
}

fn bad(why: impl Into<String>) -> AppError {
    AppError::BadRequest(why.into())
}

fn parse(body: &str) -> Result<Request<'_>, AppError> {
    let (head, note) = body.split_once("\n\n").ok_or_else(|| {
        bad("the body must be an old size line, proof lines, a blank line and a checkpoint")
    })?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| n == &"0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line must be `old <size>`"))?;
    let proof = lines
        .map(|l| {
            STANDARD
                .decode(l)
                .ok()
                .and_then(|b| to_hash(&b).ok())
                .ok_or_else(|| bad("a consistency proof line is not a base64 hash"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if proof.len() > MAX_PROOF_LINES {
        return Err(bad("more than 63 consistency proof lines"));
    }
    Ok(Request { old, proof, note })
}

/// The origin, size and root of a checkpoint body.
fn checkpoint_of(text: &str) -> Result<(&str, u64, Hash), AppError> {
    let mut lines = text.split('\n');
    let origin = lines.next().filter(|o| !o.is_empty());
    let size = lines.next().and_then(|s| s.parse::<u64>().ok());
    let root = lines
        .next()
        .and_then(|r| STANDARD.decode(r).ok())
        .and_then(|r| to_hash(&r).ok());
    match (origin, size, root) {
        (Some(o), Some(s), Some(r)) => Ok((o, s, r)),
        _ => Err(bad(
            "the checkpoint must have an origin, a size and a base64 root hash",
        )),
    }
}

fn unprocessable(detail: &str) -> AppError {
    AppError::Validation(vec![FieldError::new("/proof", detail)])
}

/// Handles one `add-checkpoint` body in the caller's write transaction.
pub fn add_checkpoint(
    conn: &mut DbConn,
    witness: &Witness,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Added, AppError> {
    let req = parse(body)?;
    let note = Note::from_bytes(req.note.as_bytes())
        .map_err(|e| bad(format!("the checkpoint is not a signed note: {e}")))?;
    let text = std::str::from_utf8(note.text()).map_err(|_| bad("not UTF-8"))?;
    let (origin, size, root) = checkpoint_of(text)?;
    let vkey = witness.logs.get(origin).ok_or(AppError::NotFound)?;
    let verifier = StandardVerifier::new(vkey).map_err(AppError::internal)?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|_| {
            AppError::Forbidden(format!(
                "the checkpoint carries no valid signature of the key {origin} is followed with"
            ))
        })?;
    if req.old > size {
        return Err(bad("the old size is larger than the checkpoint's"));
    }
    let mut held = rows::lock_log(conn, origin, to_db(now))?;
    let held_size = u64::try_from(held.tree_size).map_err(AppError::internal)?;
    if req.old != held_size {
        return Ok(Added::Conflict(held_size));
    }
    if req.old == size && size > 0 {
        if held.root_hash.as_slice() != root.as_slice() {
            // The same size with another root: a fork; never cosigned.
            return Ok(Added::Conflict(held_size));
        }
        if !req.proof.is_empty() {
            return Err(unprocessable("the proof must be empty for the same size"));
        }
    } else if req.old == 0 {
        if !req.proof.is_empty() {
            return Err(unprocessable(
                "the proof must be empty when the old size is 0",
            ));
        }
    } else {
        let held_root = to_hash(&held.root_hash)?;
        if !merkle::verify_consistency(req.old, size, &held_root, &root, &req.proof) {
            tracing::warn!(
                origin,
                old = req.old,
                size,
                "a checkpoint inconsistent with the one last cosigned was refused"
            );
            return Err(unprocessable(
                "the consistency proof does not lead from the checkpoint last cosigned to this one",
            ));
        }
    }
    held = WitnessedLogRow {
        tree_size: i64::try_from(size).map_err(AppError::internal)?,
        root_hash: root.to_vec(),
        updated_at: to_db(now),
        ..held
    };
    rows::advance_log(conn, &held)?;
    let time = u64::try_from(now.timestamp()).map_err(AppError::internal)?;
    let line = Cosigner::new(&witness.name, witness.key.signing_key(), time).line(text)?;
    Ok(Added::Cosigned(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_body_is_read_as_the_protocol_says() {
        let note = "o\n1\nAAAA\n\n\u{2014} o AAAA\n";
        let body = format!("old 0\n\n{note}");
        let r = parse(&body).unwrap();
        assert_eq!((r.old, r.proof.len(), r.note), (0, 0, note));
        let h = STANDARD.encode([1u8; 32]);
        let body = format!("old 20\n{h}\n{h}\n\n{note}");
        let r = parse(&body).unwrap();
        assert_eq!((r.old, r.proof.len()), (20, 2));
        for bad in [
            "old 01\n\nx",
            "old -1\n\nx",
            "new 1\n\nx",
            "old 1\nnot-base64\n\nx",
            "old 1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let many = vec![h; 64].join("\n");
        assert!(parse(&format!("old 1\n{many}\n\n{note}")).is_err());
    }
}
