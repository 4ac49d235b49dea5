//! Creating partnerships, publishing terms of reference and accepting them; inviting
//! members and their answers are in [`membership`].
//!
//! The hub operator or the lead agency's `agency_admin` (once the lead has joined) manages a
//! partnership. Adding an agency invites it; it joins only when its own `agency_admin`
//! accepts the invitation (or the current terms, which accepts it too), and it may decline.
//! Each member accepts the current terms through its own `agency_admin`. Every change is a
//! `governance` audit entry in the same transaction. Every hub member reads every partnership and its
//! terms; an unknown one is a logged 404. The async functions are the use cases, one write
//! intent or one read each; the synchronous `_in` bodies compose inside a caller's
//! transaction (the dev seed).
use super::governance::actor as actor_of;
use super::hub::Hub;
use super::refusal;
use chrono::{DateTime, NaiveDate, Utc};

use super::governance::{partnership_entry, record, signer};
use crate::domain::ids::{AgencyId, PartnershipId};
use crate::domain::partnership::{
    Acceptance, Member, MemberStatus, NewPartnership, Partnership, Terms, TermsContent,
};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, partnerships, DbConn};
use crate::usecase::idempotency::{self, Done, Once, Shape};

mod membership;

use membership::join_in;
pub use membership::{add_member, answer, Answer};
pub(crate) use membership::{add_member_in, answer_in};

/// Record kinds in the audit trail.
const KIND: &str = "partnership";
const TERMS: &str = "terms_of_reference";
const MEMBERSHIP: &str = "partnership_membership";

/// A partnership with its current terms and who accepted them.
#[derive(Debug, Clone)]
pub struct PartnershipDetail {
    pub partnership: Partnership,
    pub terms: Option<Terms>,
    pub acceptances: Vec<Acceptance>,
}

/// Creates a partnership. An agency's administrator creates it with their agency as lead
/// (and first member); the hub operator may name any registered lead, or none, and a lead
/// it names is invited: it leads once its own `agency_admin` accepts.
pub(crate) fn create_in(
    conn: &mut DbConn,
    actor: &Principal,
    new: NewPartnership,
    now: DateTime<Utc>,
) -> Result<Partnership, AppError> {
    let by_operator = actor.has_any(&[Role::HubAdmin]);
    let lead = if by_operator {
        new.lead_agency_id
    } else {
        let refuse = |why: &str| refusal::forbidden(&actor_of(actor), KIND, &new.name, now, why);
        let own = actor
            .agency_id
            .ok_or_else(|| refuse("an agency admin acts for an agency"))?;
        if new.lead_agency_id.is_some_and(|l| l != own) {
            return Err(refuse(
                "an agency admin creates partnerships led by their own agency",
            ));
        }
        Some(own)
    };
    if let Some(l) = lead {
        if agencies::get(conn, l)?.is_none() {
            return Err(AppError::validation("/lead_agency_id", "no such agency"));
        }
    }
    if partnerships::name_taken(conn, &new.name)? {
        return Err(AppError::conflict(format!(
            "a partnership named `{}` already exists",
            new.name
        )));
    }
    let p = Partnership {
        id: PartnershipId::new(),
        name: new.name,
        areas: new.areas,
        lead_agency_id: lead,
        members: lead
            .map(|agency_id| Member {
                agency_id,
                joined_at: now,
                status: if by_operator {
                    MemberStatus::Invited
                } else {
                    MemberStatus::Member
                },
            })
            .into_iter()
            .collect(),
        created_at: now,
        updated_at: now,
    };
    partnerships::insert(conn, &p)?;
    let what = match lead {
        Some(l) if by_operator => format!(
            "partnership `{}` created with agency {l} invited to lead it",
            p.name
        ),
        Some(l) => format!("partnership `{}` created, led by agency {l}", p.name),
        None => format!("partnership `{}` created", p.name),
    };
    let entry = partnership_entry(actor, p.id, now, what).concerns(lead.into_iter().collect());
    record(conn, &entry)?;
    Ok(p)
}

