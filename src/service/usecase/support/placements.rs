//! Placing a referred person with a service, ending the placement, and reading it.
//!
//! A placement is made by a practitioner of an agency that may record `support_offered` on
//! the referral (its referrer or an agency it was sent to), into a service that serves the
//! referral's area and the person's stage, under a contract in force, while the service has
//! room (capacity plus any exception in force). It records the `support_offered` event naming
//! the service, so the referrer is told as for every lifecycle event.
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{cost_to, PLACEMENT};
use crate::audit;
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::AgencyId;
use crate::domain::policy::{DisclosureRequest, PolicyDecision};
use crate::domain::records::StoredReferral;
use crate::domain::referral_lifecycle::{may_record, EventKind, NewEvent, Recorder};
use crate::domain::sharing::Purpose;
use crate::domain::support::capacity::admit;
use crate::domain::support::cost::Exact;
use crate::domain::support::input::{EndInput, Placement, PlacementInput, Service};
use crate::domain::support::stage_of;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, referrals, support, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Done, Keyed, Once, Response, Shape};
use crate::usecase::referrals::Timing;
use crate::usecase::{policy, refusal};

/// How far ahead of the hub's clock a placement may be dated (clients' clocks drift).
const FUTURE_SLACK_MINUTES: i64 = 5;

/// A placement with its service and its cost so far (or in all, once ended).
#[derive(Debug, Clone)]
pub struct PlacementView {
    pub placement: Placement,
    pub service: Service,
    pub cost: Exact,
}

fn entry(
    actor: &Actor,
    op: Operation,
    r: &StoredReferral,
    p: &Placement,
    now: DateTime<Utc>,
) -> NewEntry {
    NewEntry {
        subject_refs: r.referral.subject_refs(),
        classification: Some(r.referral.classification.as_str().to_owned()),
        consent: Some(r.referral.consent_state(r.consent_withdrawn())),
        ..NewEntry::new(op, actor.clone(), now)
            .record(PLACEMENT, p.id)
            .purpose(Purpose::VictimSupport.as_str())
            .data_items(vec![
                "referral_id".to_owned(),
                "service_id".to_owned(),
                "started_at".to_owned(),
                "ended_at".to_owned(),
            ])
    }
}

/// `POST /support/placements`, once per `Idempotency-Key`: a retry with the same key and
/// body gets the first answer, shaped by `shape`.
pub async fn place(
    hub: &Hub,
    p: Principal,
    request: Keyed,
    input: PlacementInput,
    shape: fn(&PlacementView) -> Value,
) -> Result<Response, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let timing = hub.referral_timing();
    let vat = hub.settings().support.vat_rate();
    hub.write(move |c| {
        let key = request.key.as_deref();
        idempotency::run(
            c,
            &agency.into(),
            key,
            "POST /support/placements",
            &request.body,
            now,
            |c| {
                let v = place_in(c, &p, agency, &input, &timing, vat, now)?;
                Ok((201, shape(&v)))
            },
        )
    })
    .await
}

/// Places the person in the caller's transaction.
fn place_in(
    c: &mut DbConn,
    p: &Principal,
    agency: AgencyId,
    input: &PlacementInput,
    timing: &Timing,
    vat: Decimal,
    now: DateTime<Utc>,
) -> Result<PlacementView, AppError> {
    let actor = Actor::from(p);
    let rid = input.referral_id.to_string();
    let (stored, standing) = referrals::get_for_party(c, agency, &rid)?
        .ok_or_else(|| refusal::not_found(&actor, "referral", &rid, now))?;
    let me = agencies::get(c, agency)?.ok_or(AppError::NotFound)?;
    let recorder = Recorder {
        referrer: standing.referrer,
        recipient: standing.recipient,
        kind: me.kind,
        first_responder: me.first_responder,
        nrm_submitter: stored.nrm_submitted_by == Some(agency),
    };
    if let Err(why) = may_record(EventKind::SupportOffered, &recorder) {
        return Err(refusal::forbidden(&actor, "referral", &rid, now, why));
    }
    let Some(stage) = stage_of(&stored.lifecycle()) else {
        return Err(AppError::conflict(
            "the referral is closed: nobody can be placed on it",
        ));
    };
    let service = support::service(c, input.service_id)?
        .ok_or_else(|| AppError::validation("/service_id", "no such service"))?;
    let r = &stored.referral;
    if input.started_at > now + Duration::minutes(FUTURE_SLACK_MINUTES) {
        return Err(AppError::validation(
            "/started_at",
            "a placement cannot start in the future",
        ));
    }
    if !service.areas.contains(&r.area) {
        return Err(AppError::validation(
            "/service_id",
            format!("the service does not serve the referral's area {}", r.area),
        ));
    }
    if !service.stages.contains(&stage) {
        return Err(AppError::validation(
            "/service_id",
            format!("the service does not serve people at the `{stage}` stage"),
        ));
    }
    if !service.contract.in_force(input.started_at) {
        return Err(AppError::conflict(format!(
            "the service's contract runs from {} to {}",
            service.contract.starts, service.contract.ends
        )));
    }
    let already = support::placements_with(c, &[service.id])?
        .into_iter()
        .any(|x| x.referral_id == rid && x.ended_at.is_none());
    if already {
        return Err(AppError::conflict(
            "the person is already placed with this service",
        ));
    }
    let at = input.started_at.max(now);
    let occupied = support::occupied(c, service.id, at)?;
    let exceptions = support::exceptions(c, service.id)?;
    if let Err(why) = admit(service.places, occupied, &exceptions, at) {
        return Err(AppError::Conflict {
            detail: why,
            extra: Some(json!({"service_id": service.id.to_string(),
                    "places": service.places, "occupied": occupied})),
        });
    }
    let placement = Placement {
        id: Uuid::now_v7(),
        referral_id: rid.clone(),
        service_id: service.id,
        referrer: r.referring_agency,
        placed_by: agency,
        stage,
        area: r.area.clone(),
        started_at: input.started_at,
        ended_at: None,
        created_at: now,
    };
    support::insert_placement(c, &placement)?;
    let event = NewEvent {
        kind: EventKind::SupportOffered,
        note: Some(format!(
            "placed with `{}` from {}",
            service.name, input.started_at
        )),
        reason: None,
        ictg_role: None,
        service_id: Some(service.id.to_string()),
    };
    crate::usecase::referrals::apply(c, &actor, agency, &stored, &event, timing, now)?;
    let e = entry(&actor, Operation::Collection, &stored, &placement, now).justification(format!(
        "placed with service {} (`{}`) at the `{stage}` stage",
        service.id, service.name
    ));
    audit::append(c, &e)?;
    let cost = cost_to(&placement, &service, now, vat)?;
    Ok(PlacementView {
        placement,
        service,
        cost,
    })
}

