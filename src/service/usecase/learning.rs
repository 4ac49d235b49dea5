//! Learning that is used: a partnership's learning records of investigations and operations
//! with their recommendations, for the partnership's members only (anyone else is refused,
//! and the refusal is an `access_denied` entry). A member's staff record a learning record
//! (linking incidents their agency reported or was told of, naming member agencies as
//! recommendations' owners); the owner agency moves its recommendation to `in_progress` or
//! `closed`, closing only with evidence. Lists show a partnership's open and overdue
//! recommendations. Every write is in the audit log.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::ids::{AgencyId, LearningRecordId, PartnershipId, RecommendationId};
use crate::domain::learning::{
    LearningRecord, NewLearning, NewRecommendation, Recommendation, RecommendationStatus,
    StatusChange,
};
use crate::domain::partnership::MemberStatus;
use crate::error::AppError;
use crate::service::store::{incidents, learning, partnerships, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Keyed, Response};
use crate::usecase::refusal;

const RECORD: &str = "learning_record";
const RECOMMENDATION: &str = "learning_recommendation";
const MEMBERS_ONLY: &str = "learning records of a partnership are for its members";

/// A recommendation as shown: with whether it is overdue today.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub recommendation: Recommendation,
    pub overdue: bool,
}

fn shown(r: Recommendation, now: DateTime<Utc>) -> Shown {
    let overdue = r.overdue(now.date_naive());
    Shown {
        recommendation: r,
        overdue,
    }
}

/// A learning record with its recommendations.
#[derive(Debug, Clone, Serialize)]
pub struct Full {
    #[serde(flatten)]
    pub record: LearningRecord,
    pub recommendations: Vec<Shown>,
}

/// The members of partnership `pid` (joined, not invited); `None` when there is none.
fn members(conn: &mut DbConn, pid: PartnershipId) -> Result<Option<Vec<AgencyId>>, AppError> {
    Ok(partnerships::get(conn, pid)?.map(|p| {
        p.members
            .iter()
            .filter(|m| m.status == MemberStatus::Member)
            .map(|m| m.agency_id)
            .collect()
    }))
}

/// Refuses (logged) unless `agency` is a member of `pid`; an unknown partnership is a 404.
fn member_or_refuse(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    pid: PartnershipId,
    now: DateTime<Utc>,
) -> Result<Vec<AgencyId>, AppError> {
    match members(conn, pid)? {
        None => Err(refusal::not_found(actor, "partnership", pid, now)),
        Some(m) if m.contains(&agency) => Ok(m),
        Some(_) => Err(refusal::forbidden(
            actor,
            "partnership",
            pid,
            now,
            MEMBERS_ONLY,
        )),
    }
}

fn full(conn: &mut DbConn, record: LearningRecord, now: DateTime<Utc>) -> Result<Full, AppError> {
    let recommendations = learning::recommendations_of_record(conn, record.id)?
        .into_iter()
        .map(|r| shown(r, now))
        .collect();
    Ok(Full {
        record,
        recommendations,
    })
}

