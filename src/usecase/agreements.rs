//! Drafting, amending, signing, suspending, resuming and terminating data-sharing agreements,
//! and reading them scoped to the caller.
//!
//! Object-level rules: only an `ig_officer` of a party drafts, amends, signs, suspends or
//! terminates (others get 403); only the agency that suspended resumes; an agency reads only
//! agreements it is party to (others get 404), the hub operator and auditor read all. Every
//! change is a `governance` audit entry in the same transaction.
use chrono::{DateTime, Utc};

use super::governance::{agreement_entry, record, signer};
use crate::domain::agreement::{
    Agreement, AgreementTerms, AgreementVersion, Lifted, Signature, Status, Suspension, Termination,
};
use crate::domain::ids::{AgreementId, PartnershipId};
use crate::domain::partnership::TermsHistory;
use crate::domain::policy::AgreementView;
use crate::domain::role::Role;
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::identity::Principal;
use crate::store::{agencies, agreements, partnerships, DbConn};

/// Whether the caller reads every agreement (the hub operator and auditor).
fn sees_all(actor: &Principal) -> bool {
    actor.has_any(&[Role::HubAdmin, Role::HubAuditor])
}

/// Checks a version's content against the partnership and the directory (the checks that
/// need the database; the rest was done when the body was parsed).
fn check_against_partnership(
    conn: &mut DbConn,
    partnership_id: PartnershipId,
    terms: &AgreementTerms,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut e = Errors::new();
    let partnership = partnerships::get(conn, partnership_id)?;
    if partnership.is_none() {
        e.add("/partnership_id", "no such partnership");
    }
    for (i, p) in terms.parties.iter().enumerate() {
        let pointer = format!("/parties/{i}/agency_id");
        if agencies::get(conn, p.agency_id)?.is_none() {
            e.add(pointer, "no such agency");
        } else if let Some(part) = &partnership {
            if !part.is_member(p.agency_id) {
                e.add(
                    pointer,
                    format!("is not a member of partnership `{}`", part.name),
                );
            }
        }
    }
    if terms.expires_at <= now {
        e.add("/expires_at", "must be in the future");
    }
    e.finish()
}

/// The caller's agency, if the caller is an IG officer of a party to `terms`.
fn party_officer(actor: &Principal, terms: &AgreementTerms) -> Result<(), AppError> {
    match actor.agency_id {
        Some(a) if actor.has_any(&[Role::IgOfficer]) && terms.party(a).is_some() => Ok(()),
        _ => Err(AppError::Forbidden(
            "only an ig_officer of a party to the agreement may do this".into(),
        )),
    }
}

/// Drafts a new agreement (version 1, unsigned).
pub fn create(
    conn: &mut DbConn,
    actor: &Principal,
    partnership_id: PartnershipId,
    terms: AgreementTerms,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    check_against_partnership(conn, partnership_id, &terms, now)?;
    party_officer(actor, &terms)?;
    let a = Agreement {
        id: AgreementId::new(),
        partnership_id,
        created_at: now,
        versions: vec![AgreementVersion {
            version: 1,
            terms,
            created_at: now,
            created_by: signer(actor),
            signatures: Vec::new(),
        }],
        suspensions: Vec::new(),
        termination: None,
    };
    agreements::insert(conn, &a)?;
    if let Some(v) = a.versions.first() {
        let what = format!("agreement `{}` drafted (version 1)", v.terms.title);
        let entry = agreement_entry(actor, a.id, 1, now, what)
            .recipients(v.terms.parties.iter().map(|p| p.agency_id).collect());
        record(conn, &entry)?;
    }
    Ok(a)
}

/// Loads an agreement for a change by an IG officer of a party, taking its lock.
fn for_change(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    if !agreements::touch(conn, id, now)? {
        return Err(AppError::NotFound);
    }
    let a = agreements::get(conn, id)?.ok_or(AppError::NotFound)?;
    let party = actor.agency_id.is_some_and(|g| a.is_party(g, now));
    if !(party && actor.has_any(&[Role::IgOfficer])) {
        return Err(AppError::Forbidden(
            "only an ig_officer of a party to the agreement may do this".into(),
        ));
    }
    if let Some(t) = &a.termination {
        return Err(AppError::conflict(format!(
            "the agreement was terminated on {}: {}",
            t.at.format("%Y-%m-%d"),
            t.reason
        )));
    }
    Ok(a)
}

/// Amends an agreement: a new version that needs every party's signature again. Earlier
/// versions stay readable, and the version in force keeps governing until the new one is
/// signed and in effect.
pub fn amend(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    terms: AgreementTerms,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    check_against_partnership(conn, a.partnership_id, &terms, now)?;
    party_officer(actor, &terms)?;
    let version = a.latest().map_or(1, |v| v.version + 1);
    let what = format!("agreement `{}` amended (version {version})", terms.title);
    let recipients = terms.parties.iter().map(|p| p.agency_id).collect();
    let v = AgreementVersion {
        version,
        terms,
        created_at: now,
        created_by: signer(actor),
        signatures: Vec::new(),
    };
    agreements::insert_version(conn, id, &v)?;
    a.versions.push(v);
    record(
        conn,
        &agreement_entry(actor, id, version, now, what).recipients(recipients),
    )?;
    Ok(a)
}