/// Loads a partnership for a change and checks that the caller manages it.
fn managed(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    now: DateTime<Utc>,
) -> Result<Partnership, AppError> {
    let who = actor_of(actor);
    if !partnerships::touch(conn, id, now)? {
        return Err(refusal::not_found(&who, KIND, id, now));
    }
    let p = partnerships::get(conn, id)?.ok_or_else(|| refusal::not_found(&who, KIND, id, now))?;
    let lead_admin =
        p.acting_lead().is_some_and(|l| actor.acts_for(l)) && actor.has_any(&[Role::AgencyAdmin]);
    if actor.has_any(&[Role::HubAdmin]) || lead_admin {
        Ok(p)
    } else {
        Err(refusal::forbidden(
            &who,
            KIND,
            id,
            now,
            "only the hub operator or the lead agency's admin manages this partnership",
        ))
    }
}

/// Publishes a new version of the terms of reference. It is current at once: every member
/// must accept it before agreements in the partnership permit disclosures again.
pub(crate) fn publish_terms_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    content: TermsContent,
    now: DateTime<Utc>,
) -> Result<Terms, AppError> {
    let p = managed(conn, actor, id, now)?;
    let mut errors = crate::domain::validate::Errors::new();
    for (i, r) in content.responsibilities.iter().enumerate() {
        if p.status_of(r.agency_id).is_none() {
            errors.add(
                format!("/responsibilities/{i}/agency_id"),
                "is not a member of the partnership",
            );
        }
    }
    errors.finish()?;
    let version = partnerships::latest_terms(conn, id)?.map_or(1, |t| t.version + 1);
    let terms = Terms {
        partnership_id: id,
        version,
        content,
        published_at: now,
        published_by: signer(actor),
    };
    partnerships::insert_terms(conn, &terms)?;
    let what = format!(
        "terms of reference version {version} of partnership `{}` published; every member must accept it",
        p.name
    );
    record(conn, &partnership_entry(actor, id, now, what))?;
    Ok(terms)
}

/// Records the caller's agency's acceptance of `version`, which must be the current one; an
/// invited agency accepting the current terms accepts its invitation too. Returns the
/// acceptance and whether it is new (accepting twice changes nothing).
pub(crate) fn accept_terms_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    version: i32,
    now: DateTime<Utc>,
) -> Result<(Acceptance, bool), AppError> {
    let who = actor_of(actor);
    if !partnerships::touch(conn, id, now)? {
        return Err(refusal::not_found(&who, KIND, id, now));
    }
    let p = partnerships::get(conn, id)?.ok_or_else(|| refusal::not_found(&who, KIND, id, now))?;
    let agency = actor
        .agency_id
        .filter(|a| p.status_of(*a).is_some())
        .ok_or_else(|| {
            refusal::forbidden(
                &who,
                TERMS,
                format!("{id}/terms/{version}"),
                now,
                "only an agency_admin of a member or invited agency accepts the terms",
            )
        })?;
    let terms = partnerships::terms(conn, id, version)?
        .ok_or_else(|| refusal::not_found(&who, TERMS, format!("{id}/terms/{version}"), now))?;
    let latest = partnerships::latest_terms(conn, id)?.map_or(version, |t| t.version);
    if latest != terms.version {
        return Err(AppError::conflict(format!(
            "version {version} has been replaced by version {latest}; accept the current version"
        )));
    }
    if p.is_invited(agency) {
        let how = format!("accepted terms of reference version {version}");
        join_in(conn, actor, &p, agency, &how, now)?;
    }
    let existing = partnerships::acceptances(conn, id, version)?;
    if let Some(a) = existing.into_iter().find(|a| a.agency_id == agency) {
        return Ok((a, false));
    }
    let a = Acceptance {
        version,
        agency_id: agency,
        accepted_at: now,
        accepted_by: signer(actor),
    };
    partnerships::insert_acceptance(conn, id, &a)?;
    let what = format!(
        "terms of reference version {version} of partnership `{}` accepted by agency {agency}",
        p.name
    );
    record(
        conn,
        &partnership_entry(actor, id, now, what).concerns(vec![agency]),
    )?;
    Ok((a, true))
}

