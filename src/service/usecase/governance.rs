//! What every governance change (partnerships, terms of reference, agreements, signatures,
//! suspensions, terminations) has in common: who acted, and the `governance` audit entry
//! appended in the same transaction as the change.
use chrono::{DateTime, Utc};

use crate::domain::audit::{Actor, AgreementRef, NewEntry, Operation};
use crate::domain::partnership::Signer;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::DbConn;

/// The audit actor for a caller.
pub fn actor(p: &Principal) -> Actor {
    Actor {
        agency_id: p.agency_id,
        issuer: p.issuer.clone(),
        subject: p.subject.clone(),
        roles: p.roles.iter().collect(),
    }
}

/// Who signed, accepted or published, as kept on the governance record itself.
pub fn signer(p: &Principal) -> Signer {
    Signer {
        agency_id: p.agency_id,
        issuer: p.issuer.clone(),
        subject: p.subject.clone(),
    }
}

/// A `governance` entry about a partnership.
pub fn partnership_entry(
    p: &Principal,
    id: impl ToString,
    now: DateTime<Utc>,
    what: String,
) -> NewEntry {
    NewEntry::new(Operation::Governance, actor(p), now)
        .record("partnership", id)
        .justification(what)
}

/// A `governance` entry about an agreement version.
pub fn agreement_entry(
    p: &Principal,
    id: impl ToString,
    version: i32,
    now: DateTime<Utc>,
    what: String,
) -> NewEntry {
    let id = id.to_string();
    let mut e = NewEntry::new(Operation::Governance, actor(p), now)
        .record("agreement", &id)
        .justification(what);
    e.agreement = Some(AgreementRef { id, version });
    e
}

/// Appends a governance entry to the audit log, in the caller's transaction.
pub fn record(conn: &mut DbConn, entry: &NewEntry) -> Result<(), AppError> {
    crate::audit::append(conn, entry).map(|_| ())
}
