//! The one way a use case refuses: the answer (403 or 404) travels with the `access_denied`
//! entry it must leave, as [`AppError::Denied`]. The writer rolls the refused work back and
//! appends the entry on its own, so a refusal is never lost with the work it refused, and
//! every use case returns a plain `Result`.
use chrono::{DateTime, Utc};

use crate::domain::audit::{Actor, Decision, NewEntry, Operation};
use crate::error::AppError;

/// The reason logged for a 404 on an object that exists for someone else (or not at all).
pub const NOT_VISIBLE: &str = "not visible to the caller's agency";

/// Refuses `actor`'s attempt on record `kind`/`id` with `error`, logging `reasons`.
pub fn refuse(
    actor: &Actor,
    kind: &str,
    id: impl ToString,
    now: DateTime<Utc>,
    error: AppError,
    reasons: Vec<String>,
) -> AppError {
    let what = match error.answer() {
        AppError::NotFound => format!("{kind} not visible to the caller"),
        _ => format!("{kind}: action refused"),
    };
    let entry = NewEntry::new(Operation::AccessDenied, actor.clone(), now)
        .record(kind, id)
        .justification(what)
        .decision(Decision::Denied, reasons);
    AppError::denied(error, entry)
}

/// A 404 for `kind`/`id`, logged.
pub fn not_found(actor: &Actor, kind: &str, id: impl ToString, now: DateTime<Utc>) -> AppError {
    refuse(
        actor,
        kind,
        id,
        now,
        AppError::NotFound,
        vec![NOT_VISIBLE.into()],
    )
}

/// A 403 for `kind`/`id` saying `why`, logged with `why` as the reason.
pub fn forbidden(
    actor: &Actor,
    kind: &str,
    id: impl ToString,
    now: DateTime<Utc>,
    why: impl Into<String>,
) -> AppError {
    let why = why.into();
    refuse(
        actor,
        kind,
        id,
        now,
        AppError::Forbidden(why.clone()),
        vec![why],
    )
}

/// Turns a plain 403 or 404 that `r` carries into a logged refusal about `kind`/`id`; other
/// outcomes pass through.
pub fn logged<T>(
    actor: &Actor,
    kind: &str,
    id: impl ToString,
    now: DateTime<Utc>,
    r: Result<T, AppError>,
) -> Result<T, AppError> {
    match r {
        Err(AppError::NotFound) => Err(not_found(actor, kind, id, now)),
        Err(AppError::Forbidden(why)) => Err(forbidden(actor, kind, id, now, why)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            agency_id: None,
            issuer: "https://idp.example".into(),
            subject: "s".into(),
            roles: Vec::new(),
        }
    }

    #[test]
    fn a_logged_404_carries_an_access_denied_entry_and_answers_404() {
        let now = chrono::DateTime::UNIX_EPOCH;
        let r: Result<(), _> = logged(&actor(), "agreement", "a1", now, Err(AppError::NotFound));
        let Err(AppError::Denied { error, entry }) = r else {
            unreachable!("a refusal");
        };
        assert!(matches!(*error, AppError::NotFound));
        assert_eq!(entry.operation, Operation::AccessDenied);
        assert_eq!(entry.record_id.as_deref(), Some("a1"));
        assert_eq!(entry.reasons, vec![NOT_VISIBLE.to_owned()]);
    }

    #[test]
    fn other_errors_pass_through_unlogged() {
        let now = chrono::DateTime::UNIX_EPOCH;
        let r: Result<(), _> = logged(&actor(), "x", "1", now, Err(AppError::conflict("c")));
        assert!(matches!(r, Err(AppError::Conflict { .. })));
    }
}
