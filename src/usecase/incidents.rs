//! Recording an incident and routing it, in one transaction: the incident, its `collection`
//! entry, one `disclosure` entry per candidate recipient (shared with the fields named, or
//! withheld with the reasons), the notifications and the outbox rows all commit together.
//! A change re-routes: existing recipients get an update, new ones a first notification, and
//! a recipient whose agreement no longer permits gets nothing more.
use super::refusal;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::audit;
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, NotificationId};
use crate::domain::incident::{ConsentToShare, Incident};
use crate::domain::msht::EventType;
use crate::domain::notification::{Deadlines, Notification};
use crate::domain::policy::{DisclosureRequest, PolicyDecision};
use crate::domain::projection;
use crate::domain::routing::{self, Route};
use crate::domain::sharing::Purpose;
use crate::domain::subscription::Facets;
use crate::error::AppError;
use crate::store::incidents::{self, Decision, Stored};
use crate::store::{agencies, notifications, subscriptions, DbConn};
use crate::usecase::{notify, policy};

/// The outcome for one candidate recipient.
#[derive(Debug, Clone)]
pub struct Routed {
    pub decision: Decision,
    pub notification_id: Option<NotificationId>,
}

const KIND: &str = "incident";

/// Records a new incident and routes it.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    incident: Incident,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Result<(Incident, Vec<Routed>), AppError> {
    incidents::insert(conn, &incident, now)?;
    let record = incident.to_record(now);
    let mut entries = vec![NewEntry {
        subject_refs: incident.subject_refs(),
        data_items: projection::paths_present(&record),
        classification: Some(incident.classification.as_str().to_owned()),
        ..NewEntry::new(Operation::Collection, actor.clone(), now)
            .record(KIND, &incident.id)
            .purpose(Purpose::Safeguarding.as_str())
            .justification(format!("MSHT incident {} recorded", incident.reference))
    }];
    let routed = route(conn, actor, &incident, 1, &[], deadlines, now, &mut entries)?;
    audit::append_all(conn, &entries)?;
    Ok((incident, routed))
}

/// Replaces an incident of `reporter` with `changed` and routes it again.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    changed: Incident,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Result<(Incident, Vec<Routed>), AppError> {
    let before =
        incidents::get(conn, changed.reporting_agency, &changed.id)?.ok_or(AppError::NotFound)?;
    let version = incidents::update(conn, &changed, now)?;
    let previous = incidents::decisions(conn, &changed.id)?;
    let record = changed.to_record(now);
    let mut entries = vec![NewEntry {
        subject_refs: changed.subject_refs(),
        data_items: changed_paths(&before.incident.to_record(now), &record),
        classification: Some(changed.classification.as_str().to_owned()),
        ..NewEntry::new(Operation::Alteration, actor.clone(), now)
            .record(KIND, &changed.id)
            .purpose(Purpose::Safeguarding.as_str())
            .justification(format!(
                "MSHT incident {} changed (version {version})",
                changed.reference
            ))
    }];
    let routed = route(
        conn,
        actor,
        &changed,
        version,
        &previous,
        deadlines,
        now,
        &mut entries,
    )?;
    audit::append_all(conn, &entries)?;
    Ok((changed, routed))
}

/// The field paths whose values differ between two versions of a record.
fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut all = projection::paths_present(before);
    all.extend(projection::paths_present(after));
    all.sort();
    all.dedup();
    all.into_iter()
        .filter(|p| {
            let one = [p.clone()];
            projection::project(before, &one) != projection::project(after, &one)
        })
        .collect()
}

fn consent_summary(incident: &Incident) -> String {
    let parts: Vec<String> = incident
        .victims
        .iter()
        .map(|v| match (v.consent_to_share, v.consent_absent_reason) {
            (ConsentToShare::Given, _) => format!("{}: given", v.reference),
            (c, Some(r)) => format!("{}: {c} ({r})", v.reference),
            (c, None) => format!("{}: {c}", v.reference),
        })
        .collect();
    parts.join("; ")
}

/// The thin webhook data for one recipient: ids, and only those facets its agreement allows.
fn thin_data(
    incident: &Incident,
    notification: NotificationId,
    fields: &[String],
    now: DateTime<Utc>,
) -> Value {
    let mut data = Map::new();
    data.insert("notification_id".into(), json!(notification.to_string()));
    data.insert("incident_id".into(), json!(incident.id));
    data.insert("classification".into(), json!(incident.classification));
    let record = incident.to_record(now);
    let thin: Vec<String> = ["area", "exploitation_types", "victims[].age_band"]
        .into_iter()
        .filter(|f| fields.iter().any(|x| x == f))
        .map(str::to_owned)
        .collect();
    if let Value::Object(p) = projection::project(&record, &thin) {
        data.extend(p);
    }
    Value::Object(data)
}

