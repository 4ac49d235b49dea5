//! An agreement's state changes by an IG officer of a party: signing the latest version (so
//! nobody signs a text they have not seen), suspending, resuming (only the agency that
//! suspended) and terminating. Each is one write intent with its `governance` entry.
use chrono::{DateTime, Utc};

use super::{for_change, viewed, KIND};
use crate::domain::agreement::{Agreement, Lifted, Signature, Suspension, Termination};
use crate::domain::ids::{AgencyId, AgreementId};
use crate::domain::policy::AgreementView;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agreements, DbConn};
use crate::usecase::governance::{self, agreement_entry, record, signer};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Done, Once, Shape};
use crate::usecase::refusal;

/// One change of an agreement's state by a party's IG officer.
#[derive(Debug, Clone)]
pub enum Change {
    /// Sign version `version`, which must be the latest.
    Sign {
        version: i32,
    },
    Suspend {
        reason: String,
    },
    Resume {
        note: Option<String>,
    },
    Terminate {
        reason: String,
    },
}

/// Signs, suspends, resumes or terminates agreement `id`.
pub async fn change(
    hub: &Hub,
    actor: Principal,
    id: AgreementId,
    change: Change,
    once: Once,
    shape: impl Shape<AgreementView>,
) -> Result<Done<AgreementView>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| {
        let a = match change {
            Change::Sign { version } => sign_in(c, &actor, id, version, now)?,
            Change::Suspend { reason } => suspend_in(c, &actor, id, reason, now)?,
            Change::Resume { note } => resume_in(c, &actor, id, note, now)?,
            Change::Terminate { reason } => terminate_in(c, &actor, id, reason, now)?,
        };
        viewed(c, a)
    };
    idempotency::write(hub, once, action, shape).await
}

/// version, so nobody signs a text they have not seen.
pub(crate) fn sign_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    let agency = actor.agency_id.ok_or(AppError::NotFound)?;
    let latest = a.latest().cloned().ok_or(AppError::NotFound)?;
    if expected != latest.version {
        return Err(AppError::conflict(format!(
            "version {expected} is not the latest; only version {} can be signed",
            latest.version
        )));
    }
    if latest.terms.party(agency).is_none() {
        return Err(refusal::forbidden(
            &governance::actor(actor),
            KIND,
            id,
            now,
            format!("your agency is not a party to version {}", latest.version),
        ));
    }
    if latest.signed_by(agency, now) {
        return Err(AppError::conflict(format!(
            "your agency has already signed version {}",
            latest.version
        )));
    }
    if latest.terms.expires_at <= now {
        return Err(AppError::conflict(format!(
            "version {} expired on {}; amend it with new dates",
            latest.version,
            latest.terms.expires_at.to_rfc3339()
        )));
    }
    let s = Signature {
        agency_id: agency,
        signed_at: now,
        signed_by: signer(actor),
    };
    agreements::insert_signature(conn, id, latest.version, &s)?;
    let n = latest.version;
    if let Some(v) = a.versions.iter_mut().find(|v| v.version == n) {
        v.signatures.push(s);
    }
    let complete = a.version(n).is_some_and(|v| v.fully_signed(now));
    let what = if complete {
        format!("agreement version {n} signed by agency {agency}; every party has now signed")
    } else {
        format!("agreement version {n} signed by agency {agency}")
    };
    let entry = agreement_entry(actor, id, n, now, what).concerns(parties(&a));
    record(conn, &entry)?;
    Ok(a)
}

/// Suspends the agreement: nothing is disclosed under it until the suspending agency resumes.
pub(crate) fn suspend_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    if let Some(s) = a.open_suspension() {
        return Err(AppError::conflict(format!(
            "already suspended: {}",
            s.reason
        )));
    }
    let s = Suspension {
        suspended_at: now,
        suspended_by: signer(actor),
        reason: reason.clone(),
        lifted: None,
    };
    agreements::insert_suspension(conn, id, &s)?;
    a.suspensions.push(s);
    let version = a.latest().map_or(1, |v| v.version);
    let entry = agreement_entry(
        actor,
        id,
        version,
        now,
        format!("agreement suspended: {reason}"),
    )
    .concerns(parties(&a));
    record(conn, &entry)?;
    Ok(a)
}

/// Lifts the suspension; only an IG officer of the agency that suspended may.
pub(crate) fn resume_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    let Some(open) = a.suspensions.iter_mut().find(|s| s.lifted.is_none()) else {
        return Err(AppError::conflict("the agreement is not suspended"));
    };
    if open.suspended_by.agency_id != actor.agency_id {
        return Err(refusal::forbidden(
            &governance::actor(actor),
            KIND,
            id,
            now,
            "only the agency that suspended the agreement may resume it",
        ));
    }
    let lifted = Lifted {
        at: now,
        by: signer(actor),
        note: note.clone(),
    };
    agreements::lift_suspension(conn, id, &lifted)?;
    open.lifted = Some(lifted);
    let version = a.latest().map_or(1, |v| v.version);
    let what = match note {
        Some(n) => format!("agreement suspension lifted: {n}"),
        None => "agreement suspension lifted".to_owned(),
    };
    let entry = agreement_entry(actor, id, version, now, what).concerns(parties(&a));
    record(conn, &entry)?;
    Ok(a)
}

/// Ends the agreement for good.
pub(crate) fn terminate_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    let t = Termination {
        at: now,
        by: signer(actor),
        reason: reason.clone(),
    };
    agreements::terminate(conn, id, &t)?;
    a.termination = Some(t);
    let version = a.latest().map_or(1, |v| v.version);
    let entry = agreement_entry(
        actor,
        id,
        version,
        now,
        format!("agreement terminated: {reason}"),
    )
    .concerns(parties(&a));
    record(conn, &entry)?;
    Ok(a)
}

/// Every agency party to any version of `a`: the agencies a change to it concerns (their IG
/// officers see the governance entry).
fn parties(a: &Agreement) -> Vec<AgencyId> {
    let mut out: Vec<AgencyId> = a
        .versions
        .iter()
        .flat_map(|v| v.terms.parties.iter().map(|p| p.agency_id))
        .collect();
    out.sort();
    out.dedup();
    out
}