/// `partnership` with its current terms and their acceptances.
fn detail_of(conn: &mut DbConn, partnership: Partnership) -> Result<PartnershipDetail, AppError> {
    let terms = partnerships::latest_terms(conn, partnership.id)?;
    let acceptances = match &terms {
        Some(t) => partnerships::acceptances(conn, partnership.id, t.version)?,
        None => Vec::new(),
    };
    Ok(PartnershipDetail {
        partnership,
        terms,
        acceptances,
    })
}

/// Partnership `id` with its current terms and their acceptances; an unknown one is a
/// logged 404.
fn detail_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    now: DateTime<Utc>,
) -> Result<PartnershipDetail, AppError> {
    let p = partnerships::get(conn, id)?
        .ok_or_else(|| refusal::not_found(&actor_of(actor), KIND, id, now))?;
    detail_of(conn, p)
}

/// One version of the terms with its acceptances and the current version's number; an
/// unknown one is a logged 404.
fn terms_version_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    version: i32,
    now: DateTime<Utc>,
) -> Result<(Terms, Vec<Acceptance>, i32), AppError> {
    let terms = partnerships::terms(conn, id, version)?.ok_or_else(|| {
        refusal::not_found(
            &actor_of(actor),
            TERMS,
            format!("{id}/terms/{version}"),
            now,
        )
    })?;
    let acceptances = partnerships::acceptances(conn, id, version)?;
    let latest = partnerships::latest_terms(conn, id)?.map_or(version, |t| t.version);
    Ok((terms, acceptances, latest))
}

/// Creates a partnership.
pub async fn create(
    hub: &Hub,
    actor: Principal,
    new: NewPartnership,
    once: Once,
    shape: impl Shape<Partnership>,
) -> Result<Done<Partnership>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| create_in(c, &actor, new, now);
    idempotency::write(hub, once, action, shape).await
}

/// Which partnerships a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only partnerships after this id (the page cursor).
    pub after: Option<PartnershipId>,
    /// Only partnerships this agency is a member of.
    pub member: Option<AgencyId>,
}

/// The partnerships that match `filter`, in id order, at most `limit`, each with its
/// current terms and their acceptances, in one read.
pub async fn find(
    hub: &Hub,
    filter: ListFilter,
    limit: i64,
) -> Result<Vec<PartnershipDetail>, AppError> {
    hub.read(move |c| {
        partnerships::list(c, filter.after, filter.member, limit)?
            .into_iter()
            .map(|p| detail_of(c, p))
            .collect()
    })
    .await
}

/// Partnership `id` with its current terms and their acceptances.
pub async fn get(
    hub: &Hub,
    actor: Principal,
    id: PartnershipId,
) -> Result<PartnershipDetail, AppError> {
    let now = hub.now();
    hub.read(move |c| detail_in(c, &actor, id, now)).await
}

/// Publishes a new version of the terms; `content` parses it against today's date (first,
/// so an invalid body is a 422 whoever sends it).
pub async fn publish_terms(
    hub: &Hub,
    actor: Principal,
    id: PartnershipId,
    content: impl FnOnce(NaiveDate) -> Result<TermsContent, AppError>,
    once: Once,
    shape: impl Shape<Terms>,
) -> Result<Done<Terms>, AppError> {
    let now = hub.now();
    let content = content(now.date_naive())?;
    let action = move |c: &mut DbConn| publish_terms_in(c, &actor, id, content, now);
    idempotency::write(hub, once, action, shape).await
}

/// Version `version` of the terms of partnership `id`, with its acceptances and the
/// current version's number.
pub async fn get_terms(
    hub: &Hub,
    actor: Principal,
    id: PartnershipId,
    version: i32,
) -> Result<(Terms, Vec<Acceptance>, i32), AppError> {
    let now = hub.now();
    hub.read(move |c| terms_version_in(c, &actor, id, version, now))
        .await
}

/// Records the caller's agency's acceptance of `version`; whether it is new.
pub async fn accept_terms(
    hub: &Hub,
    actor: Principal,
    id: PartnershipId,
    version: i32,
    once: Once,
    shape: impl Shape<(Acceptance, bool)>,
) -> Result<Done<(Acceptance, bool)>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| accept_terms_in(c, &actor, id, version, now);
    idempotency::write(hub, once, action, shape).await
}