#[allow(clippy::too_many_arguments)]
fn route(
    conn: &mut DbConn,
    actor: &Actor,
    incident: &Incident,
    version: i32,
    previous: &[Decision],
    deadlines: Deadlines,
    now: DateTime<Utc>,
    entries: &mut Vec<NewEntry>,
) -> Result<Vec<Routed>, AppError> {
    let any_child = incident.any_child(now);
    let mut statutory: Vec<(AgencyId, Route)> = Vec::new();
    for (kind, r) in routing::statutory_kinds(any_child, incident.any_adult_at_risk(now)) {
        for id in agencies::covering_area(conn, &incident.area, kind)? {
            statutory.push((id, r));
        }
    }
    let facets = Facets {
        area: &incident.area,
        exploitation_types: &incident.exploitation_types,
        threats: &incident.threats,
        any_child,
        any_adult: incident.any_adult(now),
    };
    let subscribers: Vec<AgencyId> = subscriptions::all_active(conn)?
        .into_iter()
        .filter(|s| s.wants(EventType::IncidentNotified) && s.filters.matches(&facets))
        .map(|s| s.agency_id)
        .collect();
    let purpose = Purpose::Safeguarding;
    let consent = consent_summary(incident);
    let mut out = Vec::new();
    for candidate in routing::candidates(incident.reporting_agency, &statutory, &subscribers) {
        let req = DisclosureRequest {
            discloser: incident.reporting_agency,
            recipient: candidate.agency_id,
            record_kind: RecordKind::Incident,
            purpose,
            classification: incident.classification,
            requested_fields: None,
            at: now,
            consent_withdrawn: false,
        };
        let base = NewEntry {
            subject_refs: incident.subject_refs(),
            classification: Some(incident.classification.as_str().to_owned()),
            consent: Some(consent.clone()),
            ..NewEntry::new(Operation::Disclosure, actor.clone(), now)
                .record(KIND, &incident.id)
                .purpose(purpose.as_str())
                .recipients(vec![candidate.agency_id])
        };
        let (decision, notification_id) = match policy::decide(conn, &req)? {
            PolicyDecision::Permit(p) => {
                let was_notified = previous
                    .iter()
                    .any(|d| d.agency_id == candidate.agency_id && d.notified);
                let event = if was_notified {
                    EventType::IncidentUpdated
                } else {
                    EventType::IncidentNotified
                };
                let n = Notification {
                    id: NotificationId::new(),
                    agency_id: candidate.agency_id,
                    discloser: incident.reporting_agency,
                    record_kind: KIND.to_owned(),
                    record_id: incident.id.clone(),
                    event,
                    purpose: purpose.as_str().to_owned(),
                    classification: incident.classification.as_str().to_owned(),
                    child_at_risk: any_child,
                    created_at: now,
                    due_at: deadlines.due(now, any_child),
                    acknowledged_at: None,
                    acknowledged_by: None,
                    escalated_at: None,
                };
                notifications::insert(conn, &n)?;
                notify::enqueue(
                    conn,
                    candidate.agency_id,
                    event,
                    thin_data(incident, n.id, &p.fields, now),
                    incident.classification.as_str(),
                    now,
                )?;
                entries.push(NewEntry {
                    data_items: p.fields.clone(),
                    agreement: Some(p.agreement.clone()),
                    lawful_basis: Some(p.lawful_basis.clone()),
                    retention_days: Some(p.retention_days),
                    ..base
                        .decision(AuditDecision::Shared, Vec::new())
                        .justification(format!(
                            "{} to the {} route under agreement {} v{}",
                            event.as_str(),
                            candidate.route.as_str(),
                            p.agreement.id,
                            p.agreement.version
                        ))
                });
                let d = Decision {
                    agency_id: candidate.agency_id,
                    route: candidate.route,
                    purpose: purpose.as_str().to_owned(),
                    notified: true,
                    reasons: Vec::new(),
                    agreement: Some(p.agreement),
                    fields: p.fields,
                    incident_version: version,
                    decided_at: now,
                };
                (d, Some(n.id))
            }
            PolicyDecision::Deny(reasons) => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                entries.push(
                    base.decision(AuditDecision::Withheld, reasons.clone())
                        .justification(format!(
                            "withheld from the {} route",
                            candidate.route.as_str()
                        )),
                );
                let d = Decision {
                    agency_id: candidate.agency_id,
                    route: candidate.route,
                    purpose: purpose.as_str().to_owned(),
                    notified: false,
                    reasons,
                    agreement: None,
                    fields: Vec::new(),
                    incident_version: version,
                    decided_at: now,
                };
                (d, None)
            }
        };
        incidents::put_decision(conn, &incident.id, &decision)?;
        out.push(Routed {
            decision,
            notification_id,
        });
    }
    Ok(out)
}

/// The reporting agency reads its own incident; the read is a `consultation`. Anyone else
/// gets a 404 and the attempt is logged as `access_denied`.
pub fn read(
    conn: &mut DbConn,
    actor: &Actor,
    reporter: AgencyId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Stored, AppError> {
    let stored = incidents::get(conn, reporter, id)?
        .ok_or_else(|| refusal::not_found(actor, KIND, id, now))?;
    audit::append(
        conn,
        &NewEntry {
            subject_refs: stored.incident.subject_refs(),
            classification: Some(stored.incident.classification.as_str().to_owned()),
            ..NewEntry::new(Operation::Consultation, actor.clone(), now)
                .record(KIND, id)
                .purpose(Purpose::Safeguarding.as_str())
                .justification("the reporting agency read its incident")
                .decision(AuditDecision::Allowed, Vec::new())
        },
    )?;
    Ok(stored)
}
