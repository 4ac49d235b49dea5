//! Partnership membership: inviting an agency (the partnership's manager) and the invited
//! agency's own answer through its `agency_admin`, accepting (it becomes a member) or
//! declining (the invitation is removed). Every change is a `governance` entry naming the
//! agency, so its IG officer sees it.
use chrono::{DateTime, Utc};

use super::{detail_of, managed, PartnershipDetail, KIND, MEMBERSHIP};
use crate::domain::ids::{AgencyId, PartnershipId};
use crate::domain::partnership::{Member, MemberStatus, Partnership};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, partnerships, DbConn};
use crate::usecase::governance::{actor as actor_of, partnership_entry, record};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Done, Once, Shape};
use crate::usecase::refusal;

/// Invites an agency: it is `invited`, not a member, until its own `agency_admin` accepts.
pub(crate) fn add_member_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    agency: AgencyId,
    now: DateTime<Utc>,
) -> Result<Partnership, AppError> {
    let mut p = managed(conn, actor, id, now)?;
    if agencies::get(conn, agency)?.is_none() {
        return Err(AppError::validation("/agency_id", "no such agency"));
    }
    match p.status_of(agency) {
        Some(MemberStatus::Member) => {
            return Err(AppError::conflict("the agency is already a member"))
        }
        Some(MemberStatus::Invited) => {
            return Err(AppError::conflict("the agency is already invited"))
        }
        None => {}
    }
    let m = Member {
        agency_id: agency,
        joined_at: now,
        status: MemberStatus::Invited,
    };
    partnerships::add_member(conn, id, &m)?;
    p.members.push(m);
    p.updated_at = now;
    let what = format!(
        "agency {agency} invited to partnership `{}`; it joins when its agency_admin accepts",
        p.name
    );
    record(
        conn,
        &partnership_entry(actor, id, now, what).concerns(vec![agency]),
    )?;
    Ok(p)
}

/// How an invited agency answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

/// `agency` answers its invitation to partnership `id`; only that agency's `agency_admin`
/// answers for it. Accepting makes it a member (accepting again changes nothing); declining
/// removes the invitation (a member cannot decline: 409). An agency neither invited nor a
/// member is a logged 404. Returns the partnership as it now stands and whether it changed.
pub(crate) fn answer_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: PartnershipId,
    agency: AgencyId,
    answer: Answer,
    now: DateTime<Utc>,
) -> Result<(Partnership, bool), AppError> {
    let who = actor_of(actor);
    let what = format!("{id}/members/{agency}");
    if !partnerships::touch(conn, id, now)? {
        return Err(refusal::not_found(&who, KIND, id, now));
    }
    let p = partnerships::get(conn, id)?.ok_or_else(|| refusal::not_found(&who, KIND, id, now))?;
    if !(actor.acts_for(agency) && actor.has_any(&[Role::AgencyAdmin])) {
        return Err(refusal::forbidden(
            &who,
            MEMBERSHIP,
            &what,
            now,
            "only the invited agency's own agency_admin answers its invitation",
        ));
    }
    let changed = match (answer, p.status_of(agency)) {
        (_, None) => return Err(refusal::not_found(&who, MEMBERSHIP, &what, now)),
        (Answer::Accept, Some(MemberStatus::Member)) => false,
        (Answer::Decline, Some(MemberStatus::Member)) => {
            return Err(AppError::conflict(
                "the agency is a member; an invitation is declined only before it is accepted",
            ))
        }
        (Answer::Accept, Some(MemberStatus::Invited)) => {
            join_in(conn, actor, &p, agency, "accepted its invitation", now)?;
            true
        }
        (Answer::Decline, Some(MemberStatus::Invited)) => {
            partnerships::remove_invitation(conn, id, agency)?;
            let what = format!(
                "agency {agency} declined its invitation to partnership `{}`",
                p.name
            );
            record(
                conn,
                &partnership_entry(actor, id, now, what).concerns(vec![agency]),
            )?;
            true
        }
    };
    let p = partnerships::get(conn, id)?.ok_or(AppError::NotFound)?;
    Ok((p, changed))
}

/// An invited agency joins `p`, by `how` (its own act), with the governance entry.
pub(super) fn join_in(
    conn: &mut DbConn,
    actor: &Principal,
    p: &Partnership,
    agency: AgencyId,
    how: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    partnerships::join(conn, p.id, agency, now)?;
    let what = format!("agency {agency} {how} and joined partnership `{}`", p.name);
    record(
        conn,
        &partnership_entry(actor, p.id, now, what).concerns(vec![agency]),
    )
}

/// Adds member `agency`; answers with the partnership as it now stands.
pub async fn add_member(
    hub: &Hub,
    actor: Principal,
    id: PartnershipId,
    agency: AgencyId,
    once: Once,
    shape: impl Shape<PartnershipDetail>,
) -> Result<Done<PartnershipDetail>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| {
        add_member_in(c, &actor, id, agency, now)?;
        let p = partnerships::get(c, id)?.ok_or(AppError::NotFound)?;
        detail_of(c, p)
    };
    idempotency::write(hub, once, action, shape).await
}

/// `agency` answers its invitation to partnership `id`; the partnership as it now stands
/// and whether the answer changed it.
pub async fn answer(
    hub: &Hub,
    actor: Principal,
    id: PartnershipId,
    agency: AgencyId,
    answer: Answer,
    once: Once,
    shape: impl Shape<(PartnershipDetail, bool)>,
) -> Result<Done<(PartnershipDetail, bool)>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| {
        let (p, changed) = answer_in(c, &actor, id, agency, answer, now)?;
        Ok((detail_of(c, p)?, changed))
    };
    idempotency::write(hub, once, action, shape).await
}