/// Signs the latest version for the caller's agency. `expected` (if given) must be that
/// version, so nobody signs a text they have not seen.
pub fn sign(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    expected: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    let agency = actor.agency_id.ok_or(AppError::NotFound)?;
    let latest = a.latest().cloned().ok_or(AppError::NotFound)?;
    if let Some(n) = expected {
        if n != latest.version {
            return Err(AppError::conflict(format!(
                "version {n} is not the latest; only version {} can be signed",
                latest.version
            )));
        }
    }
    if latest.terms.party(agency).is_none() {
        return Err(AppError::Forbidden(format!(
            "your agency is not a party to version {}",
            latest.version
        )));
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
    record(conn, &agreement_entry(actor, id, n, now, what))?;
    Ok(a)
}

/// Suspends the agreement: nothing is disclosed under it until the suspending agency resumes.
pub fn suspend(
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
    );
    record(conn, &entry)?;
    Ok(a)
}

/// Lifts the suspension; only an IG officer of the agency that suspended may.
pub fn resume(
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
        return Err(AppError::Forbidden(
            "only the agency that suspended the agreement may resume it".into(),
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
    record(conn, &agreement_entry(actor, id, version, now, what))?;
    Ok(a)
}

/// Ends the agreement for good.
pub fn terminate(
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
    );
    record(conn, &entry)?;
    Ok(a)
}

/// One agreement with its partnership's terms history, if the caller may read it.
pub fn get(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
) -> Result<AgreementView, AppError> {
    let a = agreements::get(conn, id)?.ok_or(AppError::NotFound)?;
    if !(sees_all(actor) || actor.agency_id.is_some_and(|g| a.involves(g))) {
        return Err(AppError::NotFound);
    }
    agreements::with_terms(conn, vec![a])?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// Filters of `GET /agreements`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub party: Option<crate::domain::ids::AgencyId>,
    pub partnership: Option<PartnershipId>,
    /// Matches when any version that still governs or may come to govern has this status.
    pub status: Option<Status>,
    /// Review date or expiry within this many days from now (an overdue review included).
    pub due_within_days: Option<i64>,
    pub after: Option<AgreementId>,
}

/// Whether `a` needs attention within `days`: a version not superseded, on an agreement not
/// terminated, whose review date falls on or before the horizon (an overdue review counts),
/// or whose expiry falls between now and the horizon.
pub fn due_within(a: &Agreement, now: DateTime<Utc>, days: i64) -> bool {
    if a.terminated(now).is_some() {
        return false;
    }
    let horizon = now + chrono::Duration::days(days);
    a.live_versions(now).iter().any(|v| {
        let expired = v.terms.expires_at <= now;
        !expired && (v.terms.review_date <= horizon.date_naive() || v.terms.expires_at <= horizon)
    })
}

/// The agreements the caller may read that match `f`, in id order, at most `limit`.
pub fn list(
    conn: &mut DbConn,
    actor: &Principal,
    f: &ListFilter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AgreementView>, AppError> {
    let scope = if sees_all(actor) {
        None
    } else {
        Some(actor.agency_id.ok_or(AppError::NotFound)?)
    };
    // An agency sees only its own agreements; a party filter narrows further.
    if let (Some(s), Some(p)) = (scope, f.party) {
        if s != p {
            let own = agreements::ids(conn, Some(s), f.partnership)?;
            let other = agreements::ids(conn, Some(p), f.partnership)?;
            let both: Vec<String> = own.into_iter().filter(|i| other.contains(i)).collect();
            return finish(conn, both, f, now, limit);
        }
    }
    let ids = agreements::ids(conn, scope.or(f.party), f.partnership)?;
    finish(conn, ids, f, now, limit)
}

fn finish(
    conn: &mut DbConn,
    ids: Vec<String>,
    f: &ListFilter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AgreementView>, AppError> {
    let after = f.after.map(|a| a.to_string());
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| i > a))
        .collect();
    let mut out = Vec::new();
    // Statuses are derived, so filtering happens here; load in chunks until the page fills.
    for chunk in ids.chunks(100) {
        for a in agreements::load(conn, chunk)? {
            let status_ok = f.status.is_none_or(|s| {
                let live = a.live_versions(now);
                if s == Status::Superseded {
                    a.versions.iter().any(|v| a.status(v, now) == s)
                } else {
                    live.iter().any(|v| a.status(v, now) == s)
                }
            });
            let due_ok = f.due_within_days.is_none_or(|d| due_within(&a, now, d));
            if status_ok && due_ok {
                out.push(a);
            }
            if out.len() as i64 >= limit {
                return agreements::with_terms(conn, out);
            }
        }
    }
    agreements::with_terms(conn, out)
}

/// The terms history of one partnership (for shaping answers).
pub fn terms_history(conn: &mut DbConn, id: PartnershipId) -> Result<TermsHistory, AppError> {
    Ok(partnerships::histories(conn, &[id])?
        .remove(&id)
        .unwrap_or_default())
}
