//! Drafting, amending, signing, suspending, resuming and terminating data-sharing agreements,
//! and reading them scoped to the caller.
//!
//! Object-level rules: only an `ig_officer` of a party drafts, amends, signs, suspends or
//! terminates (others get 403); only the agency that suspended resumes; an agency reads only
//! agreements it is party to (others get 404), the hub operator and auditor read all. Every
//! change is a `governance` audit entry in the same transaction. State changes (sign,
//! suspend, resume, terminate) are in `changes.rs`, listing in `list.rs`. The async functions are the
//! use cases: each is one write intent or one read, and answers with the agreement and its
//! partnership's terms history.
use chrono::{DateTime, Utc};

mod changes;
mod list;

pub(crate) use changes::sign_in;
pub use changes::{change, Change};
use list::list;
pub use list::{due_within, ListFilter};

use super::governance::{self, agreement_entry, record, signer};
use super::hub::Hub;
use super::refusal;
use crate::domain::agreement::{Agreement, AgreementTerms, AgreementVersion};
use crate::domain::ids::{AgreementId, PartnershipId};
use crate::domain::policy::AgreementView;
use crate::domain::precondition::Expected;
use crate::domain::role::Role;
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, agreements, partnerships, DbConn};
use crate::usecase::idempotency::{self, Done, Once, Shape};

/// The record kind of agreements in the audit trail.
const KIND: &str = "agreement";

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

/// What an agreement change needs of its caller.
const PARTY_OFFICER: &str = "only an ig_officer of a party to the agreement may do this";

/// Passes if the caller is an IG officer of a party to `terms`; otherwise a logged 403 about
/// record `kind`/`id`.
fn party_officer(
    actor: &Principal,
    terms: &AgreementTerms,
    (kind, id): (&str, String),
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match actor.agency_id {
        Some(a) if actor.has_any(&[Role::IgOfficer]) && terms.party(a).is_some() => Ok(()),
        _ => Err(refusal::forbidden(
            &governance::actor(actor),
            kind,
            id,
            now,
            PARTY_OFFICER,
        )),
    }
}

/// Drafts a new agreement (version 1, unsigned).
pub(crate) fn create_in(
    conn: &mut DbConn,
    actor: &Principal,
    partnership_id: PartnershipId,
    terms: AgreementTerms,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    check_against_partnership(conn, partnership_id, &terms, now)?;
    party_officer(
        actor,
        &terms,
        ("partnership", partnership_id.to_string()),
        now,
    )?;
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
    let who = governance::actor(actor);
    if !agreements::touch(conn, id, now)? {
        return Err(refusal::not_found(&who, KIND, id, now));
    }
    let a = agreements::get(conn, id)?.ok_or_else(|| refusal::not_found(&who, KIND, id, now))?;
    let party = actor.agency_id.is_some_and(|g| a.is_party(g, now));
    if !(party && actor.has_any(&[Role::IgOfficer])) {
        return Err(refusal::forbidden(&who, KIND, id, now, PARTY_OFFICER));
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
/// signed and in effect. `terms` parses the new version against the agreement's partnership,
/// once the caller is known to be allowed to change it.
pub(crate) fn amend_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    expected: &Expected,
    terms: impl FnOnce(PartnershipId) -> Result<AgreementTerms, AppError>,
    now: DateTime<Utc>,
) -> Result<Agreement, AppError> {
    let mut a = for_change(conn, actor, id, now)?;
    let current = a.latest().map_or(0, |v| v.version);
    if !expected.allows(current) {
        return Err(AppError::PreconditionFailed(format!(
            "the agreement is at version {current} (ETag \"{current}\"); read it again and \
             amend that version"
        )));
    }
    let terms = terms(a.partnership_id)?;
    check_against_partnership(conn, a.partnership_id, &terms, now)?;
    party_officer(actor, &terms, (KIND, id.to_string()), now)?;
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

/// One agreement with its partnership's terms history, if the caller may read it.
pub(crate) fn get_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgreementId,
    now: DateTime<Utc>,
) -> Result<AgreementView, AppError> {
    let hidden = || refusal::not_found(&governance::actor(actor), KIND, id, now);
    let a = agreements::get(conn, id)?.ok_or_else(hidden)?;
    if !(sees_all(actor) || actor.agency_id.is_some_and(|g| a.involves(g))) {
        return Err(hidden());
    }
    agreements::with_terms(conn, vec![a])?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// The agreement with its partnership's terms history, for the answer.
fn viewed(conn: &mut DbConn, a: Agreement) -> Result<AgreementView, AppError> {
    agreements::with_terms(conn, vec![a])?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// Drafts a new agreement (version 1, unsigned).
pub async fn create(
    hub: &Hub,
    actor: Principal,
    partnership_id: PartnershipId,
    terms: AgreementTerms,
    once: Once,
    shape: impl Shape<AgreementView>,
) -> Result<Done<AgreementView>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| {
        let a = create_in(c, &actor, partnership_id, terms, now)?;
        viewed(c, a)
    };
    idempotency::write(hub, once, action, shape).await
}

/// Amends an agreement; `terms` parses the new version against its partnership.
pub async fn amend(
    hub: &Hub,
    actor: Principal,
    id: AgreementId,
    expected: Expected,
    terms: impl FnOnce(PartnershipId) -> Result<AgreementTerms, AppError> + Send + 'static,
    once: Once,
    shape: impl Shape<AgreementView>,
) -> Result<Done<AgreementView>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| {
        let a = amend_in(c, &actor, id, &expected, terms, now)?;
        viewed(c, a)
    };
    idempotency::write(hub, once, action, shape).await
}

/// One agreement the caller may read (others are a logged 404).
pub async fn get(hub: &Hub, actor: Principal, id: AgreementId) -> Result<AgreementView, AppError> {
    let now = hub.now();
    hub.read(move |c| get_in(c, &actor, id, now)).await
}

/// The agreements the caller may read that match `filter`, at most `limit`.
pub async fn find(
    hub: &Hub,
    actor: Principal,
    filter: ListFilter,
    limit: i64,
) -> Result<Vec<AgreementView>, AppError> {
    let now = hub.now();
    hub.read(move |c| list(c, &actor, &filter, now, limit))
        .await
}