/// The placement with its referral and service (the caller decides who may see them).
fn load(
    c: &mut DbConn,
    id: Uuid,
) -> Result<Option<(Placement, StoredReferral, Service)>, AppError> {
    let Some(p) = support::placement(c, id)? else {
        return Ok(None);
    };
    let Some(r) = referrals::get(c, p.referrer, &p.referral_id)? else {
        return Ok(None);
    };
    let s = support::service(c, p.service_id)?
        .ok_or_else(|| AppError::internal("a placement without its service"))?;
    Ok(Some((p, r, s)))
}

/// `POST /support/placements/{id}/end`: by the agency that placed the person or the referrer.
pub async fn end(
    hub: &Hub,
    p: Principal,
    id: Uuid,
    input: EndInput,
    once: Once,
    shape: impl Shape<PlacementView>,
) -> Result<Done<PlacementView>, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let vat = hub.settings().support.vat_rate();
    let action = move |c: &mut DbConn| {
        let actor = Actor::from(&p);
        let Some((mut placement, stored, service)) = load(c, id)? else {
            return Err(refusal::not_found(&actor, PLACEMENT, id, now));
        };
        if placement.placed_by != agency && placement.referrer != agency {
            return Err(refusal::not_found(&actor, PLACEMENT, id, now));
        }
        if placement.ended_at.is_some() {
            return Err(AppError::conflict("the placement has ended already"));
        }
        if input.ended_at < placement.started_at {
            return Err(AppError::validation(
                "/ended_at",
                "a placement ends after it starts",
            ));
        }
        if input.ended_at > now + Duration::minutes(FUTURE_SLACK_MINUTES) {
            return Err(AppError::validation(
                "/ended_at",
                "a placement cannot end in the future",
            ));
        }
        if !support::end_placement(c, id, input.ended_at)? {
            return Err(AppError::conflict("the placement has ended already"));
        }
        placement.ended_at = Some(input.ended_at);
        let cost = cost_to(&placement, &service, now, vat)?;
        let e =
            entry(&actor, Operation::Alteration, &stored, &placement, now).justification(format!(
                "placement ended at {}; cost {}",
                input.ended_at,
                cost.pence()
            ));
        audit::append(c, &e)?;
        Ok(PlacementView {
            placement,
            service,
            cost,
        })
    };
    idempotency::write(hub, once, action, shape).await
}

/// `GET /support/placements/{id}`: the referrer and the placing agency see it; any other
/// agency only where the policy function permits the referral's disclosure to it for
/// `victim_support` now (a `disclosure` entry), else a logged 404.
pub async fn read(hub: &Hub, p: Principal, id: Uuid) -> Result<PlacementView, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let vat: Decimal = hub.settings().support.vat_rate();
    let (view, entry) = hub
        .snapshot(move |c| {
            let actor = Actor::from(&p);
            let Some((placement, stored, service)) = load(c, id)? else {
                return Err(refusal::not_found(&actor, PLACEMENT, id, now));
            };
            let mut e = entry(&actor, Operation::Consultation, &stored, &placement, now);
            if placement.placed_by != agency && placement.referrer != agency {
                let r = &stored.referral;
                let req = DisclosureRequest {
                    discloser: r.referring_agency,
                    recipient: agency,
                    record_kind: RecordKind::Referral,
                    purpose: Purpose::VictimSupport,
                    classification: r.classification,
                    requested_fields: None,
                    at: now,
                    consent_withdrawn: stored.consent_withdrawn(),
                    withheld: r.withheld(),
                    subjects: &[],
                };
                match policy::decide(c, &req)? {
                    PolicyDecision::Permit(permit) => {
                        e.operation = Operation::Disclosure;
                        e.recipients = vec![agency];
                        e.agreement = Some(permit.agreement.clone());
                        e.lawful_basis = Some(permit.lawful_basis.clone());
                        e.retention_days = Some(permit.retention_days);
                        e = e.justification("a placement read under the agreement");
                    }
                    PolicyDecision::Deny(reasons) => {
                        let why: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
                        return Err(refusal::refuse(
                            &actor,
                            PLACEMENT,
                            id,
                            now,
                            AppError::NotFound,
                            why,
                        ));
                    }
                }
            } else {
                e = e.justification("the referring or placing agency read its placement");
            }
            let cost = cost_to(&placement, &service, now, vat)?;
            Ok((
                PlacementView {
                    placement,
                    service,
                    cost,
                },
                e.decision(AuditDecision::Allowed, Vec::new()),
            ))
        })
        .await?;
    hub.write(move |c| audit::append(c, &entry).map(|_| ()))
        .await?;
    Ok(view)
}
