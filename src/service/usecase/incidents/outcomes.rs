//! Recording an outcome on an incident (`POST /incidents/{id}/outcomes`). The reporting
//! agency's practitioners record outcomes on their own incidents; a partner that was notified
//! of the incident may record one where an agreement lets the reporter disclose the incident's
//! `outcomes[].kind` to it for the outcome's purpose (`disruption` for a disruption,
//! `investigation` for the others), as the one policy function decides. The outcome is an
//! audited `alteration` of the incident (a new version), and the incident is routed again:
//! partners told of it before hear `incident.outcome_recorded`, new ones `incident.notified`.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{changed_paths, plan, Recorded, Route, KIND};
use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::msht::EventType;
use crate::domain::notification::Deadlines;
use crate::domain::outcome::{fresh_id, Outcome, OutcomeInput, OutcomeKind};
use crate::domain::policy::{self, DisclosureRequest, PolicyDecision};
use crate::domain::records::StoredIncident as Stored;
use crate::domain::sharing::Purpose;
use crate::error::AppError;
use crate::service::store::{incidents, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Keyed, Response};
use crate::usecase::refusal;
use crate::usecase::routing::{check_epoch, until_fresh, views_between, PlanCache, Planned};

/// The purpose under which a partner records an outcome of `kind`.
fn purpose_of(kind: OutcomeKind) -> Purpose {
    match kind {
        OutcomeKind::Disruption => Purpose::Disruption,
        _ => Purpose::Investigation,
    }
}

/// An outcome recorded, with the incident it changed.
#[derive(Debug, Clone)]
pub struct RecordedOutcome {
    pub outcome: Outcome,
    pub recorded: Recorded,
}

/// The incident `actor` of `agency` may record an outcome of `kind` on, or a logged refusal.
fn reachable(
    c: &mut DbConn,
    cache: &PlanCache,
    actor: &Actor,
    agency: AgencyId,
    id: &str,
    kind: OutcomeKind,
    now: DateTime<Utc>,
) -> Result<Stored, AppError> {
    if let Some(own) = incidents::get(c, agency, id)? {
        return Ok(own);
    }
    let Some(reporter) = incidents::reporter_for_recipient(c, id, agency)? else {
        return Err(refusal::not_found(actor, KIND, id, now));
    };
    let Some(stored) = incidents::get(c, reporter, id)? else {
        return Err(refusal::not_found(actor, KIND, id, now));
    };
    let (_, views) = views_between(c, cache, reporter, agency)?;
    let asked = vec!["outcomes[].kind".to_owned()];
    let req = DisclosureRequest {
        discloser: reporter,
        recipient: agency,
        record_kind: RecordKind::Incident,
        purpose: purpose_of(kind),
        classification: stored.incident.classification,
        requested_fields: Some(&asked),
        at: now,
        consent_withdrawn: false,
        withheld: &[],
        subjects: &[],
    };
    match policy::decide(&req, &views) {
        PolicyDecision::Permit(p) if p.fields.iter().any(|f| f == "outcomes[].kind") => Ok(stored),
        decision => {
            let mut reasons = decision.reasons();
            reasons.insert(
                0,
                format!(
                    "no agreement lets the reporting agency share outcomes with this agency for {}",
                    purpose_of(kind)
                ),
            );
            Err(refusal::refuse(
                actor,
                KIND,
                id,
                now,
                AppError::Forbidden(
                    "only the reporting agency, or a partner an agreement lets record outcomes, \
                     may record an outcome on this incident"
                        .into(),
                ),
                reasons,
            ))
        }
    }
}

/// How the answer to a recorded outcome is shaped (by the edge), for the caller's agency.
pub type Shape = fn(&RecordedOutcome, AgencyId) -> Result<Value, AppError>;

/// Records `input` as an outcome of incident `id` for the caller's `agency`. With an
/// `Idempotency-Key` a retry of the same request answers the first result and records nothing.
pub async fn record(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: IncidentId,
    input: OutcomeInput,
    request: Keyed,
    shape: Shape,
) -> Result<Response, AppError> {
    let now = hub.now();
    let outcome = input.parse(fresh_id(), agency, now)?;
    let key = id.to_string();
    let deadlines = hub.deadlines();
    until_fresh(|| {
        let (actor, key, outcome, request) =
            (actor.clone(), key.clone(), outcome.clone(), request.clone());
        async move {
            let (who, k, cache) = (actor.clone(), key.clone(), hub.plans().clone());
            let kind = outcome.kind;
            let before = hub
                .snapshot(move |c| reachable(c, &cache, &who, agency, &k, kind, now))
                .await?;
            let mut changed = before.incident.clone();
            changed.outcomes.push(outcome.clone());
            let changed = Arc::new(changed);
            let planned = plan(hub, changed.clone(), now).await?;
            hub.write(move |c| {
                let scope = format!("POST /incidents/{}/outcomes", changed.id);
                idempotency::run(
                    c,
                    &agency.into(),
                    request.key.as_deref(),
                    &scope,
                    &request.body,
                    now,
                    |c| {
                        check_epoch(c, planned.epoch)?;
                        let recorded = write(
                            c, &actor, &before, &changed, &outcome, &planned, deadlines, now,
                        )?;
                        Ok((201, shape(&RecordedOutcome { outcome, recorded }, agency)?))
                    },
                )
            })
            .await
        }
    })
    .await
}

/// The write: the new version, its `alteration` entry and the routing it leads to; stale if
/// the incident changed since it was read.
#[allow(clippy::too_many_arguments)]
fn write(
    conn: &mut DbConn,
    actor: &Actor,
    before: &Stored,
    changed: &Incident,
    outcome: &Outcome,
    planned: &Planned,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Result<Recorded, AppError> {
    let current =
        incidents::get(conn, changed.reporting_agency, &changed.id)?.ok_or(AppError::NotFound)?;
    if current.version != before.version {
        return Err(AppError::StalePlan);
    }
    let version = incidents::update(conn, changed, now)?;
    let previous = incidents::decisions(conn, &changed.id)?;
    let record = changed.to_record(now);
    let by_reporter = actor.agency_id == Some(changed.reporting_agency);
    let mut alteration = NewEntry {
        subject_refs: changed.subject_refs(),
        data_items: changed_paths(&before.incident.to_record(now), &record),
        classification: Some(changed.classification.as_str().to_owned()),
        ..NewEntry::new(Operation::Alteration, actor.clone(), now)
            .record(KIND, &changed.id)
            .purpose(purpose_of(outcome.kind).as_str())
            .justification(format!(
                "{} outcome recorded on MSHT incident {} (version {version})",
                outcome.kind, changed.reference
            ))
    };
    if !by_reporter {
        alteration = alteration.concerns(vec![changed.reporting_agency]);
    }
    let mut entries = vec![alteration];
    let to = Route {
        incident: changed,
        record: &record,
        version,
        previous: &previous,
        deadlines,
        now,
    };
    let routed = to.write_as(
        conn,
        actor,
        planned,
        &mut entries,
        EventType::IncidentOutcomeRecorded,
    )?;
    audit::append_all(conn, &entries)?;
    Ok(Recorded {
        incident: changed.clone(),
        version,
        routed,
        receipt: None,
        pending: None,
    })
}
