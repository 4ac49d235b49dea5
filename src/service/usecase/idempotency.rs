//! `Idempotency-Key` for POSTs that create things: inside the caller's transaction, a key
//! already used by the same owner (the caller's agency, or the operator principal itself)
//! for the same request (scope and body) returns the first result and runs nothing; the same
//! key with a different request is a 422; a new key runs the action and records its result.
//! Results are kept without expiry, so a recorded result carries ids and states, never
//! personal details (an incident's replay re-reads the incident it points at).
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::ids::AgencyId;
use crate::error::{AppError, FieldError};
use crate::identity::Principal;
use crate::service::store::idempotency::{self, Recorded};
use crate::service::store::DbConn;
use crate::usecase::hub::Hub;

/// Whose keys: an agency's staff share their agency's keys; a principal that acts for no
/// agency (the hub operator's) has its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Agency(AgencyId),
    /// `issuer subject` of the principal.
    Operator(String),
}

impl From<AgencyId> for Owner {
    fn from(a: AgencyId) -> Self {
        Owner::Agency(a)
    }
}

impl Owner {
    /// The owner of `p`'s keys.
    pub fn of(p: &Principal) -> Owner {
        match p.agency_id {
            Some(a) => Owner::Agency(a),
            None => Owner::Operator(format!("{} {}", p.issuer, p.subject)),
        }
    }

    fn key(&self) -> idempotency::Owner<'_> {
        match self {
            Owner::Agency(a) => idempotency::Owner::Agency(*a),
            Owner::Operator(who) => idempotency::Owner::Operator(who),
        }
    }
}

/// One creating request: who sent it, its `Idempotency-Key` if any, its scope (`METHOD
/// path`, the path with its ids) and its body as sent.
#[derive(Debug, Clone)]
pub struct Once {
    pub owner: Owner,
    pub key: Option<String>,
    pub scope: String,
    pub body: Value,
}

/// Renders a result as the status and body a creating POST answers (and records).
pub trait Shape<T>: FnOnce(&T) -> Result<(u16, Value), AppError> + Send + 'static {}
impl<T, F: FnOnce(&T) -> Result<(u16, Value), AppError> + Send + 'static> Shape<T> for F {}

/// A keyed write's result: the answer (first or replayed) and, when this request ran the
/// action, what it made (for an answer that shows more than is recorded, such as a secret
/// shown once).
#[derive(Debug)]
pub struct Done<T> {
    pub response: Response,
    pub made: Option<T>,
}

/// Runs `action` as one write intent, once per key of `once`: its result is recorded as
/// `shape` renders it (status and body), and a retry gets that first answer back.
pub async fn write<T: Send + 'static, F>(
    hub: &Hub,
    once: Once,
    action: F,
    shape: impl Shape<T>,
) -> Result<Done<T>, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
{
    let now = hub.now();
    hub.write(move |c| {
        let key = once.key.as_deref();
        let mut made = None;
        let response = run(c, &once.owner, key, &once.scope, &once.body, now, |c| {
            let t = action(c)?;
            let shaped = shape(&t)?;
            made = Some(t);
            Ok(shaped)
        })?;
        Ok(Done { response, made })
    })
    .await
}

/// What the caller answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Value,
    /// The first result of an earlier request with the same key.
    pub replayed: bool,
}

/// A creating request as the idempotency layer needs it: the client's `Idempotency-Key`, if
/// any, and the body as sent (hashed to tell a retry from a different request).
#[derive(Debug, Clone)]
pub struct Keyed {
    pub key: Option<String>,
    pub body: Value,
}

/// The hash of a request: its scope (`METHOD path`) and its body in canonical JSON (RFC 8785),
/// so key order and spacing do not matter.
pub fn request_hash(scope: &str, body: &Value) -> Result<String, AppError> {
    let canonical = serde_jcs::to_string(body).map_err(AppError::internal)?;
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// Runs `action` once per (`owner`, `key`); without a key it simply runs. An error (a
/// refusal included) rolls the action back and is not recorded against the key.
pub fn run(
    conn: &mut DbConn,
    owner: &Owner,
    key: Option<&str>,
    scope: &str,
    request: &Value,
    now: DateTime<Utc>,
    action: impl FnOnce(&mut DbConn) -> Result<(u16, Value), AppError>,
) -> Result<Response, AppError> {
    let Some(key) = key else {
        return action(conn).map(|(status, body)| Response {
            status,
            body,
            replayed: false,
        });
    };
    let hash = request_hash(scope, request)?;
    if let Some(first) = idempotency::get(conn, owner.key(), key)? {
        if first.scope == scope && first.request_hash == hash {
            return Ok(Response {
                status: first.response_status,
                body: first.response_body,
                replayed: true,
            });
        }
        return Err(AppError::Validation(vec![FieldError::new(
            "",
            "this Idempotency-Key was already used for a different request; send a new key \
             with a new request",
        )]));
    }
    let (status, body) = action(conn)?;
    idempotency::insert(
        conn,
        owner.key(),
        key,
        &Recorded {
            scope: scope.to_owned(),
            request_hash: hash,
            response_status: status,
            response_body: body.clone(),
        },
        now,
    )
    .map_err(|e| match e {
        AppError::Conflict { .. } => AppError::conflict(
            "a request with this Idempotency-Key is being processed; retry it to get its result",
        ),
        other => other,
    })?;
    Ok(Response {
        status,
        body,
        replayed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_hash_ignores_key_order_but_not_values_or_scope() {
        let a = request_hash("POST /referrals", &json!({"a": 1, "b": [1, 2]})).unwrap();
        let b = request_hash("POST /referrals", &json!({"b": [1, 2], "a": 1})).unwrap();
        let c = request_hash("POST /referrals", &json!({"a": 2, "b": [1, 2]})).unwrap();
        let d = request_hash("POST /incidents", &json!({"a": 1, "b": [1, 2]})).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