/// `POST /partnerships/{id}/learning-records`.
pub async fn create(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    pid: PartnershipId,
    new: NewLearning,
    request: Keyed,
) -> Result<Response, AppError> {
    let now = hub.now();
    let scope = format!("POST /partnerships/{pid}/learning-records");
    hub.write(move |c| {
        idempotency::run(
            c,
            &agency.into(),
            request.key.as_deref(),
            &scope,
            &request.body,
            now,
            |c| {
                let members = member_or_refuse(c, &actor, agency, pid, now)?;
                let mut errors = Vec::new();
                for (i, id) in new.incident_ids.iter().enumerate() {
                    let id = id.to_string();
                    let known = incidents::get(c, agency, &id)?.is_some()
                        || incidents::reporter_for_recipient(c, &id, agency)?.is_some();
                    if !known {
                        errors.push(crate::error::FieldError::new(
                            format!("/incident_ids/{i}"),
                            "not an incident your agency reported or was told of",
                        ));
                    }
                }
                for (i, r) in new.recommendations.iter().enumerate() {
                    if !members.contains(&r.owner_agency_id) {
                        errors.push(crate::error::FieldError::new(
                            format!("/recommendations/{i}/owner_agency_id"),
                            "must be a member agency of the partnership",
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(AppError::Validation(errors));
                }
                let record = LearningRecord {
                    id: LearningRecordId::new(),
                    partnership_id: pid,
                    subject: new.subject,
                    title: new.title.clone(),
                    reference: new.reference.clone(),
                    incident_ids: new.incident_ids.clone(),
                    exploitation_types: new.exploitation_types.clone(),
                    threats: new.threats.clone(),
                    lessons: new.lessons.clone(),
                    recorded_by_agency_id: agency,
                    recorded_at: now,
                };
                learning::insert_record(c, &record, &actor.subject)?;
                let recs: Vec<Recommendation> = new
                    .recommendations
                    .iter()
                    .map(|r| Recommendation {
                        id: RecommendationId::new(),
                        learning_record_id: record.id,
                        partnership_id: pid,
                        text: r.text.clone(),
                        owner_agency_id: r.owner_agency_id,
                        due_on: r.due_on,
                        status: RecommendationStatus::Open,
                        evidence: None,
                        closed_at: None,
                        closed_by_agency_id: None,
                        updated_at: now,
                    })
                    .collect();
                learning::insert_recommendations(c, &recs)?;
                let mut owners: Vec<AgencyId> = recs.iter().map(|r| r.owner_agency_id).collect();
                owners.sort();
                owners.dedup();
                audit::append(
                    c,
                    &NewEntry::new(Operation::Collection, actor.clone(), now)
                        .record(RECORD, record.id)
                        .justification(format!(
                        "learning record of the {} `{}` for partnership {pid}: {} lesson(s), {} \
                         recommendation(s), {} linked incident(s)",
                        record.subject,
                        record.title,
                        record.lessons.len(),
                        recs.len(),
                        record.incident_ids.len()
                    ))
                        .concerns(owners),
                )?;
                let body = serde_json::to_value(full(c, record, now)?)?;
                Ok((201, body))
            },
        )
    })
    .await
}

/// `GET /learning-records/{id}`: for members of its partnership (others get a logged 404).
pub async fn get(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: LearningRecordId,
) -> Result<Full, AppError> {
    let now = hub.now();
    hub.snapshot(move |c| {
        let Some(record) = learning::get_record(c, id)? else {
            return Err(refusal::not_found(&actor, RECORD, id, now));
        };
        let is_member = members(c, record.partnership_id)?.is_some_and(|m| m.contains(&agency));
        if !is_member {
            return Err(refusal::not_found(&actor, RECORD, id, now));
        }
        full(c, record, now)
    })
    .await
}

/// `GET /partnerships/{id}/learning-records`: a page of the partnership's records.
pub async fn list(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    pid: PartnershipId,
    after: Option<LearningRecordId>,
    limit: i64,
) -> Result<Vec<Full>, AppError> {
    let now = hub.now();
    hub.snapshot(move |c| {
        member_or_refuse(c, &actor, agency, pid, now)?;
        let records = learning::records_of(c, pid, after, limit + 1)?;
        records.into_iter().map(|r| full(c, r, now)).collect()
    })
    .await
}

/// Which recommendations a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Not closed.
    Open,
    /// Not closed and past the due date.
    Overdue,
    Closed,
}

/// `GET /partnerships/{id}/recommendations`: open (default), overdue or closed ones, in
/// due-date order.
pub async fn recommendations(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    pid: PartnershipId,
    which: Which,
) -> Result<Vec<Shown>, AppError> {
    let now = hub.now();
    hub.snapshot(move |c| {
        member_or_refuse(c, &actor, agency, pid, now)?;
        let status = (which == Which::Closed).then_some(RecommendationStatus::Closed);
        Ok(learning::recommendations_of(c, pid, status)?
            .into_iter()
            .map(|r| shown(r, now))
            .filter(|s| which != Which::Overdue || s.overdue)
            .collect())
    })
    .await
}

/// `POST /learning-recommendations/{id}/status`: the owner agency's staff move a
/// recommendation on; a closed one stays closed (409). An audited alteration.
pub async fn set_status(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: RecommendationId,
    change: StatusChange,
) -> Result<Value, AppError> {
    let now = hub.now();
    hub.write(move |c| {
        let Some(mut r) = learning::get_recommendation(c, id)? else {
            return Err(refusal::not_found(&actor, RECOMMENDATION, id, now));
        };
        let is_member = members(c, r.partnership_id)?.is_some_and(|m| m.contains(&agency));
        if !is_member {
            return Err(refusal::not_found(&actor, RECOMMENDATION, id, now));
        }
        if r.owner_agency_id != agency {
            return Err(refusal::forbidden(
                &actor,
                RECOMMENDATION,
                id,
                now,
                "only the owner agency moves a recommendation on",
            ));
        }
        if r.status == RecommendationStatus::Closed {
            return Err(AppError::conflict("the recommendation is closed"));
        }
        let from = r.status;
        r.status = change.status;
        r.updated_at = now;
        if change.status == RecommendationStatus::Closed {
            r.evidence = change.evidence.clone();
            r.closed_at = Some(now);
            r.closed_by_agency_id = Some(agency);
        }
        let closer =
            (change.status == RecommendationStatus::Closed).then_some(actor.subject.as_str());
        learning::update_recommendation(c, &r, closer)?;
        audit::append(
            c,
            &NewEntry::new(Operation::Alteration, actor.clone(), now)
                .record(RECOMMENDATION, id)
                .justification(format!(
                    "recommendation of learning record {} moved from {from} to {}{}",
                    r.learning_record_id,
                    r.status,
                    if r.evidence.is_some() {
                        " with evidence"
                    } else {
                        ""
                    }
                )),
        )?;
        Ok(serde_json::to_value(shown(r, now))?)
    })
    .await
}

/// `POST /learning-records/{id}/recommendations`: a member's staff add a recommendation to a
/// learning record of their partnership (its owner a member agency). Honours
/// `Idempotency-Key`; a `collection` in the audit log.
pub async fn add_recommendation(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: LearningRecordId,
    new: NewRecommendation,
    request: Keyed,
) -> Result<Response, AppError> {
    let now = hub.now();
    let scope = format!("POST /learning-records/{id}/recommendations");
    hub.write(move |c| {
        idempotency::run(
            c,
            &agency.into(),
            request.key.as_deref(),
            &scope,
            &request.body,
            now,
            |c| {
                let Some(record) = learning::get_record(c, id)? else {
                    return Err(refusal::not_found(&actor, RECORD, id, now));
                };
                let members = members(c, record.partnership_id)?.unwrap_or_default();
                if !members.contains(&agency) {
                    return Err(refusal::not_found(&actor, RECORD, id, now));
                }
                if !members.contains(&new.owner_agency_id) {
                    return Err(AppError::validation(
                        "/owner_agency_id",
                        "must be a member agency of the partnership",
                    ));
                }
                let r = Recommendation {
                    id: RecommendationId::new(),
                    learning_record_id: id,
                    partnership_id: record.partnership_id,
                    text: new.text.clone(),
                    owner_agency_id: new.owner_agency_id,
                    due_on: new.due_on,
                    status: RecommendationStatus::Open,
                    evidence: None,
                    closed_at: None,
                    closed_by_agency_id: None,
                    updated_at: now,
                };
                learning::insert_recommendations(c, std::slice::from_ref(&r))?;
                audit::append(
                    c,
                    &NewEntry::new(Operation::Collection, actor.clone(), now)
                        .record(RECOMMENDATION, r.id)
                        .justification(format!(
                            "recommendation added to learning record {id}, owned by {}, due {}",
                            r.owner_agency_id, r.due_on
                        ))
                        .concerns(vec![r.owner_agency_id]),
                )?;
                Ok((201, serde_json::to_value(shown(r, now))?))
            },
        )
    })
    .await
}
