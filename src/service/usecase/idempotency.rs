//! `Idempotency-Key` for POSTs that create things: inside the caller's transaction, a key
//! already used by the agency for the same request (scope and body) returns the first result
//! and runs nothing; the same key with a different request is a 422; a new key runs the
//! action and records its result. Results are kept without expiry; create responses that
//! use this carry ids and states, not personal details.
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::ids::AgencyId;
use crate::error::{AppError, FieldError};
use crate::service::store::idempotency::{self, Recorded};
use crate::service::store::DbConn;

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

/// Runs `action` once per (`agency`, `key`); without a key it simply runs. An error (a
/// refusal included) rolls the action back and is not recorded against the key.
pub fn run(
    conn: &mut DbConn,
    agency: AgencyId,
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
    if let Some(first) = idempotency::get(conn, agency, key)? {
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
        agency,
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
